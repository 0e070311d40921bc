"""The words every layer shares, defined once: preference coding, winner codes, missing values,
rater keys and judge labels.

Preference coding (the votes frame's ``preference`` column): negative = A better, positive =
B better, 0 = tie, +-2 = "much better", NaN = no verdict. Everything else is derived here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

WINNER_CODES: dict[str, float] = {"a": -1.0, "tie": 0.0, "b": 1.0}
"""3-way winner code -> preference sign."""
WINNERS: tuple[str, ...] = tuple(WINNER_CODES)
"""The 3-way winner codes in order: 'a', 'tie', 'b'."""
INCONSISTENT_AS: tuple[str, ...] = ("tie", "unscored")
"""What a judge's two position-swapped verdicts that disagree count as: a tie, or no verdict.
One set of values for judge configs, calibration, the CLI's --inconsistent-as and the pages."""


def preference_sign(preference: Any) -> np.ndarray:
    """-1 (A better), 0 (tie), +1 (B better) or NaN, from preferences or 'a'/'tie'/'b' codes."""
    arr = np.asarray(preference)
    if arr.dtype.kind in "biuf":
        return np.sign(arr.astype(np.float64))
    codes = pd.Series(arr, dtype=object).map(WINNER_CODES)
    return codes.to_numpy(dtype=np.float64, na_value=np.nan)


def sign(x: float) -> int:
    """The sign of one preference as an int: -1, 0 or +1 (NaN counts as 0)."""
    return int(x > 0) - int(x < 0)


def winner_code(preference: float) -> str:
    """Collapse one 5-point preference to 'a', 'b' or 'tie' ('' when there is no verdict)."""
    if preference != preference:
        return ""
    if preference < 0:
        return "a"
    if preference > 0:
        return "b"
    return "tie"


def winner_codes(preference: Any, both_bad: Any = None) -> np.ndarray:
    """'a' / 'tie' / 'b' per preference (None when there is no verdict); both-bad is a tie."""
    pref = np.asarray(pd.to_numeric(pd.Series(preference)), dtype=float)
    bad = np.zeros(len(pref), bool) if both_bad is None else np.asarray(both_bad, dtype=bool)
    out = np.full(len(pref), None, dtype=object)
    out[pref < 0] = "a"
    out[pref > 0] = "b"
    out[(pref == 0) | bad] = "tie"
    return out


def score_of_a(preference: Any) -> np.ndarray:
    """A's score per preference: 1 if A won, 0 if B won, 0.5 for a tie, NaN without a verdict."""
    p = np.asarray(preference, dtype=np.float64)
    return np.where(np.isnan(p), np.nan, np.where(p < 0, 1.0, np.where(p > 0, 0.0, 0.5)))


def missing_to_none(value: Any) -> Any:
    """A plain, JSON-safe Python value: numpy scalars unwrapped, NaN and pd.NA become None."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def user_key(user_id: int) -> str:
    """The stable rater key of a human rater (the votes frame's ``rater`` column)."""
    return f"u:{user_id}"


def judge_key(judge_id: int) -> str:
    """The stable rater key of one judge version."""
    return f"j:{judge_id}"


def judge_label(name: str, version: int) -> str:
    """How a judge version is named to people: ``name@v3``."""
    return f"{name}@v{version}"


PREFERENCE_WORDS: dict[int, str] = {
    -2: "A much better",
    -1: "A better",
    0: "Tie",
    1: "B better",
    2: "B much better",
}
"""A preference on the 5-point scale as people read it; never show the number itself."""
WINNER_WORDS: dict[str, str] = {"a": "A better", "tie": "Tie", "b": "B better"}
"""A 3-way winner code as people read it."""
NO_VERDICT = "no verdict"


def preference_word(preference: Any) -> str:
    """'A much better' ... 'B much better' for a preference in -2..2, or a winner code 'a' /
    'tie' / 'b'; :data:`NO_VERDICT` for None, NaN or anything else."""
    if isinstance(preference, str):
        return WINNER_WORDS.get(preference, NO_VERDICT)
    value = missing_to_none(preference)
    if value is None or isinstance(value, bool):
        return NO_VERDICT
    if not float(value).is_integer():
        return NO_VERDICT
    return PREFERENCE_WORDS.get(int(value), NO_VERDICT)


SCALE_NAMES: dict[str, str] = {
    "binary": "Yes / No",
    "likert5": "1–5 Likert",
    "likert10": "1–10 Likert",
    "categories": "named categories",
}
"""A rubric criterion's scale code -> its name for people."""


def scale_name(scale: str) -> str:
    """The name of a rubric scale code; an unknown code is shown as it is."""
    return SCALE_NAMES.get(scale, scale)
