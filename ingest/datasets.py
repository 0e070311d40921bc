"""Reading a dataset file: prompts with their reference, category and split, no outputs.

The formats are the long-form outputs formats (JSONL, JSON list, CSV, Parquet) with the
output columns left out: ``prompt_id``, ``prompt`` (text or chat messages), and optional
``reference``, ``category``, ``split`` and ``metadata``. An outputs file works too: its
output columns are ignored (and named in the summary), and the rows that repeat a prompt
for another model are read once, provided they repeat it exactly.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from db.errors import ImportFileError
from ingest import readers as rd

FIELDS = ("prompt_id", "prompt", "reference", "category", "split", "metadata")
REQUIRED = ("prompt_id", "prompt")


@dataclass(frozen=True)
class DatasetRow:
    """One prompt of a dataset, as stored in a version (and compared between versions)."""

    external_id: str
    messages: list[dict[str, str]]
    reference: str | None = None
    category: str | None = None
    split: str | None = None
    meta: dict[str, Any] | None = None

    def content(self) -> dict[str, Any]:
        return {
            "prompt_id": self.external_id,
            "messages": self.messages,
            "reference": self.reference,
            "category": self.category,
            "split": self.split,
            "metadata": self.meta,
        }

    def item_hash(self) -> str:
        return _sha256(_canonical(self.content()))


@dataclass
class DatasetFile:
    source: str
    rows: list[DatasetRow] = field(default_factory=list)
    rows_read: int = 0
    repeated_rows: int = 0
    ignored_fields: list[str] = field(default_factory=list)

    def content_hash(self) -> str:
        """The version's name: a hash over its items in prompt_id order (file order and
        repeated rows do not change it)."""
        items = sorted(self.rows, key=lambda r: r.external_id)
        return _sha256("\n".join(_canonical(r.content()) for r in items))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_dataset(
    source: Path | BinaryIO, filename: str | None = None, fmt: str | None = None
) -> DatasetFile:
    """Every prompt of a dataset file, checked; one ImportFileError lists the problems
    (file, line and field) and nothing is returned when there is any."""
    with rd.open_source(source, filename) as src:
        container = rd.detect_container(src, fmt)
        log = rd.ErrorLog(src.name, "row" if container == "parquet" else "line")
        result = DatasetFile(src.name)
        textual = container == "csv"
        scalars = rd.Scalars()
        first_line: dict[str, tuple[int, DatasetRow]] = {}
        for line, rec in rd.read_records(src, container):
            if isinstance(rec, rd.CsvHeader):
                _check_header(rec.columns, line, log, result)
                continue
            result.rows_read += 1
            if type(rec) is rd.Bad:
                log.add(line, rec.field, rec.problem)
                continue
            if result.rows_read == 1:
                result.ignored_fields = sorted(set(rec) - set(FIELDS)) if type(rec) is dict else []
            try:
                row = _parse(rec, textual, scalars)
            except rd.FieldError as exc:
                log.add(line, exc.field, exc.problem)
                continue
            seen = first_line.get(row.external_id)
            if seen is None:
                first_line[row.external_id] = (line, row)
                result.rows.append(row)
            elif seen[1] == row:
                result.repeated_rows += 1
            else:
                changed = [
                    name
                    for name, a, b in zip(
                        FIELDS[1:], _fields(seen[1]), _fields(row), strict=True
                    )
                    if a != b
                ]
                log.add(
                    line,
                    changed[0],
                    f"prompt_id '{row.external_id}' has a different {', '.join(changed)} than"
                    f" on line {seen[0]}: give each distinct prompt its own prompt_id",
                )
        log.raise_if_any()
        if not result.rows:
            raise ImportFileError(src.name, None, None, "is empty: it has no prompts to add")
        return result


def _fields(row: DatasetRow) -> tuple[Any, ...]:
    return (row.messages, row.reference, row.category, row.split, row.meta)


def _check_header(columns: list[str], line: int, log: rd.ErrorLog, result: DatasetFile) -> None:
    for column in REQUIRED:
        if column not in columns:
            log.add(
                line, column, f"the CSV header has no '{column}' column (it has: "
                f"{', '.join(columns)})",
            )
    result.ignored_fields = sorted(set(columns) - set(FIELDS))
    log.raise_if_any()


def _blank_is_none(value: Any, textual: bool) -> Any:
    return None if textual and value == "" else value


def _parse(rec: Any, textual: bool, scalars: rd.Scalars) -> DatasetRow:
    if type(rec) is not dict:
        raise rd.FieldError(
            None, f"expected an object with the prompt's fields, got {rd.kind_of(rec)}"
        )
    ext = rd.ident(rec.get("prompt_id"), "prompt_id")
    _, prompt = rd.prompt(rec.get("prompt"), "prompt", textual, scalars)
    reference = rd.opt_text(_blank_is_none(rec.get("reference"), textual), "reference")
    category = rd.opt_text(_blank_is_none(rec.get("category"), textual), "category", 100)
    split = rd.opt_text(_blank_is_none(rec.get("split"), textual), "split", 32)
    meta = rd.opt_object(_blank_is_none(rec.get("metadata"), textual), "metadata", textual)
    if meta is not None and len(_canonical(meta)) > rd.MAX_METADATA:
        raise rd.FieldError("metadata", f"is over {rd.MAX_METADATA:,} characters as JSON")
    return DatasetRow(ext, rd.as_messages(prompt), reference, category, split, meta)
