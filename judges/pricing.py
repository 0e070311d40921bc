"""Token prices per model (USD per 1M tokens) and run cost.

Prices come from the ``genai-prices`` package (Pydantic's maintained price data, matched by
model name, so "gpt-4o-mini-2024-07-18" is priced as "gpt-4o-mini"). Point
``JUDGEBOARD_PRICES_FILE`` at a JSON file ``{"model": [input, output], ...}`` to override or
extend it: an override wins, matching its own entry or the longest entry that prefixes the
model. A model neither knows costs 0 with a note saying so.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from genai_prices import Usage, calc_price

from db.errors import InvalidInputError

_UNIT = 1_000  # tokens priced per lookup: small enough to stay in a model's first tier


@dataclass(frozen=True)
class Cost:
    usd: float
    note: str | None = None


def load_prices(path: str | Path | None = None) -> dict[str, tuple[float, float]]:
    """The overrides from ``path`` or ``$JUDGEBOARD_PRICES_FILE`` (empty when neither is set)."""
    path = path or os.environ.get("JUDGEBOARD_PRICES_FILE")
    if not path:
        return {}
    prices: dict[str, tuple[float, float]] = {}
    try:
        extra = json.loads(Path(path).read_text(encoding="utf-8"))
        for model, pair in extra.items():
            prices[str(model)] = (float(pair[0]), float(pair[1]))
    except (OSError, ValueError, TypeError, IndexError, AttributeError) as exc:
        raise InvalidInputError(
            f"Price file {path} is not readable JSON of the form"
            f' {{"model": [input_per_1M, output_per_1M]}}: {exc}'
        ) from None
    return prices


@functools.lru_cache(maxsize=256)
def catalogue_price(model: str) -> tuple[float, float] | None:
    """USD per 1M tokens (input, output) from genai-prices, or None for an unknown model."""
    try:
        calc = calc_price(Usage(input_tokens=_UNIT, output_tokens=_UNIT), model)
    except LookupError:
        return None
    scale = 1_000_000 / _UNIT
    return float(calc.input_price) * scale, float(calc.output_price) * scale


def price_for(
    model: str, overrides: Mapping[str, tuple[float, float]] | None = None
) -> tuple[float, float] | None:
    """USD per 1M tokens for ``model``: an override first, then genai-prices."""
    table = overrides or {}
    if model in table:
        return table[model]
    matches = [m for m in table if model.startswith(m)]
    if matches:
        return table[max(matches, key=len)]
    return catalogue_price(model)


def cost_of(
    model: str,
    tokens_in: int,
    tokens_out: int,
    prices: Mapping[str, tuple[float, float]] | None = None,
) -> Cost:
    """USD for the given tokens; an unknown model costs 0 with a note saying so.

    ``prices`` are overrides (default: the ``JUDGEBOARD_PRICES_FILE`` ones).
    """
    table = load_prices() if prices is None else prices
    price = price_for(model, table)
    if price is None:
        return Cost(
            0.0,
            f"No price for model '{model}': its cost counts as 0. Set JUDGEBOARD_PRICES_FILE"
            f' to a JSON file that prices it, e.g. {{"{model}": [input, output]}} in USD per'
            " 1M tokens.",
        )
    return Cost(tokens_in / 1e6 * price[0] + tokens_out / 1e6 * price[1])
