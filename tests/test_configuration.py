"""Settings declared once: validation, the CLI's flags and the Training page's form agree on every bound and choice."""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

import pytest

from ner_core import cli, configuration
from ner_core.configuration import setting
from ner_core.errors import ConfigError
from ner_core.training.config import TrainConfig
from tests.helpers import page_app

NUMBERS = {name: spec for name, spec in configuration.settings_of(TrainConfig).items() if spec.type in (int, float)}


@dataclass
class Toy:
    size: int | None = setting(None, help="How many.", min=1, max=10, placeholder="automatic")
    rate: float = setting(0.5, help="How fast.", min=0.0, max=1.0, step=0.1)
    colour: str = setting("red", help="Which colour.", choices=("red", "blue"), flag="--hue")
    name: str = setting("toy", help="What it is called.", choices=lambda: ("toy", "game"), required=True)
    loud: bool = setting(False, help="Make noise.")
    tidy: bool = setting(True, label="Tidying", help="Put it away after.")
    note: str | None = None  # a plain field: not a setting

    def __post_init__(self):
        configuration.validate(self)


# --------------------------------------------------------------------------- the generic module


def test_settings_of_reads_types_bounds_and_labels():
    specs = configuration.settings_of(Toy)
    assert list(specs) == ["size", "rate", "colour", "name", "loud", "tidy"]
    assert (specs["size"].type, specs["size"].optional, specs["size"].bounds) == (int, True, "from 1 to 10")
    assert (specs["rate"].type, specs["rate"].optional, specs["rate"].step) == (float, False, 0.1)
    assert specs["name"].allowed == ("toy", "game")  # a callable is resolved when asked
    assert specs["size"].label == "Size" and specs["tidy"].label == "Tidying"


@pytest.mark.parametrize(
    "values, message",
    [
        ({"size": 0}, "size must be an integer from 1 to 10, got 0."),
        ({"size": 11}, "size must be an integer from 1 to 10, got 11."),
        ({"size": 2.5}, "size must be an integer from 1 to 10, got 2.5."),
        ({"size": "3"}, "size must be an integer from 1 to 10, got '3'."),
        ({"size": True}, "size must be an integer from 1 to 10, got True."),
        ({"rate": 1.5}, "rate must be a number from 0 to 1, got 1.5."),
        ({"rate": math.nan}, "rate must be a number from 0 to 1, got nan."),
        ({"rate": None}, "rate needs a value; How fast."),
        ({"colour": "green"}, "colour must be one of red, blue, got 'green'."),
        ({"name": "ball"}, "name must be one of toy, game, got 'ball'."),
        ({"loud": "yes"}, "loud must be true or false, got 'yes'."),
    ],
)
def test_validate_names_the_field_what_it_accepts_and_the_value(values, message):
    with pytest.raises(ConfigError) as caught:
        Toy(**values)
    assert caught.value.message == message


def test_validate_accepts_the_bounds_themselves_and_none_where_optional():
    low, high = Toy(size=1, rate=0.0), Toy(size=10, rate=1.0, note="anything goes in a plain field")
    assert (low.size, low.rate, high.size, high.rate) == (1, 0.0, 10, 1.0)
    assert Toy(size=None).size is None


def test_add_arguments_and_from_arguments_round_trip():
    parser = argparse.ArgumentParser()
    configuration.add_arguments(parser, Toy)
    defaults = configuration.from_arguments(parser.parse_args(["--name", "game"]), Toy)
    assert defaults == Toy(name="game")
    given = parser.parse_args(["--name", "toy", "--size", "3", "--rate", "0.25", "--hue", "blue", "--loud", "--no-tidy"])
    assert configuration.from_arguments(given, Toy) == Toy(size=3, rate=0.25, colour="blue", loud=True, tidy=False)
    with pytest.raises(SystemExit):
        parser.parse_args([])  # --name is required on the command line
    with pytest.raises(SystemExit):
        parser.parse_args(["--name", "toy", "--hue", "green"])  # choices are enforced by argparse too
    help_text = parser.format_help()
    assert "How many (from 1 to 10; default: automatic)" in help_text
    assert "Turn off tidying. Put it away after" in help_text


# --------------------------------------------------------------------------- TrainConfig: config, CLI and form agree


@pytest.fixture(scope="module")
def form_widgets(tmp_path_factory):
    """Every input of the Training page's form (model2 on the bundled sample, a fresh workspace), by field name."""
    root = tmp_path_factory.mktemp("form")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("NER_CORPUS_PATH", raising=False)
        patch.setenv("NER_MODELS_DIR", str(root / "models"))
        patch.setenv("NER_DATABASE_URL", f"sqlite:///{root / 'models' / 'workbench.db'}")
        patch.setenv("NER_UPLOADS_DIR", str(root / "uploads"))
        app = page_app("training_runs.py").run()
    assert not app.exception
    prefix = "training_runs_model2_sample_"
    widgets = [*app.number_input, *app.selectbox, *app.toggle, *app.text_input]
    return {w.key.removeprefix(prefix): w for w in widgets if w.key and w.key.startswith(prefix)}


def accepted_by_config(name, value) -> bool:
    try:
        TrainConfig(**{name: value})
    except ConfigError:
        return False
    return True


def accepted_by_cli(name, value) -> bool:
    flag = configuration.flag_of(configuration.settings_of(TrainConfig)[name])
    args = cli.build_parser().parse_args(["train", "--model", "model2", f"{flag}={value}"])  # = so -1e-05 is a value
    try:
        cli._train_config(args)
    except ConfigError:
        return False
    return True


def accepted_by_form(widget, value) -> bool:
    return widget.min <= value <= widget.max


def edge_values():
    for name, spec in NUMBERS.items():
        step = spec.step or (1 if spec.type is int else spec.min)
        for value in (spec.min, spec.max, spec.min - step, spec.max + step):
            yield name, spec.type(value)
    yield "learning_rate", 0.9
    yield "learning_rate", 0.5
    yield "learning_rate", 1e-3


@pytest.mark.parametrize("name, value", list(edge_values()))
def test_config_cli_and_form_accept_and_reject_the_same_numbers(form_widgets, name, value):
    verdicts = {
        "config": accepted_by_config(name, value),
        "cli": accepted_by_cli(name, value),
        "form": accepted_by_form(form_widgets[name], value),
    }
    assert len(set(verdicts.values())) == 1, (name, value, verdicts)


def test_learning_rate_of_0_9_is_rejected_everywhere_with_a_useful_message(form_widgets, capsys):
    assert form_widgets["learning_rate"].max == 0.5
    with pytest.raises(ConfigError, match=r"learning_rate must be a number from 1e-05 to 0\.5, got 0\.9"):
        TrainConfig(learning_rate=0.9)
    assert cli.main(["train", "--model", "baseline", "--learning-rate", "0.9"]) == cli.EXIT_USER_ERROR
    assert "learning_rate must be a number from 1e-05 to 0.5, got 0.9." in capsys.readouterr().err


def test_form_offers_every_setting_with_the_config_s_help_choices_and_defaults(form_widgets):
    specs = configuration.settings_of(TrainConfig)
    assert set(form_widgets) == set(specs) - {"model", "dataset"}  # those two are chosen above the form
    for name, widget in form_widgets.items():
        assert (widget.label, widget.help) == (specs[name].label, specs[name].help), name
    for name in ("decoding", "monitor"):
        assert tuple(form_widgets[name].options) == specs[name].allowed
        assert form_widgets[name].value == specs[name].default


def test_cli_flags_keep_their_names_defaults_and_choices():
    commands = next(a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    train = commands.choices["train"]
    flags = {option: action for action in train._actions for option in action.option_strings}
    for flag in ("--model", "--data", "--epochs", "--batch-size", "--learning-rate", "--max-len", "--embedding-dim"):
        assert flag in flags
    for flag in ("--patience", "--seed", "--min-freq", "--max-train-sentences", "--repair-iob", "--bucketed"):
        assert flag in flags
    assert flags["--model"].required
    assert tuple(flags["--model"].choices) == configuration.settings_of(TrainConfig)["model"].allowed
    assert flags["--no-early-stopping"].dest == "early_stopping" and flags["--no-early-stopping"].default is True
    assert flags["--data"].dest == "dataset" and flags["--data"].default is None
    assert (flags["--seed"].default, flags["--min-freq"].default) == (TrainConfig().seed, 1)
    assert tuple(flags["--decoding"].choices) == ("argmax", "constrained") and flags["--decoding"].default == "constrained"
    assert tuple(flags["--monitor"].choices) == ("val_entity_f1", "val_loss") and flags["--monitor"].default == "val_entity_f1"
    args = train.parse_args(["--model", "baseline", "--data", "x.csv", "--no-early-stopping", "--bucketed", "--epochs", "3"])
    assert configuration.from_arguments(args, TrainConfig) == TrainConfig(
        model="baseline", dataset="x.csv", early_stopping=False, bucketed=True, epochs=3
    )
