"""Request and response bodies of the REST API (pydantic), field by field as in ``docs/API.md``.

Requests forbid unknown fields, so a typo (``retrun_confidence``) is a 422 naming it instead of a
silently ignored option. Text length is checked against the server's ``max_text_chars`` in the
endpoint (it is a setting); the 10,000 here is only the documented default.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ner_core.serving.config import MAX_BATCH_TEXTS

OutputFormat = Literal["json", "iob", "entities_only"]
Strategy = Literal["intelligent", "performance", "speed", "accuracy"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class PredictRequest(_Request):
    text: str = Field(description="The text to tag (at most the server's max_text_chars, 10,000 by default).")
    model: str = Field("auto", description="A model name (model2), a role (primary, speed, backup, staging), name:vN, or auto.")
    return_confidence: bool = Field(True, description="Include per-token and per-entity confidences.")
    output_format: OutputFormat = Field("json", description="json: predictions and entities; iob: CoNLL lines; entities_only.")
    speed_priority: bool = Field(False, description="With model auto: the fastest model meeting the constraints.")
    include_metrics: bool = Field(False, description="Add the measured time split and the process memory.")
    max_latency_ms: float | None = Field(None, gt=0, le=5000, description="A latency budget the router must respect.")
    min_accuracy: float | None = Field(None, ge=0, le=1, description="The lowest stored entity F1 acceptable.")


class BatchRequest(_Request):
    texts: list[str] = Field(min_length=1, max_length=MAX_BATCH_TEXTS, description="1 to 100 texts, tagged as one batch.")
    model: str = Field("auto", description="As for /predict; one model serves the whole batch.")
    parallel_processing: bool = Field(True, description="Accepted for compatibility with the design; texts are always batched.")
    max_latency_ms: float | None = Field(1000, gt=0, le=60_000, description="A latency budget for the choice of model.")
    return_confidence: bool = True


class RouteRequest(_Request):
    text: str
    routing_strategy: Strategy = "intelligent"
    fallback_enabled: bool = Field(True, description="When no model meets the constraints: serve the closest (true) or 422.")
    max_latency_ms: float | None = Field(50, gt=0, le=5000)
    min_accuracy: float | None = Field(0.95, ge=0, le=1, description="Lowest stored entity F1.")
    context: dict[str, Any] = Field(default_factory=dict, description="e.g. {'user_type': 'premium', 'priority': 'high'}.")


class FaultRequest(_Request):
    error_probability: float = Field(0.0, ge=0, le=1)
    added_latency_ms: float = Field(0.0, ge=0, le=60_000)


class TokenPrediction(BaseModel):
    word: str
    tag: str
    start: int
    end: int
    confidence: float | None


class EntityOut(BaseModel):
    text: str
    type: str
    start: int = Field(description="Character offset into the request's text.")
    end: int
    confidence: float | None


class DetailedMetrics(BaseModel):
    tokenize_ms: float
    model_ms: float = Field(description="From handing the sentences to the model to their tags: batching wait, model, decoding.")
    postprocess_ms: float = Field(description="Entities and offsets assembled from the tags.")
    total_ms: float
    batch_sentences: int = Field(description="Sentences in this request.")
    memory_mb: float = Field(description="Resident memory of the server process.")


class PredictResponse(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    predictions: list[TokenPrediction] | None
    entities: list[EntityOut] | None
    iob: str | None = Field(None, description="output_format iob: a word<TAB>tag line per token, a blank line between sentences.")
    processing_time_ms: float
    model_used: str = Field(description="The model name that answered.")
    model_role: str
    model_version: int | None = Field(description="Registry version; null for a default run of an empty registry.")
    run_id: str
    f1_score: float | None = Field(description="The served version's stored test entity F1.")
    request_id: str
    routing_decision: str
    detailed_metrics: DetailedMetrics | None = None


class BatchItem(BaseModel):
    text: str
    predictions: list[TokenPrediction]
    entities: list[EntityOut]
    processing_time_ms: float = Field(description="The batch's time per text (the texts are tagged together).")
    model_used: str


class BatchResponse(BaseModel):
    results: list[BatchItem]
    batch_id: str
    total_processing_time_ms: float
    average_confidence: float | None
    models_used: dict[str, int]
    texts_processed: int
    model_version: int | None
    routing_decision: str


class Alternative(BaseModel):
    model: str
    role: str
    latency_ms: float | None
    latency_source: str
    f1_score: float | None
    available: bool


class RoutingDecision(BaseModel):
    selected_model: str
    selected_role: str
    reason: str
    alternatives_considered: list[Alternative]
    decision_time_ms: float


class PerformanceMetrics(BaseModel):
    processing_time_ms: float
    inference_time_ms: float
    post_processing_time_ms: float


class RouteResponse(BaseModel):
    predictions: list[TokenPrediction]
    entities: list[EntityOut]
    routing_decision: RoutingDecision
    performance_metrics: PerformanceMetrics
    model_used: str
    model_version: int | None
    sla_met: bool
    request_id: str


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorDetail
