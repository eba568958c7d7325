"""Writing simulated reads as coordinate-sorted, indexed BAM (and fragments as bgzipped tsv).

Records are formatted as SAM text in chunks (fast: no per-read pysam objects),
converted by samtools (shipped in pysam) with ``--no-PG`` so the header holds no
command line and the same seed gives byte-identical files, then indexed. Reads carry
the reference bases they align to (SEQ, forward strand as SAM stores it; tools such as
MACS3 take the read length from it), no qualities (``*``), mapping quality 60 and
CIGAR ``<length>M``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .atac import Fragments
from .chip import SingleReads

MAPQ = 60
CHUNK = 500_000


def sam_header(names: list[str], sequences: list[str], comment: str) -> str:
    lines = ["@HD\tVN:1.6\tSO:coordinate"]
    lines += [f"@SQ\tSN:{n}\tLN:{len(s)}" for n, s in zip(names, sequences)]
    lines.append(f"@CO\t{comment}")
    return "\n".join(lines) + "\n"


def write_single_end(path: Path, names: list[str], sequences: list[str], reads: SingleReads, comment: str) -> None:
    """Single-end reads (flag 0 or 16), sorted by position, named ``r1``, ``r2``... in that order.

    ``sequences`` holds each chromosome's bases as text (for SEQ).
    """
    order = np.lexsort((reads.reverse, reads.start, reads.chrom))
    chrom = reads.chrom[order]
    pos = reads.start[order] + 1
    flag = np.where(reads.reverse[order], 16, 0)
    n = reads.length
    cigar = f"{n}M"

    def records() -> Iterator[str]:
        for lo in range(0, len(order), CHUNK):
            hi = min(lo + CHUNK, len(order))
            yield "".join(
                f"r{i}\t{f}\t{names[c]}\t{p}\t{MAPQ}\t{cigar}\t*\t0\t0\t{sequences[c][p - 1 : p - 1 + n]}\t*\n"
                for i, f, c, p in zip(range(lo + 1, hi + 1), flag[lo:hi].tolist(), chrom[lo:hi].tolist(), pos[lo:hi].tolist())
            )

    _sam_to_bam(path, sam_header(names, sequences, comment), records())


def write_paired_end(
    path: Path, names: list[str], sequences: list[str], fragments: Fragments, read_length: int, rng: np.random.Generator, comment: str
) -> None:
    """Proper pairs: one forward and one reverse mate per fragment, named ``f1``, ``f2``... by position.

    Read 1 is the forward mate for a random half of the fragments (flags 99/147),
    the reverse mate for the other half (83/163). Reads are ``min(read_length,
    fragment length)`` long; TLEN is +fragment length on the leftmost mate, - on the other.
    """
    n = len(fragments)
    start, end = fragments.start, fragments.end
    tlen = end - start
    rlen = np.minimum(read_length, tlen)
    first_forward = rng.random(n) < 0.5
    fwd_pos = start + 1
    rev_pos = end - rlen + 1
    name_index = np.arange(1, n + 1)
    chrom = np.concatenate([fragments.chrom, fragments.chrom])
    pos = np.concatenate([fwd_pos, rev_pos])
    mate_pos = np.concatenate([rev_pos, fwd_pos])
    flag = np.concatenate([np.where(first_forward, 99, 163), np.where(first_forward, 147, 83)])
    signed_tlen = np.concatenate([tlen, -tlen])
    length = np.concatenate([rlen, rlen])
    name = np.concatenate([name_index, name_index])
    is_reverse = np.concatenate([np.zeros(n, bool), np.ones(n, bool)])
    order = np.lexsort((is_reverse, name, pos, chrom))

    def records() -> Iterator[str]:
        for lo in range(0, len(order), CHUNK):
            o = order[lo : lo + CHUNK]
            yield "".join(
                f"f{q}\t{f}\t{names[c]}\t{p}\t{MAPQ}\t{r}M\t=\t{m}\t{t}\t{sequences[c][p - 1 : p - 1 + r]}\t*\n"
                for q, f, c, p, r, m, t in zip(
                    name[o].tolist(), flag[o].tolist(), chrom[o].tolist(), pos[o].tolist(),
                    length[o].tolist(), mate_pos[o].tolist(), signed_tlen[o].tolist(),
                )
            )

    _sam_to_bam(path, sam_header(names, sequences, comment), records())


def _sam_to_bam(path: Path, header: str, records: Iterator[str]) -> None:
    import pysam

    sam = path.with_name(path.name + ".sam")
    try:
        with open(sam, "w") as out:
            out.write(header)
            for chunk in records:
                out.write(chunk)
        pysam.view("--no-PG", "-b", "-1", "-o", str(path), str(sam), catch_stdout=False)  # -1: fast compression
    finally:
        sam.unlink(missing_ok=True)
    pysam.index(str(path))


def write_fragments(path: Path, names: list[str], fragments: Fragments, barcode: str = "sim-1") -> None:
    """10x-style ``chrom, start, end, barcode, count`` rows (bgzip + tabix index); see :mod:`.atac`."""
    import pysam

    order = np.lexsort((fragments.end, fragments.start, fragments.chrom))
    chrom, start, end = fragments.chrom[order], fragments.start[order], fragments.end[order]
    with pysam.BGZFile(str(path), "wb") as out:
        for lo in range(0, len(order), CHUNK):
            hi = lo + CHUNK
            text = "".join(
                f"{names[c]}\t{s}\t{e}\t{barcode}\t1\n"
                for c, s, e in zip(chrom[lo:hi].tolist(), start[lo:hi].tolist(), end[lo:hi].tolist())
            )
            out.write(text.encode())
    pysam.tabix_index(str(path), preset="bed", force=True)
