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
