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
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from db.errors import ImportFileError, InvalidInputError

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

MAX_TEXT = 10_000_000
"""The longest prompt, output, reference, turn, message or judge reply, in characters
(generous: real outputs of several megabytes exist and are stored exactly)."""
MAX_METADATA = 1_000_000
"""The longest ``metadata`` object, in characters of its JSON text."""
MAX_RATIONALE = 100_000
"""The longest imported rationale, in characters."""
MAX_NAME = 200
"""The longest id or name (the database columns hold 200 characters)."""

MAX_DEPTH = 64
"""How deep a record's JSON may nest (objects and lists, the record itself counting as 1)."""
MAX_INT = 2**31 - 1
"""The largest count-like integer (``tokens``): one range on SQLite and PostgreSQL."""
MAX_LATENCY_MS = 1e9
MAX_COST_USD = 1e6
EPOCH_MAX = 4_102_444_800
"""Timestamps are Unix seconds from 0 (1970) to before this (2100-01-01 UTC)."""

LONG_FIELD_LINES = 200
"""A CSV field spanning more lines than this is named in the summary (a possible stray quote)."""

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
    raw: str | None = None
    fatal: bool = False
    """Reading cannot go on past this record (a JSON list or CSV quoting that is broken)."""


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


class Rejects:
    """Where a lenient import (``skip_invalid``) writes the rows it leaves out.

    One JSON object per rejected row: ``line`` (the row number for Parquet), ``field`` (or
    null), ``reason`` and ``row`` (the record as read, or the raw text of a line that is not
    JSON). The file is created at the first rejected row, so a clean import writes none.
    """

    def __init__(self, dest: Path | BinaryIO) -> None:
        self.dest = dest
        self.n = 0
        self.self_pairs: dict[str, int] = {}
        self._fh: BinaryIO | None = None

    @property
    def path(self) -> str | None:
        """The rejects file's path (None when rows went to a stream or nothing was rejected)."""
        return str(self.dest) if isinstance(self.dest, Path) and self.n else None

    def add(self, line: int | None, field: str | None, problem: str, row: Any) -> None:
        if self._fh is None:
            self._fh = self.dest.open("wb") if isinstance(self.dest, Path) else self.dest
        entry = {"line": line, "field": field, "reason": problem, "row": row}
        self._fh.write(json.dumps(entry, ensure_ascii=False, default=str).encode("utf-8") + b"\n")
        self.n += 1

    def self_pair(self, model: str) -> None:
        self.self_pairs[model] = self.self_pairs.get(model, 0) + 1

    def close(self) -> None:
        if self._fh is not None and isinstance(self.dest, Path):
            self._fh.close()

    def discard(self) -> None:
        """The import failed after all: remove a rejects file this import created."""
        self.close()
        if (self._fh is not None or self.n) and isinstance(self.dest, Path):
            self.dest.unlink(missing_ok=True)
        self.n = 0

    def words(self) -> str:
        """The skipped rows in a sentence for an import summary ('' when there were none)."""
        if not self.n:
            return ""
        rows = "1 invalid row was" if self.n == 1 else f"{self.n:,} invalid rows were"
        where = f" (listed in {self.path})" if self.path else ""
        text = f" {rows} skipped{where}."
        if self.self_pairs:
            pairs = ", ".join(f"{m} ({n:,})" for m, n in sorted(self.self_pairs.items()))
            text += f" Rows pairing a model with itself: {pairs}."
        return text


def default_rejects_path(source: Path | BinaryIO) -> Path | None:
    """``<input>.rejects.jsonl`` next to an input file; None for a stream."""
    if isinstance(source, str | Path):
        path = Path(source)
        return path.with_name(path.name + ".rejects.jsonl")
    return None


def rejects_for(
    source: Path | BinaryIO, skip_invalid: bool, rejects: Path | BinaryIO | None
) -> Rejects | None:
    """The Rejects of a lenient import (None for an all-or-nothing one)."""
    if not skip_invalid:
        return None
    dest = Path(rejects) if isinstance(rejects, str | Path) else rejects
    dest = dest if dest is not None else default_rejects_path(source)
    if dest is None:
        raise InvalidInputError(
            "Skipping invalid rows needs a place for them: give a rejects file path."
        )
    if isinstance(dest, Path):
        if dest.is_dir():
            raise InvalidInputError(f"The rejects path {dest} is a folder: give a file path.")
        if isinstance(source, str | Path) and dest.resolve() == Path(source).resolve():
            raise InvalidInputError(
                f"The rejects path {dest} is the file being imported: give another path."
            )
    return Rejects(dest)


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


class ReadStats:
    """What reading a file changed or noticed, for the import summary.

    ``nuls``: NUL characters removed from text (PostgreSQL cannot store them in text, so
    both databases get the text without them).
    ``long_fields``: CSV fields spanning more than LONG_FIELD_LINES lines, as (line, field,
    lines): legitimate multi-line text, or a stray quote that joined rows.
    """

    __slots__ = ("long_fields", "nuls")

    def __init__(self) -> None:
        self.nuls = 0
        self.long_fields: list[tuple[int, str | None, int]] = []

    def words(self) -> str:
        """The notes in sentences for an import summary ('' when there are none)."""
        text = ""
        if self.nuls == 1:
            text += " 1 NUL character was removed."
        elif self.nuls:
            text += f" {self.nuls:,} NUL characters were removed."
        if self.long_fields:
            notes = "; ".join(
                f"line {line}, field '{field}' spans {n:,} lines"
                for line, field, n in self.long_fields[:5]
            )
            more = len(self.long_fields) - 5
            text += f" Check these multi-line CSV fields for a stray quote: {notes}" + (
                f" (and {more:,} more)." if more > 0 else "."
            )
        return text


def strip_nuls(value: Any, stats: ReadStats) -> Any:
    """``value`` with NUL characters removed from every string in it (keys too), counted.

    Iterative, so a deeply nested value cannot exhaust the stack.
    """
    if type(value) is str:
        n = value.count("\x00")
        if n:
            stats.nuls += n
            return value.replace("\x00", "")
        return value
    if type(value) not in (list, dict):
        return value
    root: list[Any] = [value]
    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if type(node) is list:
            for i, v in enumerate(node):
                if type(v) is str:
                    if "\x00" in v:
                        stats.nuls += v.count("\x00")
                        node[i] = v.replace("\x00", "")
                elif type(v) is list or type(v) is dict:
                    stack.append(v)
        else:
            for k in [k for k in node if type(k) is str and "\x00" in k]:
                stats.nuls += k.count("\x00")
                node[k.replace("\x00", "")] = node.pop(k)
            for k, v in node.items():
                if type(v) is str:
                    if "\x00" in v:
                        stats.nuls += v.count("\x00")
                        node[k] = v.replace("\x00", "")
                elif type(v) is list or type(v) is dict:
                    stack.append(v)
    return root[0]


@dataclass
class Source:
    """An opened input: a binary stream positioned at its start, its name and first bytes."""

    stream: BinaryIO
    name: str
    head: bytes
    path: Path | None
    stats: ReadStats = field(default_factory=ReadStats)


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
    body = src.head.lstrip(b"\xef\xbb\xbf \t\r\n")
    first = body[:1]
    if not first:
        raise ImportFileError(src.name, None, None, "is empty: it has no records to import")
    if first == b"{" and Path(src.name).suffix.lower() == ".json":
        _one_object_check(src, body)
    if fmt in ("json", "jsonl"):
        return "json" if first == b"[" else "jsonl"
    return fmt


def _one_object_check(src: Source, body: bytes) -> None:
    """A .json file that starts with an object: JSON Lines saved as .json are read as such,
    but one object spread over several lines is refused once (not one error per line)."""
    first_line, newline, _ = body.partition(b"\n")
    if not newline and len(src.head) == _HEAD_BYTES:
        return  # a first line longer than the peek: let the JSONL reader judge it
    try:
        json.loads(first_line)
        return
    except ValueError:
        pass
    line = 1 + src.head.count(b"\n", 0, len(src.head) - len(body))
    raise ImportFileError(
        src.name,
        line,
        None,
        "expected a JSON list of objects ('[' first), but the file holds one JSON object: put"
        " the records in a list ([{...}, {...}]) or write one object per line as .jsonl",
    )


class _CrToLf(io.RawIOBase):
    """A raw stream that reads CR-only line endings (old Mac files) as LF."""

    def __init__(self, inner: BinaryIO) -> None:
        self._inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._inner.read(len(buffer)).replace(b"\r", b"\n")
        buffer[: len(data)] = data
        return len(data)


def read_records(src: Source, container: str) -> Iterator[tuple[int, Any]]:
    if container != "parquet" and b"\r" in src.head and b"\n" not in src.head:
        src.stream = io.BufferedReader(_CrToLf(src.stream))  # type: ignore[assignment]
    if container == "jsonl":
        return read_jsonl(src.stream, src.stats)
    if container == "json":
        return read_json_list(src.stream, src.name, src.stats)
    if container == "csv":
        return read_csv(src.stream, src.stats)
    return read_parquet(src)


_JSON_TOKEN = re.compile(r'("[^"\\]*(?:\\.[^"\\]*)*")(\s*:)?|[\[\]{}]')


def nesting(text: str, start: int = 0, end: int | None = None) -> tuple[str | None] | None:
    """``(field,)`` when the JSON text in ``text[start:end]`` nests deeper than MAX_DEPTH
    (``field`` is the record's top-level key it happens under), else None.

    Scans tokens iteratively, before parsing, so a value nested 200,000 deep is refused
    instead of exhausting the parser's recursion. Text with at most MAX_DEPTH brackets
    cannot be too deep and costs two ``count`` calls.
    """
    end = len(text) if end is None else end
    if text.count("[", start, end) + text.count("{", start, end) <= MAX_DEPTH:
        return None
    depth, key = 0, None
    for m in _JSON_TOKEN.finditer(text, start, end):
        tok = m.group()
        ch = tok[0]
        if ch == '"':
            if depth == 1 and m.group(2):
                try:
                    key = json.loads(m.group(1))
                except ValueError:
                    key = None
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return (key if isinstance(key, str) else None,)
        else:
            depth -= 1
    return None


def _too_deep() -> str:
    return f"is nested more than {MAX_DEPTH} levels deep: flatten it"


class DuplicateKeyError(ValueError):
    """A JSON object names one key twice (raised while decoding)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key

    @property
    def problem(self) -> str:
        return (
            f"'{self.key}' appears twice in one object: keep one (a second value would"
            " silently replace the first)"
        )


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` that refuses an object naming one key twice."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise DuplicateKeyError(k)
            seen.add(k)
    return obj


def _utf8_problem(exc: UnicodeDecodeError) -> str:
    return f"invalid UTF-8 (byte {exc.start + 1} of the line): save the file with UTF-8 encoding"


def read_jsonl(stream: BinaryIO, stats: ReadStats | None = None) -> Iterator[tuple[int, Any]]:
    # The C scanner behind json.loads, called directly: it skips two regex matches and two
    # Python frames per line. Anything it does not take whole goes through json.loads, which
    # either accepts it (surrounding whitespace) or words the error.
    scan = json.JSONDecoder(object_pairs_hook=unique_keys).scan_once
    stats = stats if stats is not None else ReadStats()
    for n, raw in enumerate(stream, 1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield n, Bad(None, _utf8_problem(exc), raw.decode("utf-8", errors="replace"))
            continue
        if n == 1 and text.startswith("\ufeff"):
            text = text[1:]
        deep = nesting(text)
        if deep is not None:
            yield n, Bad(deep[0], _too_deep(), text.rstrip("\r\n"))
            continue
        try:
            value, end = scan(text, 0)
            rest = text[end:]
            if not rest or rest.isspace():
                if "\\ud" in text or "\\uD" in text:
                    value = _surrogate_check(value)
                if "\\u0000" in text:
                    value = strip_nuls(value, stats)
                yield n, value
                continue
        except (StopIteration, json.JSONDecodeError):
            pass
        except DuplicateKeyError as exc:
            yield n, Bad(exc.key, exc.problem, text.rstrip("\r\n"))
            continue
        if not text or text.isspace():
            continue
        try:
            value = json.loads(text, object_pairs_hook=unique_keys)
            if "\\u0000" in text:
                value = strip_nuls(value, stats)
            yield n, _surrogate_check(value) if "\\u" in text else value
        except DuplicateKeyError as exc:
            yield n, Bad(exc.key, exc.problem, text.rstrip("\r\n"))
        except json.JSONDecodeError as exc:
            yield (
                n,
                Bad(None, f"malformed JSON ({exc.msg}, column {exc.colno})", text.rstrip("\r\n")),
            )


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


def read_json_list(
    stream: BinaryIO, name: str, stats: ReadStats | None = None
) -> Iterator[tuple[int, Any]]:
    """Yield the elements of a top-level JSON list without loading the whole file.

    A syntax error cannot be skipped over in a list: it is the last record yielded.
    """
    try:
        yield from _json_list_elements(stream, name, stats if stats is not None else ReadStats())
    except ImportFileError as exc:
        yield exc.line or 1, Bad(exc.field, exc.problem, fatal=True)


def _json_list_elements(stream: BinaryIO, name: str, stats: ReadStats) -> Iterator[tuple[int, Any]]:
    """Decode UTF-8 incrementally into a text buffer and ``raw_decode`` element by element,
    reading more whenever an element runs past the end of the buffer."""
    decoder = json.JSONDecoder(object_pairs_hook=unique_keys)
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
            except RecursionError:
                deep = nesting(buf, pos) or (None,)
                raise ImportFileError(name, here(), deep[0], _too_deep()) from None
            except DuplicateKeyError as exc:
                raise ImportFileError(name, here(), exc.key, exc.problem) from None
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
        deep = nesting(buf, pos, end)
        if deep is not None:
            raise ImportFileError(name, start_line, deep[0], _too_deep())
        if buf.find("\\u", pos, end) >= 0:
            value = _surrogate_check(value)
            if buf.find("\\u0000", pos, end) >= 0:
                value = strip_nuls(value, stats)
        pos = end
        yield start_line, value


def read_csv(stream: BinaryIO, stats: ReadStats | None = None) -> Iterator[tuple[int, Any]]:
    """Rows as dicts keyed by the header; each tagged with the line the record starts on."""
    stats = stats if stats is not None else ReadStats()
    bad_lines: dict[int, str] = {}
    counter = [0]
    eof = [False]
    pending: list[str] = []  # the lines of the record being read

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
            if "\x00" in text:
                stats.nuls += text.count("\x00")
                text = text.replace("\x00", "")
            pending.append(text)
            yield text
        eof[0] = True

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
            yield start, Bad(None, f"malformed CSV ({exc})", fatal=True)
            return
        consumed = counter[0]
        if eof[0] and _unterminated("".join(pending)):
            # The reader ran into the end of the file inside a quoted field: that field
            # swallowed every row after it. Say where it opened.
            opened = start + sum(f.count("\n") for f in row[:-1])
            col = header[len(row) - 1] if header and len(row) <= len(header) else None
            yield (
                opened,
                Bad(
                    col,
                    f"a quoted field opened on this line is never closed: the rest of the file"
                    f" ({consumed - opened + 1:,} lines) would be read into it; close the quote"
                    " (and double any quote inside a quoted field)",
                    fatal=True,
                ),
            )
            return
        pending.clear()
        if consumed - start >= LONG_FIELD_LINES and header is not None:
            widest = max(range(len(row)), key=lambda i: row[i].count("\n"))
            col = header[widest] if widest < len(header) else None
            stats.long_fields.append((start, col, consumed - start + 1))
        bad = [bad_lines.pop(n) for n in range(start, consumed + 1) if n in bad_lines]
        if bad:
            yield start, Bad(None, bad[0])
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if header is None:
            header = [h.strip() for h in row]
            twice = next((h for i, h in enumerate(header) if h and h in header[:i]), None)
            if twice is not None:
                problem = f"'{twice}' appears twice in the header: keep one column of each name"
                yield start, Bad(twice, problem, fatal=True)
                return
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


def _unterminated(record: str) -> bool:
    """Whether a CSV record's text ends inside a quoted field."""
    try:
        for _ in csv.reader(io.StringIO(record, newline=""), strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


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
    batches = pf.iter_batches(batch_size=5000)
    while True:
        try:
            batch = next(batches, None)
        except (pa.ArrowException, OSError) as exc:
            raise ImportFileError(
                src.name,
                None,
                None,
                f"is a damaged Parquet file: the data after row {row} cannot be read ({exc});"
                " write the file again",
            ) from None
        if batch is None:
            return
        records = batch.to_pylist()
        if _has_nul(batch):
            records = strip_nuls(records, src.stats)
        for rec in records:
            row += 1
            yield row, {k: v for k, v in rec.items() if v is not None}


def _has_nul(batch: Any) -> bool:
    """Whether a Parquet batch may hold a NUL character (checked per column, in Arrow)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for col in batch.columns:
        t = col.type
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            if pc.any(pc.match_substring(col, "\x00")).as_py():
                return True
        elif pa.types.is_nested(t):
            return True  # lists and structs: let the walk look
    return False


def shape_of(record: Any) -> str:
    """Which kind of outputs file a first record belongs to."""
    keys = record.columns if isinstance(record, CsvHeader) else record
    if not isinstance(keys, dict | list):
        return "long"
    if "choices" in keys and ("model_id" in keys or "model" in keys):
        return "mt-bench"
    if "instruction" in keys and "generator" in keys:
        return "alpaca-eval"
    return "long"


# ---- field checks: each returns the clean value or raises FieldError ----------------------


class Scalars:
    """Counts text values that came as JSON numbers or booleans and were stored as text
    (``n``), and NUL characters removed from JSON text inside CSV cells (``nuls``)."""

    __slots__ = ("n", "nuls")

    def __init__(self) -> None:
        self.n = 0
        self.nuls = 0

    def words(self) -> str:
        """The count in a sentence for an import summary ('' when there were none)."""
        if not self.n:
            return ""
        if self.n == 1:
            return " 1 value was a number or boolean and was stored as text."
        return f" {self.n:,} values were numbers or booleans and were stored as text."


def scalar_text(value: Any) -> str | None:
    """The JSON text of a number or boolean (``true``, ``42``, ``1.5``); None for anything else.

    Real data sets hold answers such as ``True`` or ``42`` as JSON scalars; their JSON text is
    what the author wrote, so it is what a rater should see.
    """
    t = type(value)
    if t is bool:
        return "true" if value else "false"
    if t is int:
        return str(value)
    if t is float and math.isfinite(value):
        return json.dumps(value)
    return None


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


def too_long(field: str, n: int, max_len: int) -> FieldError:
    return FieldError(field, f"is {n:,} characters long: at most {max_len:,} allowed")


def ident(value: Any, field: str) -> str:
    """An external id: a non-empty string or an integer, stored as a string."""
    t = type(value)
    if t is float and value.is_integer():
        value, t = int(value), int
    if t is int:
        digits = str(value)
        if len(digits) <= MAX_NAME:
            return digits
        raise FieldError(field, f"is a {len(digits)}-digit number: at most {MAX_NAME} allowed")
    if t is str:
        value = value.strip()
        if value and len(value) <= MAX_NAME:
            return value
        if value:
            raise too_long(field, len(value), MAX_NAME)
    if value is None or value == "":
        raise FieldError(field, "is missing: every record needs one")
    raise FieldError(field, f"must be a string or an integer, got {kind_of(value)}")


def name(value: Any, field: str, max_len: int = MAX_NAME) -> str:
    if type(value) is str:
        value = value.strip()
        if value and len(value) <= max_len:
            return value
        if value:
            raise FieldError(field, f"is {len(value)} characters long: at most {max_len} allowed")
    if value is None or value == "":
        raise FieldError(field, "is missing: every record needs one")
    raise FieldError(field, f"must be a string, got {kind_of(value)}")


def text(value: Any, field: str, scalars: Scalars | None = None, max_len: int = MAX_TEXT) -> str:
    """Required text that may be empty (a model may answer with nothing), at most
    ``max_len`` characters; a JSON number or boolean becomes its JSON text, counted in
    ``scalars``."""
    if type(value) is str:
        if len(value) > max_len:
            raise too_long(field, len(value), max_len)
        return value
    as_text = scalar_text(value)
    if as_text is not None:
        if scalars is not None:
            scalars.n += 1
        return as_text
    if value is None:
        raise FieldError(field, "is missing: every record needs one")
    raise FieldError(field, f"must be a string, got {kind_of(value)}")


def opt_text(
    value: Any, field: str, max_len: int | None = None, scalars: Scalars | None = None
) -> str | None:
    """Optional text of at most ``max_len`` characters (default MAX_TEXT); with ``scalars``
    a JSON number or boolean becomes its JSON text."""
    if value is None:
        return None
    if scalars is not None and type(value) is not str:
        return text(value, field, scalars)
    if type(value) is not str:
        raise FieldError(field, f"must be a string, got {kind_of(value)}")
    max_len = MAX_TEXT if max_len is None else max_len
    if len(value) > max_len:
        raise too_long(field, len(value), max_len)
    return value


def opt_number(
    value: Any, field: str, textual: bool = False, maximum: float = MAX_COST_USD
) -> float | None:
    """An optional finite number from 0 to ``maximum`` (NaN counts as missing)."""
    t = type(value)
    if t is float or t is int:
        if 0 <= value <= maximum:
            return value
        if t is float and math.isnan(value):
            return None
        if value > maximum:
            raise FieldError(field, f"is {value!r}: at most {maximum:,.0f} allowed")
        raise FieldError(field, f"must be a non-negative number, got {kind_of(value)}")
    if value is None:
        return None
    if textual and t is str:
        try:
            return opt_number(float(value), field, maximum=maximum)
        except ValueError:
            pass
    raise FieldError(field, f"must be a number, got {kind_of(value)}")


def opt_int(value: Any, field: str, textual: bool = False, maximum: int = MAX_INT) -> int | None:
    """An optional integer from 0 to ``maximum`` (NaN counts as missing)."""
    t = type(value)
    if t is int:
        if 0 <= value <= maximum:
            return value
        if value > maximum:
            raise FieldError(field, f"is {value}: at most {maximum:,} allowed")
    elif t is float and value.is_integer():
        return opt_int(int(value), field, maximum=maximum)
    elif t is float and math.isnan(value) or value is None:
        return None
    elif textual and t is str:
        try:
            return opt_int(int(value), field, maximum=maximum)
        except ValueError:
            pass
    raise FieldError(field, f"must be a non-negative integer, got {kind_of(value)}")


def opt_epoch(value: Any, field: str) -> datetime | None:
    """Optional Unix seconds, from 0 (1970) to before EPOCH_MAX (2100), as a UTC datetime."""
    if value is None:
        return None
    t = type(value)
    if t is not int and t is not float or t is float and not math.isfinite(value):
        raise FieldError(field, f"must be Unix seconds (a number), got {kind_of(value)}")
    if not 0 <= value < EPOCH_MAX:
        hint = (
            ": it looks like milliseconds, divide by 1000"
            if EPOCH_MAX <= value < EPOCH_MAX * 1000
            else ""
        )
        raise FieldError(
            field,
            f"is {value!r}: Unix seconds from 0 (1970) to {EPOCH_MAX:,} (2100) allowed{hint}",
        )
    return datetime.fromtimestamp(value, UTC)


def opt_object(
    value: Any, field: str, textual: bool = False, scalars: Scalars | None = None
) -> dict[str, Any] | None:
    if value is None or type(value) is dict:
        return value
    if textual and type(value) is str:
        if nesting(value) is not None:
            raise FieldError(field, _too_deep())
        try:
            parsed = json.loads(value, object_pairs_hook=unique_keys)
        except DuplicateKeyError as exc:
            raise FieldError(field, exc.problem) from None
        except json.JSONDecodeError:
            parsed = None
        if type(parsed) is dict:
            if "\\u0000" in value:
                parsed = strip_nuls(parsed, scalars if scalars is not None else Scalars())
            return parsed
        raise FieldError(field, f"must be a JSON object, got {kind_of(value)}")
    raise FieldError(field, f"must be an object, got {kind_of(value)}")


def messages(
    value: Any, field: str, roles: tuple[str, ...] = ROLES, scalars: Scalars | None = None
) -> list[dict[str, str]]:
    """Validate a list of chat messages; keep only role and content (a number or boolean
    content becomes its JSON text, counted in ``scalars``)."""
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
            as_text = scalar_text(content)
            if as_text is None:
                raise FieldError(
                    field, f"message {i} needs a string 'content', got {kind_of(content)}"
                )
            if scalars is not None:
                scalars.n += 1
            content = as_text
        if len(content) > MAX_TEXT:
            raise FieldError(
                field,
                f"message {i} is {len(content):,} characters long: at most {MAX_TEXT:,} allowed",
            )
        out.append({"role": role, "content": content})
    return out


def prompt(
    value: Any, field: str, textual: bool = False, scalars: Scalars | None = None
) -> tuple[int, str | list[dict]]:
    """A prompt given as text or as chat messages: (a hash to compare prompts, the prompt).

    In CSV a cell holding a JSON list of message objects is read as messages; any other cell
    is prompt text (so a prompt that happens to start with "[" still imports as text). A JSON
    number or boolean is prompt text: its JSON text, counted in ``scalars``.
    """
    as_text = scalar_text(value)
    if as_text is not None:
        if scalars is not None:
            scalars.n += 1
        return hash(as_text), as_text
    if type(value) is str:
        if textual and value.startswith("[") and value.rstrip().endswith("]"):
            if nesting(value) is not None:
                raise FieldError(field, _too_deep())
            try:
                parsed = json.loads(value)
            except json.JSONDecodeError:
                parsed = None
            if type(parsed) is list and parsed and all(type(m) is dict for m in parsed):
                if "\\u0000" in value:
                    parsed = strip_nuls(parsed, scalars if scalars is not None else Scalars())
                return prompt(parsed, field)
        if not value.strip():
            raise FieldError(field, "is empty: give the prompt text or a list of messages")
        if len(value) > MAX_TEXT:
            raise too_long(field, len(value), MAX_TEXT)
        return hash(value), value
    if type(value) is list:
        msgs = messages(value, field, scalars=scalars)
        if len(msgs) == 1 and msgs[0]["role"] == "user":
            return hash(msgs[0]["content"]), msgs
        return hash(tuple((m["role"], m["content"]) for m in msgs)), msgs
    if value is None:
        raise FieldError(field, "is missing: every record needs one")
    raise FieldError(
        field, f"must be a string or a list of {{role, content}} messages, got {kind_of(value)}"
    )


_PLACEHOLDER = re.compile(r"\(question .+, turn \d+\)")


def placeholder(qid: str, turns: int) -> list[dict[str, str]]:
    """The stand-in prompt of a question whose text a file does not carry."""
    return [{"role": "user", "content": f"(question {qid}, turn {t})"} for t in range(1, turns + 1)]


def is_placeholder(msgs: Any) -> bool:
    """Whether stored prompt messages are a stand-in that real prompt text may replace."""
    return (
        type(msgs) is list
        and bool(msgs)
        and all(
            type(m) is dict
            and m.get("role") == "user"
            and _PLACEHOLDER.fullmatch(str(m.get("content", ""))) is not None
            for m in msgs
        )
    )


def as_messages(p: str | list[dict[str, str]]) -> list[dict[str, str]]:
    return [{"role": "user", "content": p}] if isinstance(p, str) else p
