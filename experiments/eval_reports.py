"""CI artefacts of an evaluation: JUnit XML and a Markdown summary.

JUnit: one ``<testsuite>`` named after the spec, one ``<testcase>`` per criterion and
candidate (``classname`` the candidate, ``name`` the criterion). A FAIL is a ``<failure
type="FAIL">``; an INCONCLUSIVE is a ``<failure type="inconclusive">`` as well, so CI never
shows an undecided criterion as green (the exit code still tells the two apart). Every
message holds the figure, its interval and the threshold. The layout is the one GitLab and
Jenkins read (testsuites > testsuite > testcase > failure, with tests/failures/errors/
skipped counts and times).

Markdown: made for ``$GITHUB_STEP_SUMMARY`` or a merge-request comment. User text (names,
prompt ids) is escaped so it cannot turn into markup or links.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from experiments.evaluation import EvaluationResult, format_figure
from metrics.criteria import FAIL, INCONCLUSIVE, PASS

ICONS = {PASS: "✅", FAIL: "❌", INCONCLUSIVE: "⚠️"}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~>])")
MAX_REGRESSIONS = 50


def junit_xml(result: EvaluationResult) -> str:
    suites = ET.Element("testsuites")
    failures = sum(1 for c in result.criteria if c.verdict != PASS)
    suite = ET.SubElement(
        suites,
        "testsuite",
        {
            "name": result.name,
            "tests": str(len(result.criteria)),
            "failures": str(failures),
            "errors": "0",
            "skipped": "0",
            "time": "0",
        },
    )
    props = ET.SubElement(suite, "properties")
    for key, value in (
        ("dataset", result.dataset),
        ("split", result.split),
        ("sample", "" if result.sample is None else str(result.sample)),
        ("seed", str(result.seed)),
        ("baseline", result.baseline),
        ("verdict", result.verdict),
        ("eval_run_id", str(result.eval_run_id)),
    ):
        ET.SubElement(props, "property", {"name": key, "value": value})
    for c in result.criteria:
        case = ET.SubElement(
            suite, "testcase", {"classname": c.candidate, "name": c.criterion, "time": "0"}
        )
        if c.verdict == FAIL:
            ET.SubElement(
                case, "failure", {"type": "FAIL", "message": c.message()}
            ).text = c.message()
        elif c.verdict == INCONCLUSIVE:
            ET.SubElement(
                case, "failure", {"type": "inconclusive", "message": c.message()}
            ).text = c.message()
        else:
            ET.SubElement(case, "system-out").text = c.message()
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode")


def md(text: object) -> str:
    """``text`` as literal Markdown (table-safe: pipes and newlines escaped)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def summary_markdown(result: EvaluationResult) -> str:
    sample = f", sample {result.sample} (seed {result.seed})" if result.sample else ""
    lines = [
        f"## {ICONS[result.verdict]} Evaluation {md(result.name)}: **{result.verdict}**",
        "",
        f"{md(result.dataset)}, split {md(result.split)}{sample}: {result.n_prompts} prompts,"
        f" baseline {md(result.baseline)} (eval run {result.eval_run_id}).",
        "",
        "| Criterion | Candidate | Verdict | Figure | 95% interval | Threshold | n (prompts) |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in result.criteria:
        interval = "—" if c.low is None else f"{md(c.figure(c.low))} to {md(c.figure(c.high))}"
        lines.append(
            f"| {md(c.criterion)} | {md(c.candidate)} | {ICONS[c.verdict]} {c.verdict} |"
            f" {md(c.figure(c.value))} | {interval} | {md(c.op)} {md(c.figure(c.threshold))} |"
            f" {c.n} ({c.n_prompts}) |"
        )
    lines += [
        "",
        "### Cost and latency",
        "",
        "| Candidate | Outputs | Cost total | Cost per request | Latency p50 | Latency p95 |"
        " Checks passed |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in result.candidates:
        checks = f"{s.checks_passed}/{s.checks_run}" if s.checks_run else "—"
        lines.append(
            f"| {md(s.candidate)} | {s.n_outputs} | ${s.cost_total_usd:.4f} |"
            f" {md(format_figure('cost_mean', s.cost_mean_usd))} |"
            f" {md(format_figure('latency_quantile', s.p50_latency_ms))} |"
            f" {md(format_figure('latency_quantile', s.p95_latency_ms))} | {checks} |"
        )
    lines += ["", "### Regressions", ""]
    if not result.regressions:
        lines.append("None: the judge never preferred the baseline in every verdict on a prompt.")
    else:
        lines.append(
            f"{len(result.regressions)} prompts where every verdict of the judge (both swapped"
            " orders) preferred the baseline:"
        )
        lines.append("")
        for r in result.regressions[:MAX_REGRESSIONS]:
            lines.append(
                f"- {md(r.prompt)}: {md(r.candidate)} lost to {md(result.baseline)}"
                f" ({md(r.judge)}, {r.n_verdicts} verdicts)"
            )
        if len(result.regressions) > MAX_REGRESSIONS:
            lines.append(f"- … and {len(result.regressions) - MAX_REGRESSIONS} more")
    return "\n".join(lines) + "\n"
