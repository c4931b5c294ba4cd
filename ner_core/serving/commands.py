"""The serving command groups of ``python -m ner_core``: ``serve``, ``api-key``, ``registry`` and ``log``.

:func:`add_commands` adds them to the main parser (``ner_core.cli.build_parser`` calls it), so the
CLI module stays about data, training and evaluation. Handlers return an exit status; a refused
change raises a :class:`~ner_core.errors.NerError`, which the CLI prints as one line (exit 2).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from ner_core.store.tables import REGISTRY_ROLES, SERVING_ROLES


def _store():
    from ner_core.settings import Settings
    from ner_core.store.database import Store

    return Store(Settings.from_env().database_url)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


# --------------------------------------------------------------------------- serve


def cmd_serve(args) -> int:
    from ner_core import configuration
    from ner_core.serving import server
    from ner_core.serving.config import ServeConfig

    return server.run(configuration.from_arguments(args, ServeConfig))


# --------------------------------------------------------------------------- registry


def _version_row(info) -> dict:
    lineage = info.lineage
    return {
        "model": info.model_name,
        "version": info.version,
        "run_id": info.run_id,
        "role": info.role,
        "registered_at": info.registered_at.isoformat(timespec="seconds") if info.registered_at else None,
        "registered_by": info.registered_by,
        "notes": info.notes,
        "entity_f1": info.metrics.get("entity_f1"),
        "latency_p50_ms": info.metrics.get("latency_p50_ms"),
        "parent_run_id": lineage.parent_run_id,
        "parent_version": lineage.parent_version,
        "dataset_sha256": lineage.dataset_sha256,
        "annotations_used": lineage.annotations_used,
    }


def cmd_registry_list(args) -> int:
    from ner_core.serving import registry

    store = _store()
    if args.history:
        changes = registry.history(store, model_name=args.model, limit=args.limit)
        if args.json:
            print(json.dumps([{**change.__dict__, "changed_at": change.changed_at.isoformat()} for change in changes], indent=2))
            return 0
        for change in changes:
            what = f"{change.model_name} v{change.version}"
            detail = {
                registry.REGISTERED: f"registered {what}",
                registry.PROMOTED: f"{what} -> {change.role}",
                registry.DEMOTED: f"{what} gave up {change.role}",
                registry.ROLLED_BACK: f"{change.role} rolled back to {what}",
            }.get(change.action, f"{change.action} {what}")
            if change.previous_holder and change.action != registry.DEMOTED:
                detail += f" (was {change.previous_holder})"
            by = f" by {change.changed_by}" if change.changed_by else ""
            print(f"{change.changed_at:%Y-%m-%d %H:%M:%S}  {detail}{by}" + (f"  -- {change.note}" if change.note else ""))
        return 0
    versions = registry.list_versions(store, args.model)
    if args.json:
        print(json.dumps([_version_row(info) for info in versions], indent=2))
        return 0
    if not versions:
        plan = registry.serving_plan(store)
        print("no registered versions; `python -m ner_core registry register <run id or model name>` adds one.")
        print(plan.note)
        return 0
    print(f"{'model':16} {'version':>7} {'role':9} {'entity F1':>9}  {'run':36} lineage")
    for info in versions:
        row = _version_row(info)
        f1 = f"{row['entity_f1']:.4f}" if isinstance(row["entity_f1"], (int, float)) else "n/a"
        lineage = []
        if row["parent_run_id"]:
            lineage.append(f"parent {row['parent_version'] or row['parent_run_id']}")
        if row["annotations_used"]:
            lineage.append(f"{row['annotations_used']} annotations")
        if row["dataset_sha256"]:
            lineage.append(f"data {row['dataset_sha256'][:12]}")
        version = f"v{info.version}"
        print(f"{info.model_name:16} {version:>7} {info.role or '-':9} {f1:>9}  {info.run_id:36} {', '.join(lineage)}")
    return 0


def cmd_registry_register(args) -> int:
    from ner_core.cli import _resolve_run
    from ner_core.serving import registry

    store = _store()
    run_id = _resolve_run(args.run).run_id
    info = registry.register(store, run_id, by=args.by, notes=args.notes)
    print(f"registered run {run_id} as {info.label}")
    if args.role:
        registry.promote(store, info.model_name, info.version, args.role, by=args.by)
        print(f"{info.label} -> {args.role}")
    return 0


def cmd_registry_bootstrap(args) -> int:
    """Make sure something is served: register (and train on the bundled sample, if need be) the defaults."""
    from ner_core.serving import registry
    from ner_core.store.tables import RunStatus

    store = _store()
    holders = registry.role_holders(store)
    if holders:
        print("the registry already serves " + ", ".join(f"{role} = {info.label}" for role, info in holders.items()))
        return 0
    runs = [r for r in store.list_runs(status=RunStatus.COMPLETED) if r.run_dir]
    latest = {}
    for run in runs:  # newest first
        latest.setdefault(run.model_name, run.id)
    for model in (registry.DEFAULT_ROLE_MODELS["primary"], registry.DEFAULT_ROLE_MODELS["speed"]):
        if model not in latest:
            from ner_core.settings import Settings
            from ner_core.training import loop
            from ner_core.training.config import sample_config

            print(f"no completed {model} run: training one on the bundled sample (about a minute)...", flush=True)
            result = loop.train(sample_config(model), models_dir=Settings.from_env().models_dir, store=store)
            latest[model] = result.run_id
    for role, model in registry.DEFAULT_ROLE_MODELS.items():
        if model not in latest:
            continue
        existing = next((v for v in registry.list_versions(store, model) if v.run_id == latest[model]), None)
        info = existing or registry.register(store, latest[model], by=args.by, notes="registry bootstrap")
        registry.promote(store, info.model_name, info.version, role, by=args.by, note="registry bootstrap")
        print(f"{info.label} (run {info.run_id}) -> {role}")
    return 0


def cmd_registry_promote(args) -> int:
    from ner_core.serving import registry

    change = registry.promote(_store(), args.model, args.version, args.role, by=args.by, note=args.note)
    was = f" (was {change.previous_holder})" if change.previous_holder else ""
    print(f"{change.model_name} v{change.version} -> {change.role}{was}")
    return 0


def cmd_registry_demote(args) -> int:
    from ner_core.serving import registry

    change = registry.demote(_store(), args.model, args.version, by=args.by, note=args.note)
    print(f"{change.model_name} v{change.version} no longer holds {change.role}")
    return 0


def cmd_registry_rollback(args) -> int:
    from ner_core.serving import registry

    change = registry.rollback(_store(), args.role, by=args.by, note=args.note)
    print(f"{change.role} rolled back to {change.model_name} v{change.version} (was {change.previous_holder or 'nobody'})")
    return 0


# --------------------------------------------------------------------------- api keys


def cmd_api_key_create(args) -> int:
    from ner_core.serving import api_keys

    key = api_keys.create(_store(), args.name)
    print(key)
    print(f"API key {args.name!r} created. It is shown this once and only its hash is stored; keep it now.", file=sys.stderr)
    return 0


def cmd_api_key_list(args) -> int:
    from ner_core.serving import api_keys

    keys = api_keys.list_keys(_store())
    if args.json:
        payload = [
            {
                "name": k.name,
                "prefix": k.prefix,
                "created_at": k.created_at.isoformat(timespec="seconds"),
                "revoked_at": k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else None,
            }
            for k in keys
        ]
        print(json.dumps(payload, indent=2))
        return 0
    if not keys:
        print("no API keys; `python -m ner_core api-key create NAME` makes one.")
    for k in keys:
        state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
        print(f"{k.name:24} nerk_{k.prefix}_...  created {k.created_at:%Y-%m-%d %H:%M}  {state}")
    return 0


def cmd_api_key_revoke(args) -> int:
    from ner_core.serving import api_keys

    info = api_keys.revoke(_store(), args.name)
    print(f"revoked {info.name!r}; a running server refuses it within a few seconds.")
    return 0


# --------------------------------------------------------------------------- log


def cmd_log_purge(args) -> int:
    from ner_core.serving import log_retention

    count = log_retention.purge_older_than(_store(), log_retention.parse_age(args.older_than), dry_run=args.dry_run)
    print(f"{'would delete' if args.dry_run else 'deleted'} {count:,} prediction-log rows older than {args.older_than}")
    return 0


def cmd_log_forget(args) -> int:
    from ner_core.serving import log_retention

    result = log_retention.forget(_store(), args.text, exact=args.exact, dry_run=args.dry_run)
    how = "equal to" if args.exact else "holding"
    print(f"{'would delete' if args.dry_run else 'deleted'} {result.log_rows:,} prediction-log rows {how} the text")
    if result.annotations_holding_text or result.review_requests_holding_text:
        print(
            f"not deleted: {result.annotations_holding_text:,} saved annotations and "
            f"{result.review_requests_holding_text:,} review requests also hold it (an analyst's work; remove them in the app)"
        )
    return 0


# --------------------------------------------------------------------------- parser


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add ``serve``, ``api-key``, ``registry`` and ``log`` to the CLI's subcommands."""
    from ner_core import configuration
    from ner_core.serving.config import ServeConfig

    serve = commands.add_parser(
        "serve",
        help="the REST API (FastAPI on uvicorn) serving the registry's models; binds 127.0.0.1 unless told",
        description="Serve the registry's primary, speed and backup versions over HTTP; /docs lists the endpoints.",
    )
    configuration.add_arguments(serve, ServeConfig)  # one flag per ServeConfig field, with its help and bounds
    serve.set_defaults(handler=cmd_serve)
    _add_registry(commands)
    _add_api_key(commands)
    _add_log(commands)


def _who(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--by", default=_user(), help="who makes the change (default: the login name)")


def _add_registry(commands) -> None:
    registry_parser = commands.add_parser("registry", help="the model registry: versions, roles, promotion and rollback")
    sub = registry_parser.add_subparsers(dest="registry_command", required=True)
    listing = sub.add_parser("list", help="registered versions with role, entity F1 and lineage (or --history)")
    listing.add_argument("--model", help="only this model name")
    listing.add_argument("--history", action="store_true", help="the registrations and role changes, newest first")
    listing.add_argument("--limit", type=int, default=None, help="at most this many history rows")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_registry_list)
    register = sub.add_parser("register", help="register a completed run as the next version of its model name")
    register.add_argument("run", help="run id, run folder, or model name (its latest completed run)")
    register.add_argument("--notes", default="", help="why this version exists")
    register.add_argument("--role", choices=REGISTRY_ROLES, help="also give it this role")
    _who(register)
    register.set_defaults(handler=cmd_registry_register)
    for name, handler, text in (
        ("promote", cmd_registry_promote, "give a version a role (a serving role moves from its holder)"),
        ("demote", cmd_registry_demote, "take a version's role away"),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument("model", help="model name, e.g. model2")
        command.add_argument("version", type=int, help="version number, e.g. 2")
        if name == "promote":
            command.add_argument("role", choices=REGISTRY_ROLES)
        command.add_argument("--note", default="", help="why (kept in the history)")
        _who(command)
        command.set_defaults(handler=handler)
    bootstrap = sub.add_parser(
        "bootstrap",
        help="when no version holds a serving role: register the latest model2/baseline/advanced runs as primary/speed/backup, "
        "training model2 and baseline on the bundled sample first if there are none (what `make serve` runs)",
    )
    _who(bootstrap)
    bootstrap.set_defaults(handler=cmd_registry_bootstrap)
    rollback = sub.add_parser("rollback", help="give a serving role back to its previous holder")
    rollback.add_argument("role", choices=SERVING_ROLES)
    rollback.add_argument("--note", default="", help="why (kept in the history)")
    _who(rollback)
    rollback.set_defaults(handler=cmd_registry_rollback)


def _add_api_key(commands) -> None:
    key_parser = commands.add_parser("api-key", help="API keys for the REST API (created once, stored hashed)")
    sub = key_parser.add_subparsers(dest="api_key_command", required=True)
    create = sub.add_parser("create", help="make a key and print it once")
    create.add_argument("name", help="who or what uses it; the prediction log records this name")
    create.set_defaults(handler=cmd_api_key_create)
    listing = sub.add_parser("list", help="key names, prefixes and states (never the keys)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=cmd_api_key_list)
    revoke = sub.add_parser("revoke", help="revoke a key by name")
    revoke.add_argument("name")
    revoke.set_defaults(handler=cmd_api_key_revoke)


def _add_log(commands) -> None:
    log_parser = commands.add_parser("log", help="prediction-log retention")
    sub = log_parser.add_subparsers(dest="log_command", required=True)
    purge = sub.add_parser("purge", help="delete log rows older than an age")
    purge.add_argument("--older-than", required=True, help="an age like 30d, 12h or 2w")
    purge.add_argument("--dry-run", action="store_true", help="only count them")
    purge.set_defaults(handler=cmd_log_purge)
    forget = sub.add_parser("forget", help="delete every log row holding a text (right to be forgotten)")
    forget.add_argument("text", help="a name or sentence; matched anywhere in a row's text (ASCII case ignored)")
    forget.add_argument("--exact", action="store_true", help="only rows whose whole text equals it")
    forget.add_argument("--dry-run", action="store_true", help="only count them")
    forget.set_defaults(handler=cmd_log_forget)
