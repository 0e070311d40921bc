"""Verdict extraction from judge replies: JSON first, then the usual text conventions.

A pairwise verdict is about the *shown* positions: negative means the first shown answer
("A") is better. ``to_canonical`` turns it into the stored preference using ``shown_order``.
Anything we cannot read with confidence is ``None`` (stored as unscored), never a guess.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

SHOWN_ORDERS = ("ab", "ba")


@dataclass(frozen=True)
class PairwiseVerdict:
    """``preference`` is -2..2 relative to the shown order, or None when unparseable."""

    preference: int | None
    both_bad: bool = False
    rationale: str | None = None
    how: str = "unparsed"


@dataclass(frozen=True)
class ScoreVerdict:
    score: float | None
    rationale: str | None = None
    how: str = "unparsed"


# --- JSON -------------------------------------------------------------------------------

_FENCE = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.S | re.I)


def _json_objects(text: str) -> list[dict[str, Any]]:
    """JSON objects found in ``text``: the whole reply, fenced blocks, then bare ``{...}``."""
    found: list[dict[str, Any]] = []
    stripped = text.strip()
    candidates = [stripped] + _FENCE.findall(text)
    decoder = json.JSONDecoder()
    for candidate in candidates:
        try:
            obj = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(obj, dict):
            found.append(obj)
    if found:
        return found
    i = text.find("{")
    while i != -1:
        try:
            obj, end = decoder.raw_decode(text, i)
        except ValueError:
            i = text.find("{", i + 1)
            continue
        if isinstance(obj, dict):
            found.append(obj)
        i = text.find("{", end)
    return found


def _first_key(obj: dict[str, Any], keys: tuple[str, ...]) -> Any:
    lowered = {str(k).lower(): v for k, v in obj.items()}
    for k in keys:
        if k in lowered and lowered[k] is not None:
            return lowered[k]
    return None


_RATIONALE_KEYS = ("reason", "reasoning", "rationale", "explanation", "justification")
_VERDICT_KEYS = ("verdict", "winner", "preference", "choice", "better", "decision", "result")
_STRENGTH_KEYS = ("strength", "margin", "confidence_level", "degree")
_SCORE_KEYS = ("score", "rating", "grade", "value")

# --- verdict tokens ---------------------------------------------------------------------

_SYMBOLIC = {
    "a>>b": -2,
    "a>b": -1,
    "a=b": 0,
    "b=a": 0,
    "b>a": 1,
    "b>>a": 2,
    "a<<b": 2,
    "a<b": 1,
    "b<a": -1,
    "b<<a": -2,
}
_TIE_WORDS = {"tie", "c", "draw", "equal", "equally good", "same", "a=b"}
_BOTH_BAD_WORDS = {"both bad", "both_bad", "neither", "both are bad"}
_STRONG = re.compile(
    r"\b(much|significantly|far|clearly|substantially|strongly|vastly|considerably|"
    r"definitely|decisively)\b",
    re.I,
)
_WEAK = re.compile(r"\b(slightly|somewhat|marginally|a bit|a little|barely)\b", re.I)


def _strength_of(value: Any) -> int | None:
    """1 or 2 from a strength field: numbers, 'much'/'slightly' style words."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return 2 if abs(value) >= 2 else 1
    if isinstance(value, str):
        if _STRONG.search(value) or value.strip().lower() in {"strong", "large", "high"}:
            return 2
        if _WEAK.search(value) or value.strip().lower() in {"weak", "small", "low", "slight"}:
            return 1
    return None


def _token_verdict(token: str) -> tuple[int | None, bool]:
    """(shown preference with default strength 1, both_bad) for a verdict token."""
    t = re.sub(r"\s+", "", token.strip().strip("\"'*.[]()").lower())
    spaced = " ".join(token.strip().strip("\"'*.[]()").lower().split())
    if t in _SYMBOLIC:
        return _SYMBOLIC[t], False
    if spaced in _BOTH_BAD_WORDS or t in {"bothbad"}:
        return 0, True
    if spaced in _TIE_WORDS or t == "tie":
        return 0, False
    for prefix in ("assistant", "answer", "response", "model", "output"):
        if t.startswith(prefix):
            t = t[len(prefix) :]
    if t in {"a", "first"}:
        return -1, False
    if t in {"b", "second"}:
        return 1, False
    return None, False


def _with_strength(pref: int, strength: int | None, text: str) -> int:
    if pref == 0 or abs(pref) == 2:
        return pref
    if strength is None:
        strength = 2 if _STRONG.search(text) and not _WEAK.search(text) else 1
    return pref * strength


def _from_json(obj: dict[str, Any]) -> PairwiseVerdict | None:
    raw = _first_key(obj, _VERDICT_KEYS)
    if raw is None:
        return None
    rationale = _first_key(obj, _RATIONALE_KEYS)
    rationale = str(rationale) if rationale is not None else None
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        # A numeric preference on the -2..2 scale (negative = first shown answer better).
        if float(raw).is_integer() and -2 <= raw <= 2:
            return PairwiseVerdict(int(raw), rationale=rationale, how="json")
        return None
    pref, both_bad = _token_verdict(str(raw))
    if pref is None:
        return None
    strength = _strength_of(_first_key(obj, _STRENGTH_KEYS))
    if strength is None and pref != 0 and abs(pref) != 2:
        strength = _strength_of(str(raw)) or 1
    return PairwiseVerdict(
        _with_strength(pref, strength, ""), both_bad=both_bad, rationale=rationale, how="json"
    )


# --- text conventions -------------------------------------------------------------------

_BRACKETS = re.compile(r"\[\[\s*([^\[\]]{1,20}?)\s*\]\]")
_LABELLED = re.compile(
    r"(?:final\s+)?(?:verdict|winner|decision|choice|preference|answer)\s*(?:is)?\s*[:=\-]\s*"
    r"\**\s*(?:\[\[)?\s*"
    r"((?:assistant|answer|response|model)?\s*[ab](?:\s*[<>=]{1,2}\s*[ab])?\b|tie\b|both bad\b|"
    r"neither\b|draw\b)",
    re.I,
)
_PROSE = re.compile(
    r"\b(?:assistant|answer|response)\s+([ab])\s+is\s+(?:(much|significantly|far|clearly|"
    r"slightly|somewhat|marginally)\s+)?better\b",
    re.I,
)


def parse_pairwise(text: str | None, *, scale: str = "5way") -> PairwiseVerdict:
    """Extract a verdict about the shown answers from a judge's reply.

    Tried in order: a JSON object with a verdict field; ``[[A]]``/``[[B]]``/``[[C]]`` (tie)
    and ``[[A>>B]]`` style markers; a labelled ``Verdict: A`` line; ``Assistant A is much
    better`` prose. When a reply names several markers, the last one counts (judges often
    restate the format before answering). On a "3way" scale the strength is dropped.
    """
    if not text or not text.strip():
        return PairwiseVerdict(None, how="empty")
    verdict = _parse_pairwise(text)
    if verdict.preference is not None and scale == "3way":
        sign = (verdict.preference > 0) - (verdict.preference < 0)
        verdict = PairwiseVerdict(sign, verdict.both_bad, verdict.rationale, verdict.how)
    return verdict


def _parse_pairwise(text: str) -> PairwiseVerdict:
    for obj in reversed(_json_objects(text)):
        v = _from_json(obj)
        if v is not None:
            return v
    markers = _BRACKETS.findall(text)
    for token in reversed(markers):
        pref, both_bad = _token_verdict(token)
        if pref is not None:
            return PairwiseVerdict(pref, both_bad=both_bad, how="brackets")
    labelled = list(_LABELLED.finditer(text))
    if labelled:
        match = labelled[-1]
        pref, both_bad = _token_verdict(match.group(1))
        if pref is not None:
            tail = text[match.end(1) : match.end(1) + 40]
            return PairwiseVerdict(_with_strength(pref, None, tail), both_bad, how="label")
    prose = _PROSE.findall(text)
    if prose:
        letter, degree = prose[-1]
        pref = -1 if letter.lower() == "a" else 1
        strength = _strength_of(degree) if degree else 1
        return PairwiseVerdict(pref * (strength or 1), how="prose")
    return PairwiseVerdict(None, how="unparsed")


def to_canonical(shown_preference: int | None, shown_order: str) -> int | None:
    """Turn a preference about the shown positions into one about canonical A/B."""
    if shown_order not in SHOWN_ORDERS:
        raise ValueError(f"shown_order must be 'ab' or 'ba', got {shown_order!r}")
    if shown_preference is None:
        return None
    return shown_preference if shown_order == "ab" else -shown_preference


# --- rubric scores ----------------------------------------------------------------------

_SCORE_BRACKETS = re.compile(r"\[\[\s*(-?\d+(?:\.\d+)?)\s*(?:/\s*\d+)?\s*\]\]")
_SCORE_LABEL = re.compile(
    r"(?:score|rating|grade)\s*(?:is)?\s*[:=]?\s*\**\s*(-?\d+(?:\.\d+)?)(?:\s*/\s*\d+)?", re.I
)
_SCORE_FRACTION = re.compile(r"\b(\d+(?:\.\d+)?)\s*/\s*(5|10)\b")
_BINARY_WORDS = {"yes": 1.0, "pass": 1.0, "true": 1.0, "no": 0.0, "fail": 0.0, "false": 0.0}


def scale_bounds(scale: str) -> tuple[float, float]:
    return {"binary": (0.0, 1.0), "likert10": (1.0, 10.0)}.get(scale, (1.0, 5.0))


def _score_value(raw: Any, scale: str, categories: list[str] | None) -> float | None:
    if isinstance(raw, bool):
        return 1.0 if raw else 0.0 if scale == "binary" else None
    if scale == "categories":
        names = [c.lower() for c in categories or []]
        if isinstance(raw, str) and raw.strip().lower() in names:
            return float(names.index(raw.strip().lower()))
        return None
    if isinstance(raw, str):
        word = raw.strip().lower()
        if scale == "binary" and word in _BINARY_WORDS:
            return _BINARY_WORDS[word]
        try:
            raw = float(word.split("/")[0])
        except ValueError:
            return None
    if not isinstance(raw, int | float):
        return None
    lo, hi = scale_bounds(scale)
    value = float(raw)
    return value if lo <= value <= hi else None


def parse_score(
    text: str | None, scale: str = "likert5", categories: list[str] | None = None
) -> ScoreVerdict:
    """Extract a rubric score; out-of-range or unreadable replies give ``None``.

    For a "categories" scale the score is the category's index in the criterion's list.
    """
    if not text or not text.strip():
        return ScoreVerdict(None, how="empty")
    for obj in reversed(_json_objects(text)):
        raw = _first_key(obj, _SCORE_KEYS + ("category", "label", "verdict"))
        if raw is not None:
            rationale = _first_key(obj, _RATIONALE_KEYS)
            value = _score_value(raw, scale, categories)
            if value is not None:
                return ScoreVerdict(
                    value, str(rationale) if rationale is not None else None, how="json"
                )
    if scale == "categories":
        markers = _BRACKETS.findall(text)
        for token in reversed(markers):
            value = _score_value(token, scale, categories)
            if value is not None:
                return ScoreVerdict(value, how="brackets")
        return ScoreVerdict(None, how="unparsed")
    for pattern, how in (
        (_SCORE_BRACKETS, "brackets"),
        (_SCORE_LABEL, "label"),
        (_SCORE_FRACTION, "fraction"),
    ):
        found = pattern.findall(text)
        if found:
            token = found[-1] if isinstance(found[-1], str) else found[-1][0]
            value = _score_value(token, scale, categories)
            return ScoreVerdict(value, how=how if value is not None else "out_of_range")
    if scale == "binary":
        words = re.findall(r"\b(yes|no|pass|fail)\b", text.lower())
        if len(set(words)) == 1:
            return ScoreVerdict(_BINARY_WORDS[words[0]], how="word")
    return ScoreVerdict(None, how="unparsed")
