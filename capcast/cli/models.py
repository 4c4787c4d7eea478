"""``capcast promote`` and ``capcast models list``: the champion alias, moved by the promotion rule
or by hand, and the registered versions with their scores and the champion's history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from capcast.cli.edge import fail, load_panel_or_fail
from capcast.cli.progress import JobLog
from capcast.cli.train import CoverageTolerance, JsonLog, Margin, Metric, RetrainOutcome, _tracking, job_errors
from capcast.settings import Settings

models_app = typer.Typer(help="Registered model versions.", no_args_is_help=True)


def promote(
    version: Annotated[
        str | None, typer.Option(help="the challenger (default: the newest version); older = roll back")
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="panel to compare on (default: the challenger's training data)")
    ] = None,
    metric: Metric = None,
    margin: Margin = 0.01,
    coverage_tolerance: CoverageTolerance = 0.02,
    force: Annotated[
        bool, typer.Option("--force", help="move @champion without comparing (recorded as forced)")
    ] = False,
    json_log: JsonLog = False,
) -> None:
    """Compare a version with @champion on the same backtest folds and move @champion if it wins
    (exit 0 promoted, 3 refused)."""
    from training.promotion import PromotionRule, promote

    log = JobLog(json_log)
    panel = load_panel_or_fail(data) if data is not None else None
    with job_errors(log, "promote"), log.stage("compare"):
        rule = PromotionRule(metric=metric, margin=margin, coverage_tolerance=coverage_tolerance)
        decision = promote(_tracking(Settings()), version, data=panel, rule=rule, force=force)
    alias = Settings().model_alias
    if decision.promoted:
        log.done(f"version {decision.challenger} is now @{alias}: {decision.reason}", decision=vars(decision))
        return
    line = (
        f"version {decision.challenger} not promoted; @{alias} stays version {decision.champion}: {decision.reason}"
        + ("" if decision.rule == "none" else " (--force moves it anyway)")
    )
    log.event("refused", error=line, decision=vars(decision))
    fail(line, RetrainOutcome.CHAMPION_KEPT)


def _score(tags: dict[str, str], run_tags: dict[str, str]) -> dict[str, str]:
    """The version's own backtest (from its training run): its primary score and 80% coverage."""
    from training.evaluation import Evaluation

    own = [Evaluation.from_json(v) for k, v in tags.items() if k.startswith("evaluation.")]
    own = [e for e in own if e.data_fingerprint == run_tags.get("data_fingerprint")]
    if not own:
        return {"score": "", "coverage 80%": ""}
    evaluation = own[0]
    value = evaluation.scores.get(evaluation.metric)
    coverage = evaluation.scores.get("coverage_80")
    return {
        "score": "" if value is None else f"{evaluation.metric} {value:.4f}",
        "coverage 80%": "" if coverage is None else f"{coverage:.1%}",
    }


@models_app.command("list")
def list_versions(
    json_out: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
) -> None:
    """Every version with its aliases, data, own backtest score and last promotion decision; then the
    champion history."""
    from rich.console import Console
    from rich.table import Table

    from training.registry import champion_history
    from training.tracking import connect

    settings = Settings()
    with job_errors(JobLog(False), "models list"):
        client, _ = connect(_tracking(settings))
        versions = client.search_model_versions(f"name = '{settings.model_name}'")
        if not versions:
            fail(f"model {settings.model_name!r} has no versions yet: run `capcast train`")
        rows = []
        for version in sorted(versions, key=lambda v: int(v.version)):
            full = client.get_model_version(settings.model_name, version.version)
            run_tags = client.get_run(full.run_id).data.tags if full.run_id else {}
            promotion = json.loads(full.tags["promotion"]) if "promotion" in full.tags else None
            rows.append(
                {
                    "version": str(full.version),
                    "aliases": ", ".join(f"@{a}" for a in full.aliases),
                    "data until": run_tags.get("data_end", "").removesuffix(" 00:00:00"),
                    **_score(full.tags, run_tags),
                    "last decision": ""
                    if promotion is None
                    else ("promoted" if promotion["promoted"] else "refused") + f": {promotion['reason']}",
                }
            )
        history = champion_history(client, settings.model_name)
    if json_out:
        typer.echo(json.dumps({"versions": rows, "champion_history": history}, indent=2))
        return
    table = Table(title=f"model {settings.model_name}")
    for column in rows[0]:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row.values())
    console = Console(width=None if Console().is_terminal else 160)
    console.print(table)
    console.print(f"@{settings.model_alias} history (oldest first):")
    for entry in history:
        rule = entry.get("rule", "")
        console.print(f"  {entry['at']}  version {entry['version']} ({'forced' if entry.get('forced') else rule})")
