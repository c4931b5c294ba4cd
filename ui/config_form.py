"""Form inputs generated from a configuration dataclass's settings (``ner_core.configuration``).

Labels, help, bounds, steps and choices come from the fields' metadata, so a form
can neither offer a value the configuration rejects nor refuse one it accepts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import streamlit as st

from ner_core.configuration import Setting, settings_of


def config_inputs(cls, *, key: str, defaults, exclude: Iterable[str] = (), columns: int = 3) -> dict:
    """One widget per setting of ``cls`` (except ``exclude``), keyed ``<key>_<field>``; their values by field name.

    Numbers flow across ``columns`` columns in field order; choices go below them in the
    second-to-last column, switches in the last. ``defaults`` is an instance of ``cls``
    whose values the widgets start from.
    """
    skipped = set(exclude)
    specs = [spec for name, spec in settings_of(cls).items() if name not in skipped]
    slots = st.columns(columns)
    values: dict = {}
    numbers = [spec for spec in specs if spec.type in (int, float)]
    for position, spec in enumerate(numbers):
        values[spec.name] = _number_input(slots[position % columns], spec, getattr(defaults, spec.name), key=key)
    choice_slot, toggle_slot = slots[max(0, columns - 2)], slots[-1]
    for spec in specs:
        value = getattr(defaults, spec.name)
        widget_key = f"{key}_{spec.name}"
        if spec.type is bool:
            values[spec.name] = toggle_slot.toggle(spec.label, value=bool(value), help=spec.help, key=widget_key)
        elif spec.type is str and spec.allowed is not None:
            options = list(spec.allowed)
            values[spec.name] = choice_slot.selectbox(
                spec.label, options, index=options.index(value) if value in options else None, help=spec.help, key=widget_key
            )
        elif spec.type is str:
            text = choice_slot.text_input(
                spec.label, value=value or "", placeholder=spec.placeholder, help=spec.help, key=widget_key
            )
            values[spec.name] = text or None
    return values


def _number_input(container, spec: Setting, value, *, key: str):
    cast = float if spec.type is float else int
    return container.number_input(
        spec.label,
        min_value=cast(spec.min) if spec.min is not None else None,
        max_value=cast(spec.max) if spec.max is not None else None,
        step=cast(spec.step) if spec.step is not None else cast(1),
        value=cast(value) if value is not None else None,
        placeholder=spec.placeholder if value is None else None,
        format=_float_format(spec) if spec.type is float else None,
        help=spec.help,
        key=f"{key}_{spec.name}",
    )


def _float_format(spec: Setting) -> str:
    """Enough decimals to show the smallest bound and the step: ``%.5f`` for a minimum of 1e-5."""
    smallest = [abs(x) for x in (spec.min, spec.step) if x]
    decimals = max([2, *(-math.floor(math.log10(x)) for x in smallest)])
    return f"%.{decimals}f"
