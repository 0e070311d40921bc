"""`ingest traces`: interactions from JSONL files, all or nothing (issue 16, point 1). Both
databases."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from db.errors import ImportFileError, PermissionDeniedError
from db.models import Interaction
from monitor.files import import_traces
from tests import factory
from tests.monitor import spans


def _record(n: int = 1, **extra) -> dict:
    row = {
        "started_at": "2026-11-30T12:00:00Z",
        "trace_id": f"{n:032x}",
        "span_id": f"{n:016x}",
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Hi"}],
        "output": "Hello!",
        "latency_ms": 420.5,
        "input_tokens": 3,
        "output_tokens": 2,
        "version_tags": {"service.version": "2.0"},
    }
    row.update(extra)
    return row


def _write(tmp_path, lines: list) -> object:
    path = tmp_path / "traces.jsonl"
    path.write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n",
        encoding="utf-8",
    )
    return path


def _rows(engine) -> list[Interaction]:
    with Session(engine) as s:
        return list(s.exec(select(Interaction).order_by(Interaction.span_id)))


def test_records_and_otlp_json_lines_are_both_read(engine, tmp_path) -> None:
    otlp_line = spans.json_body([spans.semconv_span(5), spans.plain_span(6)]).decode()
    path = _write(tmp_path, [_record(1), otlp_line])
    result = import_traces(engine, path, "batch", actor_id=factory.admin_id(engine))
    assert (result.lines, result.new, result.not_genai) == (2, 2, 1)
    first, second = _rows(engine)
    assert first.latency_ms == 420.5 and first.version_tags == {"service.version": "2.0"}
    assert first.started_at.year == 2026
    assert second.model == "gpt-4o-mini" and second.input_tokens == 12


def test_importing_the_same_file_twice_stores_it_once(engine, tmp_path) -> None:
    path = _write(tmp_path, [_record(1), _record(2)])
    admin = factory.admin_id(engine)
    import_traces(engine, path, "batch", actor_id=admin)
    again = import_traces(engine, path, "batch", actor_id=admin)
    assert (again.interactions, again.new) == (2, 0)
    assert len(_rows(engine)) == 2


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (_record(2, trace_id="xyz"), "trace_id"),
        (_record(2, input_tokens="many"), "input_tokens"),
        (_record(2, colour="blue"), "colour"),
        ({k: v for k, v in _record(2).items() if k != "started_at"}, "started_at"),
        (_record(2, messages="hello"), "messages"),
        (_record(2, started_at="yesterday"), "started_at"),
    ],
)
def test_a_bad_line_names_file_line_and_field_and_stores_nothing(
    engine, tmp_path, bad, field
) -> None:
    path = _write(tmp_path, [_record(1), bad])
    with pytest.raises(ImportFileError) as caught:
        import_traces(engine, path, "batch", actor_id=factory.admin_id(engine))
    assert (caught.value.line, caught.value.field) == (2, field)
    assert "traces.jsonl" in str(caught.value)
    assert factory.table_counts(engine)["interactions"] == 0
    assert factory.table_counts(engine)["streams"] == 0


def test_a_line_that_is_not_json_is_refused(engine, tmp_path) -> None:
    path = _write(tmp_path, [_record(1), "{oops"])
    with pytest.raises(ImportFileError, match="line 2"):
        import_traces(engine, path, "batch", actor_id=factory.admin_id(engine))


def test_a_rater_cannot_import_traces(engine, tmp_path) -> None:
    with factory.session(engine) as s:
        rater = factory.user(s).id
        s.commit()
    with pytest.raises(PermissionDeniedError):
        import_traces(engine, _write(tmp_path, [_record(1)]), "batch", actor_id=rater)
    assert factory.table_counts(engine)["interactions"] == 0


def test_an_otlp_line_of_the_wrong_shape_names_the_line(engine, tmp_path) -> None:
    path = _write(tmp_path, [{"resourceSpans": "nope"}])
    with pytest.raises(ImportFileError) as caught:
        import_traces(engine, path, "batch", actor_id=factory.admin_id(engine))
    assert (caught.value.line, caught.value.field) == (1, "resourceSpans")
