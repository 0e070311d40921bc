"""Arena-Hard-Auto compatibility: strong verdicts counted three times, and the win rate
against the baseline computed from the ratings as its show_result.py does."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from sqlmodel import select

from db.errors import InvalidInputError
from db.models import Campaign, Comparison
from metrics.counts import resample_counts
from results.leaderboards import LeaderboardQuery, compute_leaderboard, leaderboard_counts
from tests import factory

BASELINE = "gpt-4-0314"
MODELS = ("m-good", "m-even", "m-weak")
LABELS = ("A>>B", "A>B", "A=B", "B>A", "B>>A")
CODE = dict(zip(LABELS, (-2, -1, 0, 1, 2), strict=True))
# label probabilities for a game shown as (baseline first, model second)
ODDS = {
    "m-good": (0.05, 0.15, 0.15, 0.35, 0.30),
    "m-even": (0.15, 0.25, 0.20, 0.25, 0.15),
    "m-weak": (0.35, 0.30, 0.15, 0.15, 0.05),
}
N_QUESTIONS = 40
ROUNDS = 200
SEED = 7


def arena_games(seed: int = 0) -> pd.DataFrame:
    """Two games per (question, model) against the baseline, as in an Arena-Hard judgment
    file: game 1 shows the baseline first, game 2 the model first (labels relative to the
    order shown)."""
    rng = np.random.default_rng(seed)
    rows = []
    for model in MODELS:
        odds = np.array(ODDS[model])
        for q in range(N_QUESTIONS):
            g1 = LABELS[rng.choice(5, p=odds)]
            g2 = LABELS[rng.choice(5, p=odds[::-1])]  # the model is A in game 2
            rows.append((q, model, 1, BASELINE, model, g1))
            rows.append((q, model, 2, model, BASELINE, g2))
    return pd.DataFrame(rows, columns=["question", "model", "game", "first", "second", "label"])


@pytest.fixture
def arena(engine) -> dict:
    """The games stored as one judge's two position-swapped verdicts per comparison."""
    games = arena_games()
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(
            s, name="arena", n_prompts=N_QUESTIONS, models=(BASELINE, *MODELS), pairs=False
        )
        judge = factory.judge(s, name="gpt-4-turbo")
        for (q, model), pair in games.groupby(["question", "model"]):
            prompt = data["prompts"][q]
            base_out = data["outputs"][(prompt.id, BASELINE)]
            model_out = data["outputs"][(prompt.id, model)]
            a, b = sorted((base_out, model_out), key=lambda o: o.id)
            comp = Comparison(
                campaign_id=data["campaign"].id,
                prompt_id=prompt.id,
                output_a_id=a.id,
                output_b_id=b.id,
            )
            s.add(comp)
            s.flush()
            for game in pair.itertuples():
                first_is_a = (game.first == BASELINE) == (a is base_out)
                code = CODE[game.label]
                factory.judge_judgment(
                    s, comp, judge, code if first_is_a else -code, "ab" if first_is_a else "ba"
                )
        s.commit()
        return {"campaign_id": data["campaign"].id, "games": games}


def battles(games: pd.DataFrame, weight: int = 3) -> pd.DataFrame:
    """Arena-Hard's battle rows: one per game, a strong verdict repeated ``weight`` times;
    ``winner`` is "model_a" (shown first), "model_b" or "tie"."""
    winner = games["label"].map(
        {"A>>B": "model_a", "A>B": "model_a", "A=B": "tie", "B>A": "model_b", "B>>A": "model_b"}
    )
    copies = np.where(games["label"].isin(["A>>B", "B>>A"]), weight, 1)
    out = pd.DataFrame(
        {
            "question": games["question"],
            "model": games["model"],
            "model_a": games["first"],
            "model_b": games["second"],
            "winner": winner,
        }
    )
    return out.loc[out.index.repeat(copies)].reset_index(drop=True)


def reference_elo(rows: pd.DataFrame, weights: np.ndarray | None = None) -> dict[str, float]:
    """The published MLE: logistic regression without intercept or penalty on the battle
    rows entered twice (a tie is a win in one copy and a loss in the other), features
    +ln 10 for model_a and -ln 10 for model_b, Elo = 400 * coefficient + 1000, shifted so
    the baseline is 1000 (its column dropped = anchored at 0)."""
    w = np.ones(len(rows)) if weights is None else weights
    names = list(MODELS)
    x = np.zeros((len(rows), len(names)))
    for k, name in enumerate(names):
        x[:, k] = math.log(10) * (
            (rows["model_a"] == name).to_numpy() * 1.0 - (rows["model_b"] == name).to_numpy()
        )
    won = (rows["winner"] == "model_a").to_numpy(dtype=float)
    tie = (rows["winner"] == "tie").to_numpy()
    y = np.r_[won + tie, won]  # first copy: a tie is an A win; second copy: a loss
    fit = sm.GLM(y, np.vstack([x, x]), family=sm.families.Binomial(), freq_weights=np.r_[w, w]).fit(
        tol=1e-12
    )
    return {
        BASELINE: 1000.0,
        **{n: 1000.0 + 400.0 * c for n, c in zip(names, fit.params, strict=True)},
    }


def win_rate_pct(elo: float) -> float:
    """show_result.py's predict_win_rate against the baseline at 1000, in percent."""
    return 100.0 / (1.0 + 10 ** ((1000.0 - elo) / 400.0))


def test_arena_hard_win_rates_against_the_baseline_are_reproduced(engine, arena) -> None:
    """Point estimates: our leaderboard (judge source, strong weight 3, baseline anchored)
    against the published formula computed here from the battle rows, to 0.05 pp.

    Interval bounds: Arena-Hard resamples battle rows; we resample comparisons (both
    games of a question-model pair together, as the gate does), so the two bootstraps
    differ by design. To compare the estimator exactly rather than two Monte Carlo runs,
    the reference is refitted, round by round, on the resample our bootstrap drew in
    that round (``resample_counts`` with the leaderboard's seed: per model pair the
    score of one side, ties as half, and the other side's), after checking that the
    table it starts from is the battles' own. Its 2.5th/97.5th percentile ratings go
    through the same win-rate formula. Both sides see identical resamples, so any gap is
    the fit, the anchoring or the formula, not sampling error.
    """
    _assert_reproduced(engine, arena["campaign_id"], arena["games"])


def test_arena_hard_files_imported_reproduce_the_win_rates_against_the_baseline(
    engine, tmp_path
) -> None:
    """The same check on Arena-Hard's own files: a questions file, one answers file per
    model (``choices[0].turns`` as objects) and one judgment file per model (two games,
    the baseline shown first in game 1), imported with ``--baseline``."""
    from ingest.outputs import import_outputs, load_questions
    from ingest.votes import import_votes

    games = arena_games()
    questions = factory.write_jsonl(
        tmp_path / "question.jsonl",
        [
            {"question_id": f"q{q}", "category": "arena-hard", "turns": [{"content": f"Q{q}?"}]}
            for q in range(N_QUESTIONS)
        ],
    )
    admin = factory.admin_id(engine)
    for model in (BASELINE, *MODELS):
        answers = [
            {
                "question_id": f"q{q}",
                "answer_id": f"{model}-{q}",
                "model_id": model,
                "choices": [
                    {"index": 0, "turns": [{"content": f"{model} on {q}", "token_len": 3}]}
                ],
            }
            for q in range(N_QUESTIONS)
        ]
        import_outputs(
            engine,
            factory.write_jsonl(tmp_path / f"{model}.jsonl", answers),
            "arena files",
            actor_id=admin,
            questions=load_questions(questions),
        )
    for model, rows in games.groupby("model"):
        judgments = [
            {
                "question_id": f"q{q}",
                "model": model,
                "judge": "gpt-4-1106-preview",
                "games": [
                    {"score": pair.label.iloc[k], "judgment": f"[[{pair.label.iloc[k]}]]"}
                    for k in range(2)
                ],
            }
            for q, pair in rows.sort_values("game").groupby("question")
        ]
        import_votes(
            engine,
            factory.write_jsonl(tmp_path / f"judgment-{model}.jsonl", judgments),
            "arena files",
            actor_id=admin,
            baseline=BASELINE,
        )
    with factory.session(engine) as s:
        campaign_id = s.exec(select(Campaign.id).where(Campaign.name == "arena files")).one()
    _assert_reproduced(engine, campaign_id, games)


def _assert_reproduced(engine, campaign_id: int, games: pd.DataFrame) -> None:
    admin = factory.admin_id(engine)
    q = LeaderboardQuery(
        campaign_id,
        source="judge",
        baseline=BASELINE,
        strong_weight=3,
        rounds=ROUNDS,
        seed=SEED,
    )
    table = compute_leaderboard(engine, q, actor_id=admin).table.set_index("model")

    rows = battles(games)
    elo = reference_elo(rows)
    for model in MODELS:
        ours = 100 * table.loc[model, "win_rate_vs_baseline"]
        assert ours == pytest.approx(win_rate_pct(elo[model]), abs=0.05)
    assert table.loc[BASELINE, "win_rate_vs_baseline"] == 0.5

    counts = leaderboard_counts(engine, q, actor_id=admin)
    pairs = pd.DataFrame(
        {"lo": [counts.models[i] for i in counts.i], "hi": [counts.models[j] for j in counts.j]}
    )
    # the observed table the bootstrap starts from is the battles' (weight-3 copies, ties half)
    for cell, (lo, hi) in enumerate(pairs.itertuples(index=False)):
        mine = rows[
            ((rows.model_a == lo) & (rows.model_b == hi))
            | ((rows.model_a == hi) & (rows.model_b == lo))
        ]
        lo_wins = ((mine.winner == "model_a") & (mine.model_a == lo)) | (
            (mine.winner == "model_b") & (mine.model_b == lo)
        )
        ties = (mine.winner == "tie").sum()
        assert counts.wins_i[cell] + 0.5 * counts.ties[cell] == lo_wins.sum() + 0.5 * ties
        assert counts.n[cell] == len(mine)
    # each round's resample, as the bootstrap draws it: the lower-coded model's score
    # (wins + half ties) and the rest of the pair's votes
    score, rest, _ = resample_counts(counts, ROUNDS, np.random.default_rng(SEED))
    aggregated = pd.DataFrame(
        {
            "model_a": np.r_[pairs.lo, pairs.lo],
            "model_b": np.r_[pairs.hi, pairs.hi],
            "winner": ["model_a"] * len(pairs) + ["model_b"] * len(pairs),
        }
    )
    boot = [reference_elo(aggregated, np.r_[score[r], rest[r]]) for r in range(ROUNDS)]
    boot = pd.DataFrame(boot)
    for model in MODELS:
        lower = win_rate_pct(np.percentile(boot[model], 2.5))
        upper = win_rate_pct(np.percentile(boot[model], 97.5))
        assert 100 * table.loc[model, "win_rate_vs_baseline_ci_low"] == pytest.approx(
            lower, abs=0.05
        )
        assert 100 * table.loc[model, "win_rate_vs_baseline_ci_high"] == pytest.approx(
            upper, abs=0.05
        )


def test_strong_verdicts_count_k_times(engine, arena) -> None:
    admin = factory.admin_id(engine)
    base = LeaderboardQuery(arena["campaign_id"], source="judge", rounds=50)
    once = compute_leaderboard(engine, base, actor_id=admin)
    thrice = compute_leaderboard(
        engine,
        LeaderboardQuery(arena["campaign_id"], source="judge", rounds=50, strong_weight=3),
        actor_id=admin,
    )
    strong = int(arena["games"]["label"].isin(["A>>B", "B>>A"]).sum())
    assert once.n_votes == len(arena["games"])
    assert thrice.n_votes == len(arena["games"]) + 2 * strong
    assert any("count 3 times" in note for note in thrice.notes)


@pytest.mark.parametrize("weight", [0, -1, 1.5])
def test_strong_weight_must_be_a_whole_number_of_one_or_more(engine, arena, weight) -> None:
    with pytest.raises(InvalidInputError, match="whole number of 1 or more"):
        compute_leaderboard(
            engine,
            LeaderboardQuery(arena["campaign_id"], strong_weight=weight),
            actor_id=factory.admin_id(engine),
        )
