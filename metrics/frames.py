"""Column contracts for the frames that flow into ``metrics/``.

Domain packages build these frames from the database (or from imported files);
``metrics`` only ever sees frames in these shapes, so every function here can be
tested on a handful of hand-written rows.

Votes frame (one row per judgment, human or LLM):

=================  =======================================================
comparison_id      int, the comparison (unit of agreement)
prompt_id          int
category           str or None
split              str or None ("dev" / "test")
model_a, model_b   str, the candidates in canonical order (A, B)
rater              str, a stable rater key ("u:12" for a user, "j:3" for a judge version;
                   metrics.vocabulary.user_key / judge_key)
rater_kind         "human" or "llm"
judge              str or None, judge name@version for LLM rows (vocabulary.judge_label)
preference         float in {-2,-1,0,1,2}: negative = A better, positive = B better,
                   0 = tie, +-2 = "much better"; NaN = unscored (rubric-only or unparsed)
both_bad           bool, a tie where both outputs are bad
shown_order        "ab" (A shown left / first) or "ba"
time_on_task_ms    float or NaN
len_a, len_b       int, character length of each output
check_kind         None, "gold" or "attention"
expected_preference  float or NaN, the gold / attention answer in the same coding
is_reshow          bool, a re-shown item (sides swapped) for intra-rater consistency
=================  =======================================================

Scores frame (one row per rubric score):
comparison_id, rater, rater_kind, judge, output_id, model, criterion, value (float).
"""

from __future__ import annotations

VOTE_COLUMNS: tuple[str, ...] = (
    "comparison_id",
    "prompt_id",
    "category",
    "split",
    "model_a",
    "model_b",
    "rater",
    "rater_kind",
    "judge",
    "preference",
    "both_bad",
    "shown_order",
    "time_on_task_ms",
    "len_a",
    "len_b",
    "check_kind",
    "expected_preference",
    "is_reshow",
)

SCORE_COLUMNS: tuple[str, ...] = (
    "comparison_id",
    "rater",
    "rater_kind",
    "judge",
    "output_id",
    "model",
    "criterion",
    "value",
)

