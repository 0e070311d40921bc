"""Token prices per model (USD per 1M tokens) and run cost.

The shipped table is a starting point, not a source of truth: providers change prices.
Point ``JUDGEBOARD_PRICES_FILE`` at a JSON file ``{"model": [input, output], ...}`` to
override or extend it. A model matches its own entry or the longest entry that prefixes it
("gpt-4o-mini-2024-07-18" is priced as "gpt-4o-mini").
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from db.errors import InvalidInputError

# USD per 1M tokens: (input, output). Public list prices as of early 2025.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-3.5-turbo": (0.50, 1.50),
    "o3-mini": (1.10, 4.40),
    "claude-3-5-sonnet": (3.00, 15.00),
    "claude-3-7-sonnet": (3.00, 15.00),
    "claude-sonnet-4": (3.00, 15.00),
    "claude-3-5-haiku": (0.80, 4.00),
    "claude-3-haiku": (0.25, 1.25),
    "claude-3-opus": (15.00, 75.00),
    "claude-opus-4": (15.00, 75.00),
}


@dataclass(frozen=True)
class Cost:
    usd: float
    note: str | None = None


def load_prices(path: str | Path | None = None) -> dict[str, tuple[float, float]]:
    """The default table, overridden by ``path`` or ``$JUDGEBOARD_PRICES_FILE`` if set."""
    prices = dict(DEFAULT_PRICES)
    path = path or os.environ.get("JUDGEBOARD_PRICES_FILE")
    if not path:
        return prices
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


def price_for(model: str, prices: Mapping[str, tuple[float, float]]) -> tuple[float, float] | None:
    if model in prices:
        return prices[model]
    matches = [m for m in prices if model.startswith(m)]
    return prices[max(matches, key=len)] if matches else None


def cost_of(
    model: str,
    tokens_in: int,
    tokens_out: int,
    prices: Mapping[str, tuple[float, float]] | None = None,
) -> Cost:
    """USD for the given tokens; an unknown model costs 0 with a note saying so."""
    table = load_prices() if prices is None else prices
    price = price_for(model, table)
    if price is None:
        return Cost(
            0.0,
            f"No price for model '{model}': cost counted as 0. Add it to a JSON price file"
            " named by JUDGEBOARD_PRICES_FILE.",
        )
    return Cost(tokens_in / 1e6 * price[0] + tokens_out / 1e6 * price[1])
