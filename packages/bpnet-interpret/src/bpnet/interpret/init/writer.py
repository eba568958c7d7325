"""Write the spec: check the options against the files, plan, render, validate, then write atomically.

The spec is validated exactly as ``bpnet validate`` would (the installed stages'
``Params``, references, the DAG) before it replaces anything, so ``bpnet init`` never
leaves a spec that ``bpnet run`` would refuse.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

import yaml

from bpnet.core.atomic import remove_path, replace_path, temporary_sibling
from bpnet.core.errors import BpnetError, InputError, SpecError
from bpnet.core.plugin.registry import Registry, registry
from bpnet.core.versions import package_version

from .checks import check_files, check_folds, output_overlap_hint
from .options import InitOptions
from .plan import Plan, build_plan, fit_plan
from .render import render_spec, spec_data


@dataclass
class WrittenSpec:
    """What :func:`write_spec` wrote: the spec file, the plan it holds, and advice for the user."""

    path: Path
    plan: Plan
    hints: list[str]


def write_spec(options: InitOptions, *, cwd: Path | None = None, reg: Registry | None = None) -> WrittenSpec:
    """Write the spec for ``options`` (paths relative to ``cwd``, default the working directory)."""
    cwd = Path(cwd or Path.cwd())
    output = cwd / options.output.expanduser()  # an absolute -o stays as it is
    check_files(options, cwd)
    check_folds(options, cwd)
    if output.is_dir():
        raise InputError(
            f"-o/--output {options.output} is a folder; give the spec file to write, e.g. {Path(options.output) / 'spec.yaml'}"
        )
    if output.exists() and not options.force:
        raise InputError(f"-o/--output {options.output} exists; give --force to overwrite it, or another -o")
    plan = build_plan(options, output.parent, cwd)
    reg = reg or registry()
    models = fit_plan(plan, reg)
    summaries = {s.stage: reg.entry("stage", s.stage).summary for s in plan.stages}
    text = render_spec(plan, models, summaries, header(options, plan, output.name))
    if yaml.safe_load(text) != spec_data(plan, models):
        raise BpnetError("bpnet init wrote YAML that does not read back as planned; please report this with the command you ran")
    _validate_and_write(text, output, options.output, reg)
    hints = options.hints()
    overlap = output_overlap_hint(options, output.parent / plan.output_dir, plan.output_dir, cwd)
    if overlap:
        hints.append(overlap)
    return WrittenSpec(output, plan, hints)


def header(options: InitOptions, plan: Plan, spec_name: str) -> str:
    """The comment at the top of the spec: what it is, how it was made, how to run it."""
    label = "BPNet" if options.model == "bpnet" else "ChromBPNet"
    written_by = f"bpnet-interpret {package_version('bpnet-interpret', missing='')}".rstrip()
    lines = [
        f"{plan.name}: a {label} pipeline from reads to motifs, written by `bpnet init` ({written_by}):",
        f"  {shlex.join(command_line(options))}",
        "",
        f"Run it: bpnet run {spec_name}    Check it: bpnet validate {spec_name}",
        "Stages: " + " -> ".join(plan.ids()),
        "",
        "Every parameter of every stage is written, followed by what it does; those not set from your options are the "
        "stage's defaults (the official settings, meant for real data: training takes hours on a GPU). Relative paths "
        "are relative to this file's folder; \"@stage.field\" is another stage's output and \"@stage.field/file\" a file "
        "inside an output folder. `bpnet run` skips finished stages and re-runs only what a changed parameter or input "
        "affects; `bpnet schema` lists every parameter's type.",
    ]
    return "\n".join(lines)


def command_line(options: InitOptions) -> list[str]:
    """The ``bpnet init`` command that gives ``options`` (the header records it)."""
    args = ["bpnet", "init", "-s", options.genome]
    for path in options.inputs:
        args += ["-i", path]
    for path in options.controls:
        args += ["-c", path]
    for flag, value in (("-p", options.peaks), ("-m", options.motifs), ("--blacklist", options.blacklist), ("-n", options.name),
                        ("--output-dir", options.output_dir)):
        if value:
            args += [flag, value]
    args += ["-o", str(options.output), "--model", options.model]
    if options.assay:
        args += ["--assay", options.assay]
    for flag, value in (("--shift-plus", options.shift_plus), ("--shift-minus", options.shift_minus)):
        if value is not None:
            args += [flag, str(value)]
    args += [flag for flag, on in (("--unstranded", options.unstranded), ("--fragments", options.fragments),
                                   ("--paired-end", options.paired_end)) if on]
    if options.fragment_format:
        args += ["--fragment-format", options.fragment_format]
    if options.valid_chroms and options.test_chroms:
        args += ["--valid-chroms", ";".join(",".join(g) for g in options.valid_chroms)]
        args += ["--test-chroms", ";".join(",".join(g) for g in options.test_chroms)]
    if options.folds is not None:
        args += ["--folds", ",".join(options.folds)]
    return args


def _validate_and_write(text: str, output: Path, shown: Path, reg: Registry) -> None:
    """Validate the spec as ``bpnet validate`` does, from a temporary file beside ``output``; then rename it into place."""
    from bpnet.core.dag.executor import Runner
    from bpnet.core.spec import load_pipeline

    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_sibling(output)
    try:
        tmp.write_text(text, encoding="utf-8")
        try:
            Runner(load_pipeline(tmp, reg), reg)
        except SpecError as exc:
            message = str(exc).replace(str(tmp.resolve()), str(shown)).replace(str(tmp), str(shown))
            raise InputError(f"the spec bpnet init would write is not valid: {message}") from None
        replace_path(tmp, output)
    finally:
        remove_path(tmp)
