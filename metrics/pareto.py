"""The Pareto front of quality against cost: the models no other model beats on both."""

from __future__ import annotations

from typing import Any

import numpy as np


def pareto_front(quality: Any, cost: Any) -> np.ndarray:
    """Per model, True when it is on the front: no other model has quality at least as high
    and cost at most as low, with one of the two strictly better.

    Higher quality is better, lower cost is better. Two models equal on both are both on the
    front (neither beats the other). A model with missing quality or cost is never on the
    front and beats no one.
    """
    q = np.asarray(quality, dtype=np.float64)
    c = np.asarray(cost, dtype=np.float64)
    if q.shape != c.shape:
        raise ValueError("pareto_front needs one quality and one cost per model.")
    known = ~(np.isnan(q) | np.isnan(c))
    qk, ck = q[known], c[known]
    at_least = (qk[None, :] >= qk[:, None]) & (ck[None, :] <= ck[:, None])
    strictly = (qk[None, :] > qk[:, None]) | (ck[None, :] < ck[:, None])
    dominated = (at_least & strictly).any(axis=1)
    front = np.zeros(q.shape, dtype=bool)
    front[known] = ~dominated
    return front
