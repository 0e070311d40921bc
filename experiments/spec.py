"""Evaluation specs: success criteria written down before the run (docs/EVAL_SPEC.md).

``parse_spec`` reads the TOML text into frozen dataclasses and refuses anything it does not
understand: every error names the file, the TOML key path (``criteria[2].threshold``) and
the fix; an unknown key lists the known ones. Checks are compiled here too, so a bad regex
or JSON Schema is caught before anything is generated.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from db.errors import InvalidInputError
from experiments.checks import CHECK_KINDS, DEFAULT_REFUSAL_PATTERNS, Check, compile_check
from metrics.criteria import DEFAULT_ROUNDS, DIRECTIONS

STATISTICS = ("win_rate", "rubric_mean", "check_pass_rate", "latency_quantile", "cost_mean")
STATISTIC_HELP = {
    "win_rate": "share of the judge's verdicts the candidate wins against the baseline"
    " (ties half, both swapped orders counted)",
    "rubric_mean": "mean score a rubric judge gives the candidate's outputs on a [[rubric]]"
    " criterion",
    "check_pass_rate": "share of the candidate's outputs passing the check (all checks when"
    " none is named)",
    "latency_quantile": "a quantile (default 0.95) of the candidate's generation latency, ms",
    "cost_mean": "mean cost per request of the candidate's generated outputs, USD",
}
TOP_KEYS = (
    "name", "description", "dataset", "candidates", "judges", "rubric", "checks", "criteria",
    "run",
)  # fmt: skip
RUBRIC_KEYS = ("name", "description", "scale")
RUBRIC_SCALES = ("likert5", "likert10", "binary")
DATASET_KEYS = ("ref", "eval_split", "dev_split")
CANDIDATE_KEYS = ("baseline", "compare")
JUDGE_KEYS = ("name",)
CHECK_KEYS = {
    "contains": ("name", "kind", "value", "case_sensitive"),
    "not_contains": ("name", "kind", "value", "case_sensitive"),
    "regex": ("name", "kind", "pattern", "case_sensitive"),
    "json": ("name", "kind", "schema"),
    "max_length": ("name", "kind", "max_chars"),
    "refusal": ("name", "kind", "patterns", "expect_refusal"),
}
CRITERION_KEYS = (
    "name", "statistic", "op", "threshold", "candidate", "judge", "check", "rubric", "quantile",
    "level",
)  # fmt: skip
RUN_KEYS = ("inconclusive_exit", "bootstrap_rounds")
MAX_NAME = 120


@dataclass(frozen=True)
class DatasetSpec:
    ref: str
    eval_split: str = "test"
    dev_split: str = "dev"


@dataclass(frozen=True)
class CriterionSpec:
    """``statistic`` ``op`` ``threshold``, judged on the interval bound (metrics.criteria).

    ``candidate`` None: the criterion applies to every compared candidate."""

    name: str
    statistic: str
    op: str
    threshold: float
    candidate: str | None = None
    judge: str | None = None
    check: str | None = None
    quantile: float = 0.95
    level: float = 0.95
    rubric: str | None = None


@dataclass(frozen=True)
class RubricSpec:
    """A rubric criterion a rubric judge grades every output on."""

    name: str
    description: str = ""
    scale: str = "likert5"


@dataclass(frozen=True)
class EvalSpec:
    name: str
    dataset: DatasetSpec
    baseline: str
    compare: tuple[str, ...]
    judges: tuple[str, ...]
    checks: tuple[Check, ...]
    criteria: tuple[CriterionSpec, ...]
    description: str = ""
    rubric: tuple[RubricSpec, ...] = ()
    inconclusive_exit: int = 2
    bootstrap_rounds: int = DEFAULT_ROUNDS
    text: str = ""
    source: str = "<spec>"

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def candidates(self) -> tuple[str, ...]:
        """The baseline first, then the compared candidates."""
        return (self.baseline, *self.compare)


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, problem: str) -> InvalidInputError:
        where = f"{self.source}: {path}" if path else self.source
        return InvalidInputError(f"{where}: {problem}")

    def table(self, value: Any, path: str, known: tuple[str, ...]) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"must be a table ([{path}]), not {type(value).__name__}.")
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise self.fail(
                _join(path, unknown[0]),
                f"unknown key. Known keys here: {', '.join(known)}.",
            )
        return value

    def text(self, table: Mapping[str, Any], key: str, path: str, default: Any = ...) -> Any:
        if key not in table:
            if default is ...:
                raise self.fail(_join(path, key), "is required: add it (a string).")
            return default
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(_join(path, key), f"must be a non-empty string (got {value!r}).")
        return value.strip()

    def number(self, table: Mapping[str, Any], key: str, path: str, default: Any = ...) -> Any:
        if key not in table:
            if default is ...:
                raise self.fail(_join(path, key), "is required: add it (a number).")
            return default
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(
                _join(path, key), f"must be a number, e.g. 0.5 (got {value!r}); no quotes."
            )
        return float(value)

    def integer(self, table: Mapping[str, Any], key: str, path: str, default: int) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(_join(path, key), f"must be a whole number (got {value!r}).")
        return value

    def flag(self, table: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(_join(path, key), f"must be true or false (got {value!r}).")
        return value

    def array(self, value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(path, f"must be an array (got {type(value).__name__}).")
        return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def load_spec(path: Path | str) -> EvalSpec:
    """The spec in file ``path``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(
            f"Cannot read the evaluation spec {p}: {exc.strerror or exc}. Check the path."
        ) from None
    except UnicodeDecodeError:
        raise InvalidInputError(f"{p}: the spec must be UTF-8 text (a TOML file).") from None
    return parse_spec(text, str(p))


def parse_spec(text: str, source: str = "<spec>") -> EvalSpec:
    """The spec in TOML ``text``; ``source`` names it in errors (a path, or "the page")."""
    r = _Reader(source)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(
            f"{source}: not valid TOML ({exc}). Fix the syntax there."
        ) from None
    r.table(doc, "", TOP_KEYS)
    name = r.text(doc, "name", "")
    if len(name) > MAX_NAME:
        raise r.fail("name", f"has at most {MAX_NAME} characters (it names the campaign).")
    description = doc.get("description", "")
    if not isinstance(description, str):
        raise r.fail("description", "must be a string.")
    dataset = _dataset(r, doc)
    baseline, compare = _candidates(r, doc)
    judges = _judges(r, doc)
    checks = _checks(r, doc)
    rubric = _rubric(r, doc)
    run = r.table(doc.get("run", {}), "run", RUN_KEYS)
    inconclusive_exit = r.integer(run, "inconclusive_exit", "run", 2)
    if not 0 <= inconclusive_exit <= 2:
        raise r.fail(
            "run.inconclusive_exit",
            "must be 0 (INCONCLUSIVE passes), 1 (it fails) or 2 (its own exit code).",
        )
    rounds = r.integer(run, "bootstrap_rounds", "run", DEFAULT_ROUNDS)
    if not 100 <= rounds <= 100_000:
        raise r.fail("run.bootstrap_rounds", "must be between 100 and 100000.")
    criteria = _criteria(r, doc, baseline, compare, judges, checks, rubric)
    return EvalSpec(
        name=name,
        dataset=dataset,
        baseline=baseline,
        compare=compare,
        judges=judges,
        checks=checks,
        criteria=criteria,
        description=description,
        rubric=rubric,
        inconclusive_exit=inconclusive_exit,
        bootstrap_rounds=rounds,
        text=text,
        source=source,
    )


def _dataset(r: _Reader, doc: Mapping[str, Any]) -> DatasetSpec:
    if "dataset" not in doc:
        raise r.fail("dataset", 'is required: add [dataset] with ref = "NAME@VERSION".')
    t = r.table(doc["dataset"], "dataset", DATASET_KEYS)
    ref = r.text(t, "ref", "dataset")
    name, at, version = ref.rpartition("@")
    if not at or not name or not version.isdigit():
        raise r.fail(
            "dataset.ref",
            f"'{ref}' must pin a version, NAME@VERSION (e.g. qa@3): a spec names the exact"
            " data it is judged on. `judgeboard dataset list` shows the versions.",
        )
    return DatasetSpec(
        ref, r.text(t, "eval_split", "dataset", "test"), r.text(t, "dev_split", "dataset", "dev")
    )


def _candidates(r: _Reader, doc: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    if "candidates" not in doc:
        raise r.fail(
            "candidates",
            'is required: add [candidates] with baseline = "NAME@vN" and compare = [...].',
        )
    t = r.table(doc["candidates"], "candidates", CANDIDATE_KEYS)
    baseline = r.text(t, "baseline", "candidates")
    if "compare" not in t:
        raise r.fail("candidates.compare", 'is required: the candidates to judge, e.g. ["bot@v2"].')
    compare: list[str] = []
    for i, c in enumerate(r.array(t["compare"], "candidates.compare")):
        path = f"candidates.compare[{i}]"
        if not isinstance(c, str) or not c.strip():
            raise r.fail(path, f"must be a candidate name NAME or NAME@vN (got {c!r}).")
        if c.strip() == baseline:
            raise r.fail(path, f"'{baseline}' is the baseline: compare other candidates with it.")
        if c.strip() in compare:
            raise r.fail(path, f"'{c.strip()}' is listed twice.")
        compare.append(c.strip())
    if not compare:
        raise r.fail("candidates.compare", "is empty: name at least one candidate to judge.")
    return baseline, tuple(compare)


def _judges(r: _Reader, doc: Mapping[str, Any]) -> tuple[str, ...]:
    names: list[str] = []
    for i, j in enumerate(r.array(doc.get("judges", []), "judges")):
        path = f"judges[{i}]"
        t = r.table(j, path, JUDGE_KEYS)
        name = r.text(t, "name", path)
        if name in names:
            raise r.fail(f"{path}.name", f"judge '{name}' is listed twice.")
        names.append(name)
    return tuple(names)


def _rubric(r: _Reader, doc: Mapping[str, Any]) -> tuple[RubricSpec, ...]:
    out: list[RubricSpec] = []
    for i, c in enumerate(r.array(doc.get("rubric", []), "rubric")):
        path = f"rubric[{i}]"
        t = r.table(c, path, RUBRIC_KEYS)
        name = r.text(t, "name", path)
        if len(name) > 100:
            raise r.fail(f"{path}.name", "has at most 100 characters.")
        if any(x.name == name for x in out):
            raise r.fail(f"{path}.name", f"rubric criterion '{name}' is listed twice.")
        description = t.get("description", "")
        if not isinstance(description, str):
            raise r.fail(f"{path}.description", "must be a string.")
        scale = r.text(t, "scale", path, "likert5")
        if scale not in RUBRIC_SCALES:
            raise r.fail(
                f"{path}.scale",
                f"'{scale}' is not one of {', '.join(RUBRIC_SCALES)} (a mean needs numbers).",
            )
        out.append(RubricSpec(name, description, scale))
    return tuple(out)


def _checks(r: _Reader, doc: Mapping[str, Any]) -> tuple[Check, ...]:
    checks: list[Check] = []
    for i, c in enumerate(r.array(doc.get("checks", []), "checks")):
        path = f"checks[{i}]"
        if not isinstance(c, dict):
            raise r.fail(path, "must be a table ([[checks]]).")
        kind = r.text(c, "kind", path)
        if kind not in CHECK_KINDS:
            raise r.fail(f"{path}.kind", f"'{kind}' is not one of {', '.join(CHECK_KINDS)}.")
        r.table(c, path, CHECK_KEYS[kind])
        name = r.text(c, "name", path)
        if any(x.name == name for x in checks):
            raise r.fail(f"{path}.name", f"check '{name}' is defined twice: rename one.")
        fields: dict[str, Any] = {"name": name, "kind": kind}
        if "value" in c:
            fields["value"] = r.text(c, "value", path)
        if "pattern" in c:
            fields["pattern"] = r.text(c, "pattern", path)
        if "case_sensitive" in c:
            fields["case_sensitive"] = r.flag(c, "case_sensitive", path, True)
        if "schema" in c:
            if not isinstance(c["schema"], dict):
                raise r.fail(f"{path}.schema", "must be a table: the JSON Schema as TOML.")
            fields["schema"] = c["schema"]
        if "max_chars" in c:
            fields["max_chars"] = r.integer(c, "max_chars", path, 0)
        if "patterns" in c:
            pats = r.array(c["patterns"], f"{path}.patterns")
            if not pats or not all(isinstance(p, str) and p for p in pats):
                raise r.fail(f"{path}.patterns", "must be a non-empty array of regex strings.")
            fields["patterns"] = tuple(pats)
        else:
            fields["patterns"] = DEFAULT_REFUSAL_PATTERNS
        if "expect_refusal" in c:
            fields["expect_refusal"] = r.flag(c, "expect_refusal", path, False)
        check = Check(**fields)
        try:
            compile_check(check)
        except InvalidInputError as exc:
            raise r.fail(path, str(exc)) from None
        checks.append(check)
    return tuple(checks)


def _criteria(
    r: _Reader,
    doc: Mapping[str, Any],
    baseline: str,
    compare: tuple[str, ...],
    judges: tuple[str, ...],
    checks: tuple[Check, ...],
    rubric: tuple[RubricSpec, ...],
) -> tuple[CriterionSpec, ...]:
    raw = r.array(doc.get("criteria", []), "criteria")
    if not raw:
        raise r.fail(
            "criteria",
            'is empty: write the success criteria first, e.g. [[criteria]] name = "beats'
            ' baseline", statistic = "win_rate", op = ">=", threshold = 0.5.',
        )
    out: list[CriterionSpec] = []
    for i, c in enumerate(raw):
        path = f"criteria[{i}]"
        t = r.table(c, path, CRITERION_KEYS)
        name = r.text(t, "name", path)
        if any(x.name == name for x in out):
            raise r.fail(f"{path}.name", f"criterion '{name}' is defined twice: rename one.")
        statistic = r.text(t, "statistic", path)
        if statistic not in STATISTICS:
            listed = "; ".join(f"{k}: {v}" for k, v in STATISTIC_HELP.items())
            raise r.fail(f"{path}.statistic", f"'{statistic}' is not one of: {listed}.")
        op = r.text(t, "op", path)
        if op not in DIRECTIONS:
            raise r.fail(f"{path}.op", f"'{op}' must be '>=' or '<='.")
        threshold = r.number(t, "threshold", path)
        candidate = r.text(t, "candidate", path, None)
        if candidate is not None and candidate not in (baseline, *compare):
            raise r.fail(
                f"{path}.candidate",
                f"'{candidate}' is not in [candidates]: use one of"
                f" {', '.join((baseline, *compare))}.",
            )
        judge = r.text(t, "judge", path, None)
        check = r.text(t, "check", path, None)
        quantile = r.number(t, "quantile", path, 0.95)
        level = r.number(t, "level", path, 0.95)
        if not 0 < level < 1:
            raise r.fail(f"{path}.level", f"must be between 0 and 1, e.g. 0.95 (got {level}).")
        if statistic in ("win_rate", "rubric_mean"):
            if not judges:
                raise r.fail(
                    path, f"a {statistic} criterion needs a judge: add [[judges]] name = ..."
                )
            if judge is None and len(judges) > 1:
                raise r.fail(f"{path}.judge", f"several judges: name one of {', '.join(judges)}.")
            if judge is not None and judge not in judges:
                raise r.fail(
                    f"{path}.judge", f"'{judge}' is not in [[judges]]: {', '.join(judges)}."
                )
            judge = judge or judges[0]
        elif judge is not None:
            raise r.fail(
                f"{path}.judge", f"only win_rate and rubric_mean read a judge, not {statistic}."
            )
        if statistic == "win_rate":
            if candidate == baseline:
                raise r.fail(f"{path}.candidate", "the baseline has no win rate against itself.")
            if not 0 <= threshold <= 1:
                raise r.fail(f"{path}.threshold", "a win rate is between 0 and 1, e.g. 0.5.")
        rubric_name = r.text(t, "rubric", path, None)
        if statistic == "rubric_mean":
            if not rubric:
                raise r.fail(path, "a rubric_mean criterion needs [[rubric]] criteria to grade.")
            if rubric_name is None and len(rubric) > 1:
                names = ", ".join(x.name for x in rubric)
                raise r.fail(f"{path}.rubric", f"several rubric criteria: name one of {names}.")
            if rubric_name is not None and all(x.name != rubric_name for x in rubric):
                names = ", ".join(x.name for x in rubric)
                raise r.fail(f"{path}.rubric", f"no [[rubric]] named '{rubric_name}': {names}.")
            rubric_name = rubric_name or rubric[0].name
        elif rubric_name is not None:
            raise r.fail(f"{path}.rubric", "only a rubric_mean criterion reads a rubric.")
        if statistic == "check_pass_rate":
            if not checks:
                raise r.fail(path, "a check_pass_rate criterion needs [[checks]] to count.")
            if check is not None and all(x.name != check for x in checks):
                names = ", ".join(x.name for x in checks)
                raise r.fail(f"{path}.check", f"no check named '{check}': use one of {names}.")
            if not 0 <= threshold <= 1:
                raise r.fail(f"{path}.threshold", "a pass rate is between 0 and 1, e.g. 0.98.")
        elif check is not None:
            raise r.fail(f"{path}.check", "only a check_pass_rate criterion reads a check.")
        if statistic == "latency_quantile" and not 0 < quantile < 1:
            raise r.fail(
                f"{path}.quantile", f"must be between 0 and 1, e.g. 0.95 (got {quantile})."
            )
        if "quantile" in t and statistic != "latency_quantile":
            raise r.fail(f"{path}.quantile", "only a latency_quantile criterion reads a quantile.")
        out.append(
            CriterionSpec(
                name,
                statistic,
                op,
                threshold,
                candidate,
                judge,
                check,
                quantile,
                level,
                rubric_name,
            )  # fmt: skip
        )
    return tuple(out)
