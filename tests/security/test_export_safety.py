"""Issue 13, points 11 and 22: exports are safe to open and never left half written.

11. CSV cells that a spreadsheet would run as a formula (text starting with ``=``, ``+``,
    ``-``, ``@``, tab or CR) are prefixed with ``'`` (OWASP), unless raw values are asked
    for; numbers, Parquet and JSONL keep their values.
"""

from __future__ import annotations

import csv
import errno
import json
from pathlib import Path

import pandas as pd
import pytest

import results.export as export_module
from cli.main import app
from db.errors import JudgeboardError
from results.export import EXPORT_FORMATS, export_judgments
from tests import factory
from tests.cli.test_cli import cli_db, runner

__all__ = ["cli_db"]

ROOT = Path(__file__).resolve().parents[2]

FORMULA_MODEL = '=HYPERLINK("http://evil.example","x")'
HOSTILE_TEXTS = {
    "plus": "+1+cmd|' /C calc'!A0",
    "minus": "-2+3",
    "at": "@SUM(1+1)*cmd|' /C calc'!A0",
    "tab": "\t=1+1",
    "cr": "\r=1+1",
}
SAFE_RATIONALE = "fine = good"


def _hostile_campaign(engine) -> int:
    """Text starting with every formula trigger, and a negative (numeric) preference."""
    with factory.session(engine) as s:
        data = factory.campaign_with_outputs(
            s, "=campaign", n_prompts=1, models=(FORMULA_MODEL, "plain")
        )
        comp = data["comparisons"][0]
        raters = [factory.user(s, f"{key}@x.org") for key in HOSTILE_TEXTS]
        for rater, text in zip(raters, HOSTILE_TEXTS.values(), strict=True):
            factory.human_judgment(s, comp, rater, -1, rationale=text)
        factory.human_judgment(s, comp, factory.user(s, "ok@x.org"), -2, rationale=SAFE_RATIONALE)
        s.commit()
        return data["campaign"].id


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _export(engine, tmp_path: Path, fmt: str, **kwargs) -> Path:
    campaign_id = _hostile_campaign(engine)
    dest = tmp_path / f"out.{fmt}"
    export_judgments(engine, campaign_id, fmt, dest, actor_id=factory.admin_id(engine), **kwargs)
    return dest


def test_csv_cells_that_would_run_as_formulas_get_a_quote_prefix(engine, tmp_path) -> None:
    rows = _csv_rows(_export(engine, tmp_path, "csv"))
    rationales = [row["rationale"] for row in rows]
    assert rationales == [*(f"'{text}" for text in HOSTILE_TEXTS.values()), SAFE_RATIONALE]
    models = {row["model_a"] for row in rows} | {row["model_b"] for row in rows}
    assert f"'{FORMULA_MODEL}" in models and "plain" in models
    assert {row["campaign"] for row in rows} == {"'=campaign"}


def test_csv_numbers_are_not_strings_and_keep_their_sign(engine, tmp_path) -> None:
    rows = _csv_rows(_export(engine, tmp_path, "csv"))
    assert [row["preference"] for row in rows] == ["-1"] * len(HOSTILE_TEXTS) + ["-2"]


def test_raw_csv_keeps_the_values_as_stored(engine, tmp_path) -> None:
    rows = _csv_rows(_export(engine, tmp_path, "csv", raw=True))
    assert [row["rationale"] for row in rows] == [*HOSTILE_TEXTS.values(), SAFE_RATIONALE]
    assert {row["campaign"] for row in rows} == {"=campaign"}


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_parquet_and_jsonl_keep_raw_values(engine, tmp_path, fmt) -> None:
    dest = _export(engine, tmp_path, fmt)
    if fmt == "parquet":
        frame = pd.read_parquet(dest)
    else:
        frame = pd.DataFrame([json.loads(line) for line in dest.read_text().splitlines()])
    assert list(frame.rationale) == [*HOSTILE_TEXTS.values(), SAFE_RATIONALE]
    assert set(frame.campaign) == {"=campaign"}


def test_cli_export_neutralises_by_default_and_raw_csv_keeps_values(cli_db, tmp_path) -> None:
    _hostile_campaign(cli_db)
    safe, raw = tmp_path / "safe.csv", tmp_path / "raw.csv"
    args = ["export", "-c", "=campaign", "--format", "csv"]
    assert runner.invoke(app, [*args, "-o", str(safe)]).exit_code == 0
    result = runner.invoke(app, [*args, "--raw-csv", "-o", str(raw)])
    assert result.exit_code == 0, result.output
    assert _csv_rows(safe)[0]["rationale"] == "'" + HOSTILE_TEXTS["plus"]
    assert _csv_rows(raw)[0]["rationale"] == HOSTILE_TEXTS["plus"]


def test_raw_csv_with_another_format_is_refused_naming_why(cli_db, tmp_path) -> None:
    _hostile_campaign(cli_db)
    result = runner.invoke(
        app, ["export", "-c", "=campaign", "--format", "jsonl", "--raw-csv", "-o", "x.jsonl"]
    )
    assert result.exit_code == 1
    assert "--raw-csv" in result.stderr and "CSV" in result.stderr


def test_formula_neutralising_is_documented_in_help_and_docs() -> None:
    result = runner.invoke(app, ["export", "--help"], env={"COLUMNS": "200"})
    assert "--raw-csv" in result.output
    assert "formula" in result.output.lower()
    doc = (ROOT / "docs" / "EXPORT.md").read_text(encoding="utf-8")
    assert "--raw-csv" in doc and "formula" in doc.lower() and "OWASP" in doc


# --- 22: partial exports -------------------------------------------------------------------

OLD_CONTENT = b"the previous export, which must survive\n"


def _folder(tmp_path: Path) -> Path:
    """An empty folder of its own (tmp_path also holds the SQLite test database)."""
    folder = tmp_path / "exports"
    folder.mkdir()
    return folder


@pytest.fixture
def disk_fills_after_first_chunk(monkeypatch) -> None:
    """The export's chunk stream hands over one chunk, then fails as a full disk does."""
    real = export_module._judgment_chunks

    def failing(engine, campaign_id, chunk_rows):
        schema, chunks = real(engine, campaign_id, chunk_rows)

        def first_then_full():
            yield next(chunks)
            raise OSError(errno.ENOSPC, "No space left on device")

        return schema, first_then_full()

    monkeypatch.setattr(export_module, "_judgment_chunks", failing)


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_failed_export_leaves_the_existing_file_intact_and_no_temporary_file(
    engine, tmp_path, fmt, disk_fills_after_first_chunk
) -> None:
    campaign_id = _hostile_campaign(engine)
    folder = _folder(tmp_path)
    dest = folder / f"judgments.{fmt}"
    dest.write_bytes(OLD_CONTENT)
    with pytest.raises(JudgeboardError) as caught:
        export_judgments(
            engine, campaign_id, fmt, dest, actor_id=factory.admin_id(engine), chunk_rows=2
        )
    message = str(caught.value)
    assert str(dest) in message and "No space left on device" in message
    assert dest.read_bytes() == OLD_CONTENT
    assert sorted(p.name for p in folder.iterdir()) == [dest.name]


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_failed_export_to_a_new_file_leaves_nothing_behind(
    engine, tmp_path, fmt, disk_fills_after_first_chunk
) -> None:
    campaign_id = _hostile_campaign(engine)
    folder = _folder(tmp_path)
    dest = folder / f"new.{fmt}"
    with pytest.raises(JudgeboardError, match="No space left on device"):
        export_judgments(
            engine, campaign_id, fmt, dest, actor_id=factory.admin_id(engine), chunk_rows=2
        )
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_successful_export_replaces_the_old_file_and_leaves_no_temporary_file(
    engine, tmp_path, fmt
) -> None:
    folder = _folder(tmp_path)
    dest = folder / f"judgments.{fmt}"
    dest.write_bytes(OLD_CONTENT)
    n = export_judgments(
        engine, _hostile_campaign(engine), fmt, dest, actor_id=factory.admin_id(engine),
        chunk_rows=2,
    )  # fmt: skip
    assert n == len(HOSTILE_TEXTS) + 1
    assert dest.read_bytes() != OLD_CONTENT
    assert [p.name for p in folder.iterdir()] == [dest.name]


def test_export_into_a_missing_folder_is_one_message_naming_it(engine, tmp_path) -> None:
    dest = tmp_path / "no-such-folder" / "x.csv"
    with pytest.raises(JudgeboardError) as caught:
        export_judgments(
            engine, _hostile_campaign(engine), "csv", dest, actor_id=factory.admin_id(engine)
        )
    assert str(dest) in str(caught.value)


def test_cli_export_on_a_full_disk_exits_1_with_the_reason(
    cli_db, tmp_path, disk_fills_after_first_chunk, wide_console
) -> None:
    _hostile_campaign(cli_db)
    dest = tmp_path / "full.csv"
    dest.write_bytes(OLD_CONTENT)
    result = runner.invoke(app, ["export", "-c", "=campaign", "--format", "csv", "-o", str(dest)])
    assert result.exit_code == 1
    assert "No space left on device" in result.stderr and str(dest) in result.stderr
    assert "Traceback" not in result.output
    assert dest.read_bytes() == OLD_CONTENT


# --- the leaderboard's CSV and --output files (the same rules as export) --------------------


def _leaderboard(args: list[str]):
    return runner.invoke(
        app, ["leaderboard", "-c", "=campaign", "--rounds", "20", *args], env={"COLUMNS": "200"}
    )


def test_cli_leaderboard_csv_neutralises_model_names_unless_raw_csv(cli_db, tmp_path) -> None:
    _hostile_campaign(cli_db)
    safe, raw = tmp_path / "safe.csv", tmp_path / "raw.csv"
    assert _leaderboard(["--format", "csv", "-o", str(safe)]).exit_code == 0
    result = _leaderboard(["--format", "csv", "--raw-csv", "-o", str(raw)])
    assert result.exit_code == 0, result.output
    assert "'" + FORMULA_MODEL in {row["model"] for row in _csv_rows(safe)}
    assert FORMULA_MODEL in {row["model"] for row in _csv_rows(raw)}
    printed = _leaderboard(["--format", "csv"])
    assert printed.exit_code == 0 and "'" + FORMULA_MODEL.replace('"', '""') in printed.stdout


def test_cli_leaderboard_raw_csv_with_another_format_is_refused(cli_db) -> None:
    _hostile_campaign(cli_db)
    result = _leaderboard(["--format", "json", "--raw-csv"])
    assert result.exit_code == 1 and "--raw-csv" in result.stderr


@pytest.mark.parametrize("fmt", ["csv", "md", "json", "parquet"])
def test_cli_leaderboard_output_on_a_full_disk_keeps_the_old_file(
    cli_db, tmp_path, monkeypatch, fmt, wide_console
) -> None:
    _hostile_campaign(cli_db)
    folder = _folder(tmp_path)
    dest = folder / f"board.{fmt}"
    dest.write_bytes(OLD_CONTENT)

    def half_then_full(self, *args, **kwargs):
        with open(self, "wb") as f:
            f.write(b"half a table")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", half_then_full)
    monkeypatch.setattr(pd.DataFrame, "to_parquet", lambda frame, path, **kw: half_then_full(path))
    result = _leaderboard(["--format", fmt, "-o", str(dest)])
    assert result.exit_code == 1
    assert "No space left on device" in result.stderr and str(dest) in result.stderr
    assert dest.read_bytes() == OLD_CONTENT
    assert [p.name for p in folder.iterdir()] == [dest.name]
