"""The upload page: a good file lands and is paired; a bad one names the line and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests import factory

PAGE = str(Path(__file__).resolve().parents[2] / "views" / "import_data.py")


def _page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    return at


def _upload(at: AppTest, name: str, rows: list[dict] | bytes, campaign: str) -> AppTest:
    at.selectbox[0].set_value("+ New campaign").run()
    at.text_input[0].set_value(campaign).run()
    body = rows if isinstance(rows, bytes) else "".join(json.dumps(r) + "\n" for r in rows)
    uploader = next(u for u in at.file_uploader if u.label == "File")
    uploader.upload(name, body if isinstance(body, bytes) else body.encode())
    at.run()
    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception, at.exception
    return at


def test_uploading_outputs_imports_and_pairs_them(app_db) -> None:
    at = _upload(_page(), "answers.jsonl", factory.output_rows(3, ("m1", "m2", "m3")), "upl")
    messages = [s.value for s in at.success]
    assert any("9" in m and "output" in m for m in messages), messages
    assert any("new comparisons" in m for m in messages), messages
    counts = factory.table_counts(app_db)
    assert counts["outputs"] == 9 and counts["comparisons"] == 9


def test_a_bad_upload_names_the_line_and_field_and_writes_nothing(app_db) -> None:
    rows = factory.output_rows(2)
    rows[2]["latency_ms"] = "fast"
    at = _page()  # the first run creates the local admin
    before = factory.table_counts(app_db)
    at = _upload(at, "bad.jsonl", rows, "broken")
    errors = " ".join(e.value for e in at.error)
    assert "bad.jsonl, line 3" in errors and r"latency\_ms" in errors, errors
    assert factory.table_counts(app_db) == before


def test_skip_invalid_imports_the_good_rows_and_offers_the_rejects(app_db) -> None:
    rows = factory.output_rows(2)
    rows[1]["output"] = None
    at = _page()
    at.checkbox[0].check().run()
    at = _upload(at, "some_bad.jsonl", rows, "lenient")
    messages = " ".join(s.value for s in at.success)
    assert "1 invalid row was skipped" in messages, messages
    assert factory.table_counts(app_db)["outputs"] == 3
    (download,) = at.get("download_button")
    assert "1 rejected rows" in download.proto.label


def test_an_upload_whose_answers_are_booleans_says_they_were_stored_as_text(app_db) -> None:
    rows = factory.output_rows(1)
    rows[0]["output"] = True
    at = _upload(_page(), "scalars.jsonl", rows, "scalars")
    messages = " ".join(s.value for s in at.success)
    assert "1 value was a number or boolean and was stored as text" in messages, messages


def test_campaign_and_file_names_are_shown_as_written(app_db) -> None:
    at = _upload(_page(), "a_b.jsonl", factory.output_rows(1), "**bold** [x](y)")
    messages = " ".join(s.value for s in at.success)
    assert r"\*\*bold\*\* \[x\](y)" in messages, messages


def test_arena_hard_judgments_upload_with_the_baseline_given_on_the_page(app_db) -> None:
    answers = [
        {"prompt_id": "q1", "prompt": "Q1?", "model": m, "output": f"{m} answer"}
        for m in ("base", "cand")
    ]
    at = _upload(_page(), "answers.jsonl", answers, "ah")
    judgment = {
        "question_id": "q1",
        "model": "cand",
        "judge": "gpt-4-1106-preview",
        "games": [{"score": "A>B"}, {"score": "B>>A"}],
    }
    at = _page()
    at.radio[0].set_value("votes").run()
    at.selectbox[0].set_value("ah").run()
    next(t for t in at.text_input if t.label.startswith("Baseline model")).set_value("base").run()
    uploader = next(u for u in at.file_uploader if u.label == "File")
    uploader.upload("cand.jsonl", (json.dumps(judgment) + "\n").encode())
    at.run()
    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception, at.exception
    messages = " ".join(s.value for s in at.success)
    assert "Imported 2 votes" in messages, (messages, [e.value for e in at.error])


def test_several_bad_lines_show_as_a_list_one_problem_per_line(app_db) -> None:
    rows = factory.output_rows(3)
    rows[1]["latency_ms"] = "fast"
    rows[3]["output"] = None
    del rows[4]["model"]
    at = _upload(_page(), "bad.jsonl", rows, "broken")
    (error,) = [e.value for e in at.error]
    head, listing = error.split("\n\n")
    assert head == ("bad.jsonl: 3 problems found; nothing was imported. Fix them and import again:")
    items = listing.split("\n")
    assert [i.split(",")[0] for i in items] == ["- line 2", "- line 4", "- line 5"]
    assert r"field 'latency\_ms': must be a number" in items[0]
    assert error.count("line 2") == 1


def test_a_single_bad_line_reads_as_two_lines(app_db) -> None:
    rows = factory.output_rows(1)
    rows[0]["output"] = None
    at = _upload(_page(), "one.jsonl", rows, "broken")
    (error,) = [e.value for e in at.error]
    first, second = error.split("  \n")
    assert first.startswith("one.jsonl, line 1: field 'output'")
    assert second == "Nothing was imported: fix this and import again."
