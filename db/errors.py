"""Domain exceptions. Every message names the fix; pages show it, the CLI exits 1 with it."""

from __future__ import annotations


class JudgeboardError(Exception):
    """Base class for errors a user can act on."""


class NotFoundError(JudgeboardError):
    pass


class InvalidInputError(JudgeboardError):
    pass


class PermissionDeniedError(JudgeboardError):
    pass


class ImportFileError(InvalidInputError):
    """Bad input in an imported file: names the file, line or row, and field."""

    def __init__(self, path: str, line: int | None, field: str | None, problem: str) -> None:
        self.path, self.line, self.field, self.problem = path, line, field, problem
        where = path if line is None else f"{path}, line {line}"
        what = f"field '{field}': " if field else ""
        super().__init__(f"{where}: {what}{problem}")
