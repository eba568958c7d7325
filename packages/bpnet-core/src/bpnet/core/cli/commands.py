"""The built-in ``bpnet`` commands: run, validate, schema, plugins."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import cyclopts
from rich.markup import escape
from rich.table import Table

from ..console import console
from ..dag.executor import Runner, StageResult, run_log
from ..plugin.registry import registry
from ..spec import load_pipeline
from ..spec.resolve import Pipeline
from .exit_codes import EXIT_OK, EXIT_STAGE_FAILED


def run(
    spec: Path,
    *,
    force: bool = False,
    from_: Annotated[str | None, cyclopts.Parameter(name="--from")] = None,
    until: str | None = None,
    dry_run: bool = False,
) -> int:
    """Run a pipeline spec: every stage whose inputs, parameters or code changed, in DAG order.

    Parameters
    ----------
    spec
        The pipeline YAML.
    force
        Re-run every selected stage even if it is up to date.
    from_
        Re-run this stage and every stage downstream of it.
    until
        Stop after this stage (run only it and what it depends on).
    dry_run
        Show what would run, and run nothing.
    """
    reg = registry()
    runner = Runner(load_pipeline(spec, reg), reg, force=force, from_stage=from_, until=until, announce=announce_stage)
    if dry_run:
        _print_plan(runner)
        return EXIT_OK
    console.rule(f"bpnet run {spec}")
    return run_and_report(runner)


def run_and_report(runner: Runner) -> int:
    """Run with the run log attached, print the summary; return the exit code."""
    with run_log(runner.pipeline.output_dir):
        results = runner.run()
    return report(results, runner.pipeline)


def report(results: list[StageResult], pipeline: Pipeline) -> int:
    """Print the summary table and the failure (one line); return the exit code."""
    table = Table(title="stages", show_lines=False)
    for column in ("stage", "runs", "status", "seconds"):
        table.add_column(column)
    styles = {"ran": "green", "skipped": "dim", "failed": "bold red", "not run": "yellow"}
    for r in results:
        # a fold's instance id, train[fold_0], would read as markup
        table.add_row(escape(r.stage_id), r.stage, f"[{styles[r.status]}]{r.status}[/]", f"{r.seconds:.1f}" if r.seconds else "")
    console.print(table)
    failed = [r for r in results if r.status == "failed"]
    if failed:
        console.print(
            f"[bold red]error:[/] {escape(failed[0].message)} (log: {pipeline.output_dir / 'run.log'})",
            highlight=False,
            soft_wrap=True,
        )
        return failed[0].exit_code or EXIT_STAGE_FAILED
    console.print(f"outputs in {pipeline.output_dir}", highlight=False)
    return EXIT_OK


def announce_stage(text: str) -> None:
    console.rule(text, align="left", style="cyan")


def _print_plan(runner: Runner) -> None:
    table = Table(title="plan")
    table.add_column("stage")
    table.add_column("depends on")
    table.add_column("status")
    for stage_id, status in runner.status():
        deps = ", ".join(sorted(runner.selected.dependencies[stage_id]))
        table.add_row(escape(stage_id), escape(deps), status)
    console.print(table)


def validate(spec: Path) -> int:
    """Check a pipeline spec (names, parameters, references, cycles) without running it."""
    reg = registry()
    pipeline = load_pipeline(spec, reg)
    runner = Runner(pipeline, reg)
    order = escape(" -> ".join(runner.graph.order))
    console.print(f"[green]ok[/]: {spec} has {len(pipeline.stages)} stage(s): {order}", highlight=False)
    return EXIT_OK


def schema(*, out: Path | None = None) -> int:
    """Print (or write) the JSON schema of pipeline specs, with every installed stage's parameters."""
    from ..spec.schema import pipeline_schema

    text = json.dumps(pipeline_schema(), indent=2)
    if out is None:
        print(text)
    else:
        from ..atomic import write_text_atomic

        write_text_atomic(out, text + "\n")
        console.print(f"wrote {out}")
    return EXIT_OK


def plugins() -> int:
    """List installed plugins: what they register, from which package and version."""
    with_summary = console.width >= 110  # names stay whole; the summary needs room
    table = Table(title="bpnet plugins")
    for column in ("kind", "name", "package", "version"):
        table.add_column(column, no_wrap=True)
    if with_summary:
        table.add_column("summary")
    for entry in registry().entries():
        row = [entry.kind, entry.name, entry.package, entry.version]
        table.add_row(*row, *([entry.summary] if with_summary else []))
    console.print(table)
    packages = Table(title="plugin packages (entry points of the 'bpnet' group)")
    for column in ("plugin", "package", "version"):
        packages.add_column(column, no_wrap=True)
    packages.add_column("hooks")
    for name, package, version, hooks in registry().plugins():
        packages.add_row(name, package, version, ", ".join(h.removeprefix("bpnet_") for h in hooks))
    console.print(packages)
    return EXIT_OK


__all__ = ["plugins", "run", "schema", "validate"]
