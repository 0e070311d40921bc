"""``judgeboard``: the same domain calls as the app, without Streamlit.

The root only wires command groups together; each group lives in its own module and imports
its domain packages inside the commands, so `judgeboard --help` starts fast.
"""

from __future__ import annotations

import typer

from cli import (
    campaigns,
    candidates,
    database,
    datasets,
    demo,
    evaluate,
    importing,
    judge,
    monitor,
    results,
)

app = typer.Typer(help="Judge LLM outputs with humans and LLM judges.", no_args_is_help=True)
app.add_typer(database.db_app, name="db")
app.add_typer(importing.import_app, name="import")
app.add_typer(campaigns.campaign_app, name="campaign")
app.add_typer(judge.judge_app, name="judge")
app.add_typer(datasets.dataset_app, name="dataset")
app.add_typer(candidates.candidate_app, name="candidate")
app.command("generate")(candidates.generate_cmd)
app.add_typer(monitor.ingest_app, name="ingest")
app.command("serve-otlp")(monitor.serve_otlp)
app.add_typer(monitor.monitor_app, name="monitor")
app.add_typer(evaluate.eval_app, name="eval")
app.command("demo")(demo.demo)
app.command("leaderboard")(results.leaderboard_cmd)
app.command("export")(results.export_cmd)
app.command("gate")(results.gate_cmd)
app.command("agreement")(results.agreement_cmd)
app.command("calibration")(results.calibration_cmd)
app.command("rubrics")(results.rubrics_cmd)


if __name__ == "__main__":
    app()
