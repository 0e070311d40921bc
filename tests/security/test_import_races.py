"""Imports racing into one new campaign (issue 13, point 20): both land in one campaign."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from db.models import Campaign, Candidate, Output, Prompt
from ingest.outputs import import_outputs
from tests import factory


def _at_once(n: int, call: Callable[[int], Any]) -> tuple[list[Any], list[BaseException]]:
    """Run ``call(i)`` for i in range(n) in n threads released together."""
    start = threading.Barrier(n)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run(i: int) -> None:
        start.wait()
        try:
            results.append(call(i))
        except BaseException as exc:  # noqa: BLE001 - counted by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


def test_two_imports_into_one_new_campaign_at_once_both_succeed(engine, tmp_path: Path) -> None:
    admin = factory.admin_id(engine)
    files = [
        factory.write_jsonl(tmp_path / f"o{i}.jsonl", factory.output_rows(3, (f"a{i}", f"b{i}")))
        for i in range(2)
    ]
    for round_ in range(3):
        name = f"fresh {round_}"
        results, errors = _at_once(
            2, lambda i, name=name: import_outputs(engine, files[i], name, actor_id=admin)
        )

        assert errors == []
        assert sorted(r.outputs_added for r in results) == [6, 6]
        with factory.session(engine) as s:
            ids = s.execute(select(Campaign.id).where(Campaign.name == name)).scalars().all()
            assert len(ids) == 1
            models = s.execute(
                select(Candidate.name, func.count())
                .join(Output, Output.candidate_id == Candidate.id)
                .join(Prompt, Prompt.id == Output.prompt_id)
                .where(Prompt.campaign_id == ids[0])
                .group_by(Candidate.name)
            ).all()
        assert dict(models) == {"a0": 3, "b0": 3, "a1": 3, "b1": 3}
