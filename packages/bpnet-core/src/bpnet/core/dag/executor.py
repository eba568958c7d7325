"""Running a resolved pipeline: up-to-date checks, atomic outputs, records and the run log.

For each selected stage, in topological order, the runner computes the stage's
fingerprint (name, code version, parameters, input contents). A stage whose record
holds the same fingerprint and whose outputs all exist is skipped. Otherwise its old
record is removed, ``run`` writes to temporary paths, and only when it returns are the
outputs renamed into place and a new record and ``params.yaml`` written. A failure
leaves the earlier outputs and no record, so the next run re-runs the stage and skips
the finished ones before it.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from rich.markup import escape

from ..atomic import remove_path, replace_path, temporary_sibling, write_text_atomic
from ..console import LOG_FILE_ONLY
from ..errors import BpnetError, SpecError, StageError
from ..plugin.registry import Registry
from ..remote import localize
from ..spec.resolve import Pipeline, ResolvedStage, params_from_model
from ..spec.yamlpaths import format_location
from ..stages.base import Location, StageContext, replace_paths
from .fingerprint import HashCache, fingerprint
from .graph import StageGraph

log = logging.getLogger("bpnet.run")

RECORD_NAME = ".bpnet-stage.json"
PARAMS_NAME = "params.yaml"
RESUME_NAME = ".resume"


@dataclass
class StageResult:
    """What happened to one stage in a run."""

    stage_id: str
    stage: str
    status: str  # "ran", "skipped", "failed", "not run"
    seconds: float = 0.0
    message: str = ""
    #: exit code a failure maps to: 2 when the stage refused bad input, 1 otherwise
    exit_code: int = 1


class LocalExecutor:
    """Runs the stages one after another on this machine."""

    name = "local"

    def execute(self, graph: StageGraph, run_stage: Callable[[str], StageResult]) -> list[StageResult]:
        results = []
        for stage_id in graph.order:
            result = run_stage(stage_id)
            results.append(result)
            if result.status == "failed":
                break
        return results


class Runner:
    """Runs (part of) a pipeline with the plugins of ``registry``; see the module docstring.

    The registry provides the executor the spec names and receives the lifecycle
    notifications (``bpnet_stage_started`` / ``bpnet_stage_finished``) of every stage.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        registry: Registry,
        *,
        force: bool = False,
        from_stage: str | None = None,
        until: str | None = None,
        announce: Callable[[str], None] | None = None,
    ):
        self.pipeline = pipeline
        self.registry = registry
        self.graph = StageGraph.build({sid: s.depends_on for sid, s in pipeline.stages.items()})
        picked = {option: self._named(option, value) for option, value in (("--from", from_stage), ("--until", until))}
        selected = set(self.graph.order)
        if until:
            selected = set().union(*(self.graph.ancestors(s) | {s} for s in picked["--until"]))
        self.forced = set(self.graph.order) if force else set()
        for stage_id in picked["--from"]:
            self.forced |= self.graph.descendants(stage_id) | {stage_id}
        self.selected = self.graph.subgraph(selected)
        self.announce = announce or (lambda text: None)
        self.hashes = HashCache(pipeline.output_dir / ".bpnet" / "hashes.json")

    def _named(self, option: str, name: str | None) -> list[str]:
        """The stage ids ``name`` selects: one stage, or every fold's instance of a per-fold stage."""
        if name is None:
            return []
        ids = self.pipeline.select(name)
        if not ids:
            raise SpecError(f"{option} {name}: no such stage (stages: {', '.join(self.graph.order)})")
        return ids

    # -- up-to-date checks ------------------------------------------------------------
    def stage_fingerprint(self, stage: ResolvedStage) -> tuple[str, list[Path]]:
        inputs: dict[str, str | None] = {}
        missing = []
        for path in stage.paths("input"):
            digest = self.hashes.path_hash(path)
            if digest is None:
                missing.append(path)
            inputs[str(path)] = digest
        params = params_from_model(stage.params)
        for name in stage.params.fingerprint_exclusions():  # e.g. a memory budget does not change the outputs
            params.pop(name, None)
        return fingerprint(stage.stage_cls.name, stage.stage_cls.code_version(), params, inputs), missing

    def is_up_to_date(self, stage: ResolvedStage, digest: str) -> bool:
        record = stage.stage_dir / RECORD_NAME
        try:
            saved = json.loads(record.read_text())
        except (OSError, ValueError):
            return False
        return saved.get("fingerprint") == digest and all(p.exists() for p in stage.paths("output"))

    def status(self) -> list[tuple[str, str]]:
        """(stage id, "up to date" / "will run" / "waits for inputs") without running anything."""
        rows = []
        for stage_id in self.selected.order:
            stage = self.pipeline.stages[stage_id]
            digest, missing = self.stage_fingerprint(stage)
            if stage_id in self.forced:
                rows.append((stage_id, "will run (forced)"))
            elif missing:
                rows.append((stage_id, "will run (inputs not there yet)"))
            else:
                rows.append((stage_id, "up to date" if self.is_up_to_date(stage, digest) else "will run"))
        return rows

    # -- running ----------------------------------------------------------------------
    def run(self) -> list[StageResult]:
        executor = self.registry.executor(self.pipeline.executor)()
        try:
            results = executor.execute(self.selected, self.run_stage)
        finally:
            self.hashes.save()
        done = {r.stage_id for r in results}
        for stage_id in self.selected.order:
            if stage_id not in done:
                results.append(StageResult(stage_id, self.pipeline.stages[stage_id].stage_cls.name, "not run"))
        return results

    def run_stage(self, stage_id: str) -> StageResult:
        """Run one stage unless it is up to date; plugins hear when it starts and how it ended."""
        stage = self.pipeline.stages[stage_id]
        self.registry.stage_started(stage_id, stage.stage_cls.name, params_from_model(stage.params, stage.remote))
        result = self._run_or_skip(stage)
        self.registry.stage_finished(result)
        return result

    def _run_or_skip(self, stage: ResolvedStage) -> StageResult:
        stage_id, name = stage.id, stage.stage_cls.name
        try:
            self._download_remote_inputs(stage)
        except BpnetError as exc:
            return StageResult(stage_id, name, "failed", 0.0, f"stage '{stage_id}' ({name}): {exc}", exc.exit_code)
        digest, missing = self.stage_fingerprint(stage)
        if stage_id not in self.forced and not missing and self.is_up_to_date(stage, digest):
            log.debug("stage %s (%s) is up to date; skipped", stage_id, name)
            return StageResult(stage_id, name, "skipped")
        if missing:
            first = missing[0]
            return StageResult(stage_id, name, "failed", 0.0, f"stage '{stage_id}' ({name}): input {first} does not exist", 2)
        self.announce(f"stage [bold]{escape(stage_id)}[/] ({name})")  # train[fold_0] is not markup
        log.info("running stage %s (%s) with %s", stage_id, name, json.dumps(params_from_model(stage.params)), extra=LOG_FILE_ONLY)
        started = time.perf_counter()
        try:
            self._execute(stage, digest)
        except KeyboardInterrupt:
            log.error("stage %s interrupted", stage_id)
            raise
        except BpnetError as exc:
            log.error("stage %s failed: %s\n%s", stage_id, exc, traceback.format_exc(), extra=LOG_FILE_ONLY)
            return StageResult(
                stage_id,
                name,
                "failed",
                time.perf_counter() - started,
                f"stage '{stage_id}' ({name}): {exc}",
                exc.exit_code,
            )
        except Exception as exc:  # a bug or an unexpected library error: keep the traceback in the log
            log.error("stage %s failed:\n%s", stage_id, traceback.format_exc(), extra=LOG_FILE_ONLY)
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            message = f"stage '{stage_id}' ({name}) failed: {type(exc).__name__}" + (f": {text}" if text else "")
            return StageResult(stage_id, name, "failed", time.perf_counter() - started, message)
        seconds = time.perf_counter() - started
        log.info("stage %s finished in %.1f s", stage_id, seconds)
        return StageResult(stage_id, name, "ran", seconds)

    @staticmethod
    def _download_remote_inputs(stage: ResolvedStage) -> None:
        """Fetch inputs given as URLs into the download cache (once; later runs reuse it)."""
        for local, url in stage.remote.items():
            if not local.exists():
                log.info("downloading %s", url)
                localize(url, what=f"input of stage '{stage.id}'")

    def _execute(self, stage: ResolvedStage, digest: str) -> None:
        stage.stage_dir.mkdir(parents=True, exist_ok=True)
        remove_path(stage.stage_dir / RECORD_NAME)
        temporaries: dict[Path, Path] = {}
        fields: dict[Path, str] = {}

        def temporary(final: Path, loc: Location) -> Path:
            final.parent.mkdir(parents=True, exist_ok=True)
            for stale in final.parent.glob(f".{final.name}.tmp-*"):  # left by a killed run
                remove_path(stale)
            temporaries[final] = temporary_sibling(final)
            fields[final] = format_location(loc)
            return temporaries[final]

        params = replace_paths(stage.params, "output", temporary)
        resume_dir = stage.stage_dir / RESUME_NAME
        if stage.id in self.forced:  # a forced run starts from scratch
            remove_path(resume_dir)
        resume_dir.mkdir(exist_ok=True)
        context = StageContext(
            stage_id=stage.id,
            stage_dir=stage.stage_dir,
            resume_dir=resume_dir,
            log=logging.getLogger(f"bpnet.stage.{stage.id}"),
            force=stage.id in self.forced,
        )
        try:
            stage.stage_cls().run(params, context)
            for final, tmp in temporaries.items():
                if not tmp.exists():
                    raise StageError(f"the stage did not write its output '{fields[final]}' ({final})")
            for final, tmp in temporaries.items():
                replace_path(tmp, final)
                context.log.info("wrote %s", final)
        finally:
            for tmp in temporaries.values():
                remove_path(tmp)
        remove_path(resume_dir)
        self._write_records(stage, digest)

    def _write_records(self, stage: ResolvedStage, digest: str) -> None:
        from .. import __version__

        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        resolved = {
            "output_dir": str(self.pipeline.output_dir),
            "stages": {stage.id: {"stage": stage.stage_cls.name, "params": params_from_model(stage.params, stage.remote)}},
        }
        header = (
            f"# Resolved parameters of stage '{stage.id}' ({stage.stage_cls.name} {stage.stage_cls.code_version()}),\n"
            f"# written by bpnet-core {__version__} at {now}.\n"
            f"# This file is a spec: `bpnet run {stage.stage_dir / PARAMS_NAME}` re-runs this stage alone.\n"
        )
        write_text_atomic(stage.stage_dir / PARAMS_NAME, header + yaml.safe_dump(resolved, sort_keys=False))
        record = {
            "stage": stage.stage_cls.name,
            "version": stage.stage_cls.code_version(),
            "fingerprint": digest,
            "finished": now,
            "outputs": {str(p): self.hashes.path_hash(p) for p in stage.paths("output")},
        }
        write_text_atomic(stage.stage_dir / RECORD_NAME, json.dumps(record, indent=2))


@contextlib.contextmanager
def run_log(output_dir: Path) -> Iterator[None]:
    """Append bpnet's log records to ``output_dir/run.log`` while the block runs."""
    output_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(output_dir / "run.log")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    logger = logging.getLogger("bpnet")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()
