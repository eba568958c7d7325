"""Peak calling with MACS3, run from bpnet's own Python environment.

:func:`call_peaks` turns aligned reads (BAM, SAM), reads in BED (tagAlign) or
fragments (BEDPE / 10x ``fragments.tsv.gz``) into a sorted narrowPeak file with the
summit offset in column 10. It runs ``macs3 callpeak`` as a subprocess of the
interpreter running bpnet (the ``macs3`` script installed next to ``sys.executable``
by the ``bpnet-data[peaks]`` extra), never a ``macs3`` found elsewhere on ``PATH``.

Two presets:

``chip``
    bpnet-lite's call: MACS3's defaults (fragment length from its shift model) with
    ``-q 0.01``; ``--fix-bimodal`` makes MACS3 fall back to ``--extsize 200`` instead of
    stopping when it finds fewer than 100 paired peaks to build the model. Reads go
    to MACS3 as they are: single-end BAM as ``-f BAM``, paired-end BAM as ``-f BAMPE``,
    fragments as ``-f BEDPE``; controls are used when given.
``atac``
    The ENCODE ATAC-seq pipeline's call, which ChromBPNet's peaks come from:
    Tn5 insertion (cut) sites as single-base reads, ``-f BED -p 0.01 --nomodel
    --shift -75 --extsize 150 --keep-dup all --call-summits``, so each insertion
    is smoothed over 150 bp centred on it. Reads from BAM/SAM are shifted by
    ``tn5_shift`` (+4 on the + strand, -5 on the - strand, as ENCODE does); fragment
    files are taken as already shifted (the 10x convention), each fragment giving a
    cut site at both ends.

MACS3 guesses a file's format from its name and gets ``.tsv.gz`` wrong, so the format
is always passed explicitly: it is read from the file's content (``format="auto"``)
or given by the user. The effective genome size defaults to the number of non-N
bases of the genome FASTA (or the sum of a chromosome-sizes file).
"""

from __future__ import annotations

import collections
import gzip
import importlib.util
import logging
import shlex
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bpnet.core.atomic import atomic_path
from bpnet.core.console import LOG_FILE_ONLY
from bpnet.core.versions import package_version

from .chroms import check_read_chromosomes
from .errors import DataError
from .textfiles import GZIP_MAGIC, open_text

log = logging.getLogger("bpnet.data.peaks")

Preset = Literal["chip", "atac"]
InputFormat = Literal["auto", "BAM", "BAMPE", "SAM", "BED", "BEDPE"]

#: MACS3's shortcuts for effective genome sizes
GENOME_SHORTCUTS = ("hs", "mm", "ce", "dm")

#: callpeak options that :func:`call_peaks` sets itself, and the parameter to use instead
MANAGED_OPTIONS = {
    "-t": "reads", "--treatment": "reads", "-c": "controls", "--control": "controls",
    "-f": "format", "--format": "format", "-n": "(set by bpnet)", "--name": "(set by bpnet)",
    "--outdir": "(set by bpnet)", "--tempdir": "(set by bpnet)", "-g": "genome_size", "--gsize": "genome_size",
    "-q": "qvalue", "--qvalue": "qvalue", "-p": "pvalue", "--pvalue": "pvalue",
    "--keep-dup": "keep_duplicates", "--call-summits": "call_summits",
}

#: unmapped, secondary, QC-failed, supplementary: reads MACS3 skips too
_SKIP_FLAGS = 0x4 | 0x100 | 0x200 | 0x800
_NAME = "macs3"  # MACS3's -n: its outputs are macs3_peaks.narrowPeak, macs3_summits.bed
_TAIL_LINES = 6


class Macs3Error(DataError):
    """MACS3 is missing, refused its arguments, failed on the data, or called no peaks."""


@dataclass
class PeakCalling:
    """What :func:`call_peaks` did: the peaks it wrote and how MACS3 was run."""

    n_peaks: int
    command: list[str]
    seconds: float
    genome_size: str
    macs3_format: str
    dropped: dict[str, int] = field(default_factory=dict)


# -- MACS3 itself --------------------------------------------------------------------------
def _macs3_installed() -> bool:
    return importlib.util.find_spec("MACS3") is not None


def macs3_version() -> str | None:
    """The installed MACS3 version, or None when MACS3 is not installed."""
    return package_version("macs3", missing="") or None


def macs3_command() -> list[str]:
    """The argument list that starts MACS3 from this environment (before ``callpeak``).

    MACS3's command line lives in its ``macs3`` script, not in an importable module,
    so this is ``[sys.executable, <env>/bin/macs3]``: the script of the environment
    bpnet runs in, run by the same interpreter.
    """
    if not _macs3_installed():
        raise Macs3Error(
            "MACS3 is not installed in this environment (needed to call peaks): "
            "install bpnet-data's peaks extra (pip install 'bpnet-data[peaks]'), or give your own peaks to the negatives/loci stages"
        )
    folders = [Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))]
    for folder in folders:
        for name in ("macs3", "macs3.exe", "macs3-script.py"):
            script = folder / name
            if script.is_file():
                if name.endswith(".exe"):
                    return [str(script)]
                return [sys.executable, str(script)]
    raise Macs3Error(
        f"MACS3 is importable but its `macs3` script is not in {folders[0]}: "
        "reinstall it in this environment, e.g. `pip install --force-reinstall 'bpnet-data[peaks]'`"
    )


def run_macs3(args: Sequence[str], *, logger: logging.Logger, log_file: Path | None = None) -> tuple[list[str], float]:
    """Run ``macs3 <args>``; MACS3's messages go to ``logger`` (run log only) and ``log_file``.

    Returns the full command and the seconds it took. A non-zero exit status raises
    :class:`Macs3Error` with MACS3's last messages and the command.
    """
    command = macs3_command() + [str(a) for a in args]
    logger.info("running %s", shlex.join(command), extra=LOG_FILE_ONLY)
    tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
    started = time.perf_counter()
    sink = open(log_file, "w") if log_file else None
    try:
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace") as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                if sink:
                    sink.write(line)
                line = line.rstrip()
                if line.strip():
                    tail.append(line)
                    logger.info("MACS3: %s", line, extra=LOG_FILE_ONLY)
        status = proc.returncode
    except OSError as exc:
        raise Macs3Error(f"cannot start MACS3 ({exc}) (command: {shlex.join(command)})") from None
    finally:
        if sink:
            sink.close()
    seconds = time.perf_counter() - started
    if status != 0:
        said = " | ".join(_strip_macs3_prefix(t) for t in tail) or "no message"
        raise Macs3Error(f"MACS3 callpeak failed (exit status {status}): {said} (command: {shlex.join(command[1:])})")
    return command, seconds


def _strip_macs3_prefix(line: str) -> str:
    """``'CRITICAL @ 24 Nov 2026 12:06:20: [40 MB] text'`` -> ``'CRITICAL: text'``."""
    level, sep, rest = line.partition(" @ ")
    if not sep or not level.strip().isupper():
        return line.strip()
    message = rest.split(": ", 1)[1] if ": " in rest else rest
    if message.startswith("[") and "] " in message:
        message = message.split("] ", 1)[1]
    return f"{level.strip()}: {message.strip()}"


# -- genome --------------------------------------------------------------------------------
def effective_genome_size(genome: str | Path, *, logger: logging.Logger = log) -> int:
    """Bases that are not N in a FASTA genome, or the sum of a chromosome-sizes file.

    Reads the FASTA once, 8 Mb at a time (for hg38 about 3 GB of sequence; memory
    stays near 16 MB). Other ambiguity codes count as bases.
    """
    from .sources import SequenceSource, SizesSource, open_source

    source = open_source(genome, SizesSource)
    if not isinstance(source, SequenceSource):
        total = sum(source.sizes.values())
        logger.info("effective genome size %d bp (sum of the chromosome sizes in %s)", total, genome, extra=LOG_FILE_ONLY)
        return total
    total = 0
    step = 8_000_000
    for chrom, length in source.sizes.items():
        for start in range(0, length, step):
            chunk = source.sequence(chrom, start, min(start + step, length))
            total += len(chunk) - chunk.count("N") - chunk.count("n")
    logger.info("effective genome size %d bp (non-N bases of %s)", total, genome, extra=LOG_FILE_ONLY)
    if total == 0:
        raise DataError(f"{genome}: the genome has no bases other than N: check the FASTA, or set genome_size")
    return total


def resolve_genome_size(genome_size: str | int | float, genome: str | Path, *, logger: logging.Logger = log) -> str:
    """MACS3's ``-g`` value: a shortcut (hs, mm, ce, dm), a number, or ``auto`` (computed)."""
    if isinstance(genome_size, str) and genome_size == "auto":
        return str(effective_genome_size(genome, logger=logger))
    if isinstance(genome_size, str) and genome_size in GENOME_SHORTCUTS:
        return genome_size
    try:
        value = float(genome_size)
    except (TypeError, ValueError):
        raise DataError(f"genome_size {genome_size!r}: use auto, {', '.join(GENOME_SHORTCUTS)} or a number of bases") from None
    if value <= 0:
        raise DataError(f"genome_size {genome_size!r} must be a positive number of bases")
    return str(int(value))


# -- input formats -------------------------------------------------------------------------
def _data_lines(path: Path, limit: int) -> list[list[str]]:
    """Up to ``limit`` data lines (split on whitespace), skipping blank, #, track and browser lines."""
    rows: list[list[str]] = []
    with open_text(path, errors="replace") as lines:
        for line in lines:
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            rows.append(line.split())
            if len(rows) >= limit:
                break
    return rows


def _alignments_paired(path: Path) -> bool:
    """Whether the first mapped reads of a BAM/SAM file come from read pairs."""
    import pysam

    try:
        with pysam.AlignmentFile(str(path), check_sq=False) as reads:
            for n, read in enumerate(reads):
                if read.is_paired:
                    return True
                if n >= 1000:
                    break
    except (ValueError, OSError) as exc:
        raise DataError(f"{path}: cannot read it as BAM/SAM ({exc}): check the file") from None
    return False


def detect_format(path: str | Path) -> str:
    """The format of a reads file, from its content: BAM, BAMPE, SAM, BED or BEDPE.

    BAM vs BAMPE (and paired SAM) from the read flags; BED when lines have a strand in
    column 6 (reads, e.g. ENCODE tagAlign); BEDPE when they have 3 to 5 columns
    (fragments: chrom, start, end[, barcode, count]). Paired SAM is reported as SAM.
    """
    path = Path(path)
    with open(path, "rb") as probe:
        magic = probe.read(4)
    if magic == b"CRAM":
        raise DataError(f"{path}: CRAM is not supported for peak calling: convert it to BAM (samtools view -b -T genome.fa)")
    if magic[:2] == GZIP_MAGIC:
        with gzip.open(path, "rb") as inner:
            try:
                if inner.read(4) == b"BAM\x01":
                    return "BAMPE" if _alignments_paired(path) else "BAM"
            except (OSError, EOFError) as exc:
                raise DataError(f"{path}: cannot decompress it ({exc}): is the file complete?") from None
    try:
        with open_text(path, errors="replace") as lines:
            first = next((line for line in lines if line.strip()), "")
        rows = _data_lines(path, 20)
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read it as text ({exc}): give reads as BAM, SAM, BED or fragments tsv") from None
    if first.startswith(("@HD", "@SQ", "@PG", "@RG", "@CO")) or (rows and _looks_like_sam(rows[0])):
        return "SAM"
    if not rows:
        raise DataError(f"{path}: has no reads (no data lines)")
    fields = rows[0]
    if len(fields) < 3 or not (fields[1].isdigit() and fields[2].isdigit()):
        raise DataError(
            f"{path}: cannot tell its format from the first line {' '.join(fields)[:80]!r}: give reads as BAM, SAM, "
            "BED (chrom start end name score strand) or fragments (chrom start end ...), or set format"
        )
    if len(fields) >= 6 and fields[5] in ("+", "-"):
        return "BED"
    return "BEDPE"


def _looks_like_sam(fields: list[str]) -> bool:
    return len(fields) >= 11 and fields[1].isdigit() and fields[3].isdigit() and fields[4].isdigit()


# -- conversions ---------------------------------------------------------------------------
def _alignments(path: Path):
    import pysam

    try:
        return pysam.AlignmentFile(str(path), check_sq=False)
    except (ValueError, OSError) as exc:
        raise DataError(f"{path}: cannot read it as BAM/SAM ({exc}): check the file") from None


def alignment_chromosomes(path: Path) -> set[str]:
    """Chromosomes holding mapped reads (from the index when there is one, else the header)."""
    with _alignments(path) as reads:
        try:
            stats = reads.get_index_statistics()
            return {s.contig for s in stats if s.mapped > 0}
        except (ValueError, AttributeError):
            return set(reads.references)


def write_cut_sites(path: Path, fmt: str, out: Path, tn5_shift: tuple[int, int]) -> set[str]:
    """Write Tn5 insertion sites of a reads or fragments file as single-base BED reads.

    BAM/SAM: the 5' end of every mapped primary read (both mates of proper pairs),
    moved by ``tn5_shift`` (+ strand, - strand). Fragments (BEDPE): ``start`` and
    ``end - 1`` of each fragment, unshifted. Returns the chromosomes seen.
    """
    seen: set[str] = set()
    with open(out, "w", buffering=1 << 20) as sink:
        if fmt in ("BAM", "BAMPE", "SAM"):
            plus, minus = tn5_shift
            with _alignments(path) as reads:
                names = reads.references
                for read in reads:
                    flag = read.flag
                    if flag & _SKIP_FLAGS or (flag & 0x1 and not flag & 0x2):
                        continue
                    chrom = names[read.reference_id]
                    if flag & 0x10:
                        cut = read.reference_end - 1 + minus
                        sink.write(f"{chrom}\t{max(cut, 0)}\t{max(cut, 0) + 1}\t.\t0\t-\n")
                    else:
                        cut = read.reference_start + plus
                        sink.write(f"{chrom}\t{max(cut, 0)}\t{max(cut, 0) + 1}\t.\t0\t+\n")
                    seen.add(chrom)
        else:
            for chrom, start, end in _fragments(path):
                sink.write(f"{chrom}\t{start}\t{start + 1}\t.\t0\t+\n{chrom}\t{end - 1}\t{end}\t.\t0\t-\n")
                seen.add(chrom)
    return seen


def write_bedpe(path: Path, out: Path) -> set[str]:
    """Write a fragments file (chrom, start, end[, ...], gzip or not) as 3-column BEDPE."""
    seen: set[str] = set()
    with open(out, "w", buffering=1 << 20) as sink:
        for chrom, start, end in _fragments(path):
            sink.write(f"{chrom}\t{start}\t{end}\n")
            seen.add(chrom)
    return seen


def _fragments(path: Path) -> Iterable[tuple[str, int, int]]:
    """(chrom, start, end) of each fragment line, validated; errors name the line."""
    try:
        with open_text(path, errors="replace") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip() or line.startswith(("#", "track", "browser")):
                    continue
                fields = line.split("\t") if "\t" in line else line.split()
                try:
                    start, end = int(fields[1]), int(fields[2])
                except (IndexError, ValueError):
                    raise DataError(
                        f"{path}:{number}: expected 'chrom start end ...' with integer start and end, found {line.strip()[:80]!r}"
                    ) from None
                if start < 0 or end <= start:
                    raise DataError(f"{path}:{number}: fragment {start}-{end} must have 0 <= start < end: fix or drop this line")
                yield fields[0], start, end
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: cannot read it as a fragments file ({exc}): is it complete?") from None


def bed_chromosomes(path: Path) -> set[str]:
    """Chromosomes named in a BED file of reads (reading the whole file)."""
    seen: set[str] = set()
    with open_text(path, errors="replace") as lines:
        for line in lines:
            if line.strip() and not line.startswith(("#", "track", "browser")):
                seen.add(line.split(None, 1)[0])
    return seen


def sam_to_bam(path: Path, out: Path) -> None:
    """Copy a SAM file to BAM (MACS3 reads paired-end alignments only from BAM)."""
    import pysam

    with _alignments(path) as reads, pysam.AlignmentFile(str(out), "wb", template=reads) as sink:
        for read in reads:
            sink.write(read)


@dataclass
class _Prepared:
    files: list[Path]
    macs3_format: str
    chromosomes: set[str]


def prepare_inputs(
    paths: Sequence[Path], *, fmt: str, preset: str, workdir: Path, tn5_shift: tuple[int, int], role: str, logger: logging.Logger
) -> _Prepared:
    """Turn reads files into what MACS3 gets for the preset (see the module docstring)."""
    files: list[Path] = []
    formats: set[str] = set()
    chroms: set[str] = set()
    for i, path in enumerate(paths):
        path = Path(path)
        if not path.is_file():
            raise DataError(f"{path}: no such file ({role})")
        kind = detect_format(path) if fmt == "auto" else fmt
        if kind == "SAM":
            kind = "SAMPE" if _alignments_paired(path) else "SAM"
        logger.info("%s %s: %s", role, path.name, kind, extra=LOG_FILE_ONLY)
        target = workdir / f"{role}-{i}"
        if preset == "atac" and kind != "BED":
            out = target.with_suffix(".cuts.bed")
            chroms |= write_cut_sites(path, kind if kind != "SAMPE" else "SAM", out, tn5_shift)
            files.append(out)
            formats.add("BED")
        elif kind in ("SAM", "SAMPE"):
            out = target.with_suffix(".bam")
            sam_to_bam(path, out)
            chroms |= alignment_chromosomes(out)
            files.append(out)
            formats.add("BAMPE" if kind == "SAMPE" else "BAM")
        elif kind == "BEDPE":
            out = target.with_suffix(".bedpe")
            chroms |= write_bedpe(path, out)
            files.append(out)
            formats.add("BEDPE")
        elif kind in ("BAM", "BAMPE"):
            chroms |= alignment_chromosomes(path)
            files.append(path)
            formats.add(kind)
        else:  # BED reads go to MACS3 as they are
            chroms |= bed_chromosomes(path)
            files.append(path)
            formats.add("BED")
    if len(formats) != 1:
        raise DataError(
            f"the {role} files come in different formats for MACS3 ({', '.join(sorted(formats))}): "
            "give all reads and controls in one format (e.g. all BAM), or use preset atac, which converts them all"
        )
    return _Prepared(files, formats.pop(), chroms)


def warn_extra_chromosomes(used: set[str], genome_sizes: dict[str, int], *, file: str, genome: str, logger: logging.Logger) -> None:
    """Reads must be named like the genome (see :func:`bpnet.data.chroms.check_read_chromosomes`).

    Reads on a few extra contigs (decoys, chrEBV) that the genome lacks only warn:
    peaks there are dropped later.
    """
    missing = check_read_chromosomes(file, dict.fromkeys(used, 1), genome_sizes, genome)
    if missing:
        shown = ", ".join(sorted(missing)[:5]) + (" ..." if len(missing) > 5 else "")
        logger.warning("%s has reads on %s, which %s lacks: peaks there are dropped", file, shown, genome)


# -- MACS3 output --------------------------------------------------------------------------
def finish_peaks(
    narrowpeak: Path, out: Path, sizes: dict[str, int], *, max_peaks: int | None, logger: logging.Logger
) -> tuple[int, dict[str, int]]:
    """MACS3's narrowPeak -> ``out``: on genome chromosomes, clipped to their ends,
    summit in column 10 (the midpoint where MACS3 gave none), score capped at 1000,
    the ``max_peaks`` strongest by p-value when set, sorted by chromosome and start.

    Returns the number of peaks written and counts of dropped peaks by reason.
    """
    rows = []
    dropped: collections.Counter[str] = collections.Counter()
    with open(narrowpeak) as lines:
        for line in lines:
            f = line.rstrip("\n").split("\t")
            if len(f) < 10:
                continue
            chrom, start, end, summit = f[0], int(f[1]), int(f[2]), int(f[9])
            if chrom not in sizes:
                dropped["off the genome's chromosomes"] += 1
                continue
            at = start + summit if summit >= 0 else start + (end - start) // 2
            start, end = max(start, 0), min(end, sizes[chrom])
            if end <= start:
                dropped["off the chromosome ends"] += 1
                continue
            at = min(max(at, start), end - 1)
            score = str(min(int(float(f[4])), 1000))
            rows.append((chrom, start, end, f[3], score, f[5], f[6], f[7], f[8], at - start))
    if max_peaks is not None and len(rows) > max_peaks:
        rows.sort(key=lambda r: -float(r[7]))
        dropped[f"beyond the strongest {max_peaks}"] += len(rows) - max_peaks
        rows = rows[:max_peaks]
    rows.sort(key=lambda r: (r[0], r[1], r[2], r[9]))
    with atomic_path(out) as tmp, open(tmp, "w") as sink:
        for r in rows:
            sink.write("\t".join(str(v) for v in r) + "\n")
    for reason, n in dropped.items():
        logger.info("dropped %d peak(s) %s", n, reason)
    return len(rows), dict(dropped)


# -- the whole call ------------------------------------------------------------------------
def preset_arguments(preset: str, *, qvalue: float | None, pvalue: float | None, keep_duplicates: str | int | None,
                     call_summits: bool | None) -> list[str]:
    """callpeak options of a preset, with the user's threshold and duplicate choices applied."""
    if preset not in ("chip", "atac"):
        raise DataError(f"preset {preset!r}: use chip or atac")
    args: list[str] = []
    if qvalue is not None and pvalue is not None:
        raise DataError("give qvalue or pvalue, not both (MACS3 takes one threshold)")
    if qvalue is None and pvalue is None:
        qvalue, pvalue = (0.01, None) if preset == "chip" else (None, 0.01)
    args += ["-q", f"{qvalue:g}"] if qvalue is not None else ["-p", f"{pvalue:g}"]
    keep = keep_duplicates if keep_duplicates is not None else ("all" if preset == "atac" else None)
    if keep is not None:
        args += ["--keep-dup", str(keep)]
    if call_summits if call_summits is not None else preset == "atac":
        args.append("--call-summits")
    if preset == "atac":
        args += ["--nomodel", "--shift", "-75", "--extsize", "150"]
    else:
        args += ["--fix-bimodal"]
    return args


def check_extra_args(extra_args: Sequence[str]) -> None:
    """Refuse callpeak options that :func:`call_peaks` sets itself (naming the parameter to use)."""
    for arg in extra_args:
        option = arg.split("=", 1)[0]
        if option in MANAGED_OPTIONS:
            instead = MANAGED_OPTIONS[option]
            hint = f"use the parameter {instead}" if not instead.startswith("(") else "bpnet sets it"
            raise DataError(f"extra_args: {option} is managed by the peaks stage: {hint}")


def call_peaks(
    reads: Sequence[str | Path],
    out: str | Path,
    *,
    genome: str | Path,
    controls: Sequence[str | Path] = (),
    preset: Preset = "chip",
    format: InputFormat = "auto",
    qvalue: float | None = None,
    pvalue: float | None = None,
    genome_size: str | int | float = "auto",
    keep_duplicates: str | int | None = None,
    call_summits: bool | None = None,
    tn5_shift: tuple[int, int] = (4, -5),
    max_peaks: int | None = None,
    extra_args: Sequence[str] = (),
    summits_out: str | Path | None = None,
    log_out: str | Path | None = None,
    logger: logging.Logger = log,
) -> PeakCalling:
    """Call peaks on ``reads`` (and ``controls``) with MACS3 and write narrowPeak to ``out``.

    ``genome``: FASTA or chromosome sizes; read names must match it, peaks are clipped
    to it, and ``genome_size="auto"`` counts its non-N bases. ``qvalue``/``pvalue``:
    one threshold (default: the preset's, chip ``-q 0.01``, atac ``-p 0.01``).
    ``keep_duplicates``: MACS3's ``--keep-dup`` (``auto``, ``all`` or a number; default
    chip 1, atac all). ``call_summits``: split peaks at multiple summits (default:
    atac yes, chip no). ``max_peaks``: keep the strongest by p-value (ENCODE keeps
    300000). ``extra_args``: more callpeak options, passed through as given (e.g.
    ``["--nolambda"]``, ``["--max-gap", "100"]``). ``summits_out``/``log_out``: also
    keep MACS3's summits BED and its full log. Temporary files (converted reads,
    MACS3's own) go to a hidden folder next to ``out``: converted reads take about
    30 bytes per read.

    Raises :class:`Macs3Error` when MACS3 is missing, fails, or calls no peaks, and
    :class:`DataError` for unreadable inputs or chromosome names that do not match.
    """
    out = Path(out)
    check_extra_args(extra_args)
    options = preset_arguments(preset, qvalue=qvalue, pvalue=pvalue, keep_duplicates=keep_duplicates, call_summits=call_summits)
    macs3_command()  # fail early when MACS3 is missing
    from .sources.fasta import genome_sizes as read_genome_sizes

    sizes = read_genome_sizes(genome)
    gsize = resolve_genome_size(genome_size, genome, logger=logger)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".macs3-", dir=out.parent) as tmp:
        workdir = Path(tmp)
        treat = prepare_inputs(reads, fmt=format, preset=preset, workdir=workdir, tn5_shift=tn5_shift, role="reads", logger=logger)
        warn_extra_chromosomes(treat.chromosomes, sizes, file=", ".join(map(str, reads)), genome=str(genome), logger=logger)
        args = ["callpeak", "-t", *treat.files]
        macs3_format = treat.macs3_format
        if controls:
            ctl = prepare_inputs(controls, fmt=format, preset=preset, workdir=workdir, tn5_shift=tn5_shift, role="controls", logger=logger)
            warn_extra_chromosomes(ctl.chromosomes, sizes, file=", ".join(map(str, controls)), genome=str(genome), logger=logger)
            if ctl.macs3_format != macs3_format:
                raise DataError(
                    f"reads are {macs3_format} but controls are {ctl.macs3_format} for MACS3: give both in one format, or use preset atac"
                )
            args += ["-c", *ctl.files]
        args += ["-f", macs3_format, "-g", gsize, "-n", _NAME, "--outdir", workdir, "--tempdir", workdir, *options, *extra_args]
        logger.info(
            "calling peaks with MACS3 %s (preset %s, %s, genome size %s) on %d reads file(s)%s",
            macs3_version(), preset, " ".join(options[:2]), gsize, len(reads), f" and {len(controls)} control(s)" if controls else "",
        )
        command, seconds = run_macs3(args, logger=logger, log_file=Path(log_out) if log_out else None)
        narrowpeak = workdir / f"{_NAME}_peaks.narrowPeak"
        if not narrowpeak.is_file():
            raise Macs3Error(
                f"MACS3 finished without writing peaks (see its log in the run log): check that reads and controls share chromosome names "
                f"(command: {shlex.join(command[1:])})"
            )
        n, dropped = finish_peaks(narrowpeak, out, sizes, max_peaks=max_peaks, logger=logger)
        if n == 0:
            out.unlink(missing_ok=True)
            threshold = " ".join(options[:2])
            looser = "qvalue: 0.05, or pvalue: 0.01" if options[0] == "-q" else f"pvalue: {min(float(options[1]) * 5, 1):g}"
            raise Macs3Error(
                f"MACS3 called no peaks at {threshold} on {', '.join(map(str, reads))}: relax the threshold "
                f"(e.g. {looser}), check the reads cover the genome, or check genome_size"
            )
        if summits_out:
            _copy_atomic(workdir / f"{_NAME}_summits.bed", Path(summits_out))
    logger.info("MACS3 called %d peaks in %.1f s", n, seconds)
    return PeakCalling(n, command, seconds, gsize, macs3_format, dropped)


def _copy_atomic(source: Path, target: Path) -> None:
    import shutil

    with atomic_path(target) as tmp:
        if source.is_file():
            shutil.copyfile(source, tmp)
        else:
            tmp.write_text("")
