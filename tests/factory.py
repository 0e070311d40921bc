"""One place to build test data: small, explicit, and fast on both backends."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from annotate.campaigns import CriterionSpec, _create_campaign
from annotate.serving import insert_comparisons, serve_rank
from db.models import (
    Assignment,
    Campaign,
    Candidate,
    Comparison,
    Judge,
    Judgment,
    Output,
    Prompt,
    User,
)
from metrics.frames import VOTE_COLUMNS


def session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)


def user(s: Session, handle: str = "rater@example.com", role: str = "rater") -> User:
    u = User(handle=handle, email=handle if "@" in handle else None, role=role)
    s.add(u)
    s.flush()
    return u


def admin_id(engine: Engine) -> int:
    """An admin to act as, for domain calls that check who is asking."""
    with session(engine) as s:
        existing = s.exec(select(User).where(User.handle == "admin@example.com")).first()
        if existing is not None:
            return existing.id
        admin = user(s, "admin@example.com", role="admin")
        s.commit()
        return admin.id


def judge(s: Session, name: str = "gpt-judge", model: str = "gpt-x") -> Judge:
    j = Judge(name=name, content_hash=f"hash-{name}-{model}", provider="openai", model=model)
    s.add(j)
    s.flush()
    return j


def campaign_with_outputs(
    s: Session,
    name: str = "c1",
    n_prompts: int = 3,
    models: tuple[str, ...] = ("m1", "m2", "m3"),
    pairs: bool = True,
    criteria: list[CriterionSpec] | None = None,
    **campaign_kwargs: Any,
) -> dict[str, Any]:
    """A campaign with prompts x models outputs and (optionally) all-pairs comparisons."""
    c = _create_campaign(s, name, criteria=criteria, **campaign_kwargs)
    cands = []
    for m in models:
        cand = s.exec(select(Candidate).where(Candidate.name == m)).first() or Candidate(name=m)
        s.add(cand)
        cands.append(cand)
    s.flush()
    prompts, outputs, comparisons = [], {}, []
    for i in range(n_prompts):
        p = Prompt(
            campaign_id=c.id,
            external_id=f"p{i}",
            messages=[{"role": "user", "content": f"Question {i}?"}],
            category=("writing", "coding")[i % 2],
        )
        s.add(p)
        s.flush()
        prompts.append(p)
        for cand in cands:
            o = Output(prompt_id=p.id, candidate_id=cand.id, content=f"{cand.name} answer {i}")
            s.add(o)
            s.flush()
            outputs[(p.id, cand.name)] = o
        if pairs:
            for a, b in itertools.combinations(cands, 2):
                comp = comparison(s, p, outputs[(p.id, a.name)], outputs[(p.id, b.name)])
                comparisons.append(comp)
    s.flush()
    return {
        "campaign": c,
        "candidates": cands,
        "prompts": prompts,
        "outputs": outputs,
        "comparisons": comparisons,
    }


def comparison(
    s: Session, prompt: Prompt, out_a: Output, out_b: Output, **kwargs: Any
) -> Comparison:
    """A comparison of two outputs of ``prompt`` (stored in canonical order, either given
    order), ranked in its campaign's serving order as every real creation path ranks it."""
    lo, hi = sorted((out_a, out_b), key=lambda o: o.id)
    comp = Comparison(
        campaign_id=prompt.campaign_id,
        prompt_id=prompt.id,
        output_a_id=lo.id,
        output_b_id=hi.id,
        serve_rank=rank_of(s, prompt, out_a, out_b),
        **kwargs,
    )
    s.add(comp)
    return comp


def rank_of(s: Session, prompt: Prompt, out_a: Output, out_b: Output) -> int:
    """The serve rank ``annotate.serving`` gives a comparison of these two outputs."""
    seed = s.get(Campaign, prompt.campaign_id).serve_seed
    names = [s.get(Candidate, o.candidate_id).name for o in (out_a, out_b)]
    return serve_rank(seed, prompt.external_id, *names)


def human_judgment(
    s: Session, comp: Comparison, rater: User, preference: int | None, **kwargs: Any
) -> Judgment:
    j = Judgment(
        campaign_id=comp.campaign_id,
        comparison_id=comp.id,
        rater_key=f"u:{rater.id}",
        rater_kind="human",
        user_id=rater.id,
        preference=preference,
        **kwargs,
    )
    s.add(j)
    s.flush()
    return j


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def output_rows(n_prompts: int = 2, models: tuple[str, ...] = ("m1", "m2")) -> list[dict]:
    return [
        {
            "prompt_id": f"p{i}",
            "prompt": f"Question {i}?",
            "model": m,
            "output": f"{m} says {i}",
            "category": "writing",
        }
        for i in range(n_prompts)
        for m in models
    ]


def judge_config(
    s: Session,
    name: str = "local-judge",
    *,
    base_url: str = "http://127.0.0.1:9/v1",
    provider: str = "openai",
    model: str = "fake-judge",
    **spec: Any,
) -> Judge:
    """A real, versioned judge config (content-hashed) pointing at ``base_url``."""
    from judges.config import JudgeSpec, _save_judge

    spec_ = JudgeSpec(provider=provider, model=model, base_url=base_url, **spec)
    return _save_judge(s, name, spec_)


def rubric_items(s: Session, outputs: dict[Any, Output]) -> list[Comparison]:
    """Single-output rubric items (a comparison of an output with itself) for ``outputs``."""
    items = []
    for o in outputs.values():
        items.append(comparison(s, s.get(Prompt, o.prompt_id), o, o))
    s.flush()
    return items


def bulk_pairwise_campaign(
    engine: Engine, name: str, n_prompts: int, models: tuple[str, ...] = ("m1", "m2")
) -> int:
    """A large all-pairs campaign inserted with executemany (benchmarks); returns its id.

    Outputs differ in length so that a length-preferring fake judge gives clear verdicts.
    """
    from sqlmodel import select

    from db.models import utcnow

    with session(engine) as s:
        c = _create_campaign(s, name)
        cands = []
        for m in models:
            cand = Candidate(name=f"{name}-{m}")
            s.add(cand)
            cands.append(cand)
        s.flush()
        campaign_id, cand_ids = c.id, [cand.id for cand in cands]
        s.execute(
            Prompt.__table__.insert(),
            [
                {
                    "campaign_id": campaign_id,
                    "external_id": f"p{i}",
                    "messages": [{"role": "user", "content": f"Question {i}?"}],
                }
                for i in range(n_prompts)
            ],
        )
        prompt_ids = list(
            s.exec(
                select(Prompt.id).where(Prompt.campaign_id == campaign_id).order_by(Prompt.id)
            ).all()
        )
        s.execute(
            Output.__table__.insert(),
            [
                {
                    "prompt_id": pid,
                    "candidate_id": cid,
                    "content": f"answer {i} " + "x" * ((i * 7 + j * 3) % 11),
                }
                for i, pid in enumerate(prompt_ids)
                for j, cid in enumerate(cand_ids)
            ],
        )
        outs: dict[int, list[int]] = {}
        for oid, pid in s.exec(
            select(Output.id, Output.prompt_id)
            .where(Output.prompt_id.in_(prompt_ids))
            .order_by(Output.id)
        ).all():
            outs.setdefault(pid, []).append(oid)
        insert_comparisons(
            s.connection(),
            campaign_id,
            [
                {
                    "prompt_id": pid,
                    "output_a_id": a,
                    "output_b_id": b,
                    "n_done": 0,
                    "created_at": utcnow(),
                }
                for pid, oids in outs.items()
                for a, b in itertools.combinations(sorted(oids), 2)
            ],
        )
        s.commit()
        return campaign_id


# --- rating (issue 3) ----------------------------------------------------------------------

SECRET_MODELS = ("zephyr-secret-alpha", "orca-secret-beta", "falcon-secret-gamma")


def blind_campaign(
    s: Session,
    name: str = "blind",
    n_prompts: int = 3,
    models: tuple[str, ...] = SECRET_MODELS[:2],
    contents: dict[str, str] | None = None,
    **campaign_kwargs: Any,
) -> dict[str, Any]:
    """Like campaign_with_outputs, but no output text mentions its model: for blindness tests.

    ``contents`` overrides the text of the given models' outputs (every prompt).
    """
    data = campaign_with_outputs(s, name, n_prompts, models, **campaign_kwargs)
    for (prompt_id, model), output in data["outputs"].items():
        index = [p.id for p in data["prompts"]].index(prompt_id)
        slot = models.index(model)
        output.content = (contents or {}).get(model, f"Answer number {index}, variant {slot}.")
        s.add(output)
    s.flush()
    return data


def raters(s: Session, n: int, prefix: str = "rater") -> list[User]:
    return [user(s, f"{prefix}{i}@example.com") for i in range(n)]


def table_counts(engine: Engine) -> dict[str, int]:
    """Row counts of every table: compare before and after to prove nothing was written."""
    from sqlalchemy import func, select

    from db.models import metadata

    with engine.connect() as conn:
        return {
            name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in metadata.tables.items()
        }


def write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str] | None = None) -> Path:
    import csv

    columns = columns or list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def vote_rows(
    n_questions: int = 2,
    pairs: tuple[tuple[str, str], ...] = (("m1", "m2"),),
    judge: str = "author_0",
    winner: str = "model_a",
    **extra: Any,
) -> list[dict]:
    """Arena-style votes that carry their answers (output_a/output_b) and prompt text."""
    return [
        {
            "question_id": q,
            "prompt": f"Question {q}?",
            "model_a": a,
            "model_b": b,
            "output_a": f"{a} says {q}",
            "output_b": f"{b} says {q}",
            "winner": winner,
            "judge": judge,
            **extra,
        }
        for q in range(n_questions)
        for a, b in pairs
    ]


def judge_judgment(
    s: Session, comp: Comparison, j: Judge, preference: int | None, shown_order: str = "ab"
) -> Judgment:
    row = Judgment(
        campaign_id=comp.campaign_id,
        comparison_id=comp.id,
        rater_key=f"j:{j.id}",
        rater_kind="llm",
        judge_id=j.id,
        shown_order=shown_order,
        preference=preference,
    )
    s.add(row)
    s.flush()
    return row


def voted_campaign(
    s: Session,
    votes: dict[tuple[str, str], list[int]],
    n_raters: int = 3,
    name: str = "voted",
    judge_votes: dict[tuple[str, str], list[int]] | None = None,
) -> dict[str, Any]:
    """A campaign whose comparison i of pair (x, y) gets human vote votes[(x, y)][i].

    Each vote is a preference of x over y in the canonical coding (negative = x better);
    comparisons are spread over prompts, raters take turns.
    """
    models = tuple(sorted({m for pair in votes for m in pair}))
    n_prompts = max(len(v) for v in votes.values())
    data = campaign_with_outputs(s, name=name, n_prompts=n_prompts, models=models, pairs=False)
    raters = [user(s, f"{name}-r{i}@x.org") for i in range(n_raters)]
    j = judge(s, name=f"{name}-judge") if judge_votes else None
    comparisons: list[Comparison] = []
    for (x, y), prefs in votes.items():
        for i, pref in enumerate(prefs):
            p = data["prompts"][i]
            ox, oy = data["outputs"][(p.id, x)], data["outputs"][(p.id, y)]
            comp = s.exec(
                select(Comparison).where(
                    Comparison.output_a_id == min(ox.id, oy.id),
                    Comparison.output_b_id == max(ox.id, oy.id),
                )
            ).first()
            if comp is None:
                comp = comparison(s, p, ox, oy)
                s.flush()
                comparisons.append(comp)
            sign = 1 if ox.id < oy.id else -1
            human_judgment(s, comp, raters[i % n_raters], pref * sign)
            if judge_votes and (x, y) in judge_votes and i < len(judge_votes[(x, y)]):
                jp = judge_votes[(x, y)][i]
                judge_judgment(s, comp, j, jp * sign, "ab")
                judge_judgment(s, comp, j, jp * sign, "ba")
    s.flush()
    return {**data, "raters": raters, "judge": j, "comparisons": comparisons}


# --- login and roles (issue 7) -------------------------------------------------------------

ADMIN_EMAIL = "boss@acme.io"
RATER_EMAIL = "ana@acme.io"


def rate_items(engine: Engine, rater_id: int, campaign_id: int, n: int, answer: Any = None) -> int:
    """Answer up to ``n`` items through the real queue, as a rater would; returns how many."""
    from annotate.items import Answer
    from annotate.queue import next_item
    from annotate.submission import submit

    done = 0
    for _ in range(n):
        item = next_item(engine, rater_id, campaign_id)
        if item is None:
            break
        submit(engine, rater_id, item.assignment_id, answer or Answer(-1, rationale="fine"))
        done += 1
    return done


def flag_items(engine: Engine, rater_id: int, campaign_id: int, reasons: list[str]) -> list[int]:
    """Flag the next items in the rater's queue, one per reason; returns their comparison ids."""
    from annotate.queue import next_item
    from annotate.submission import flag

    flagged = []
    for reason in reasons:
        item = next_item(engine, rater_id, campaign_id)
        flag(engine, rater_id, item.assignment_id, reason)
        with session(engine) as s:
            flagged.append(s.get(Assignment, item.assignment_id).comparison_id)
    return flagged


def team(
    engine: Engine,
    admin: str = ADMIN_EMAIL,
    rater: str = RATER_EMAIL,
    name: str = "blind",
    answer: Any = None,
    **campaign_kwargs: Any,
) -> dict[str, Any]:
    """A team: an admin, a rater and a second rater who both rated a blind campaign whose
    candidate names are secret (SECRET_MODELS), and a judge config. Returns plain ids."""
    with session(engine) as s:
        boss = user(s, admin, role="admin")
        ana, other = user(s, rater), user(s, f"other.{rater}")
        data = blind_campaign(s, name, n_prompts=3, **campaign_kwargs)
        judge_config(s, "secret-judge-config", base_url="http://127.0.0.1:9/secret-judge/v1")
        s.commit()
        ids = {"admin": boss.id, "rater": ana.id, "other": other.id}
        campaign_id = data["campaign"].id
    for rater_id in (ids["rater"], ids["other"]):
        rate_items(engine, rater_id, campaign_id, 3, answer)
    return {**ids, "campaign": campaign_id}


def vote_row(cid: int, rater: str, preference: float | None, **fields: Any) -> dict[str, Any]:
    """One row of the metrics votes frame (``VOTE_COLUMNS``): a human's first showing, A left,
    on comparison ``cid`` of m1 vs m2, unless ``fields`` say otherwise."""
    row: dict[str, Any] = dict.fromkeys(VOTE_COLUMNS)
    row.update(
        comparison_id=cid,
        prompt_id=cid,
        model_a="m1",
        model_b="m2",
        rater=rater,
        rater_kind="human",
        preference=preference,
        both_bad=False,
        shown_order="ab",
        is_reshow=False,
    )
    row.update(fields)
    return row


# --- rubric scores (issue 12) --------------------------------------------------------------


def score(s: Session, judgment: Judgment, output: Output, criterion: str, value: float) -> None:
    """A rubric score of ``output`` on the campaign's criterion named ``criterion``."""
    from db.models import JudgmentScore, RubricCriterion

    criterion_id = s.exec(
        select(RubricCriterion.id).where(
            RubricCriterion.campaign_id == judgment.campaign_id, RubricCriterion.name == criterion
        )
    ).one()
    s.add(
        JudgmentScore(
            judgment_id=judgment.id, output_id=output.id, criterion_id=criterion_id, value=value
        )
    )
    s.flush()


# --- orientation-free data sets (issue 12's invariance properties) -------------------------


def logical_votes(
    seed: int,
    models: tuple[str, ...] = ("m0", "m1", "m2", "m3"),
    n_prompts: int = 8,
    n_raters: int = 3,
) -> dict[str, Any]:
    """A random data set described without storage order.

    Each comparison is ``(prompt, x, y)``; each vote's ``pref`` is in that logical order
    (negative = x better) and ``shown`` is "xy" when x was shown first. Humans vote once per
    comparison (some skip); one judge votes in both shown orders, 5-point, now and then
    inconsistent.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    comparisons = [
        (i, x, y)
        for i in range(n_prompts)
        for x, y in itertools.combinations(models, 2)
        if rng.random() < 0.7
    ]
    strength = {m: k * 0.6 for k, m in enumerate(models)}
    votes: list[dict[str, Any]] = []

    def draw(x: str, y: str, strong: bool) -> int:
        p_x = 1.0 / (1.0 + np.exp(strength[x] - strength[y]))
        u = rng.random()
        pref = 0 if u < 0.2 else (-1 if u < 0.2 + 0.8 * p_x else 1)
        return pref * (2 if strong and pref and rng.random() < 0.4 else 1)

    for c, (_, x, y) in enumerate(comparisons):
        for r in range(n_raters):
            if rng.random() < 0.85:
                shown = "xy" if rng.random() < 0.5 else "yx"
                votes.append({"c": c, "rater": r, "pref": draw(x, y, False), "shown": shown})
        for shown in ("xy", "yx"):
            votes.append({"c": c, "rater": "judge", "pref": draw(x, y, True), "shown": shown})
    return {"models": models, "n_prompts": n_prompts, "comparisons": comparisons,
            "votes": votes, "n_raters": n_raters}


def store_logical_votes(
    s: Session,
    data: dict[str, Any],
    name: str,
    output_order: dict[int, tuple[str, ...]] | None = None,
    copies: int = 1,
    reshows: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Store :func:`logical_votes` as a campaign, creating each prompt's outputs in
    ``output_order[prompt]`` (so which output is stored as A follows that order).

    Raters and the judge are shared by every campaign stored in the same database, so two
    storages of one data set name the same raters. ``copies`` repeats every human vote by
    that many rater clones; ``reshows`` adds re-shown judgments (``{"c", "rater", "pref"}``,
    logical coding, shown in the other order than the rater's first look).
    """
    models = data["models"]
    c = _create_campaign(s, name)
    cands = {}
    for m in models:
        cand = s.exec(select(Candidate).where(Candidate.name == m)).first() or Candidate(name=m)
        s.add(cand)
        cands[m] = cand
    s.flush()
    raters = []
    for r in range(data["n_raters"] * copies):
        handle = f"logical-r{r}@x.org"
        raters.append(s.exec(select(User).where(User.handle == handle)).first() or user(s, handle))
    j = s.exec(select(Judge).where(Judge.name == "logical-judge")).first() or judge(
        s, "logical-judge"
    )
    outputs: dict[tuple[int, str], Output] = {}
    prompts: list[Prompt] = []
    for i in range(data["n_prompts"]):
        p = Prompt(
            campaign_id=c.id,
            external_id=f"p{i}",
            messages=[{"role": "user", "content": f"Question {i}?"}],
            category=("writing", "coding")[i % 2],
        )
        s.add(p)
        s.flush()
        prompts.append(p)
        for m in (output_order or {}).get(i, models):
            text = f"{m} answer {i} " + "words " * (3 * models.index(m) + i % 3)
            o = Output(prompt_id=p.id, candidate_id=cands[m].id, content=text)
            s.add(o)
            s.flush()
            outputs[(i, m)] = o
    stored: list[tuple[Comparison, bool]] = []
    for i, x, y in data["comparisons"]:
        ox, oy = outputs[(i, x)], outputs[(i, y)]
        comp = comparison(s, prompts[i], ox, oy)
        s.flush()
        stored.append((comp, ox.id > oy.id))

    def stored_order(shown: str, flipped: bool) -> str:
        return "ab" if (shown == "xy") != flipped else "ba"

    for v in data["votes"]:
        comp, flipped = stored[v["c"]]
        pref = -v["pref"] if flipped else v["pref"]
        order = stored_order(v["shown"], flipped)
        if v["rater"] == "judge":
            judge_judgment(s, comp, j, pref, order)
            continue
        for k in range(copies):
            rater = raters[v["rater"] + k * data["n_raters"]]
            human_judgment(s, comp, rater, pref, shown_order=order)
    for v in reshows or []:
        comp, flipped = stored[v["c"]]
        first = next(
            w for w in data["votes"] if w["c"] == v["c"] and w["rater"] == v["rater"]
        )
        again = "yx" if first["shown"] == "xy" else "xy"
        human_judgment(
            s, comp, raters[v["rater"]], -v["pref"] if flipped else v["pref"],
            shown_order=stored_order(again, flipped), is_reshow=True,
        )
    s.flush()
    return {
        "campaign": c,
        "judge": j,
        "raters": raters,
        "flipped": [f for _, f in stored],
        "first_ids": {"comparison_id": stored[0][0].id, "prompt_id": stored[0][0].prompt_id},
    }


def dataset_rows(n: int = 4, *, text: str = "Question {i}?", splits=("dev", "test")) -> list[dict]:
    """Prompts of a dataset file: ids p0..p{n-1}, a category each, splits taking turns."""
    return [
        {
            "prompt_id": f"p{i}",
            "prompt": text.format(i=i),
            "category": "math" if i % 2 else "writing",
            "split": splits[i % len(splits)],
        }
        for i in range(n)
    ]


def task_counts(engine: Engine, run_id: int) -> dict[str, int]:
    """A judge or generation run's tasks by status, e.g. {"done": 8, "claimed": 4}."""
    from sqlalchemy import func, select

    from db.models import JudgeTask

    with session(engine) as s:
        rows = s.exec(
            select(JudgeTask.status, func.count())
            .where(JudgeTask.run_id == run_id)
            .group_by(JudgeTask.status)
        ).all()
    return dict(rows)
