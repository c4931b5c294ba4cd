"""The database schema: every table of the store, its status enum and the columns added later.

One module holds every table so a reader sees the whole schema at once and ``create_all``
knows every table as soon as :mod:`ner_core.store.database` is imported. Data access lives
with the code that owns it: :class:`ner_core.store.database.Store` for runs, the prediction
log, annotations and datasets; feature modules write through ``Store.write``.
"""

from __future__ import annotations

import datetime as dt
import enum
import json

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class RunStatus(enum.StrEnum):
    """Where a run, and the training job behind it, stands.

    A ``StrEnum``: each member equals the string the runs table stores
    (``RunStatus.COMPLETED == "completed"``), so rows written before the enum
    existed read back as members and plain strings still work as arguments.
    """

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED_STATUSES = (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED)
ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class _StatusColumn(sa.types.TypeDecorator):
    """The status column: stored as its plain string (VARCHAR(16), as before), read back as a RunStatus."""

    impl = sa.String(16)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else str(value)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        try:
            return RunStatus(value)
        except ValueError:
            return value  # written by a newer version: shown as stored rather than failing the whole query


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    model_name: Mapped[str] = mapped_column(sa.String(64), index=True)
    status: Mapped[RunStatus] = mapped_column(_StatusColumn(), index=True)
    dataset_path: Mapped[str] = mapped_column(sa.Text, default="")
    dataset_sha256: Mapped[str] = mapped_column(sa.String(64), default="")
    config_json: Mapped[str] = mapped_column(sa.Text, default="{}")
    metrics_json: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    run_dir: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    parent_run_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    error_message: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    machine: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    # "<pid>:<start time>" of the process that queued or trains the run (run_folder.process_identity),
    # so a start-up can tell a dead process's "running" row from a live training elsewhere.
    owner: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)

    @property
    def config(self) -> dict:
        return json.loads(self.config_json or "{}")

    @property
    def metrics(self) -> dict:
        return json.loads(self.metrics_json) if self.metrics_json else {}

    @property
    def duration_s(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class PredictionLog(Base):
    __tablename__ = "prediction_log"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    source: Mapped[str] = mapped_column(sa.String(32), index=True)  # highlighter, cli, simulation
    simulation_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True, index=True)
    simulated_time_s: Mapped[float | None] = mapped_column(nullable=True)
    arm: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    run_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True, index=True)
    text: Mapped[str] = mapped_column(sa.Text, default="")
    entities_json: Mapped[str] = mapped_column(sa.Text, default="[]")
    latency_ms: Mapped[float | None] = mapped_column(nullable=True)
    error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    # A simulated request's ner_core.traffic.experiment.ERROR_KINDS value; NULL on rows logged before it existed.
    error_kind: Mapped[str | None] = mapped_column(sa.String(32), nullable=True)
    breaker_state: Mapped[str | None] = mapped_column(sa.String(16), nullable=True)
    routing_reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    gold_json: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    predicted_tags_json: Mapped[str | None] = mapped_column(sa.Text, nullable=True)


class Annotation(Base):
    __tablename__ = "annotations"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    analyst: Mapped[str] = mapped_column(sa.String(128))
    text: Mapped[str] = mapped_column(sa.Text)
    tokens_json: Mapped[str] = mapped_column(sa.Text)
    tags_json: Mapped[str] = mapped_column(sa.Text)
    original_tags_json: Mapped[str] = mapped_column(sa.Text)
    model_run_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    source: Mapped[str] = mapped_column(sa.String(32), default="typed")

    @property
    def tokens(self) -> list[str]:
        return json.loads(self.tokens_json)

    @property
    def tags(self) -> list[str]:
        return json.loads(self.tags_json)

    @property
    def original_tags(self) -> list[str]:
        return json.loads(self.original_tags_json)


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.Text)
    sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    path: Mapped[str] = mapped_column(sa.Text)
    format: Mapped[str] = mapped_column(sa.String(16))
    sentences: Mapped[int] = mapped_column(default=0)
    tokens: Mapped[int] = mapped_column(default=0)
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# Columns added to a table after databases with that table existed: (table, column). create_all
# never alters an existing table, so Store() adds whichever of these an opened database lacks.
ADDED_COLUMNS = (("prediction_log", "error_kind"), ("runs", "owner"))


class ReviewRequest(Base):
    """A text sent to the annotation queue from elsewhere (bulk tagging, the prediction log, an import).

    The queue offers pending requests as a pool; ``done_at`` is set once the text is annotated,
    skipped for good or withdrawn, so a request is never lost while a page reloads.
    """

    __tablename__ = "review_requests"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    source: Mapped[str] = mapped_column(sa.String(64), index=True)  # e.g. "bulk:<job id>", "log", "import"
    note: Mapped[str] = mapped_column(sa.Text, default="")  # why it was sent (e.g. "confidence 0.41")
    done_at: Mapped[dt.datetime | None] = mapped_column(nullable=True, index=True)


# --------------------------------------------------------------------------
# Serving (issue 14): the model registry, API keys, and the API's columns on the prediction log
# --------------------------------------------------------------------------

# Roles a registered version can hold. A serving role has at most one holder at a time (promoting
# moves it); staging and archived can hold any number of versions.
SERVING_ROLES = ("primary", "speed", "backup")
REGISTRY_ROLES = (*SERVING_ROLES, "staging", "archived")


class ModelVersion(Base):
    """A completed run registered as version N of its model name, with at most one role.

    Owned by :mod:`ner_core.serving.registry`; the run row and folder hold everything else
    (metrics, config, dataset checksum, parent run).
    """

    __tablename__ = "model_versions"
    __table_args__ = (
        sa.UniqueConstraint("model_name", "version", name="uq_model_versions_name_version"),
        # The database itself refuses a second holder of a serving role (SQLite and PostgreSQL
        # support partial indexes), so no code path, and no other process, can double-assign one.
        sa.Index(
            "uq_model_versions_serving_role",
            "role",
            unique=True,
            sqlite_where=sa.text("role IN ('primary', 'speed', 'backup')"),
            postgresql_where=sa.text("role IN ('primary', 'speed', 'backup')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(sa.String(64), index=True)
    version: Mapped[int] = mapped_column()
    run_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    role: Mapped[str | None] = mapped_column(sa.String(16), nullable=True)
    registered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    registered_by: Mapped[str] = mapped_column(sa.String(128), default="")
    notes: Mapped[str] = mapped_column(sa.Text, default="")


class ModelRoleChange(Base):
    """One change in the registry, oldest first: a registration or a role moving between versions.

    ``previous_version_id`` is who held ``role`` just before (rollback restores it);
    ``previous_role`` is the role ``model_version_id`` gave up by taking ``role``. The largest id
    is the registry's generation: the API compares it to notice a promotion without a restart.
    """

    __tablename__ = "model_role_changes"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    changed_by: Mapped[str] = mapped_column(sa.String(128), default="")
    action: Mapped[str] = mapped_column(sa.String(16))  # registered, promoted, demoted, rolled_back
    model_version_id: Mapped[int] = mapped_column(sa.ForeignKey("model_versions.id"), index=True)
    role: Mapped[str | None] = mapped_column(sa.String(16), nullable=True, index=True)
    previous_version_id: Mapped[int | None] = mapped_column(nullable=True)
    previous_role: Mapped[str | None] = mapped_column(sa.String(16), nullable=True)
    note: Mapped[str] = mapped_column(sa.Text, default="")


class ApiKey(Base):
    """An API key: only its scrypt hash is stored; ``prefix`` (public, part of the key) finds the row."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(sa.String(256))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


# The API's facts on each prediction-log row: which key (its name, never the key), which registered
# version answered, and the request id a client got back (a batch's texts share it).
PredictionLog.api_key_name = mapped_column(sa.String(64), nullable=True)
PredictionLog.model_version = mapped_column(sa.Integer, nullable=True)
PredictionLog.request_id = mapped_column(sa.String(64), nullable=True)
ADDED_COLUMNS = (
    *ADDED_COLUMNS,
    ("prediction_log", "api_key_name"),
    ("prediction_log", "model_version"),
    ("prediction_log", "request_id"),
)


# --------------------------------------------------------------------------
# Live traffic (issue 14, registry-ui): the A/B page's runs of real HTTP requests against a running
# API. The API logs each request in prediction_log under the request id the client sent
# (``<live run id>-<position>``); these tables keep what only the client knows: when each request
# was sent, the HTTP outcome and round trip, and the gold entities of the test sentence it carried.
# --------------------------------------------------------------------------


class LiveTrafficRun(Base):
    """One live run: where it sent requests (never the key), its settings and how it ended."""

    __tablename__ = "live_traffic_runs"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # "live-<12 hex>"
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    api_url: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16))  # running, completed, cancelled, failed
    settings_json: Mapped[str] = mapped_column(sa.Text, default="{}")  # requests, rate, concurrency, model, seed, source run
    planned_weights_json: Mapped[str] = mapped_column(sa.Text, default="{}")  # role -> weight the server routes `auto` by
    message: Mapped[str | None] = mapped_column(sa.Text, nullable=True)  # why it stopped, when not completed


class LiveTrafficRequest(Base):
    """One request of a live run as the client saw it; its prediction_log row has the same request id."""

    __tablename__ = "live_traffic_requests"
    __table_args__ = (sa.UniqueConstraint("live_run_id", "position", name="uq_live_traffic_requests_position"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    live_run_id: Mapped[str] = mapped_column(sa.ForeignKey("live_traffic_runs.id"), index=True)
    position: Mapped[int] = mapped_column()  # 0-based order of sending
    request_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    sentence_index: Mapped[int] = mapped_column()  # into the source run's test split
    sent_at_s: Mapped[float] = mapped_column()  # seconds after the run started
    status_code: Mapped[int | None] = mapped_column(nullable=True)  # None: no HTTP answer (connection failed, timed out)
    round_trip_ms: Mapped[float | None] = mapped_column(nullable=True)
    client_error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)  # the API's error message, or the transport's
    gold_json: Mapped[str] = mapped_column(sa.Text, default="[]")  # [[type, start, end], ...] character spans of the text sent


# Run names and tags (issue 12: runs you can tell apart)
# --------------------------------------------------------------------------

# An analyst's name for a run and its tags (a JSON list of strings), shown in every run label;
# NULL until given. Added here, not in the class body, so this feature's schema reads in one place.
Run.name = mapped_column(sa.Text, nullable=True)
Run.tags_json = mapped_column(sa.Text, nullable=True)
ADDED_COLUMNS = (*ADDED_COLUMNS, ("runs", "name"), ("runs", "tags_json"))
# --------------------------------------------------------------------------- newcomer flow (issue 12)
# Whether an upload was accepted only with IOB2 repair (stray I-X read as B-X): True means training it needs
# TrainConfig.repair_iob, so the Training runs form turns repair on for it; False means it was valid as
# uploaded; NULL for uploads recorded before this column existed. Added here, after the class, so the schema
# additions of parallel features stay at the end of the file.
Dataset.repair_iob = mapped_column(sa.Boolean, nullable=True)
ADDED_COLUMNS = (*ADDED_COLUMNS, ("datasets", "repair_iob"))
# --------------------------------------------------------------------------- span editor and annotation queue
# (issue 13, the queue's own tables; ner_core.workbench.annotation_queue and annotation_pools read and write them)


class QueueText(Base):
    """A sentence an analyst pasted or uploaded into the annotation queue, kept so the queue survives a reload.

    One paste or upload is a batch (``batch_id``, a checksum of its texts); the queue's deep link names it.
    """

    __tablename__ = "queue_texts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    batch_id: Mapped[str] = mapped_column(sa.String(16), index=True)
    batch_name: Mapped[str] = mapped_column(sa.String(128))
    position: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(sa.Text)


class QueueDecision(Base):
    """What one analyst did with one queued sentence: accepted (with the annotation it saved), skipped or flagged.

    A skip or a flag takes the sentence out of that analyst's queue; a flag (with the tokens and tags
    shown when it was flagged) also lists it for review until someone accepts it (``resolved_at``).
    ``client_id`` comes from the browser and is unique, so a decision sent twice is stored once.
    """

    __tablename__ = "queue_decisions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    analyst: Mapped[str] = mapped_column(sa.String(128), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    pool: Mapped[str] = mapped_column(sa.String(32))
    decision: Mapped[str] = mapped_column(sa.String(16), index=True)  # accepted, skipped, flagged
    annotation_id: Mapped[int | None] = mapped_column(nullable=True)
    model_run_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    client_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True, unique=True)
    tokens_json: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    tags_json: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)

    @property
    def tokens(self) -> list[str]:
        return json.loads(self.tokens_json) if self.tokens_json else []

    @property
    def tags(self) -> list[str]:
        return json.loads(self.tags_json) if self.tags_json else []


class QueueSetting(Base):
    """A team-wide setting of the annotation queue (e.g. how many analysts should annotate each sentence)."""

    __tablename__ = "queue_settings"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(sa.String(128), default="")


# --------------------------------------------------------------------------- several analysts (issue 13, analysts-bulk)


class Adjudication(Base):
    """A reviewer's final version of a sentence several analysts annotated differently.

    The final tokens and tags live in an ``annotations`` row of source ``adjudicated`` (``annotation_id``),
    so a retrain, its lineage and every export see one kind of object with ids from one sequence; this
    row says which sentence it settles, who decided, when, and which analyst's version was picked
    (None when the reviewer edited a version of their own). One decision per sentence text.
    """

    __tablename__ = "adjudications"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(sa.Text, unique=True)
    annotation_id: Mapped[int] = mapped_column(sa.ForeignKey("annotations.id", ondelete="CASCADE"), index=True)
    picked_annotation_id: Mapped[int | None] = mapped_column(nullable=True)
    reviewer: Mapped[str] = mapped_column(sa.String(128))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    decided_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AnnotationGuidelines(Base):
    """One saved version of a dataset's annotation guidelines (Markdown the team writes).

    Every save adds a row, so who changed what and when stays readable; the newest row of a
    dataset is its current guidelines.
    """

    __tablename__ = "annotation_guidelines"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    dataset_sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    markdown: Mapped[str] = mapped_column(sa.Text, default="")
    editor: Mapped[str] = mapped_column(sa.String(128))
    saved_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# --------------------------------------------------------------------------- retrain lineage
# The exact annotations a retrained run learned from (ner_core.training.lineage): one set per run with
# the checksum over all of them, and one row per annotation with the checksum of the version used.


class RunAnnotationSet(Base):
    __tablename__ = "run_annotation_sets"

    run_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    checksum: Mapped[str] = mapped_column(sa.String(64))
    annotation_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RunAnnotation(Base):
    __tablename__ = "run_annotations"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    annotation_id: Mapped[int] = mapped_column(index=True)
    checksum: Mapped[str] = mapped_column(sa.String(64))
