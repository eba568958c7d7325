"""Checks of the options against the files, before anything is written.

Missing local files are named with the option that points at them. When the genome's
chromosome names can be read cheaply (a ``.fai`` index beside the FASTA, or a sizes
file), the folds are fitted to them as the ``splits`` stage will, so a genome the
default hg38 folds do not fit (a simulated ``chr1..chr4``, another species' naming)
is caught now rather than minutes into ``bpnet run``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from bpnet.core.errors import InputError
from bpnet.core.remote import is_url

from .options import FLAGS, InitOptions


def check_files(options: InitOptions, cwd: Path) -> None:
    """Every local data file must exist (URLs are fetched when the pipeline runs)."""
    missing = options.missing_files(cwd)
    if missing:
        listed = "; ".join(f"{FLAGS[option]} {loc}" for option, loc in missing)
        raise InputError(f"no such file: {listed} (paths are relative to the working directory {cwd})")


def genome_chromosomes(genome: str, cwd: Path) -> list[str] | None:
    """The genome's chromosome names from its ``.fai`` index or sizes file; None when that would mean reading the FASTA."""
    from bpnet.data.errors import DataError
    from bpnet.data.sources.fasta import ChromSizesSource

    if is_url(genome):
        return None
    path = cwd / Path(genome).expanduser()
    for candidate in (path, path.with_name(path.name + ".fai")):
        if candidate.is_file() and ChromSizesSource.reads(candidate):
            try:
                return list(ChromSizesSource(candidate).sizes)
            except DataError:
                return None
    return None


def check_folds(options: InitOptions, cwd: Path) -> None:
    """The folds fit the genome's chromosomes (when they can be read without reading the FASTA)."""
    from bpnet.data.errors import DataError
    from bpnet.data.splits import build_splits

    chromosomes = genome_chromosomes(options.genome, cwd)
    if chromosomes is None:
        return
    quiet = logging.Logger("bpnet.interpret.init.folds")
    quiet.addHandler(logging.NullHandler())
    folds = options.custom_folds or "human"
    try:
        build_splits(folds, chromosomes, genome_label=options.genome, log=quiet)
    except DataError as exc:
        fix = ("check --valid-chroms and --test-chroms" if options.custom_folds else
               "the default folds are the official hg38 ones: give --valid-chroms and --test-chroms (comma-separated) for this genome")
        raise InputError(f"{exc}; {fix}") from None


def output_overlap_hint(options: InitOptions, output_dir: Path, shown: str, cwd: Path) -> str | None:
    """A hint when the pipeline's output folder (``shown`` as the spec names it) holds input files.

    Stage folders would mix with the data.
    """
    folder = output_dir.resolve()
    inside = [loc for _, loc in options.locations() if not is_url(loc) and folder in (cwd / loc).resolve().parents]
    if not inside:
        return None
    return (f"the results folder {shown} holds input files ({', '.join(inside[:3])}{', ...' if len(inside) > 3 else ''}): "
            "stage folders will sit among your data; give -n or --output-dir to keep them apart")
