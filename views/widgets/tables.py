"""Tables people can read: headers in words, figures formatted, missing values as "—"."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
import streamlit as st

MISSING = "—"

WORDS: dict[str, str] = {
    "ci": "CI",
    "id": "ID",
    "ms": "(ms)",
    "usd": "(USD)",
    "loo": "leave-one-out",
    "p": "P",
    "s1": "S1",
    "s2": "S2",
    "vs": "vs",
}
"""Words of a snake_case column name that read differently in a header."""

_IDENTIFIER = re.compile(r"[a-z0-9]+(_[a-z0-9]+)*")

Format = str | Callable[[Any], str]


def header(name: object) -> str:
    """A column name as a header: ``win_rate_ci_low`` -> "Win rate CI low".

    Only lower-case identifiers are rewritten; a name with spaces, capitals or other
    characters (a judge label, "95% CI") is already words and stays as it is.
    """
    text = str(name)
    if not _IDENTIFIER.fullmatch(text):
        return text
    words = " ".join(WORDS.get(w, w) for w in text.split("_"))
    return words[:1].upper() + words[1:]


def is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def cell(value: Any, fmt: Format | None = None) -> Any:
    """One value as shown: "—" when missing, "yes"/"no" for a flag, else ``fmt`` applied."""
    if is_missing(value):
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if fmt is None:
        return value if isinstance(value, str) else _default(value)
    if callable(fmt):
        return fmt(value)
    return format(value, fmt)


def _default(value: Any) -> str:
    if isinstance(value, list | tuple | set):
        return "; ".join(str(v) for v in value) or MISSING
    if isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() else f"{value:.3g}"
    return str(value)


def readable(
    frame: pd.DataFrame,
    formats: Mapping[str, Format] | None = None,
    labels: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """``frame`` as shown: each column formatted by ``formats`` (a format spec or a function),
    missing values as "—", and headers in words (``labels``, else :func:`header`).

    A numeric column without format or missing values keeps its numbers, so it sorts.
    """
    formats = formats or {}
    labels = labels or {}
    out = {}
    for column in frame.columns:
        values = frame[column]
        fmt = formats.get(column)
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        if fmt is None and numeric and not values.isna().any():
            out[labels.get(column, header(column))] = values.to_numpy()
        else:
            out[labels.get(column, header(column))] = [cell(v, fmt) for v in values]
    return pd.DataFrame(out, index=frame.index)


def show_table(
    frame: pd.DataFrame,
    formats: Mapping[str, Format] | None = None,
    labels: Mapping[str, str] | None = None,
    **dataframe_kwargs: Any,
) -> Any:
    """``st.dataframe`` of :func:`readable` ``frame``, without the index, full width."""
    kwargs: dict[str, Any] = {"hide_index": True, "width": "stretch", **dataframe_kwargs}
    return st.dataframe(readable(frame, formats, labels), **kwargs)


def percent(value: Any) -> str:
    """A share as a percentage with one decimal: 0.423 -> "42.3%"."""
    return MISSING if is_missing(value) else f"{value:.1%}"
