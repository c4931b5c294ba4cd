"""Serving: the predictor (text in, tags and entities out) and its ONNX backend."""
