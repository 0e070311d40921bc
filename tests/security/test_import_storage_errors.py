"""An import the database cannot store (disk full, I/O error) ends in one message naming
the file and the cause, and leaves the database as it was (issue 13, point 13)."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from annotate import campaigns
from db.errors import ImportFileError
from ingest import bulk, outputs
from ingest.outputs import import_outputs
from ingest.votes import import_votes
from tests import factory

FULL = "database or disk is full"


def _raw(message: str) -> BaseException:
    return sqlite3.OperationalError(message)


def _wrapped(message: str) -> BaseException:
    return OperationalError("INSERT INTO outputs ...", (), sqlite3.OperationalError(message))


def _fail_on_second_batch(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> list[int]:
    """The bulk outputs insert writes its first batch, then fails with ``error``."""
    calls: list[int] = []
    original = bulk.RawInsert.__call__

    def failing(self, rows):
        calls.append(len(rows))
        if len(calls) >= 2:
            raise error
        return original(self, rows)

    monkeypatch.setattr(bulk.RawInsert, "__call__", failing)
    monkeypatch.setattr(outputs, "BATCH_ROWS", 4)
    return calls


@pytest.mark.parametrize(
    "error, cause",
    [
        (_raw(FULL), FULL),
        (_wrapped(FULL), FULL),
        (_raw("disk I/O error"), "disk I/O error"),
        (OSError(errno.ENOSPC, "No space left on device"), "No space left on device"),
    ],
)
def test_an_import_that_fills_the_disk_says_so_and_changes_nothing(
    engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error, cause
) -> None:
    admin = factory.admin_id(engine)
    before = factory.table_counts(engine)
    path = factory.write_jsonl(tmp_path / "big.jsonl", factory.output_rows(6, ("m1", "m2")))
    calls = _fail_on_second_batch(monkeypatch, error)

    with pytest.raises(ImportFileError) as raised:
        import_outputs(engine, path, "full", actor_id=admin)

    assert len(calls) >= 2  # the first batch was written before the failure
    message = str(raised.value)
    assert message.startswith(f"{path}: could not be stored")
    assert cause in message
    assert "Nothing from this file was imported" in message
    assert factory.table_counts(engine) == before


def test_a_votes_import_that_fills_the_disk_says_so_and_changes_nothing(
    engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = factory.admin_id(engine)
    before = factory.table_counts(engine)
    path = factory.write_jsonl(tmp_path / "votes.jsonl", factory.vote_rows(4))
    monkeypatch.setattr(
        bulk.RawInsert, "__call__", lambda self, rows: (_ for _ in ()).throw(_raw(FULL))
    )

    with pytest.raises(ImportFileError, match=f"votes.jsonl: could not be stored.*{FULL}"):
        import_votes(engine, path, "full votes", actor_id=admin)

    assert factory.table_counts(engine) == before


@pytest.mark.parametrize("kind", ["outputs", "votes"])
def test_a_disk_that_fills_while_the_new_campaign_is_created_says_so_and_changes_nothing(
    engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    admin = factory.admin_id(engine)
    before = factory.table_counts(engine)
    rows = factory.output_rows(2, ("m1", "m2")) if kind == "outputs" else factory.vote_rows(2)
    path = factory.write_jsonl(tmp_path / f"{kind}.jsonl", rows)

    def disk_full(session, name):
        raise _wrapped(FULL)

    monkeypatch.setattr(campaigns, "_create_campaign", disk_full)
    do_import = import_outputs if kind == "outputs" else import_votes

    with pytest.raises(ImportFileError, match=f"{kind}.jsonl: could not be stored.*{FULL}"):
        do_import(engine, path, "brand new", actor_id=admin)

    assert factory.table_counts(engine) == before


def test_other_import_errors_are_not_reported_as_storage_errors() -> None:
    assert bulk.storage_error("f.jsonl", ValueError("bad")) is None
    assert bulk.storage_error("f.jsonl", OSError(errno.ENOENT, "gone")) is None
