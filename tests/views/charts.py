"""Reading the Altair charts a page drew, as Vega-Lite specs, through AppTest."""

from __future__ import annotations

import json
from typing import Any

from streamlit.testing.v1 import AppTest


def chart_specs(at: AppTest) -> list[dict[str, Any]]:
    """Every Vega-Lite spec on the page, in page order."""
    return [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]


def layer_marks(spec: dict[str, Any]) -> list[str]:
    """The mark types of a (layered) spec."""
    layers = spec.get("layer", [spec])
    return [
        layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"]
        for layer in layers
    ]


def layer(spec: dict[str, Any], mark: str) -> dict[str, Any]:
    return next(
        part
        for part in spec.get("layer", [spec])
        if (part["mark"]["type"] if isinstance(part["mark"], dict) else part["mark"]) == mark
    )
