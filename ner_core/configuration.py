"""Typed settings: a dataclass field carries its own help, bounds and choices.

A configuration dataclass declares each field with :func:`setting` instead of a
bare default. That metadata is the one source for

- validation (:func:`validate`, called from the dataclass's ``__post_init__``),
- command-line flags (:func:`add_arguments` and :func:`from_arguments`),
- a form's widgets (``ui.config_form.config_inputs`` reads :func:`settings_of`).

So a bound, a choice or a help text is written once, next to the field.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import math
import numbers
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ner_core.errors import ConfigError

METADATA_KEY = "ner_core.setting"


def setting(
    default: Any = dataclasses.MISSING,
    *,
    help: str,
    label: str | None = None,
    min: float | None = None,
    max: float | None = None,
    step: float | None = None,
    choices: Sequence | Callable[[], Sequence] | None = None,
    placeholder: str | None = None,
    flag: str | None = None,
    required: bool = False,
):
    """A dataclass field with its facts in the metadata.

    ``min`` and ``max`` are inclusive. ``choices`` may be a callable, resolved when
    asked (for registries filled at import time). ``placeholder`` says what ``None``
    means (a form's empty input, the flag's "default: ..."). ``flag`` overrides the
    flag derived from the name; ``required`` makes the command line insist on a value
    although Python callers get ``default``.
    """
    facts = dict(
        help=help,
        label=label,
        min=min,
        max=max,
        step=step,
        choices=choices,
        placeholder=placeholder,
        flag=flag,
        required=required,
    )
    return dataclasses.field(default=default, metadata={METADATA_KEY: facts})


@dataclass(frozen=True)
class Setting:
    """One field's facts, its value type resolved from the annotation."""

    name: str
    type: type  # bool, int, float or str
    optional: bool  # None is allowed
    default: Any
    help: str
    label: str
    min: float | None = None
    max: float | None = None
    step: float | None = None
    choices: Sequence | Callable[[], Sequence] | None = None
    placeholder: str | None = None
    flag: str | None = None
    required: bool = False

    @property
    def allowed(self) -> tuple | None:
        """The choices, resolved; None when any value of the type goes."""
        if self.choices is None:
            return None
        return tuple(self.choices() if callable(self.choices) else self.choices)

    @property
    def bounds(self) -> str:
        """The range in words: "from 1 to 1000", "at least 1", or ""."""
        low, high = (_number(b) if b is not None else None for b in (self.min, self.max))
        if low is not None and high is not None:
            return f"from {low} to {high}"
        if low is not None:
            return f"at least {low}"
        return f"at most {high}" if high is not None else ""

    def check(self, value: Any) -> None:
        """Raise :class:`ConfigError` naming the field, what it accepts and the value given."""
        if value is None:
            if self.optional:
                return
            raise ConfigError(f"{self.name} needs a value; {self.help}")
        if self.type is bool:
            if value not in (True, False):
                raise ConfigError(f"{self.name} must be true or false, got {value!r}.")
            return
        if self.type in (int, float):
            self._check_number(value)
        elif not isinstance(value, self.type):
            raise ConfigError(f"{self.name} must be a {self.type.__name__}, got {value!r}.")
        allowed = self.allowed
        if allowed is not None and value not in allowed:
            raise ConfigError(f"{self.name} must be one of {', '.join(map(str, allowed))}, got {value!r}.")

    def _check_number(self, value: Any) -> None:
        kind = "an integer" if self.type is int else "a number"
        what = f"{self.name} must be {kind}" + (f" {self.bounds}" if self.bounds else "")
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise ConfigError(f"{what}, got {value!r}.")
        if self.type is int and int(value) != value:
            raise ConfigError(f"{what}, got {value!r}.")
        if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
            raise ConfigError(f"{what}, got {value!r}.")


@functools.cache
def settings_of(cls) -> Mapping[str, Setting]:
    """Every field of ``cls`` declared with :func:`setting`, in declaration order (read-only; computed once per class)."""
    hints = typing.get_type_hints(cls)
    found = {}
    for field in dataclasses.fields(cls):
        facts = field.metadata.get(METADATA_KEY)
        if facts is None:
            continue
        value_type, optional = _value_type(hints[field.name])
        default = field.default if field.default is not dataclasses.MISSING else None
        label = facts["label"] or field.name.replace("_", " ").capitalize()
        found[field.name] = Setting(
            name=field.name, type=value_type, optional=optional, default=default, **{**facts, "label": label}
        )
    return types.MappingProxyType(found)


def validate(instance) -> None:
    """Check every setting of a dataclass instance; the first bad value raises :class:`ConfigError`."""
    for name, spec in settings_of(type(instance)).items():
        spec.check(getattr(instance, name))


# --------------------------------------------------------------------------- command line


def flag_of(spec: Setting) -> str:
    """The flag a setting gets: ``--batch-size``; ``--no-early-stopping`` for a bool that defaults to true."""
    if spec.flag:
        return spec.flag
    stem = spec.name.replace("_", "-")
    return f"--no-{stem}" if spec.type is bool and spec.default is True else f"--{stem}"


def add_arguments(parser: argparse.ArgumentParser, cls, *, exclude: Iterable[str] = ()) -> None:
    """One flag per setting of ``cls``; each value lands in ``args.<field name>``."""
    skipped = set(exclude)
    for spec in settings_of(cls).values():
        if spec.name in skipped:
            continue
        help_text = _flag_help(spec).replace("%", "%%")  # argparse formats help with %
        if spec.type is bool:
            action = "store_false" if spec.default is True else "store_true"
            parser.add_argument(flag_of(spec), dest=spec.name, action=action, help=help_text)
            continue
        options: dict[str, Any] = dict(dest=spec.name, type=spec.type, help=help_text)
        if spec.allowed is not None:
            options["choices"] = spec.allowed  # argparse shows them in place of a metavar
        else:
            options["metavar"] = flag_of(spec).lstrip("-").replace("-", "_").upper()  # --data DATA, not DATASET
        if spec.required:
            options["required"] = True
        else:
            options["default"] = spec.default
        parser.add_argument(flag_of(spec), **options)


def from_arguments(args: argparse.Namespace, cls, **overrides):
    """An instance of ``cls`` from the flags :func:`add_arguments` added (validated by the class)."""
    values = {name: getattr(args, name) for name in settings_of(cls) if hasattr(args, name)}
    return cls(**{**values, **overrides})


def _flag_help(spec: Setting) -> str:
    text = spec.help.rstrip(".")
    if spec.type is bool:
        return f"Turn off {spec.label.lower()}. {text}" if spec.default is True else text
    notes = [spec.bounds] if spec.bounds else []
    if spec.placeholder and spec.default is None:
        notes.append(f"default: {spec.placeholder}")
    elif spec.default is not None and not spec.required:
        notes.append(f"default: {spec.default}")
    return f"{text} ({'; '.join(notes)})" if notes else text


def _value_type(annotation) -> tuple[type, bool]:
    """``int | None`` -> (int, True); ``str`` -> (str, False)."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) != 1:
            raise TypeError(f"a setting has one value type, not {annotation!r}")
        return members[0], True
    return annotation, False


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
