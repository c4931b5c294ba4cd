"""Store: the database opened from a SQLAlchemy URL, and the reads and writes of runs, the
prediction log, annotations and uploaded datasets (the tables are in :mod:`ner_core.store.tables`).

SQLAlchemy 2.0 with a SQLite file by default (any SQLAlchemy URL works). Every
write is one transaction, so a crash mid-write leaves the previous state, and
SQLite runs in WAL mode so the simulator can log while pages read.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ner_core.errors import RunNotFoundError, StoreError
from ner_core.store.tables import ACTIVE_STATUSES, ADDED_COLUMNS, Annotation, Base, Dataset, PredictionLog, Run, RunStatus, utcnow


def _status(value: str) -> RunStatus:
    """A status argument as a member; an unknown one is a bug in the caller, not a user error."""
    try:
        return RunStatus(value)
    except ValueError:
        raise ValueError(f"unknown run status {value!r}; one of {', '.join(RunStatus)}") from None


# FULL syncs the WAL at every commit, so a power cut cannot take back a committed annotation (an
# analyst's hours of work) or run; NORMAL may lose the last commits. bench/store_durability.py
# measures what FULL costs the prediction log's inserts (see bench/results/store_durability.md).
SYNCHRONOUS_MODES = ("FULL", "NORMAL")


def _sqlite_pragmas(synchronous: str):
    def enable(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return enable


def _add_missing_columns(engine: sa.Engine) -> None:
    """ALTER TABLE ... ADD COLUMN for each of :data:`ADDED_COLUMNS` the database lacks (all nullable)."""
    quote = engine.dialect.identifier_preparer.quote
    for table_name, column_name in ADDED_COLUMNS:
        if column_name in {column["name"] for column in sa.inspect(engine).get_columns(table_name)}:
            continue
        column_type = Base.metadata.tables[table_name].c[column_name].type.compile(dialect=engine.dialect)
        try:
            with engine.begin() as connection:
                connection.execute(sa.text(f"ALTER TABLE {quote(table_name)} ADD COLUMN {quote(column_name)} {column_type}"))
        except SQLAlchemyError:
            # Another process opening the same database may have added it first.
            if column_name not in {column["name"] for column in sa.inspect(engine).get_columns(table_name)}:
                raise


class Store:
    """All database access goes through here; methods are transactions."""

    def __init__(self, url: str, *, synchronous: str = "FULL"):
        if synchronous not in SYNCHRONOUS_MODES:
            raise ValueError(f"synchronous must be one of {', '.join(SYNCHRONOUS_MODES)}, got {synchronous!r}")
        self.url = url
        try:
            if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
                Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
            connect_args = {"check_same_thread": False, "timeout": 30} if url.startswith("sqlite") else {}
            self.engine = sa.create_engine(url, connect_args=connect_args)
            if self.engine.dialect.name == "sqlite":
                event.listen(self.engine, "connect", _sqlite_pragmas(synchronous))
            Base.metadata.create_all(self.engine)
            _add_missing_columns(self.engine)
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"cannot open the database {url!r}: {exc.__class__.__name__}: {exc}".splitlines()[0]) from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock = threading.Lock()

    def session(self) -> Session:
        return self._sessions()

    def write(self, work):
        """Run ``work(session)`` in one transaction and return its result; SQLite allows one writer, so
        writes are serialised. Feature modules that own a table write through this too."""
        with self._write_lock:
            try:
                with self._sessions.begin() as session:
                    return work(session)
            except SQLAlchemyError as exc:
                raise StoreError(f"database write failed: {str(exc).splitlines()[0]}") from None

    # ----------------------------------------------------------------- runs

    def create_run(
        self,
        run_id: str,
        model_name: str,
        *,
        config: dict,
        dataset_path: str = "",
        dataset_sha256: str = "",
        status: str = RunStatus.QUEUED,
        parent_run_id: str | None = None,
    ) -> Run:
        run = Run(
            id=run_id,
            model_name=model_name,
            status=_status(status),
            config_json=json.dumps(config),
            dataset_path=dataset_path,
            dataset_sha256=dataset_sha256,
            parent_run_id=parent_run_id,
        )
        self.write(lambda s: s.add(run))
        return run

    def update_run(self, run_id: str, **fields: Any) -> None:
        if "status" in fields:
            fields["status"] = _status(fields["status"])
        if "metrics" in fields:
            fields["metrics_json"] = json.dumps(fields.pop("metrics"))
        if "config" in fields:
            fields["config_json"] = json.dumps(fields.pop("config"))

        def work(session: Session) -> None:
            run = session.get(Run, run_id)
            if run is None:
                raise RunNotFoundError(f"no run {run_id!r} in the store.")
            for key, value in fields.items():
                setattr(run, key, value)

        self.write(work)

    def get_run(self, run_id: str) -> Run:
        with self.session() as session:
            run = session.get(Run, run_id)
            if run is None:
                raise RunNotFoundError(f"no run {run_id!r}; `python -m ner_core compare` lists the runs.")
            return run

    def list_runs(self, *, status: str | Sequence[str] | None = None, model_name: str | None = None) -> list[Run]:
        query = sa.select(Run).order_by(Run.created_at.desc())
        if status is not None:
            query = query.where(Run.status.in_([status] if isinstance(status, str) else list(status)))
        if model_name is not None:
            query = query.where(Run.model_name == model_name)
        with self.session() as session:
            return list(session.scalars(query))

    def set_run_name_and_tags(self, run_id: str, *, name: str | None, tags: Sequence[str]) -> None:
        """Store an analyst's name and tags for a run (None and no tags clear them).

        Values arrive checked (:func:`ner_core.workbench.run_labels.cleaned_name_and_tags`);
        a run that is not in the store is a RunNotFoundError and nothing is written.
        """
        self.update_run(run_id, name=name or None, tags_json=json.dumps(list(tags)) if tags else None)

    def delete_run(self, run_id: str) -> None:
        self.write(lambda s: s.execute(sa.delete(Run).where(Run.id == run_id)))

    def mark_interrupted_runs(self, owner_alive: Callable[[str], bool] | None = None) -> int:
        """Runs left running or queued by a process that died are failed, not forever running.

        ``owner_alive(owner)`` says whether a row's process still runs; those rows (a
        training in another process) are left alone. Rows without an owner, or when no
        check is given, count as interrupted.
        """

        def work(session: Session) -> int:
            marked = 0
            for run in session.scalars(sa.select(Run).where(Run.status.in_(ACTIVE_STATUSES))):
                if run.owner and owner_alive is not None and owner_alive(run.owner):
                    continue
                process = f" (process {run.owner.partition(':')[0]})" if run.owner else ""
                run.status = RunStatus.FAILED
                run.error_message = f"interrupted: the process that ran it{process} stopped before the run finished"
                run.finished_at = utcnow()
                marked += 1
            return marked

        return self.write(work)

    # ----------------------------------------------------------------- prediction log

    def log_predictions(self, rows: Iterable[dict]) -> int:
        """Insert many log rows in one transaction (the simulator writes thousands)."""
        prepared = []
        for row in rows:
            row = dict(row)
            for key in ("entities", "gold", "predicted_tags"):
                if key in row:
                    row[f"{key}_json"] = json.dumps(row.pop(key))
            prepared.append(row)
        if not prepared:
            return 0
        self.write(lambda s: s.execute(sa.insert(PredictionLog), prepared))
        return len(prepared)

    def count_predictions(self, **filters: Any) -> int:
        query = sa.select(sa.func.count()).select_from(PredictionLog)
        for key, value in filters.items():
            query = query.where(getattr(PredictionLog, key) == value)
        with self.session() as session:
            return int(session.scalar(query) or 0)

    def prediction_rows(self, *, limit: int | None = None, **filters: Any) -> list[dict]:
        query = sa.select(PredictionLog).order_by(PredictionLog.id)
        for key, value in filters.items():
            query = query.where(getattr(PredictionLog, key) == value)
        if limit:
            query = query.limit(limit)
        with self.session() as session:
            return [
                {column.name: getattr(row, column.name) for column in PredictionLog.__table__.columns}
                for row in session.scalars(query)
            ]

    def simulation_summaries(self) -> list[dict]:
        """Simulations in the prediction log, newest first: ``simulation_id``, ``requests``, ``first``/``last`` logged."""
        query = (
            sa.select(
                PredictionLog.simulation_id,
                sa.func.count(),
                sa.func.min(PredictionLog.created_at),
                sa.func.max(PredictionLog.created_at),
            )
            .where(PredictionLog.simulation_id.is_not(None))
            .group_by(PredictionLog.simulation_id)
            .order_by(sa.func.max(PredictionLog.id).desc())
        )
        with self.session() as session:
            return [
                {"simulation_id": sim, "requests": int(count), "first": first, "last": last}
                for sim, count, first, last in session.execute(query)
            ]

    # ----------------------------------------------------------------- annotations

    def add_annotation(
        self,
        *,
        analyst: str,
        text: str,
        tokens: list[str],
        tags: list[str],
        original_tags: list[str],
        model_run_id: str | None,
        source: str = "typed",
    ) -> int:
        annotation = Annotation(
            analyst=analyst,
            text=text,
            tokens_json=json.dumps(tokens),
            tags_json=json.dumps(tags),
            original_tags_json=json.dumps(original_tags),
            model_run_id=model_run_id,
            source=source,
        )

        def work(session: Session) -> int:
            session.add(annotation)
            session.flush()
            return annotation.id

        return self.write(work)

    def update_annotation(self, annotation_id: int, *, tags: list[str], analyst: str | None = None) -> None:
        def work(session: Session) -> None:
            annotation = session.get(Annotation, annotation_id)
            if annotation is None:
                raise StoreError(f"no annotation {annotation_id}.")
            annotation.tags_json = json.dumps(tags)
            annotation.updated_at = utcnow()
            if analyst:
                annotation.analyst = analyst

        self.write(work)

    def delete_annotation(self, annotation_id: int) -> None:
        self.write(lambda s: s.execute(sa.delete(Annotation).where(Annotation.id == annotation_id)))

    def list_annotations(self) -> list[Annotation]:
        with self.session() as session:
            return list(session.scalars(sa.select(Annotation).order_by(Annotation.id)))

    # ----------------------------------------------------------------- datasets

    def register_dataset(
        self, *, name: str, sha256: str, path: str, format: str, sentences: int, tokens: int, repair_iob: bool | None = None
    ) -> Dataset:
        """The dataset with this checksum, created if new; ``repair_iob`` (accepted only with IOB2 repair) is
        recorded on a new row, and on an existing one that predates the column."""

        def work(session: Session) -> Dataset:
            existing = session.scalar(sa.select(Dataset).where(Dataset.sha256 == sha256))
            if existing is not None:
                if existing.repair_iob is None and repair_iob is not None:
                    existing.repair_iob = repair_iob
                return existing
            dataset = Dataset(
                name=name, sha256=sha256, path=path, format=format, sentences=sentences, tokens=tokens, repair_iob=repair_iob
            )
            session.add(dataset)
            return dataset

        return self.write(work)

    def list_datasets(self) -> list[Dataset]:
        with self.session() as session:
            return list(session.scalars(sa.select(Dataset).order_by(Dataset.uploaded_at.desc())))
