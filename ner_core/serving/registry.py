"""The model registry: completed runs registered as numbered versions of their model name, and the
roles that decide what the API serves.

Roles (:data:`~ner_core.store.tables.REGISTRY_ROLES`): the design's serving roles ``primary``,
``speed`` and ``backup`` (at most one holder each; promoting moves the role in one transaction,
and a partial unique index in the database refuses a second holder whatever writes it), plus
``staging`` and ``archived`` (any number of versions). A version holds at most one role.

Every registration and role change is a row of ``model_role_changes``: the lineage view reads it,
:func:`rollback` restores the holder a role had before its latest change, and the largest row id
is the registry's :func:`generation`, which the API polls to pick up a promotion without a restart.

What the API serves is :func:`serving_plan`: the holders of the serving roles (and the newest
staging version, reachable by name only), or, while no version holds a serving role, the latest
completed run of model2 / baseline / advanced as primary / speed / backup (else whatever completed
runs exist), flagged as defaults so /health can say so. :func:`resolve` turns a request's
``model`` field into one of the plan's roles.

Reads and writes go through ``store.session()`` and ``store.write(work)`` (one transaction each).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ner_core.errors import RegistryError, UnknownModelError
from ner_core.store.database import Store
from ner_core.store.tables import REGISTRY_ROLES, SERVING_ROLES, ModelRoleChange, ModelVersion, Run, RunStatus
from ner_core.training import run_folder

STAGING = "staging"
ARCHIVED = "archived"
AUTO = "auto"
# The design's default assignment of the three original models, used while no version holds a serving role.
DEFAULT_ROLE_MODELS = {"primary": "model2", "speed": "baseline", "backup": "advanced"}
# Actions recorded in model_role_changes.
REGISTERED, PROMOTED, DEMOTED, ROLLED_BACK = "registered", "promoted", "demoted", "rolled_back"
ROLE_ACTIONS = (PROMOTED, DEMOTED, ROLLED_BACK)
# Which role answers for a model name when several of its versions are served.
ROLE_PREFERENCE = (*SERVING_ROLES, STAGING)


@dataclass(frozen=True)
class Lineage:
    """Where a version comes from: its parent run (a retrain's base), its data and the corrections it learnt from."""

    parent_run_id: str | None
    parent_version: str | None  # "model2 v1" when the parent run is registered too
    dataset_path: str
    dataset_sha256: str
    annotations_used: int | None  # corrected sentences added to training; None when the run does not say
    annotation_ids: tuple[int, ...] | None  # which saved annotations, when the run records them


@dataclass(frozen=True)
class VersionInfo:
    """A registered version (or, with ``version`` None, a default run served while the registry is empty)."""

    id: int | None
    model_name: str
    version: int | None
    run_id: str
    role: str | None
    registered_at: dt.datetime | None
    registered_by: str
    notes: str
    run_dir: str | None
    metrics: Mapping[str, float]
    lineage: Lineage

    @property
    def label(self) -> str:
        """``model2 v3``, or ``model2 (run <id>)`` for an unregistered default."""
        return f"{self.model_name} v{self.version}" if self.version is not None else f"{self.model_name} (run {self.run_id})"


@dataclass(frozen=True)
class RoleChange:
    """One row of the registry's history, with versions named by label."""

    id: int
    changed_at: dt.datetime
    changed_by: str
    action: str
    model_name: str
    version: int
    role: str | None
    previous_holder: str | None  # label of the role's holder before this change
    previous_role: str | None  # the role this version gave up
    note: str


@dataclass(frozen=True)
class ServingPlan:
    """What to serve: role -> version, whether these are defaults of an empty registry, and the registry generation."""

    roles: Mapping[str, VersionInfo]
    defaults: bool
    generation: int
    note: str = ""
    skipped: Mapping[str, str] = field(default_factory=dict)  # role -> why its holder cannot be served


@dataclass(frozen=True)
class Resolution:
    """A request's ``model`` field resolved against a plan: ``auto`` (role None: the router decides) or a role."""

    requested: str
    role: str | None

    @property
    def is_auto(self) -> bool:
        return self.role is None


# --------------------------------------------------------------------------- reading


def _lineage(run: Run | None, parents: Mapping[str, str]) -> Lineage:
    if run is None:
        return Lineage(None, None, "", "", None, None)
    config: dict = {}
    if run.run_dir:
        try:
            config = json.loads((Path(run.run_dir) / run_folder.CONFIG_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            config = {}
    ids = config.get("annotation_ids")
    annotation_ids = tuple(int(i) for i in ids) if isinstance(ids, list) else None
    extra = (config.get("dataset") or {}).get("extra_train")
    used = len(annotation_ids) if annotation_ids is not None else int(extra) if isinstance(extra, int) else None
    parent = run.parent_run_id or config.get("parent_run_id")
    return Lineage(parent, parents.get(parent) if parent else None, run.dataset_path, run.dataset_sha256, used, annotation_ids)


def _info(row: ModelVersion, run: Run | None, parents: Mapping[str, str]) -> VersionInfo:
    return VersionInfo(
        id=row.id,
        model_name=row.model_name,
        version=row.version,
        run_id=row.run_id,
        role=row.role,
        registered_at=row.registered_at,
        registered_by=row.registered_by,
        notes=row.notes,
        run_dir=run.run_dir if run is not None else None,
        metrics=run.metrics if run is not None else {},
        lineage=_lineage(run, parents),
    )


def _default_info(run: Run, role: str) -> VersionInfo:
    return VersionInfo(None, run.model_name, None, run.id, role, None, "", "", run.run_dir, run.metrics, _lineage(run, {}))


def _infos(session: Session, rows: Sequence[ModelVersion]) -> list[VersionInfo]:
    run_ids = [row.run_id for row in rows]
    runs = {run.id: run for run in session.scalars(sa.select(Run).where(Run.id.in_(run_ids)))} if run_ids else {}
    parent_ids = {run.parent_run_id for run in runs.values() if run.parent_run_id}
    parents = {}
    if parent_ids:
        for row in session.scalars(sa.select(ModelVersion).where(ModelVersion.run_id.in_(parent_ids))):
            parents[row.run_id] = f"{row.model_name} v{row.version}"
    return [_info(row, runs.get(row.run_id), parents) for row in rows]


def list_versions(store: Store, model_name: str | None = None) -> list[VersionInfo]:
    """Registered versions with their lineage and stored metrics, by model name, newest version first."""
    query = sa.select(ModelVersion).order_by(ModelVersion.model_name, ModelVersion.version.desc())
    if model_name is not None:
        query = query.where(ModelVersion.model_name == model_name)
    with store.session() as session:
        return _infos(session, list(session.scalars(query)))


def get_version(store: Store, model_name: str, version: int) -> VersionInfo:
    with store.session() as session:
        return _infos(session, [_version_row(session, model_name, version)])[0]


def role_holders(store: Store) -> dict[str, VersionInfo]:
    """Serving role -> its holder, for the roles that have one."""
    with store.session() as session:
        rows = list(session.scalars(sa.select(ModelVersion).where(ModelVersion.role.in_(SERVING_ROLES))))
        return {info.role: info for info in _infos(session, rows)}


def history(
    store: Store,
    *,
    role: str | None = None,
    model_name: str | None = None,
    limit: int | None = None,
    change_id: int | None = None,
) -> list[RoleChange]:
    """The registry's changes, newest first; filtered to one role, one model name or one change when asked."""
    query = sa.select(ModelRoleChange, ModelVersion).join(ModelVersion, ModelRoleChange.model_version_id == ModelVersion.id)
    if change_id is not None:
        query = query.where(ModelRoleChange.id == change_id)
    if role is not None:
        query = query.where(ModelRoleChange.role == role)
    if model_name is not None:
        query = query.where(ModelVersion.model_name == model_name)
    query = query.order_by(ModelRoleChange.id.desc())
    if limit:
        query = query.limit(limit)
    with store.session() as session:
        pairs = list(session.execute(query))
        previous_ids = {change.previous_version_id for change, _ in pairs if change.previous_version_id}
        labels = {}
        if previous_ids:
            for row in session.scalars(sa.select(ModelVersion).where(ModelVersion.id.in_(previous_ids))):
                labels[row.id] = f"{row.model_name} v{row.version}"
        return [
            RoleChange(
                change.id,
                change.changed_at,
                change.changed_by,
                change.action,
                version.model_name,
                version.version,
                change.role,
                labels.get(change.previous_version_id),
                change.previous_role,
                change.note,
            )
            for change, version in pairs
        ]


def generation(store: Store) -> int:
    """A number that grows with every registration and role change (0 for an empty registry); one indexed read."""
    with store.session() as session:
        return int(session.scalar(sa.select(sa.func.max(ModelRoleChange.id))) or 0)


# --------------------------------------------------------------------------- changing


def _version_row(session: Session, model_name: str, version: int) -> ModelVersion:
    row = session.scalar(sa.select(ModelVersion).where(ModelVersion.model_name == model_name, ModelVersion.version == version))
    if row is None:
        known = sorted(session.scalars(sa.select(ModelVersion.version).where(ModelVersion.model_name == model_name)))
        listed = f"its versions: {', '.join(f'v{v}' for v in known)}" if known else "it has no registered version"
        raise RegistryError(f"no version {version} of {model_name!r}; {listed} (`python -m ner_core registry list`).")
    return row


def _check_role(role: str) -> None:
    if role not in REGISTRY_ROLES:
        raise RegistryError(f"unknown role {role!r}; choose one of {', '.join(REGISTRY_ROLES)}.")


def _record(session: Session, action: str, row: ModelVersion, role: str | None, previous: ModelVersion | None, **extra) -> int:
    change = ModelRoleChange(
        action=action,
        model_version_id=row.id,
        role=role,
        previous_version_id=previous.id if previous is not None else None,
        **extra,
    )
    session.add(change)
    session.flush()
    return change.id


def register(store: Store, run_id: str, *, by: str = "", notes: str = "") -> VersionInfo:
    """Register a completed run as the next version of its model name; refused for any other run, or twice."""

    def work(session: Session) -> int:
        run = session.get(Run, run_id)
        if run is None:
            raise RegistryError(f"no run {run_id!r}; `python -m ner_core compare` lists the completed runs.")
        if run.status != RunStatus.COMPLETED:
            raise RegistryError(f"run {run_id} is {run.status}; only a completed run can be registered.")
        if not run.run_dir or not Path(run.run_dir).is_dir():
            raise RegistryError(f"run {run_id} has no run folder on this machine; it cannot be served.")
        existing = session.scalar(sa.select(ModelVersion).where(ModelVersion.run_id == run_id))
        if existing is not None:
            raise RegistryError(f"run {run_id} is already registered as {existing.model_name} v{existing.version}.")
        latest = session.scalar(sa.select(sa.func.max(ModelVersion.version)).where(ModelVersion.model_name == run.model_name))
        row = ModelVersion(model_name=run.model_name, version=int(latest or 0) + 1, run_id=run_id, registered_by=by, notes=notes)
        session.add(row)
        session.flush()
        _record(session, REGISTERED, row, None, None, changed_by=by, note=notes)
        return row.id

    version_id = store.write(work)
    with store.session() as session:
        return _infos(session, [session.get(ModelVersion, version_id)])[0]


def _move_role(session: Session, row: ModelVersion, role: str, action: str, by: str, note: str) -> int:
    """Give ``row`` the role (taking it from its serving holder) and record the change."""
    previous_holder = None
    if role in SERVING_ROLES:
        previous_holder = session.scalar(sa.select(ModelVersion).where(ModelVersion.role == role))
        if previous_holder is not None and previous_holder.id != row.id:
            previous_holder.role = None
            session.flush()  # the partial unique index sees one holder at a time
    given_up = row.role
    row.role = role
    session.flush()
    return _record(session, action, row, role, previous_holder, previous_role=given_up, changed_by=by, note=note)


def promote(store: Store, model_name: str, version: int, role: str, *, by: str = "", note: str = "") -> RoleChange:
    """Give a version a role; a serving role moves from its holder in the same transaction."""
    _check_role(role)

    def work(session: Session) -> int:
        row = _version_row(session, model_name, version)
        if row.role == role:
            raise RegistryError(f"{model_name} v{version} already holds {role}.")
        return _move_role(session, row, role, PROMOTED, by, note)

    return _change(store, store.write(work))


def demote(store: Store, model_name: str, version: int, *, by: str = "", note: str = "") -> RoleChange:
    """Take a version's role away (it stays registered); a demoted serving role is left without a holder."""

    def work(session: Session) -> int:
        row = _version_row(session, model_name, version)
        if row.role is None:
            raise RegistryError(f"{model_name} v{version} holds no role; nothing to demote.")
        role, row.role = row.role, None
        session.flush()
        return _record(session, DEMOTED, row, role, row, previous_role=role, changed_by=by, note=note)

    return _change(store, store.write(work))


def rollback(store: Store, role: str, *, by: str = "", note: str = "") -> RoleChange:
    """Give a serving role back to the version that held it before its latest change.

    Rolling back twice returns to where it started (as ``kubectl rollout undo`` does): the
    rollback is itself the latest change, and its previous holder is the version it replaced.
    """
    if role not in SERVING_ROLES:
        raise RegistryError(f"rollback restores a serving role ({', '.join(SERVING_ROLES)}), not {role!r}.")

    def work(session: Session) -> int:
        latest = session.scalar(
            sa.select(ModelRoleChange)
            .where(ModelRoleChange.role == role, ModelRoleChange.action.in_(ROLE_ACTIONS))
            .order_by(ModelRoleChange.id.desc())
            .limit(1)
        )
        if latest is None:
            raise RegistryError(f"{role} has never changed holder; nothing to roll back.")
        if latest.previous_version_id is None:
            raise RegistryError(f"{role} had no holder before its latest change; demote its holder instead of rolling back.")
        restored = session.get(ModelVersion, latest.previous_version_id)
        if restored.role == role:
            raise RegistryError(f"{restored.model_name} v{restored.version} already holds {role}.")
        return _move_role(session, restored, role, ROLLED_BACK, by, note)

    return _change(store, store.write(work))


def _change(store: Store, change_id: int) -> RoleChange:
    return history(store, change_id=change_id)[0]


# --------------------------------------------------------------------------- serving


def serving_plan(store: Store) -> ServingPlan:
    """The versions the API serves: the serving roles' holders and the newest staging version, or defaults.

    A holder whose run folder is gone is left out and named in ``skipped`` (its role is not served).
    """
    with store.session() as session:
        generation_now = int(session.scalar(sa.select(sa.func.max(ModelRoleChange.id))) or 0)
        rows = list(session.scalars(sa.select(ModelVersion).where(ModelVersion.role.in_(SERVING_ROLES))))
        staging = session.scalar(
            sa.select(ModelVersion).where(ModelVersion.role == STAGING).order_by(ModelVersion.registered_at.desc()).limit(1)
        )
        infos = _infos(session, rows + ([staging] if staging is not None else []))
    roles, skipped = {}, {}
    for info in infos:
        if info.run_dir and Path(info.run_dir).is_dir():
            roles[info.role] = info
        else:
            skipped[info.role] = f"{info.label}: the run folder of {info.run_id} is missing"
    if not rows:
        defaults = _default_plan(store, generation_now)
        return ServingPlan({**defaults.roles, **roles}, True, generation_now, defaults.note, skipped)
    return ServingPlan(roles, False, generation_now, "", skipped)


def _default_plan(store: Store, generation_now: int) -> ServingPlan:
    runs = [r for r in store.list_runs(status=RunStatus.COMPLETED) if r.run_dir and Path(r.run_dir).is_dir()]
    latest: dict[str, Run] = {}
    for run in runs:  # newest first
        latest.setdefault(run.model_name, run)
    roles = {role: _default_info(latest[model], role) for role, model in DEFAULT_ROLE_MODELS.items() if model in latest}
    if not roles:
        roles = {role: _default_info(run, role) for role, run in zip(SERVING_ROLES, runs)}
    note = (
        "the registry has no serving versions; serving defaults: "
        + (", ".join(f"{role} = {info.label}" for role, info in roles.items()) or "none (no completed run)")
        + ". Register and promote versions with `python -m ner_core registry`."
    )
    return ServingPlan(roles, True, generation_now, note)


def resolve(requested: str, roles: Mapping[str, VersionInfo]) -> Resolution:
    """A request's ``model`` field against the served roles: ``auto``, a role, a model name or ``name:vN``.

    A model name resolves to the served role that holds one of its versions, preferring
    primary, then speed, backup and staging. Anything else raises :class:`UnknownModelError`
    listing what is served.
    """
    value = (requested or AUTO).strip()
    if value == AUTO:
        return Resolution(value, None)
    if value in roles:
        return Resolution(value, value)
    name, _, version = value.partition(":v")
    for role in ROLE_PREFERENCE:
        info = roles.get(role)
        if info is None or info.model_name != name:
            continue
        if not version or (version.isdigit() and info.version == int(version)):
            return Resolution(value, role)
    served = ", ".join(f"{role} ({info.label})" for role, info in roles.items()) or "nothing"
    raise UnknownModelError(f"model {value!r} is not served here; use auto, a role or a model name. Served: {served}.")
