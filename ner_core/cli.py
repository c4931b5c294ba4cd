"""``python -m ner_core``: inspect data, train, evaluate, predict and compare from a terminal.

Bad input ends with one line on stderr (``error: ...``) and exit status 2,
never a traceback: every expected failure is a :class:`NerError`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ner_core.corpus import splitting
from ner_core.errors import LineageError, NerError, RunNotFoundError

EXIT_USER_ERROR = 2


def _settings():
    from ner_core.settings import Settings

    return Settings.from_env()


def _store():
    from ner_core.store.database import Store

    return Store(_settings().database_url)


# --------------------------------------------------------------------------- data


def cmd_data_inspect(args) -> int:
    from ner_core.corpus import reading, splitting, statistics

    corpus = reading.inspect_corpus(args.path, repair_iob=args.repair_iob, format=args.format)
    splits = splitting.split_corpus(corpus.sentences, seed=args.seed)
    stats = statistics.corpus_statistics(corpus.sentences, splits)
    if args.json:
        print(
            json.dumps(
                {
                    "source": corpus.source,
                    "sha256": corpus.sha256,
                    "format": corpus.format,
                    "encoding": corpus.encoding,
                    "findings": corpus.report.to_records(),
                    "statistics": stats.to_dict(),
                },
                indent=2,
                default=str,
            )
        )
        return 0 if corpus.report.ok else 1
    print(f"file      {corpus.source}")
    print(f"format    {corpus.format}, {corpus.encoding}, sha256 {corpus.sha256[:16]}...")
    report = corpus.report
    print(f"findings  {len(report.errors)} errors, {len(report.warnings)} warnings, {len(report.repairs)} repairs")
    for (severity, code), count in sorted(report.counts().items()):
        print(f"  {severity:8} {code:22} {count:,}")
    shown = report.findings[: args.max_findings]
    for finding in shown:
        print(f"  - {finding.severity}: {finding.describe()}")
    if len(report.findings) > len(shown):
        print(f"  ... {len(report.findings) - len(shown):,} more (use --max-findings or --json)")
    print(f"sentences {stats.sentences:,}   tokens {stats.tokens:,}   vocabulary {stats.vocabulary_size:,}")
    print(
        f"length    min {stats.length_min}  mean {stats.length_mean:.1f}  p50 {stats.length_percentiles['p50']:.0f}"
        f"  p90 {stats.length_percentiles['p90']:.0f}  p99 {stats.length_percentiles['p99']:.0f}  max {stats.length_max}"
    )
    print("splits    " + "  ".join(f"{k} {v:,}" for k, v in stats.split_sizes.items()) + f"  (seed {args.seed})")
    print("OOV       " + "  ".join(f"{k} {v:.2%}" for k, v in stats.oov_rate.items()) + "  (against train)")
    print("tags      " + "  ".join(f"{k} {v:,}" for k, v in stats.tags.items()))
    print("entities  " + "  ".join(f"{k} {v:,}" for k, v in stats.entities.items()))
    if not report.ok:
        errors = report.errors
        print(f"error: {len(errors)} problem(s) must be fixed before training; first: {errors[0].describe()}", file=sys.stderr)
        return 1
    return 0


def cmd_data_encode(args) -> int:
    """Write the encoded splits a model would train on, for inspection or other tools."""
    from ner_core.corpus import reading, splitting
    from ner_core.modeling import encoding
    from ner_core.modeling.architectures import get_definition

    definition = get_definition(args.model)
    corpus = reading.load_corpus(args.path, repair_iob=args.repair_iob)
    splits = splitting.split_corpus(corpus.sentences, seed=args.seed)
    max_len = args.max_len or definition.default_max_len
    words = encoding.build_word_vocabulary(splits.train, args.min_freq)
    tags = encoding.build_tag_vocabulary(corpus.tag_names)
    encoded = {name: encoding.encode_sentences(part, words, tags, max_len) for name, part in splits.items()}
    out = Path(args.out)
    metadata = {
        "source": corpus.source,
        "source_sha256": corpus.sha256,
        "model": args.model,
        "max_len": max_len,
        "encoding": definition.target_encoding,
        "seed": args.seed,
        "min_freq": args.min_freq,
        "sizes": {name: len(part) for name, part in splits.items()},
        "tag_map": {tag: index for index, tag in enumerate(tags.tokens)},
        "vocabulary_size": len(words),
    }
    encoding.save_processed(out, encoded, metadata)
    words.save(out / "word_vocab.json")
    tags.save(out / "tag_vocab.json")
    print(f"wrote {', '.join(f'{k}.npz ({v:,})' for k, v in metadata['sizes'].items())}, metadata.json and vocabularies to {out}")
    return 0


# --------------------------------------------------------------------------- train / evaluate


def _train_config(args):
    from ner_core import configuration
    from ner_core.training.config import TrainConfig

    return configuration.from_arguments(args, TrainConfig)


def _print_progress(event) -> None:
    """A training's progress on stdout: one line per epoch, and its start, evaluation and end."""
    if event.kind == "epoch_end":
        logs = "  ".join(
            f"{k} {v:.4f}"
            for k, v in event.logs.items()
            if k in ("loss", "val_loss", "accuracy", "val_accuracy", "val_entity_f1")
        )
        eta = f"  eta {event.eta_s:.0f}s ({event.eta_basis})" if event.eta_s is not None else ""
        print(f"epoch {event.epoch}/{event.epochs}  {logs}  elapsed {event.elapsed_s:.0f}s{eta}", flush=True)
    elif event.kind in ("started", "evaluating", "finished"):
        print(event.message, flush=True)


def _print_result(result) -> None:
    from ner_core.evaluation import metric_registry

    print(f"run {result.run_id}: {result.epochs_trained} epochs in {result.training_time_s:.1f}s -> {result.run_dir}")
    for key in ("entity_f1", "entity_precision", "entity_recall", "token_accuracy", "latency_p50_ms"):
        if key in result.metrics:
            print(f"  {metric_registry.metric_spec(key).name:28} {metric_registry.format_metric(key, result.metrics[key])}")


def cmd_train(args) -> int:
    from ner_core.corpus import reading
    from ner_core.training import loop, recovery

    config = _train_config(args)
    settings = _settings()
    # Validate the data before anything is written, so bad input leaves the disk as it was.
    corpus = reading.load_corpus(config.dataset or settings.default_dataset, repair_iob=config.repair_iob)
    store = _store()
    recovery.recover(store, settings.models_dir)  # what an earlier, killed training left behind
    result = loop.train(config, models_dir=settings.models_dir, store=store, corpus=corpus, progress=_print_progress)
    _print_result(result)
    return 0


def cmd_retrain(args) -> int:
    """Retrain a run with the saved annotations (or exactly those another run used), then compare leak-free."""
    from ner_core.serving.predictor import Predictor
    from ner_core.training import lineage, loop, recovery
    from ner_core.workbench import retrain_comparison, retraining

    store, settings = _store(), _settings()
    parent = store.get_run(_resolve_run(args.parent).run_id)
    if args.annotations_of:
        source = _resolve_run(args.annotations_of)
        annotations = lineage.read_lineage(source.path)
        if annotations is None:
            raise LineageError(f"run {source.run_id} recorded no annotations to reuse.")
    else:
        annotations = retraining.current_annotations(store)
    if not len(annotations):
        raise NerError("there are no saved annotations to retrain with; save corrections in the app first.")
    overrides = {"epochs": args.epochs, "annotation_weight": args.annotation_weight}
    config = retraining.retrain_config(parent, args.mode, **{k: v for k, v in overrides.items() if v is not None})
    mode = retraining.RETRAIN_MODES[args.mode]
    print(f"{mode} of {parent.id} with {len(annotations)} annotation(s), checksum {annotations.checksum}")
    recovery.recover(store, settings.models_dir)
    result = loop.train(
        config,
        models_dir=settings.models_dir,
        store=store,
        progress=_print_progress,
        annotations=annotations,
        parent_run_id=parent.id,
    )
    _print_result(result)
    child = store.get_run(result.run_id)
    compared = retrain_comparison.compare_retrain(
        parent, child, parent_predictor=Predictor.load(parent.run_dir), child_predictor=Predictor.load(child.run_dir)
    )
    gain = compared.gain
    print(compared.left_out_note())
    print(
        f"entity F1 {gain.baseline_f1:.4f} -> {gain.candidate_f1:.4f}, gain {gain.gain:+.4f} [{gain.low:+.4f}, {gain.high:+.4f}]"
    )
    print(gain.verdict())
    return 0


def cmd_lineage(args) -> int:
    """Where a run came from and whether the annotations it used are still stored as they were."""
    from ner_core.workbench import retraining

    store = _store()
    record = retraining.run_lineage(store, store.get_run(_resolve_run(args.run).run_id))
    for label, value in record.facts().items():
        print(f"{label:18} {value}")
    if record.check is not None:
        print(record.check.summary())
        print("a retrain started now would use " + ("the same annotations" if record.same_as_now else "other annotations"))
    return 0


def _resolve_run(run: str):
    """A run id, a run folder path, or a model name (its latest completed run)."""
    from ner_core.modeling import architectures
    from ner_core.training import run_folder

    settings = _settings()
    if run in architectures.REGISTRY:
        completed = [r for r in _store().list_runs(status="completed", model_name=run) if r.run_dir and Path(r.run_dir).is_dir()]
        if not completed:
            raise RunNotFoundError(f"no completed run of model {run!r}; train one with `python -m ner_core train --model {run}`.")
        return run_folder.RunFolder(Path(completed[0].run_dir))
    return run_folder.resolve_run_folder(settings.models_dir, run)


def cmd_evaluate(args) -> int:
    from ner_core.corpus import reading, splitting
    from ner_core.evaluation import metric_registry, run_scoring
    from ner_core.training import run_folder

    folder = _resolve_run(args.run)
    config = folder.read_json(run_folder.CONFIG_FILE)
    dataset = args.data or config["dataset"]["source"]
    train_config = config.get("train_config", {})
    corpus = reading.load_corpus(dataset, repair_iob=bool(train_config.get("repair_iob")))
    if corpus.sha256 != config["dataset"]["sha256"] and not args.data:
        raise NerError(f"{dataset} changed since run {folder.run_id} was trained; pass --data to evaluate on it anyway.")
    splits = splitting.split_corpus(corpus.sentences, seed=int(train_config.get("seed", splitting.DEFAULT_SEED)))
    result = run_scoring.evaluate_folder(folder, splits.test, decoding=args.decoding, write=args.decoding is None)
    if args.decoding is None:
        try:
            _store().update_run(folder.run_id, metrics=result.metrics)
        except RunNotFoundError:
            pass
    print(f"run {folder.run_id} on {len(splits.test):,} test sentences, decoding {result.decoding}")
    for spec in metric_registry.METRICS:
        value = metric_registry.format_metric(spec.key, result.metrics.get(spec.key))
        print(f"  {spec.name:30} {value:>14}  ({'higher' if spec.higher_is_better else 'lower'} is better)")
    return 0


# --------------------------------------------------------------------------- predict / compare


def cmd_predict(args) -> int:
    from ner_core.serving.predictor import Predictor

    text = sys.stdin.read() if args.text == "-" else args.text
    folder = _resolve_run(args.run)
    prediction = Predictor.load(folder.path, decoding=args.decoding).predict(text)
    print(prediction.render(args.format))
    return 0


def cmd_compare(args) -> int:
    from ner_core.evaluation import metric_registry
    from ner_core.workbench import metric_table, run_labels, run_selection

    rows = [r for r in _store().list_runs(status="completed") if r.metrics]
    if args.runs:
        rows = [r for r in rows if r.id in set(args.runs)]
    if not rows:
        print("no completed runs yet; train one with `python -m ner_core train --model model2`.")
        return 0
    table = {r.id: r.metrics for r in rows}
    # Best only among runs of one test split (an F1 on another split is another exam).
    best = metric_table.best_columns(table, {r.id: run_selection.test_split(r) for r in rows})
    if args.format == "json":
        print(json.dumps(table, indent=2))
        return 0
    if args.format == "csv":
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(["metric", "direction", *table])
        for spec in metric_registry.METRICS:
            writer.writerow(
                [spec.key, "higher" if spec.higher_is_better else "lower", *[table[r].get(spec.key, "") for r in table]]
            )
        return 0
    ids = list(table)
    width = max(14, *(len(i) for i in ids))
    print(f"{'metric':32} {'better':6} " + " ".join(f"{i:>{width}}" for i in ids))
    for spec in metric_registry.METRICS:
        cells = []
        for run_id in ids:
            value = metric_registry.format_metric(spec.key, table[run_id].get(spec.key))
            cells.append(f"{value + (' *' if run_id in best.get(spec.key, ()) else ''):>{width}}")
        print(f"{spec.name:32} {'higher' if spec.higher_is_better else 'lower':6} " + " ".join(cells))
    if best:
        print("* best value of the metric among runs of the same test split")
    names = run_labels.dataset_names(_store(), _settings())
    labels = run_labels.run_labels(rows, names)
    print("\n".join(f"{run_id}: {label}" for run_id, label in labels.items()))
    mixed = run_selection.mixed_splits_warning(rows, names)
    if mixed:
        print(f"warning: {mixed}")
    return 0


def cmd_models(_args) -> int:
    from ner_core.modeling import architectures

    for definition in architectures.REGISTRY.values():
        print(f"{definition.name:10} {definition.description}")
    return 0


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ner_core", description="NER Workbench command line.")
    commands = parser.add_subparsers(dest="command", required=True)

    data_parser = commands.add_parser("data", help="dataset tools")
    data_commands = data_parser.add_subparsers(dest="data_command", required=True)
    inspect = data_commands.add_parser("inspect", help="validation report and statistics of a GMB CSV or CoNLL file")
    inspect.add_argument("path")
    inspect.add_argument("--repair-iob", action="store_true", help="turn stray I-X into B-X (IOB1 -> IOB2) and report it")
    inspect.add_argument("--format", choices=("gmb_csv", "conll"), default=None)
    inspect.add_argument("--seed", type=int, default=splitting.DEFAULT_SEED)
    inspect.add_argument("--max-findings", type=int, default=20)
    inspect.add_argument("--json", action="store_true")
    inspect.set_defaults(handler=cmd_data_inspect)
    encode = data_commands.add_parser("encode", help="write the encoded train/validation/test splits (.npz) and metadata.json")
    encode.add_argument("path")
    encode.add_argument("--model", default="model2", help="decides max_len and the target encoding (sparse or one-hot)")
    encode.add_argument("--out", required=True)
    encode.add_argument("--max-len", type=int)
    encode.add_argument("--min-freq", type=int, default=1)
    encode.add_argument("--seed", type=int, default=splitting.DEFAULT_SEED)
    encode.add_argument("--repair-iob", action="store_true")
    encode.set_defaults(handler=cmd_data_encode)

    from ner_core import configuration
    from ner_core.training.config import TrainConfig

    train = commands.add_parser("train", help="train a model and record the run")
    # One flag per TrainConfig field (--data for dataset, --no-early-stopping), with its help and bounds.
    configuration.add_arguments(train, TrainConfig)
    train.set_defaults(handler=cmd_train)

    from ner_core.workbench.retraining import RETRAIN_MODES, WARM_START

    retrain = commands.add_parser("retrain", help="retrain a run with the saved annotations and compare it with its parent")
    retrain.add_argument("parent", help="run id, run folder, or model name (its latest run)")
    retrain.add_argument("--mode", choices=tuple(RETRAIN_MODES), default=WARM_START, help="warm start (default) or full retrain")
    retrain.add_argument("--epochs", type=int, default=None, help="override the mode's epochs")
    retrain.add_argument("--annotation-weight", type=int, default=None, help="override the mode's annotation weight")
    retrain.add_argument(
        "--annotations-of", metavar="RUN", default=None, help="reuse exactly the annotations RUN trained on (reproduce it)"
    )
    retrain.set_defaults(handler=cmd_retrain)

    lineage_parser = commands.add_parser("lineage", help="a run's parent, dataset and the annotations it trained on")
    lineage_parser.add_argument("run", help="run id, run folder, or model name (its latest run)")
    lineage_parser.set_defaults(handler=cmd_lineage)

    evaluate = commands.add_parser("evaluate", help="score a run on its test split (all 23 metrics)")
    evaluate.add_argument("run", help="run id, run folder, or model name (its latest run)")
    evaluate.add_argument("--decoding", choices=("argmax", "constrained"), default=None)
    evaluate.add_argument("--data", default=None)
    evaluate.set_defaults(handler=cmd_evaluate)

    predict = commands.add_parser("predict", help="tag a text with a run")
    predict.add_argument("run", help="run id, run folder, or model name (its latest run)")
    predict.add_argument("text", help="text to tag, or - to read standard input")
    predict.add_argument("--format", choices=("json", "iob", "entities_only"), default="json")
    predict.add_argument("--decoding", choices=("argmax", "constrained"), default=None)
    predict.set_defaults(handler=cmd_predict)

    compare = commands.add_parser("compare", help="the 23-metric table of all completed runs")
    compare.add_argument("--runs", nargs="*")
    compare.add_argument("--format", choices=("table", "csv", "json"), default="table")
    compare.set_defaults(handler=cmd_compare)

    models_parser = commands.add_parser("models", help="list the registered models")
    models_parser.set_defaults(handler=cmd_models)

    from ner_core.serving import commands as serving_commands

    serving_commands.add_commands(commands)  # serve, api-key, registry, log
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except NerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except (OSError, UnicodeError) as exc:
        print(f"error: {exc.__class__.__name__}: {exc}".splitlines()[0], file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
