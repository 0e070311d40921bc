"""Charts the results pages share, sized so every model row can be read."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

ROW_PX = 28
"""Height of one model row in interval plots and heatmaps (at least 24 px to read a name).

Given as a Vega-Lite step, so the chart grows with its rows and the axes come on top: a
fixed height would be shared with the axis labels and squeeze the rows."""
FRONT = "on the Pareto front"
DOMINATED = "beaten on both"


def interval_plot(
    frame: pd.DataFrame,
    *,
    y: str,
    value: str,
    low: str,
    high: str,
    order: Sequence[str],
    title: str,
) -> alt.LayerChart:
    """A point per row at ``value`` with a rule from ``low`` to ``high``."""
    base = alt.Chart(frame).encode(y=alt.Y(f"{y}:N", sort=list(order), title=None))
    return (
        base.mark_rule(strokeWidth=2).encode(
            x=alt.X(f"{low}:Q", scale=alt.Scale(zero=False), title=title), x2=f"{high}:Q"
        )
        + base.mark_point(filled=True, size=80).encode(
            x=f"{value}:Q",
            tooltip=[
                alt.Tooltip(f"{y}:N", title="model"),
                alt.Tooltip(f"{value}:Q", title=title, format=".0f"),
                alt.Tooltip(f"{low}:Q", title="95% CI low", format=".0f"),
                alt.Tooltip(f"{high}:Q", title="95% CI high", format=".0f"),
            ],
        )
    ).properties(height=alt.Step(ROW_PX))


def ink(value: str, domain: tuple[float, float], *, diverging: bool) -> alt.condition:
    """White text on dark cells, black on light ones: the dark cells of a diverging scheme lie
    at both ends of ``domain``, those of a sequential scheme at its top."""
    low, high = domain
    field = f"datum['{value}']"
    if diverging:
        dark = f"abs({field} - {(low + high) / 2}) > {(high - low) * 0.4}"
    else:
        dark = f"{field} > {low + (high - low) * 0.6}"
    return alt.condition(dark, alt.value("white"), alt.value("black"))


def heatmap(
    frame: pd.DataFrame,
    *,
    x: str,
    y: str,
    value: str,
    domain: tuple[float, float],
    fmt: str,
    x_title: str,
    y_title: str,
    order: Sequence[str] | None = None,
    scheme: str = "redblue",
    diverging: bool = True,
) -> alt.LayerChart:
    """Cells coloured by ``value`` with the value printed in each, in a contrasting colour; a
    cell without a value (a model against itself) stays empty."""
    rows = list(order) if order is not None else list(dict.fromkeys(frame[y]))
    columns = list(order) if order is not None else list(dict.fromkeys(frame[x]))
    base = alt.Chart(frame.dropna(subset=[value])).encode(
        x=alt.X(f"{x}:N", sort=columns, title=x_title),
        y=alt.Y(f"{y}:N", sort=rows, title=y_title),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(
            f"{value}:Q",
            scale=alt.Scale(domain=list(domain), scheme=scheme),
            legend=alt.Legend(format=fmt),
            title=None,
        ),
        tooltip=[
            alt.Tooltip(f"{y}:N", title=y_title),
            alt.Tooltip(f"{x}:N", title=x_title),
            alt.Tooltip(f"{value}:Q", format=fmt),
        ],
    )
    text = base.mark_text(fontSize=12).encode(
        text=alt.Text(f"{value}:Q", format=fmt),
        color=ink(value, domain, diverging=diverging),
    )
    return (cells + text).properties(height=alt.Step(ROW_PX))


def pareto_chart(frame: pd.DataFrame, *, x: str, x_title: str, x_format: str) -> alt.LayerChart:
    """Rating against cost (or latency) per model: ``frame`` has ``model``, ``rating``, ``x``
    and ``front`` (True on the Pareto front); the front is joined by a line."""
    data = frame.assign(status=[FRONT if f else DOMINATED for f in frame["front"]])
    base = alt.Chart(data).encode(
        x=alt.X(f"{x}:Q", title=x_title, axis=alt.Axis(format=x_format)),
        y=alt.Y("rating:Q", title="rating", scale=alt.Scale(zero=False)),
    )
    front = (
        alt.Chart(data[data["front"]].sort_values(x))
        .mark_line(strokeDash=[4, 3])
        .encode(x=f"{x}:Q", y="rating:Q", order=f"{x}:Q")
    )
    points = base.mark_point(filled=True, size=90).encode(
        color=alt.Color("status:N", scale=alt.Scale(domain=[FRONT, DOMINATED]), title=None),
        tooltip=[
            "model:N",
            alt.Tooltip("rating:Q", format=".0f"),
            alt.Tooltip(f"{x}:Q", title=x_title, format=x_format),
            alt.Tooltip("status:N", title="Pareto"),
        ],
    )
    labels = base.mark_text(align="left", dx=7, dy=-7).encode(text="model:N")
    return (front + points + labels).properties(height=360)


def score_distribution(
    frame: pd.DataFrame, *, models: Sequence[str], labels: Sequence[str], title: str
) -> alt.Chart:
    """One bar per model split by score (``label``, in scale order), each the share of that
    model's scores: ``frame`` has ``model``, ``label``, ``value``, ``count`` and ``share``."""
    return (
        alt.Chart(frame, title=title)
        .mark_bar()
        .encode(
            y=alt.Y("model:N", sort=list(models), title=None),
            x=alt.X(
                "count:Q",
                stack="normalize",
                axis=alt.Axis(format="%"),
                title="share of scores",
            ),
            color=alt.Color(
                "label:N",
                sort=list(labels),
                scale=alt.Scale(domain=list(labels), scheme="viridis"),
                title="score",
            ),
            order=alt.Order("value:Q"),
            tooltip=[
                "model:N",
                alt.Tooltip("label:N", title="score"),
                alt.Tooltip("count:Q", title="scores"),
                alt.Tooltip("share:Q", format=".0%"),
            ],
        )
        .properties(height=alt.Step(ROW_PX))
    )
