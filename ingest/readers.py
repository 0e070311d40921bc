"""Streaming readers for imported files, error collection, and field checks.

A reader yields ``(line, record)`` pairs where ``line`` is where the record starts (a line
number for JSON, JSONL and CSV, a 1-based row number for Parquet) and ``record`` is a dict,
or a :class:`Bad` when the record could not be decoded but reading can go on. Readers never
hold more than one buffer of the file in memory.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from db.errors import ImportFileError

MAX_ERRORS = 20
EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".parquet": "parquet",
}
CONTAINERS = ("jsonl", "json", "csv", "parquet")
SHAPES = ("long", "alpaca-eval", "mt-bench")
ROLES = ("system", "user", "assistant")

_HEAD_BYTES = 64 * 1024
_CHUNK_CHARS = 1 << 20

# Python's csv module refuses fields over 128 KiB by default; a single model output can be
# much longer than that, and the limit is only a guard against runaway quoting.
csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))


@dataclass(frozen=True, slots=True)
class Bad:
    """A record that could not be decoded; reading continues with the next one."""

    field: str | None
    problem: str


class FieldError(Exception):
    """A record's field is missing or invalid (raised by the field checks below)."""

    def __init__(self, field: str | None, problem: str) -> None:
        super().__init__(problem)
        self.field, self.problem = field, problem


def file_error(
    name: str, unit: str, line: int | None, field: str | None, problem: str
) -> ImportFileError:
    """An ImportFileError that says "row" instead of "line" where the file has no lines."""
    err = ImportFileError(name, line, field, problem)
    if unit != "line" and line is not None:
        what = f"field '{field}': " if field else ""
        err.args = (f"{name}, {unit} {line}: {what}{problem}",)
    return err


class ErrorLog:
    """Collects up to MAX_ERRORS problems, then raises one ImportFileError listing them all.

    The first problem gives the error its path, line and field; the message lists the rest.
    """

    def __init__(self, name: str, unit: str = "line") -> None:
        self.name, self.unit = name, unit
        self.problems: list[tuple[int | None, str | None, str]] = []

    def __bool__(self) -> bool:
        return bool(self.problems)

    def add(self, line: int | None, field: str | None, problem: str) -> None:
        self.problems.append((line, field, problem))
        if len(self.problems) >= MAX_ERRORS:
            raise self.error(complete=False)

    def raise_if_any(self) -> None:
        if self.problems:
            raise self.error(complete=True)

    def error(self, *, complete: bool) -> ImportFileError:
        line, field, problem = self.problems[0]
        err = file_error(self.name, self.unit, line, field, problem)
        n = len(self.problems)
        if n == 1:
            err.args = (f"{err.args[0]}\nNothing was imported: fix this and import again.",)
            return err
        count = f"{n} problems" if complete else f"The first {n} problems"
        listing = []
        for ln, fd, pr in self.problems:
            where = f"{self.unit} {ln}" if ln is not None else "file"
            what = f", field '{fd}'" if fd else ""
            listing.append(f"  {where}{what}: {pr}")
        err.args = (
            f"{err.args[0]}\n{count} found; nothing was imported. Fix them and import again:\n"
            + "\n".join(listing),
        )
        err.problems = list(self.problems)  # type: ignore[attr-defined]
        return err


class _Prefixed(io.RawIOBase):
    """A raw stream that replays bytes already read from a non-seekable stream."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head, self._rest = memoryview(head), rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@dataclass
class Source:
    """An opened input: a binary stream positioned at its start, its name and first bytes."""

    stream: BinaryIO
    name: str
    head: bytes
    path: Path | None


def _source_name(source: Path | BinaryIO, filename: str | None) -> str:
    if filename:
        return filename
    if isinstance(source, str | Path):
        return str(source)
    name = getattr(source, "name", None)
    return name if isinstance(name, str) and name else "uploaded file"


@contextmanager
def open_source(source: Path | BinaryIO, filename: str | None = None) -> Iterator[Source]:
    """Open a path or take a binary stream, peek at its first bytes, and rewind."""
    name = _source_name(source, filename)
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise ImportFileError(name, None, None, "no such file: check the path")
        with path.open("rb") as stream:
            head = stream.read(_HEAD_BYTES)
            stream.seek(0)
            yield Source(stream, name, head, path)
        return
    if source.seekable():
        start = source.tell()
        head = source.read(_HEAD_BYTES)
        source.seek(start)
        yield Source(source, name, head, None)
    else:
        head = source.read(_HEAD_BYTES)
        yield Source(io.BufferedReader(_Prefixed(head, source)), name, head, None)  # type: ignore[arg-type]


def detect_container(src: Source, fmt: str | None) -> str:
    """The container format: from ``fmt``, else the file name's extension, else an error."""
    if fmt is None:
        suffix = Path(src.name).suffix.lower()
        fmt = EXTENSIONS.get(suffix)
        if fmt is None:
            supported = ", ".join(EXTENSIONS)
            what = f"'{suffix}'" if suffix else "no extension"
            raise ImportFileError(
                src.name,
                None,
                None,
                f"unknown file type ({what}): supported are {supported}; rename the file or"
                " say which format it is",
            )
    if fmt not in CONTAINERS:
        raise ImportFileError(
            src.name, None, None, f"unknown format '{fmt}': use one of {', '.join(CONTAINERS)}"
        )
    if fmt == "parquet":
        if not src.head:
            raise ImportFileError(src.name, None, None, "is empty: it has no rows to import")
        return fmt
    first = src.head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if not first:
        raise ImportFileError(src.name, None, None, "is empty: it has no records to import")
    if fmt in ("json", "jsonl"):
        return "json" if first == b"[" else "jsonl"
    return fmt


def read_records(src: Source, container: str) -> Iterator[tuple[int, Any]]:
    if container == "jsonl":
        return read_jsonl(src.stream)
    if container == "json":
        return read_json_list(src.stream, src.name)
    if container == "csv":
        return read_csv(src.stream)
    return read_parquet(src)


def _utf8_problem(exc: UnicodeDecodeError) -> str:
    return f"invalid UTF-8 (byte {exc.start + 1} of the line): save the file with UTF-8 encoding"


def read_jsonl(stream: BinaryIO) -> Iterator[tuple[int, Any]]:
    # The C scanner behind json.loads, called directly: it skips two regex matches and two
    # Python frames per line. Anything it does not take whole goes through json.loads, which
    # either accepts it (surrounding whitespace) or words the error.
    scan = json.JSONDecoder().scan_once
    for n, raw in enumerate(stream, 1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield n, Bad(None, _utf8_problem(exc))
            continue
        if n == 1 and text.startswith("\ufeff"):
            text = text[1:]
        try:
            value, end = scan(text, 0)
            rest = text[end:]
            if not rest or rest.isspace():
                if "\\ud" in text or "\\uD" in text:
                    value = _surrogate_check(value)
                yield n, value
                continue
        except (StopIteration, json.JSONDecodeError):
            pass
        if not text or text.isspace():
            continue
        try:
            value = json.loads(text)
            yield n, _surrogate_check(value) if "\\u" in text else value
        except json.JSONDecodeError as exc:
            yield n, Bad(None, f"malformed JSON ({exc.msg}, column {exc.colno})")


def _surrogate_check(value: Any) -> Any:
    """``value``, or a Bad if a ``\\udXXX`` escape in its text left an unpaired surrogate.

    Such a string cannot be encoded for the database. Readers call this only for records
    whose text has a ``\\u`` escape, so ordinary records do not pay for it.
    """
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return Bad(None, "has an unpaired surrogate escape (\\ud800-\\udfff): fix the text")
    return value


def _is_ws(ch: str) -> bool:
    return ch in " \t\r\n"


def read_json_list(stream: BinaryIO, name: str) -> Iterator[tuple[int, Any]]:
    """Yield the elements of a top-level JSON list without loading the whole file.

    A syntax error cannot be skipped over in a list: it is the last record yielded.
    """
    try:
        yield from _json_list_elements(stream, name)
    except ImportFileError as exc:
        yield exc.line or 1, Bad(exc.field, exc.problem)


def _json_list_elements(stream: BinaryIO, name: str) -> Iterator[tuple[int, Any]]:
    """Decode UTF-8 incrementally into a text buffer and ``raw_decode`` element by element,
    reading more whenever an element runs past the end of the buffer."""
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    buf, pos, eof = "", 0, False
    line, counted = 1, 0  # the line number at buf[counted]
    bytes_line = 1

    def more(want: int) -> bool:
        nonlocal buf, pos, eof, bytes_line, counted
        if eof:
            return False
        data = stream.read(want)
        try:
            text = utf8.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            bad_line = bytes_line + data.count(b"\n", 0, max(exc.start, 0))
            raise ImportFileError(name, bad_line, None, _utf8_problem(exc)) from None
        bytes_line += data.count(b"\n")
        if not data:
            eof = True
        here()
        buf = buf[pos:] + text
        pos = counted = 0
        return True

    def skip_ws() -> str:
        nonlocal pos
        while True:
            while pos < len(buf) and _is_ws(buf[pos]):
                pos += 1
            if pos < len(buf):
                return buf[pos]
            if not more(_CHUNK_CHARS):
                return ""

    def here() -> int:
        nonlocal line, counted
        line += buf.count("\n", counted, pos)
        counted = pos
        return line

    more(_CHUNK_CHARS)
    if buf.startswith("\ufeff"):
        pos = 1
    if skip_ws() != "[":
        raise ImportFileError(name, here(), None, "expected a JSON list of objects ('[' first)")
    pos += 1
    first = True
    while True:
        ch = skip_ws()
        if ch == "]":
            pos += 1
            if skip_ws():
                raise ImportFileError(name, here(), None, "unexpected text after the JSON list")
            return
        if not first:
            if ch != ",":
                raise ImportFileError(
                    name, here(), None, "malformed JSON (expected ',' or ']' between elements)"
                )
            pos += 1
            ch = skip_ws()
        if not ch:
            raise ImportFileError(name, here(), None, "malformed JSON (the list is not closed)")
        first = False
        while True:
            try:
                value, end = decoder.raw_decode(buf, pos)
            except json.JSONDecodeError as exc:
                # The element may run past the buffer: read more (growing with the buffer so
                # a 10 MB element is not re-parsed a hundred times) and try again.
                if more(max(_CHUNK_CHARS, len(buf))):
                    continue
                at = here() + buf.count("\n", pos, exc.pos)
                raise ImportFileError(name, at, None, f"malformed JSON ({exc.msg})") from None
            if end == len(buf) and more(_CHUNK_CHARS):
                continue  # a number or literal cut at the buffer's end: decode it whole
            break
        start_line = here()
        if buf.find("\\u", pos, end) >= 0:
            value = _surrogate_check(value)
        pos = end
        yield start_line, value


def read_csv(stream: BinaryIO) -> Iterator[tuple[int, Any]]:
    """Rows as dicts keyed by the header; each tagged with the line the record starts on."""
    bad_lines: dict[int, str] = {}
    counter = [0]

    def lines() -> Iterator[str]:
        for n, raw in enumerate(stream, 1):
            counter[0] = n
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad_lines[n] = _utf8_problem(exc)
                text = raw.decode("utf-8", errors="replace")
            if n == 1 and text.startswith("\ufeff"):
                text = text[1:]
            yield text

    reader = csv.reader(lines())
    header: list[str] | None = None
    consumed = 0
    while True:
        start = consumed + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, Bad(None, f"malformed CSV ({exc})")
            return
        consumed = counter[0]
        bad = [bad_lines.pop(n) for n in range(start, consumed + 1) if n in bad_lines]
        if bad:
            yield start, Bad(None, bad[0])
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if header is None:
            header = [h.strip() for h in row]
            yield start, CsvHeader(header)
            continue
        if len(row) != len(header):
            yield (
                start,
                Bad(
                    None,
                    f"has {len(row)} fields but the header has {len(header)}: check the quoting",
                ),
            )
            continue
        yield start, {k: v for k, v in zip(header, row, strict=True) if v != ""}


@dataclass(frozen=True)
class CsvHeader:
    """The first record of a CSV file: its column names (readers yield it once)."""

    columns: list[str]


def read_parquet(src: Source) -> Iterator[tuple[int, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(src.path if src.path is not None else src.stream)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ImportFileError(
            src.name, None, None, f"is not a readable Parquet file ({exc})"
        ) from None
    row = 0
    for batch in pf.iter_batches(batch_size=5000):
        for rec in batch.to_pylist():
            row += 1
            yield row, {k: v for k, v in rec.items() if v is not None}


def shape_of(record: Any) -> str:
    """Which kind of outputs file a first record belongs to."""
    keys = record.columns if isinstance(record, CsvHeader) else record
    if not isinstance(keys, dict | list):
        return "long"
    if "choices" in keys and "model_id" in keys:
        return "mt-bench"
    if "instruction" in keys and "generator" in keys:
        return "alpaca-eval"
    return "long"


# ---- field checks: each returns the clean value or raises FieldError ----------------------


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"'{shown}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def ident(value: Any, field: str) -> str:
    """An external id: a non-empty string or an integer, stored as a string."""
    t = type(value)
    if t is str:
        value = value.strip()
        if value and len(value) <= 200:
            return value
        if value:
            raise FieldError(field, f"is {len(value)} characters long: at most 200 allowed")
    elif t is int:
        return str(value)
    elif t is float and value.is_integer():
        return str(int(value))
    if value is None or value == "":
        raise FieldError(field, "is missing: every record needs one")
    raise FieldError(field, f"must be a string or an integer, got {kind_of(value)}")


def name(value: Any, field: str, max_len: int = 200) -> str:
    if type(value) is str:
        value = value.strip()
        if value and len(value) <= max_len:
            return value
        if value:
            raise FieldError(field, f"is {len(value)} characters long: at most {max_len} allowed")
    if value is None or value == "":
        raise FieldError(field, "is missing: every record needs one")
    raise FieldError(field, f"must be a string, got {kind_of(value)}")


def text(value: Any, field: str) -> str:
    """Required text that may be empty (a model may answer with nothing)."""
    if type(value) is str:
        return value
    if value is None:
        raise FieldError(field, "is missing: every record needs one")
    raise FieldError(field, f"must be a string, got {kind_of(value)}")


def opt_text(value: Any, field: str, max_len: int | None = None) -> str | None:
    if value is None:
        return None
    if type(value) is not str:
        raise FieldError(field, f"must be a string, got {kind_of(value)}")
    if max_len is not None and len(value) > max_len:
        raise FieldError(field, f"is {len(value)} characters long: at most {max_len} allowed")
    return value


def opt_number(value: Any, field: str, textual: bool = False) -> float | None:
    t = type(value)
    if t is float or t is int:
        if value >= 0 and not math.isinf(value):
            return value
        if math.isnan(value):
            return None
        raise FieldError(field, f"must be a non-negative number, got {kind_of(value)}")
    if value is None:
        return None
    if textual and t is str:
        try:
            return opt_number(float(value), field)
        except ValueError:
            pass
    raise FieldError(field, f"must be a number, got {kind_of(value)}")


def opt_int(value: Any, field: str, textual: bool = False) -> int | None:
    t = type(value)
    if t is int:
        if value >= 0:
            return value
    elif t is float and value.is_integer():
        return opt_int(int(value), field)
    elif t is float and math.isnan(value) or value is None:
        return None
    elif textual and t is str:
        try:
            return opt_int(int(value), field)
        except ValueError:
            pass
    raise FieldError(field, f"must be a non-negative integer, got {kind_of(value)}")


def opt_object(value: Any, field: str, textual: bool = False) -> dict[str, Any] | None:
    if value is None or type(value) is dict:
        return value
    if textual and type(value) is str:
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = None
        if type(parsed) is dict:
            return parsed
        raise FieldError(field, f"must be a JSON object, got {kind_of(value)}")
    raise FieldError(field, f"must be an object, got {kind_of(value)}")


def messages(value: Any, field: str, roles: tuple[str, ...] = ROLES) -> list[dict[str, str]]:
    """Validate a list of chat messages; keep only role and content."""
    if type(value) is not list or not value:
        what = "is an empty list" if value == [] else f"got {kind_of(value)}"
        raise FieldError(field, f"must be a list of {{role, content}} messages; {what}")
    out = []
    for i, m in enumerate(value, 1):
        if type(m) is not dict:
            raise FieldError(field, f"message {i} must be an object, got {kind_of(m)}")
        role, content = m.get("role"), m.get("content")
        if role not in roles:
            got = "has no 'role'" if role is None else f"has role {kind_of(role)}"
            raise FieldError(field, f"message {i} {got}: use one of {', '.join(roles)}")
        if type(content) is not str:
            raise FieldError(field, f"message {i} needs a string 'content', got {kind_of(content)}")
        out.append({"role": role, "content": content})
    return out


def prompt(value: Any, field: str, textual: bool = False) -> tuple[int, str | list[dict]]:
    """A prompt given as text or as chat messages: (a hash to compare prompts, the prompt).

    In CSV a cell holding a JSON list of message objects is read as messages; any other cell
    is prompt text (so a prompt that happens to start with "[" still imports as text).
    """
    if type(value) is str:
        if textual and value.startswith("[") and value.rstrip().endswith("]"):
            try:
                parsed = json.loads(value)
            except json.JSONDecodeError:
                parsed = None
            if type(parsed) is list and parsed and all(type(m) is dict for m in parsed):
                return prompt(parsed, field)
        if not value.strip():
            raise FieldError(field, "is empty: give the prompt text or a list of messages")
        return hash(value), value
    if type(value) is list:
        msgs = messages(value, field)
        if len(msgs) == 1 and msgs[0]["role"] == "user":
            return hash(msgs[0]["content"]), msgs
        return hash(tuple((m["role"], m["content"]) for m in msgs)), msgs
    if value is None:
        raise FieldError(field, "is missing: every record needs one")
    raise FieldError(
        field, f"must be a string or a list of {{role, content}} messages, got {kind_of(value)}"
    )


def as_messages(p: str | list[dict[str, str]]) -> list[dict[str, str]]:
    return [{"role": "user", "content": p}] if isinstance(p, str) else p
