"""The endpoints: parse, authenticate and rate-limit, hand the work to the gateway, render its answer.

Field meanings and what we changed from the original design are in ``docs/API.md``.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ner_core.errors import AuthenticationError, EndpointNotFoundError, InputTextError, RequestFormatError
from ner_core.serving import naive_endpoint, status
from ner_core.serving.answers import TaggedText
from ner_core.serving.api import schemas
from ner_core.serving.config import Fault
from ner_core.serving.gateway import Gateway, RouteRequest
from ner_core.serving.metrics import CONTENT_TYPE
from ner_core.store.tables import REGISTRY_ROLES

router = APIRouter()
# Declared for /docs ("Authorize" button); the check itself is api_key_name below.
bearer = HTTPBearer(auto_error=False, description="An API key from `python -m ner_core api-key create NAME`.")
ERRORS = {code: {"model": schemas.ErrorResponse} for code in (401, 404, 413, 422, 429, 503)}
# A client may name its request (X-Request-ID, as load balancers and tracing tools do); the name becomes the
# request id of its log rows, so a client (the A/B page's live mode) finds them again. Any other value is replaced.
CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def gateway_of(request: Request) -> Gateway:
    return request.app.state.gateway


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def api_key_name(request: Request, _credentials: Credentials) -> str | None:
    """The caller's key name (None in open access), after the key check and the key's rate limit."""
    state = request.app.state
    if state.settings.open_access:
        state.rate_limiter.check(f"client {request.client.host if request.client else '?'}")
        return None
    authorization = request.headers.get("authorization")
    name = state.gateway.keys.remembered(authorization)
    if name is None:
        client = request.client.host if request.client else "?"
        state.auth_failures.check_not_exhausted(client)  # a client guessing keys is stopped before any scrypt runs
        try:
            name = await run_in_threadpool(state.gateway.keys.verify, authorization)
        except AuthenticationError:
            state.auth_failures.charge(client)  # only a failed attempt counts against the client
            raise
    state.rate_limiter.check(name)
    return name


KeyName = Annotated[str | None, Depends(api_key_name)]


def _check_text(text: str, limit: int, what: str = "text") -> None:
    if len(text) > limit:
        raise InputTextError(f"{what} is {len(text):,} characters; this server accepts at most {limit:,}. Split it up.")
    if not text.strip():
        raise InputTextError(f"{what} is empty; send the text to tag.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputTextError(f"{what} holds a lone surrogate at character {exc.start:,}; send valid Unicode.") from None


def _tokens(result: TaggedText, confidence: bool) -> list[schemas.TokenPrediction]:
    return [
        schemas.TokenPrediction(word=t.text, tag=t.tag, start=t.start, end=t.end, confidence=t.confidence if confidence else None)
        for t in result.tokens
    ]


def _entities(result: TaggedText, confidence: bool) -> list[schemas.EntityOut]:
    return [
        schemas.EntityOut(text=e.text, type=e.type, start=e.start, end=e.end, confidence=e.confidence if confidence else None)
        for e in result.entities
    ]


def _iob(result: TaggedText) -> str:
    return "\n\n".join("\n".join(f"{t.text}\t{t.tag}" for t in result.tokens[a:b]) for a, b in result.sentences)


def _experiment(request: Request) -> str | None:
    """The ``X-Experiment-Id`` header (a live A/B run's id), stored as the log rows' simulation_id."""
    value = request.headers.get("x-experiment-id")
    if value is None:
        return None
    if not 1 <= len(value) <= 64 or not value.isprintable():
        raise RequestFormatError("X-Experiment-Id must be 1 to 64 printable characters.")
    return value


def _arrival(request: Request):
    arrival = request.scope.get("state", {}).get("arrival")
    return arrival.leave if arrival is not None else None


def _client_request_id(request: Request) -> str | None:
    value = request.headers.get("x-request-id")
    return value if value is not None and CLIENT_REQUEST_ID.fullmatch(value) else None


def _observe(request: Request, endpoint: str, arm: str, status_code: int, started: float) -> None:
    request.app.state.gateway.metrics.observe_request(endpoint, arm, status_code, time.perf_counter() - started)


@router.post("/api/v1/predict", response_model=schemas.PredictResponse, responses=ERRORS, tags=["predict"])
async def predict(body: schemas.PredictRequest, request: Request, key: KeyName):
    """Tag one text with a model chosen by name, role or the router (``auto``)."""
    started = time.perf_counter()
    gateway = gateway_of(request)
    _check_text(body.text, gateway.config.max_text_chars)
    route = RouteRequest(body.model, None, body.max_latency_ms, body.min_accuracy, body.speed_priority)
    served = await gateway.serve(
        [body.text],
        route,
        key_name=key,
        endpoint="predict",
        on_submit=_arrival(request),
        experiment_id=_experiment(request),
        request_id=_client_request_id(request),
    )
    result = served.results[0]
    confidence = body.return_confidence
    fmt = body.output_format
    details = None
    if body.include_metrics:
        details = schemas.DetailedMetrics(
            **served.timings_ms, batch_sentences=served.batch_sentences, memory_mb=round(status.process_memory_mb(), 1)
        )
    response = schemas.PredictResponse(
        predictions=_tokens(result, confidence) if fmt == "json" else None,
        entities=_entities(result, confidence) if fmt in ("json", "entities_only") else None,
        iob=_iob(result) if fmt == "iob" else None,
        processing_time_ms=served.timings_ms["total_ms"],
        model_used=served.info.model_name,
        model_role=served.role,
        model_version=served.info.version,
        run_id=served.info.run_id,
        f1_score=served.info.metrics.get("entity_f1"),
        request_id=served.request_id,
        routing_decision=served.reason,
        detailed_metrics=details,
    )
    _observe(request, "predict", served.role, 200, started)
    return response


@router.post("/api/v1/predict/batch", response_model=schemas.BatchResponse, responses=ERRORS, tags=["predict"])
async def predict_batch(body: schemas.BatchRequest, request: Request, key: KeyName):
    """Tag up to 100 texts as one length-sorted batch through one model."""
    started = time.perf_counter()
    gateway = gateway_of(request)
    for index, text in enumerate(body.texts):
        _check_text(text, gateway.config.max_text_chars, f"texts[{index}]")
    route = RouteRequest(body.model, None, body.max_latency_ms if body.model == "auto" else None)
    served = await gateway.serve(
        body.texts,
        route,
        key_name=key,
        endpoint="batch",
        on_submit=_arrival(request),
        experiment_id=_experiment(request),
        request_id=_client_request_id(request),
    )
    share = served.timings_ms["total_ms"] / len(body.texts)
    confidences = [t.confidence for result in served.results for t in result.tokens]
    response = schemas.BatchResponse(
        results=[
            schemas.BatchItem(
                text=result.text,
                predictions=_tokens(result, body.return_confidence),
                entities=_entities(result, body.return_confidence),
                processing_time_ms=share,
                model_used=served.info.model_name,
            )
            for result in served.results
        ],
        batch_id=served.request_id,
        total_processing_time_ms=served.timings_ms["total_ms"],
        average_confidence=sum(confidences) / len(confidences) if confidences else None,
        models_used=dict(Counter(served.info.model_name for _ in served.results)),
        texts_processed=len(served.results),
        model_version=served.info.version,
        routing_decision=served.reason,
    )
    _observe(request, "batch", served.role, 200, started)
    return response


@router.post("/api/v1/predict/route", response_model=schemas.RouteResponse, responses=ERRORS, tags=["predict"])
async def predict_route(body: schemas.RouteRequest, request: Request, key: KeyName):
    """Choose a model by strategy over measured latency and stored F1, then tag the text with it."""
    started = time.perf_counter()
    gateway = gateway_of(request)
    _check_text(body.text, gateway.config.max_text_chars)
    route = RouteRequest(
        "auto", body.routing_strategy, body.max_latency_ms, body.min_accuracy, False, body.fallback_enabled, body.context
    )
    served = await gateway.serve(
        [body.text],
        route,
        key_name=key,
        endpoint="route",
        on_submit=_arrival(request),
        experiment_id=_experiment(request),
        request_id=_client_request_id(request),
    )
    decision = served.strategy
    snapshot_arms = gateway.snapshot.arms
    alternatives = [
        schemas.Alternative(
            model=snapshot_arms[c.name].info.label if c.name in snapshot_arms else c.name,
            role=c.name,
            latency_ms=c.latency_ms,
            latency_source=c.latency_source,
            f1_score=c.entity_f1,
            available=c.available,
        )
        for c in decision.considered
    ]
    result = served.results[0]
    timings = served.timings_ms
    response = schemas.RouteResponse(
        predictions=_tokens(result, True),
        entities=_entities(result, True),
        routing_decision=schemas.RoutingDecision(
            selected_model=served.info.label,
            selected_role=served.role,
            reason=served.reason,
            alternatives_considered=alternatives,
            decision_time_ms=timings.get("decision_ms", 0.0),
        ),
        performance_metrics=schemas.PerformanceMetrics(
            processing_time_ms=timings["total_ms"],
            inference_time_ms=timings["model_ms"],
            post_processing_time_ms=timings["postprocess_ms"],
        ),
        model_used=served.info.model_name,
        model_version=served.info.version,
        sla_met=decision.sla_met and served.role == decision.selected,
        request_id=served.request_id,
    )
    _observe(request, "route", served.role, 200, started)
    return response


@router.get("/api/v1/health", tags=["status"])
async def health(request: Request, _key: KeyName) -> JSONResponse:
    """Per model: status, version, stored F1, live latency, requests, error rate, breaker; the live split; uptime; memory."""
    return JSONResponse(status.health(gateway_of(request), open_access=request.app.state.settings.open_access))


@router.get("/api/v1/models/comparison", tags=["status"])
async def models_comparison(request: Request, _key: KeyName) -> JSONResponse:
    """The 23 stored metrics of every served version and the recommended model, by stored entity F1."""
    return JSONResponse(status.comparison(gateway_of(request)))


@router.put("/api/v1/faults/{role}", tags=["faults"])
async def set_fault(role: str, body: schemas.FaultRequest, request: Request, _key: KeyName):
    """Fault injection for tests and demos (only when the server runs with --fault-api)."""
    if not request.app.state.settings.fault_api:
        raise EndpointNotFoundError("fault injection over the API is off; start the server with --fault-api to use it.")
    if role not in REGISTRY_ROLES:
        raise RequestFormatError(f"{role!r} is not a role; use one of {', '.join(REGISTRY_ROLES)}.")
    fault = Fault(body.error_probability, body.added_latency_ms)
    gateway_of(request).set_fault(role, fault)
    return {"role": role, "error_probability": fault.error_probability, "added_latency_ms": fault.added_latency_ms}


@router.get("/healthz", tags=["status"], include_in_schema=True)
async def healthz() -> dict:
    """The process is alive (no authentication: for orchestrators)."""
    return {"status": "alive"}


@router.get("/readyz", tags=["status"])
async def readyz(request: Request) -> JSONResponse:
    """Every served model is loaded (no authentication: for orchestrators); 503 until then."""
    ok, payload = status.ready(gateway_of(request))
    return JSONResponse(payload, status_code=200 if ok else 503)


@router.get("/metrics", tags=["status"])
async def metrics(request: Request) -> Response:
    """Prometheus exposition: requests and latency by endpoint, arm and status; breakers; batch sizes; the log queue."""
    gateway = gateway_of(request)
    gateway.metrics.log_pending.set(gateway.log.pending)
    gateway.metrics.log_written.set(gateway.log.rows_written)
    gateway.metrics.in_flight.set(request.app.state.in_flight.count - 1)  # not counting this scrape
    for role, arm in gateway.snapshot.arms.items():
        if arm.loaded:
            gateway.metrics.set_breaker(role, gateway.breaker(arm).state)
    return Response(gateway.metrics.exposition(), media_type=CONTENT_TYPE)


@router.post("/api/v1/predict/naive", include_in_schema=False)
async def predict_naive(body: schemas.PredictRequest, request: Request, key: KeyName):
    """The benchmark's baseline (only with --naive-endpoint): Keras ``model.predict`` per request, argmax, no batching."""
    if not request.app.state.settings.naive_endpoint:
        raise EndpointNotFoundError("no such endpoint; see /docs for the API's paths.")
    gateway = gateway_of(request)
    _check_text(body.text, gateway.config.max_text_chars)
    started = time.perf_counter()
    served = await run_in_threadpool(naive_endpoint.naive_predict, gateway, body.text, key)
    _observe(request, "naive", served.role, 200, started)
    return {"entities": [vars(e) for e in served.results[0].entities], "request_id": served.request_id, "model_used": served.role}
