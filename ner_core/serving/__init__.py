"""Serving: the predictor (text in, tags and entities out), its ONNX backend, the model registry and
the REST API (``api/``: FastAPI app; ``gateway``: routing, breakers, faults and fallback on live
requests; ``dynamic_batching``; ``request_log``; ``api_keys``; ``rate_limit``; ``server``: uvicorn).
"""
