"""What the Registry page shows and checks: versions with their role, metrics and lineage; the history
of role changes; the runs that can be registered; and, before any change, one sentence naming
what it will do ("model2 v2 becomes primary; model2 v1 leaves primary"), so the confirmation
dialog says exactly what the API will serve afterwards.

Changes go through :mod:`ner_core.serving.registry` (one transaction each). :func:`promote` and
:func:`rollback` first refuse a version that could not be served (its run deleted, not completed,
or its folder gone) with :class:`~ner_core.errors.UnservableVersionError`: the registry would record
it, but the API would skip the role and serve nothing there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ner_core.errors import RegistryError, RunNotFoundError, UnservableVersionError
from ner_core.serving import registry
from ner_core.store.database import Store
from ner_core.store.tables import REGISTRY_ROLES, SERVING_ROLES, Run, RunStatus

ARCHIVED = registry.ARCHIVED
NAME_MAX_CHARS = 128  # model_versions.registered_by and model_role_changes.changed_by
ACTION_LABELS = {
    registry.REGISTERED: "registered",
    registry.PROMOTED: "promoted",
    registry.DEMOTED: "demoted",
    registry.ROLLED_BACK: "rolled back",
}
VERSION_COLUMNS = (
    "model", "version", "role", "entity F1", "latency p50 (ms)", "run", "parent", "dataset", "dataset sha256",
    "annotations used", "registered at", "registered by", "notes",
)  # fmt: skip


@dataclass(frozen=True)
class Change:
    """A registry change the page is about to make, and the sentence its confirmation shows."""

    action: str  # register, promote, demote, rollback
    summary: str
    model_name: str = ""
    version: int | None = None
    role: str = ""
    run_id: str = ""


# --------------------------------------------------------------------------- tables


def versions_table(versions: Sequence[registry.VersionInfo]) -> pd.DataFrame:
    """One row per registered version: role, stored metrics and lineage, newest version first per model."""
    rows = []
    for info in versions:
        lineage, metrics = info.lineage, info.metrics
        parent = lineage.parent_version or lineage.parent_run_id
        rows.append((
            info.model_name, info.version, info.role or "", _number(metrics.get("entity_f1")),
            _number(metrics.get("latency_p50_ms")), info.run_id, parent or "", lineage.dataset_path,
            lineage.dataset_sha256[:12], lineage.annotations_used, info.registered_at, info.registered_by, info.notes,
        ))  # fmt: skip
    return pd.DataFrame.from_records(rows, columns=list(VERSION_COLUMNS))


def role_table(store: Store) -> pd.DataFrame:
    """Each serving role: its holder and what the API serves there now (the registry's plan)."""
    plan = registry.serving_plan(store)
    rows = []
    for role in SERVING_ROLES:
        info = plan.roles.get(role)
        served = info.label if info is not None else ""
        note = "default: latest run (registry empty)" if plan.defaults and info is not None and info.version is None else ""
        rows.append((role, served, note or plan.skipped.get(role, "" if info is not None else "no holder: not served")))
    return pd.DataFrame.from_records(rows, columns=["role", "served", "note"])


def history_table(changes: Sequence[registry.RoleChange]) -> pd.DataFrame:
    """The registry's changes, newest first: when, who, what, which version, the role and who held it before."""
    rows = [
        (
            change.changed_at,
            change.changed_by,
            ACTION_LABELS.get(change.action, change.action),
            f"{change.model_name} v{change.version}",
            change.role or "",
            change.previous_holder or "",
            change.previous_role or "",
            change.note,
        )  # fmt: skip
        for change in changes
    ]
    columns = ["when (UTC)", "by", "action", "version", "role", "previous holder", "role given up", "note"]
    return pd.DataFrame.from_records(rows, columns=columns)


def registrable_runs(store: Store) -> list[Run]:
    """Completed runs with a folder on this machine that are not registered yet, newest first."""
    registered = {info.run_id for info in registry.list_versions(store)}
    runs = store.list_runs(status=RunStatus.COMPLETED)
    return [run for run in runs if run.id not in registered and run.run_dir and Path(run.run_dir).is_dir()]


def serving_role_runs(store: Store) -> dict[str, str]:
    """Serving role -> the run id of its holder, for the roles that have one (the A/B page's default arms)."""
    return {role: info.run_id for role, info in registry.role_holders(store).items()}


def empty_registry_note(store: Store) -> str:
    """What the API serves while no version holds a serving role, and what to do about it."""
    plan = registry.serving_plan(store)
    served = ", ".join(f"{role} = {info.label}" for role, info in plan.roles.items())
    serves = (
        f"the API serves the latest runs by default: {served}" if served else "the API has nothing to serve (no completed run)"
    )
    return (
        f"No version holds a serving role, so {serves}. Register a completed run below, then promote it to primary "
        "(and a fast one to speed) to decide what the API serves."
    )


# --------------------------------------------------------------------------- what a change will do


def describe_registration(store: Store, run_id: str) -> Change:
    run = _run(store, run_id)
    if run is None:
        raise RegistryError(f"no run {run_id!r}; it may have been deleted.")
    next_version = 1 + max((v.version for v in registry.list_versions(store, run.model_name)), default=0)
    summary = f"Run {run.id} becomes {run.model_name} v{next_version}, with no role (the API does not serve it yet)."
    return Change("register", summary, run.model_name, next_version, "", run.id)


def describe_promotion(store: Store, model_name: str, version: int, role: str) -> Change:
    if role not in REGISTRY_ROLES:
        raise RegistryError(f"unknown role {role!r}; choose one of {', '.join(REGISTRY_ROLES)}.")
    info = registry.get_version(store, model_name, version)
    if info.role == role:
        raise RegistryError(f"{info.label} already holds {role}.")
    parts = [f"{info.label} becomes {role}"]
    if role in SERVING_ROLES:
        holder = registry.role_holders(store).get(role)
        parts.append(f"{holder.label} leaves {role}" if holder is not None else f"{role} had no holder")
    if info.role:
        parts.append(f"{info.label} gives up {info.role}" + (", which is then not served" if info.role in SERVING_ROLES else ""))
    summary = "; ".join(parts) + "."
    if role in SERVING_ROLES and not registry.role_holders(store):
        summary += " " + _leaving_defaults(store, role)
    return Change("promote", summary, model_name, version, role, info.run_id)


def describe_demotion(store: Store, model_name: str, version: int) -> Change:
    info = registry.get_version(store, model_name, version)
    if info.role is None:
        raise RegistryError(f"{info.label} holds no role; nothing to demote.")
    summary = f"{info.label} leaves {info.role}"
    if info.role in SERVING_ROLES:
        others = set(registry.role_holders(store)) - {info.role}
        summary += "; the API serves the latest runs by default again" if not others else f"; {info.role} is then not served"
    return Change("demote", summary + ".", model_name, version, info.role, info.run_id)


def describe_rollback(store: Store, role: str) -> Change:
    """What :func:`registry.rollback` would do: the role's holder before its latest change comes back."""
    if role not in SERVING_ROLES:
        raise RegistryError(f"rollback restores a serving role ({', '.join(SERVING_ROLES)}), not {role!r}.")
    latest = next((c for c in registry.history(store, role=role) if c.action in registry.ROLE_ACTIONS), None)
    if latest is None:
        raise RegistryError(f"{role} has never changed holder; nothing to roll back.")
    if latest.previous_holder is None:
        raise RegistryError(f"{role} had no holder before its latest change; demote its holder instead of rolling back.")
    holder = registry.role_holders(store).get(role)
    name, _, number = latest.previous_holder.rpartition(" v")
    restored = registry.get_version(store, name, int(number))
    if restored.role == role:
        raise RegistryError(f"{restored.label} already holds {role}.")
    summary = f"{restored.label} becomes {role} again; " + (
        f"{holder.label} leaves {role}." if holder else f"{role} had no holder."
    )
    if restored.role:
        summary += f" {restored.label} gives up {restored.role}."
    return Change("rollback", summary, restored.model_name, restored.version, role, restored.run_id)


def _leaving_defaults(store: Store, role: str) -> str:
    plan = registry.serving_plan(store)
    dropped = [f"{r} ({info.label})" for r, info in plan.roles.items() if r != role and info.version is None]
    if not dropped:
        return "From then on the API serves the registry's roles only."
    return f"From then on the API serves the registry's roles only: it stops serving its defaults {', '.join(dropped)}."


# --------------------------------------------------------------------------- changing, with the serving check


def check_servable(store: Store, model_name: str, version: int) -> registry.VersionInfo:
    """The version, when the API could serve it; :class:`UnservableVersionError` naming why not."""
    info = registry.get_version(store, model_name, version)
    run = _run(store, info.run_id)
    if run is None:
        raise UnservableVersionError(f"{info.label}'s run {info.run_id} was deleted; it cannot be served. Archive it instead.")
    if run.status != RunStatus.COMPLETED:
        raise UnservableVersionError(f"{info.label}'s run {info.run_id} is {run.status}; only a completed run can be served.")
    if not run.run_dir or not Path(run.run_dir).is_dir():
        raise UnservableVersionError(
            f"{info.label}'s run folder ({run.run_dir or 'none recorded'}) is missing on this machine; it cannot be served."
        )
    return info


def apply(store: Store, change: Change, *, by: str, note: str = "") -> registry.VersionInfo | registry.RoleChange:
    """Make a described change; a serving role (and staging) only goes to a version the API could serve."""
    by = _who(by)
    if change.action == "register":
        return registry.register(store, change.run_id, by=by, notes=note)
    if change.action == "promote":
        if change.role != ARCHIVED:
            check_servable(store, change.model_name, change.version)
        return registry.promote(store, change.model_name, change.version, change.role, by=by, note=note)
    if change.action == "demote":
        return registry.demote(store, change.model_name, change.version, by=by, note=note)
    if change.action == "rollback":
        check_servable(store, change.model_name, change.version)
        return registry.rollback(store, change.role, by=by, note=note)
    raise RegistryError(f"unknown registry action {change.action!r}.")


def _who(by: str) -> str:
    name = (by or "").strip()
    if not name:
        raise RegistryError("enter your name: every registry change records who made it.")
    if len(name) > NAME_MAX_CHARS:
        raise RegistryError(f"a name is at most {NAME_MAX_CHARS} characters.")
    return name


def _run(store: Store, run_id: str) -> Run | None:
    try:
        return store.get_run(run_id)
    except RunNotFoundError:
        return None


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
