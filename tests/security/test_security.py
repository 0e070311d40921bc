"""Security suite: sign-in hardening, SQL metacharacters stored verbatim, XSS inert in the
browser, and an API key that never lands in the database, exports or logs."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from sqlalchemy import inspect
from sqlmodel import select

from annotate import team
from annotate.items import Answer
from annotate.pairing import generate_comparisons
from annotate.users import LOCAL_ADMIN_HANDLE, ensure_local_admin, user_for_login
from db.engine import make_engine
from db.models import (
    Campaign,
    Candidate,
    Comparison,
    Judge,
    Judgment,
    Output,
    Prompt,
    RubricCriterion,
    User,
    metadata,
)
from ingest.outputs import import_outputs
from ingest.votes import import_votes
from judges.config import INCONSISTENT_AS_LABEL
from results.export import EXPORT_FORMATS, export_judgments
from tests import factory
from tests.browser import ROOT, app_server, chromium

# --- sign-in hardening ----------------------------------------------------------------------


def test_an_imported_rater_id_that_is_an_email_grants_no_sign_in(engine, tmp_path) -> None:
    """Importing someone's votes must not let that address in: only an invite does."""
    votes = factory.write_jsonl(tmp_path / "v.jsonl", factory.vote_rows(judge="mallory@x.org"))
    import_votes(engine, votes, "imported", actor_id=factory.admin_id(engine))
    admin = factory.admin_id(engine)
    assert user_for_login(engine, "mallory@x.org") is None
    team.invite(engine, "mallory@x.org", actor_id=admin)
    claimed = user_for_login(engine, "Mallory@x.org", "Mallory")
    assert (claimed.role, claimed.imported, claimed.email) == ("rater", False, "mallory@x.org")
    with factory.session(engine) as s:
        assert s.exec(select(User).where(User.handle == "mallory@x.org")).one().id == claimed.id


@pytest.mark.parametrize("login", [LOCAL_ADMIN_HANDLE, "", "   ", "@", "nobody@"])
def test_only_an_email_address_signs_in(engine, login) -> None:
    ensure_local_admin(engine)
    assert user_for_login(engine, login) is None


# --- SQL metacharacters ---------------------------------------------------------------------

SQL = [
    "'; DROP TABLE judgments; --",
    '" OR 1=1 --',
    "back\\slash \\' \\\" \\\\ \\N \\. %s %(x)s ?",
    "100% _under_ %% LIKE '%_'",
    "tab\there, new\nline; ünïcödé ✓ 漢字 🙂 \u202ertl",
]
SHORT = ["';DROP TABLE x;--", '" OR 1=1 --', "a\\b\\N%_", "100%_", "ü✓漢🙂\t"]  # split: 32


def _all_tables_exist(engine) -> None:
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())


def test_sql_metacharacters_in_every_output_field_are_stored_verbatim(engine, tmp_path) -> None:
    rows = [
        {
            "prompt_id": f"{text}#{i}",
            "prompt": text,
            "model": f"{text} model",
            "output": f"{text} output",
            "reference": text,
            "category": text,
            "split": SHORT[i],
            "metadata": {text: [text], "k'\"": text},
        }
        for i, text in enumerate(SQL)
    ]
    result = import_outputs(
        engine,
        factory.write_jsonl(tmp_path / "o.jsonl", rows),
        SQL[0],
        actor_id=factory.admin_id(engine),
    )
    assert result.outputs_added == len(SQL)
    _all_tables_exist(engine)
    with factory.session(engine) as s:
        assert s.exec(select(Campaign.name)).all() == [SQL[0]]
        prompts = {p.external_id: p for p in s.exec(select(Prompt)).all()}
        for i, text in enumerate(SQL):
            p = prompts[f"{text}#{i}"]
            assert p.messages == [{"role": "user", "content": text}]
            assert (p.reference, p.category, p.split) == (text, text, SHORT[i])
            out = s.exec(select(Output).where(Output.prompt_id == p.id)).one()
            assert out.content == f"{text} output"
            assert out.meta == {text: [text], "k'\"": text}
            assert s.get(Candidate, out.candidate_id).name == f"{text} model"


def test_sql_metacharacters_in_every_vote_field_are_stored_verbatim(engine, tmp_path) -> None:
    rows = [
        {
            "question_id": f"{text}#{i}",
            "prompt": text,
            "model_a": f"{text} A",
            "model_b": f"{text} B",
            "output_a": f"{text} says A",
            "output_b": f"{text} says B",
            "winner": "model_a",
            "judge": f"{text} rater",
            "rater_kind": kind,
            "category": text,
            "rationale": text,
        }
        for i, text in enumerate(SQL)
        for kind in ("human", "llm")
    ]
    result = import_votes(
        engine,
        factory.write_jsonl(tmp_path / "v.jsonl", rows),
        SQL[1],
        actor_id=factory.admin_id(engine),
    )
    assert result.judgments_added == 2 * len(SQL)
    _all_tables_exist(engine)
    with factory.session(engine) as s:
        handles = set(s.exec(select(User.handle).where(User.imported)).all())
        judges = set(s.exec(select(Judge.name)).all())
        # rd.name strips surrounding whitespace; none of the payloads has any
        assert handles == judges == {f"{text} rater" for text in SQL}
        assert sorted(s.exec(select(Judgment.rationale)).all()) == sorted(SQL * 2)
        assert {p.external_id for p in s.exec(select(Prompt)).all()} == {
            f"{text}#{i}" for i, text in enumerate(SQL)
        }
        names = set(s.exec(select(Candidate.name)).all())
        assert names == {f"{t} {side}" for t in SQL for side in "AB"}
        contents = set(s.exec(select(Output.content)).all())
        assert contents == {f"{t} says {side}" for t in SQL for side in "AB"}


# --- XSS: hostile text is shown as text, never run ------------------------------------------

MARK = "XSSMARK"
XSS = [
    f"<script>window.__xss=1;alert(1)</script>{MARK}1",
    f'<img src=x onerror="window.__xss=2;alert(2)">{MARK}2',
    f'<svg onload="window.__xss=3;alert(3)"></svg>{MARK}3',
    f'<a href="javascript:window.__xss=4;alert(4)">{MARK}4</a>',
    f"[{MARK}5](javascript:window.__xss=5;alert(5))",
    f'<iframe src="javascript:window.__xss=6"></iframe>{MARK}6',
]
HOSTILE_CAMPAIGN = f'<img src=x onerror="window.__xss=7">camp {MARK}7'
HOSTILE_VOTES = f"[votes {MARK}8](javascript:window.__xss=8)"
RUNNABLE = """() => {
  const hits = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      const v = a.value || '';
      if (v.includes('__xss') && (a.name.startsWith('on') || ['href', 'src'].includes(a.name)))
        hits.push(el.tagName + ' ' + a.name + '=' + v);
    }
    if (el.tagName === 'SCRIPT' && el.textContent.includes('__xss')) hits.push('SCRIPT');
  }
  for (const a of document.querySelectorAll('a[href]'))
    if (a.href.trim().toLowerCase().startsWith('javascript:')) hits.push('A ' + a.href);
  return hits;
}"""


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory) -> Iterator[Any]:
    """Local mode (the local admin sees every page) over data full of XSS payloads."""
    tmp = tmp_path_factory.mktemp("xss")
    url = f"sqlite:///{tmp / 'xss.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    me = ensure_local_admin(engine).id
    outputs = [
        {
            "prompt_id": f"p{i}",
            "prompt": payload,
            "model": f"model-{m} {XSS[m]}",
            "output": f"{payload} (answer of model {m})",
            "category": payload[:100],
        }
        for i, payload in enumerate(XSS)
        for m in (0, 1)
    ]
    import_outputs(
        engine,
        factory.write_jsonl(tmp / "o.jsonl", outputs),
        HOSTILE_CAMPAIGN,
        actor_id=factory.admin_id(engine),
    )
    with factory.session(engine) as s:
        campaign_id = s.exec(select(Campaign.id)).one()
    generate_comparisons(engine, campaign_id, "all_pairs", actor_id=me)
    assert factory.rate_items(engine, me, campaign_id, 3, Answer(-1, rationale=XSS[1])) == 3
    with factory.session(engine) as s:  # a rubric criterion named with a payload, scored
        s.add(RubricCriterion(campaign_id=campaign_id, name=f"crit {XSS[0]}"[:100]))
        s.flush()
        for j in s.exec(select(Judgment).where(Judgment.campaign_id == campaign_id)).all():
            comp = s.get(Comparison, j.comparison_id)
            for output_id, value in ((comp.output_a_id, 4), (comp.output_b_id, 2)):
                factory.score(s, j, s.get(Output, output_id), f"crit {XSS[0]}"[:100], value)
        s.commit()
    votes: list[dict[str, Any]] = []
    for rater in XSS[:3]:
        pair = (("alpha " + XSS[2], "beta " + XSS[3]),)
        votes += factory.vote_rows(6, pair, judge=f"rater {rater}")
    for i, row in enumerate(votes):
        row["winner"] = ("model_a", "model_b", "model_a", "tie")[i % 4]
        row["prompt"] = row["rationale"] = XSS[row["question_id"] % len(XSS)]
        row["category"] = "c"
    judge_votes = [
        {**row, "judge": f"judge {XSS[4]}", "rater_kind": "llm", "winner": "model_b"}
        for row in votes[:6]
    ]
    import_votes(
        engine,
        factory.write_jsonl(tmp / "v.jsonl", votes + judge_votes),
        HOSTILE_VOTES,
        actor_id=factory.admin_id(engine),
    )
    engine.dispose()
    with app_server(url, tmp) as server, chromium() as browser:
        yield server, browser


VOTES_DRAWN = {"agreement": "Cohen's kappa between raters", "calibration": "Disagreements to"}
PAGES = [  # path, heading, a text that shows the page is drawn
    ("campaigns", "Campaigns", "Pair outputs into comparisons"),
    ("rate", "Rate", "Keys:"),
    ("history", "My history", "Revise an answer"),
    ("leaderboard", "Leaderboard", "Head-to-head win rates"),
    ("agreement", "Agreement", "Raters"),
    ("calibration", "Calibration", INCONSISTENT_AS_LABEL),
    ("rubrics", "Rubric scores", "Mean score per model"),
]


@pytest.mark.browser
@pytest.mark.parametrize(("path", "heading", "drawn"), PAGES, ids=[p[0] for p in PAGES])
def test_xss_payloads_are_inert_on_every_page(hostile_site, path, heading, drawn) -> None:
    server, browser = hostile_site
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(30_000)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(f"{server.url}/{path}")
        page.get_by_role("heading", name=heading, exact=True).wait_for()
        page.get_by_text(drawn).first.wait_for()
        if path in ("agreement", "calibration"):  # the campaign with votes, not the first one
            page.get_by_test_id("stSelectbox").first.click()
            page.get_by_role("option", name=HOSTILE_VOTES).click()
            page.get_by_text(VOTES_DRAWN[path]).first.wait_for()
        page.get_by_text(MARK).first.wait_for(state="attached")  # the payloads are there
        for link in page.get_by_role("link", name=MARK).all():
            link.click()  # were it a javascript: link, this would run it
        page.wait_for_timeout(500)  # let any onerror/onload handler fire if it could
        assert page.evaluate("window.__xss") is None
        assert page.evaluate(RUNNABLE) == []
        assert not dialogs, dialogs
        body = page.inner_text("body")
        assert "Traceback" not in body
    except Exception:
        print(server.output()[-6000:])
        raise
    finally:
        context.close()


# --- API keys: never in the database, exports or logs ---------------------------------------
# tests/test_judge_processes.py::test_the_api_key_never_reaches_the_database_exports_or_logs
# already checks the database file, a dump of every table, logs and the judge CLI's output
# for a key from the environment. This adds a key from secrets (the page's path), a failed
# run with a wrong key, results.export in every format and `judgeboard export`.


def test_an_api_key_never_reaches_the_database_exports_or_logs(
    tmp_path: Path, llm, caplog, capfd
) -> None:
    from judges.runs import RunOptions, create_run
    from judges.worker import run_blocking

    llm.reset()
    key = f"sk-sec-{uuid.uuid4().hex}"
    llm.configure(require_key=key)
    work = tmp_path / "work"
    work.mkdir()
    url = f"sqlite:///{work / 'keys.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(s, "keyed", n_prompts=2, models=("m1", "m22"))
        judge = factory.judge_config(s, "keyed-judge", base_url=llm.openai_base,
                                     api_key_env="JB_SECRET_KEY")  # fmt: skip
        s.commit()
        campaign_id, judge_id = data["campaign"].id, judge.id
    caplog.set_level(logging.DEBUG)
    options = RunOptions(concurrency=2)
    wrong = create_run(engine, judge_id, campaign_id, actor_id=factory.admin_id(engine)).id

    def run(run_id: int, secret: str) -> str:  # in a thread: Playwright's loop runs in this one
        with ThreadPoolExecutor(1) as pool:
            secrets = {"JB_SECRET_KEY": secret}
            return (
                pool.submit(run_blocking, engine, run_id, options, secrets=secrets).result().status
            )

    assert run(wrong, key[::-1]) == "failed"
    good = create_run(engine, judge_id, campaign_id, actor_id=factory.admin_id(engine)).id
    assert run(good, key) == "done"
    assert llm.stats()["auth_seen"].get("with_key")
    admin = factory.admin_id(engine)
    exports = tmp_path / "exports"
    exports.mkdir()
    for fmt in EXPORT_FORMATS:
        assert export_judgments(engine, campaign_id, fmt, exports / f"j.{fmt}", actor_id=admin)
    assert pq.read_table(exports / "j.parquet").num_rows > 0
    engine.dispose()
    cli = subprocess.run(
        [sys.executable, "-m", "cli.main", "export", "-c", "keyed", "--format", "jsonl",
         "-o", str(exports / "cli.jsonl")],
        cwd=ROOT,
        env={**os.environ, "JUDGEBOARD_DATABASE_URL": url, "JB_SECRET_KEY": key},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    assert [json.loads(line) for line in (exports / "cli.jsonl").read_text().splitlines()]

    needle = key.encode()
    files = [*work.iterdir(), *exports.iterdir()]  # database, -wal, -shm and every export
    for path in files:
        assert needle not in path.read_bytes(), path.name
        assert key[::-1].encode() not in path.read_bytes(), path.name
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.args} {r.exc_text}" for r in caplog.records)
    assert caplog.records and key not in logged and key[::-1] not in logged
    captured = capfd.readouterr()
    for text in (cli.stdout, cli.stderr, captured.out, captured.err):
        assert key not in text and key[::-1] not in text
