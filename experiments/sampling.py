"""A seeded sample of prompts, stratified by category (rapid iteration on a split).

Which prompts are drawn depends only on the seed, the prompt ids and their categories, never
on the order they come in, so two candidates sampled with the same seed get the same prompts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import TypeVar

from db.errors import InvalidInputError

T = TypeVar("T")


def sample_rank(seed: int, item_id: str) -> bytes:
    """A prompt's place in the seed's random order."""
    return hashlib.blake2b(f"{seed}\x1f{item_id}".encode(), digest_size=16).digest()


def allocate(sizes: dict[str, int], n: int) -> dict[str, int]:
    """How many of ``n`` each stratum gets: proportional to its size (largest remainders),
    at least one each when ``n`` allows it, never more than it holds."""
    total = sum(sizes.values())
    if n >= total:
        return dict(sizes)
    strata = sorted(sizes)
    quota = {k: n * sizes[k] / total for k in strata}
    take = {k: int(quota[k]) for k in strata}
    if n >= len(strata):
        for k in strata:
            take[k] = max(take[k], 1)
    left = n - sum(take.values())
    by_remainder = sorted(strata, key=lambda k: (-(quota[k] - int(quota[k])), k))
    while left > 0:
        for k in by_remainder:
            if left and take[k] < sizes[k]:
                take[k] += 1
                left -= 1
    while left < 0:  # the minimum of one each overshot: take back where most over quota
        k = max((k for k in strata if take[k] > 1), key=lambda k: (take[k] - quota[k], k))
        take[k] -= 1
        left += 1
    return take


def stratified_sample(
    items: Sequence[T],
    n: int,
    seed: int,
    *,
    item_id: Callable[[T], str],
    stratum: Callable[[T], str | None],
) -> list[T]:
    """``n`` of ``items`` drawn with ``seed``, each category in proportion to its size; in
    the order given. ``n`` at least the number of items gives them all."""
    if n < 1:
        raise InvalidInputError(f"--sample must be at least 1 (got {n}).")
    groups: dict[str, list[T]] = {}
    for item in items:
        groups.setdefault(stratum(item) or "", []).append(item)
    take = allocate({k: len(v) for k, v in groups.items()}, n)
    chosen: set[str] = set()
    for key, members in groups.items():
        ranked = sorted(members, key=lambda m: sample_rank(seed, item_id(m)))
        chosen.update(item_id(m) for m in ranked[: take[key]])
    return [item for item in items if item_id(item) in chosen]
