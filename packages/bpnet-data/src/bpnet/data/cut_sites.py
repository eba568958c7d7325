"""Shift check: do the counted cut sites sit where the enzyme cut? Reference-free, from the genome alone.

The official ChromBPNet preprocessing estimates the shift of a BAM or fragment file by
matching the base composition around its cut sites with stored Tn5/DNase motifs. This
module needs no stored motif; it uses two properties of cut sites that hold for Tn5 in
real data (the reference motifs ChromBPNet ships show both) and in ``bpnet simulate``:

1. **Both ends of an insertion see the same sequence.** A Tn5 insertion leaves the end
   of one fragment (a right cut, the - strand read's 5' end) and the start of the next
   (a left cut, the + strand read's 5' end) at the same place. Counted with the right
   shifts, the composition around left cuts equals that around right cuts; the offset
   that aligns the two profiles is how far the right cuts sit from the left cuts
   (:attr:`ShiftCheck.right_offset`, 0 when the shifts agree). This holds for DNase
   cuts counted in ChromBPNet's 0/+1 convention too.
2. **Tn5 is a symmetric dimer.** Its preference around the insertion is its own
   reverse complement, centred on the middle base of the 9 bp duplication, which is
   where the ChromBPNet +4/-4 shift puts both cuts. The offset that aligns the left
   profile with the reverse complement of the right one (:attr:`ShiftCheck.mirror_offset`)
   is the sum of the two ends' errors.

Together they give each end's error (left, right) in bp, hence the shifts that put the
cuts on the insertion centre: the absolute shift, for Tn5. The sum and difference of
two whole numbers have the same parity; when they do not, the composition is symmetric
about a point between two bases (DNase cuts) or too noisy, and only the relative shift
(right against left) is reported. The profiles are measured on two interleaved halves
of the sample and an offset counts only when both halves agree on it.

What it cannot see: a shift of data without a sequence preference at the cuts, a
genome that does not match the reads, or a wrong centre convention for enzymes that are
not Tn5 (it reports only the relative shift for those).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .readcount import TENX_END, TENX_START, Alignments, CountOptions, alignment_ends, fragment_ends, selected

if TYPE_CHECKING:  # pragma: no cover
    from .sources.reads import BamSource, ReadSource

#: Fragments (or reads) sampled from the start of each input.
SAMPLE = 100_000
#: Bases compared on each side of a cut.
HALF_WIDTH = 10
#: Largest offset looked for (bp); a BAM counted without the Tn5 shift is 8 off.
MAX_OFFSET = 12
#: Fewer cuts on either side than this: no call.
MIN_CUTS = 2_000
#: An offset counts only if its alignment score times the cuts behind it reaches this. Without any sequence
#: preference that product stays below about 6 (the noise of 84 compared frequencies); Tn5 scores hundreds.
MIN_SCORE = 15.0
#: Sampled cuts further apart than this are read from the genome separately.
BLOCK_GAP = 100_000

#: (chromosome, start, end) -> uint8 base codes (A=0, C=1, G=2, T=3, other=4).
Codes = Callable[[str, int, int], np.ndarray]


@dataclass
class Cuts:
    """Sampled cut positions per chromosome, in file order: left (+ strand 5') and right (- strand 5') ends."""

    left: dict[str, np.ndarray]
    right: dict[str, np.ndarray]


@dataclass(frozen=True)
class ShiftCheck:
    """What the cut-site composition says about the shifts of one input.

    ``cuts``: cut sites used on each side. ``right_offset``: bp the right cuts sit to the
    right of the left cuts of the same insertions (0: the shifts agree; None: no call).
    ``mirror_offset``: left error + right error from the reverse-complement symmetry
    (None: no call).
    """

    cuts: int
    right_offset: int | None
    mirror_offset: int | None

    @property
    def errors(self) -> tuple[int, int] | None:
        """(left, right): bp each end sits right of the Tn5 insertion centre; None unless both offsets
        are known and of the same parity (Tn5-like cut sites, symmetric about a base)."""
        r, m = self.right_offset, self.mirror_offset
        if r is None or m is None or (m - r) % 2:
            return None
        return (m - r) // 2, (m + r) // 2

    @property
    def absolute(self) -> bool:
        """Whether each end's error is known."""
        return self.errors is not None

    def suggested(self, shift_plus: int, shift_minus: int) -> tuple[int, int] | None:
        """The shifts that put the cuts where the sequence says (None: no call)."""
        if self.errors is not None:
            return shift_plus - self.errors[0], shift_minus - self.errors[1]
        if self.right_offset is not None:
            return shift_plus, shift_minus - self.right_offset
        return None

    def summary(self, shift_plus: int, shift_minus: int) -> dict:
        """For ``tracks.json``: the offsets, the shifts given and those detected."""
        detected = self.suggested(shift_plus, shift_minus)
        return {
            **asdict(self),
            "kind": "absolute" if self.absolute else "relative" if detected else "none",
            "given": {"shift_plus": shift_plus, "shift_minus": shift_minus},
            "detected": None if detected is None else {"shift_plus": detected[0], "shift_minus": detected[1]},
        }


# -- the composition and its offsets ---------------------------------------------------------


def composition(cuts: Mapping[str, np.ndarray], codes: Codes, sizes: Mapping[str, int], half: int) -> np.ndarray:
    """``(2, 2 * half + 1, 4)`` base counts at each offset from the cuts, for even- and odd-numbered cuts.

    Cuts closer than ``half`` to a chromosome end are left out; N bases are not counted.
    """
    width = 2 * half + 1
    offsets = np.arange(-half, half + 1)
    total = np.zeros(2 * width * 5, np.int64)
    for chrom, positions in cuts.items():
        positions = np.asarray(positions, np.int64)
        group = np.arange(len(positions)) % 2
        inside = (positions >= half) & (positions < int(sizes.get(chrom, 0)) - half)
        order = np.argsort(positions[inside], kind="stable")
        where, group = positions[inside][order], group[inside][order]
        breaks = np.flatnonzero(np.diff(where) > BLOCK_GAP) + 1
        for block, side in zip(np.split(where, breaks), np.split(group, breaks)):
            if not len(block):
                continue
            lo = int(block[0]) - half
            seq = codes(chrom, lo, int(block[-1]) + half + 1)
            window = seq[(block - lo)[:, None] + offsets].astype(np.int64)  # (cuts, width) codes
            index = (side[:, None] * width + np.arange(width)) * 5 + window
            total += np.bincount(index.ravel(), minlength=len(total))
    return total.reshape(2, width, 5)[..., :4]


def _centred(counts: np.ndarray) -> np.ndarray:
    """Base frequencies at each offset, less their mean over the window (the local GC drops out)."""
    freq = counts / np.maximum(counts.sum(axis=-1, keepdims=True), 1)
    return freq - freq.mean(axis=-2, keepdims=True)


def best_offset(left: np.ndarray, right: np.ndarray, *, mirror: bool) -> tuple[int, float]:
    """The offset ``k`` that best aligns ``left(x)`` with ``right(x + k)`` over ``|x| <= HALF_WIDTH``, and its score.

    Both are centred profiles of ``2 * (HALF_WIDTH + MAX_OFFSET) + 1`` offsets. ``mirror``
    compares with the reverse complement of ``right`` (offsets reversed, A<->T, C<->G).
    """
    if mirror:
        right = right[::-1, ::-1]
    lo, hi = MAX_OFFSET, MAX_OFFSET + 2 * HALF_WIDTH + 1
    core = left[lo:hi]
    scores = [float(np.sum(core * right[lo + k : hi + k])) for k in range(-MAX_OFFSET, MAX_OFFSET + 1)]
    best = int(np.argmax(scores))
    return best - MAX_OFFSET, scores[best]


def check_shift(cuts: Cuts, codes: Codes, sizes: Mapping[str, int]) -> ShiftCheck:
    """Offsets of the sampled cuts (see the module docstring); an offset both halves disagree on is None."""
    half = HALF_WIDTH + MAX_OFFSET
    left = composition(cuts.left, codes, sizes, half)
    right = composition(cuts.right, codes, sizes, half)
    used = int(min(left[:, half].sum(), right[:, half].sum()))
    if used < MIN_CUTS:
        return ShiftCheck(used, None, None)
    halves = [(_centred(left[g]), _centred(right[g]), int(min(left[g, half].sum(), right[g, half].sum()))) for g in (0, 1)]
    direct, mirror = (_agreed(halves, mirror) for mirror in (False, True))
    # direct: left(x) = right(x + k) when k = left error - right error
    return ShiftCheck(used, None if direct is None else -direct, mirror)


def _agreed(halves: list[tuple[np.ndarray, np.ndarray, int]], mirror: bool) -> int | None:
    """The offset both halves find with a score above the noise, else None."""
    found = set()
    for left, right, cuts in halves:
        offset, score = best_offset(left, right, mirror=mirror)
        if score * cuts < MIN_SCORE:
            return None
        found.add(offset)
    return found.pop() if len(found) == 1 else None


# -- checking an input and saying what it found ------------------------------------------------------


def check_source(
    source: ReadSource, codes: Codes, sizes: Mapping[str, int], options: CountOptions, logger: logging.Logger
) -> dict | None:
    """Check the shifts of one read source against the genome; log the verdict (WARNING when they disagree).

    Returns the summary for ``tracks.json``, or None for a source that cannot be sampled.
    """
    cuts = sample_cuts(source, sizes, options)
    if cuts is None:
        logger.info("%s: shift check skipped (it samples BAM, SAM and text fragment files only)", source.label)
        return None
    check = check_shift(cuts, codes, sizes)
    given = (options.shift_plus, options.shift_minus)
    detected = check.suggested(*given)
    what = f"{source.label}: shift check on {check.cuts} cut sites"
    if detected is None:
        logger.info("%s: no call (too few cut sites, or no sequence preference at them)", what)
    elif detected == given:
        centre = "on the Tn5 insertion centres" if check.absolute else "with left and right cuts of the same events aligned"
        logger.info("%s: shift_plus %d, shift_minus %d put the cuts %s", what, *given, centre)
    else:
        logger.warning("%s: shift_plus %d, shift_minus %d given, but the sequence around the cuts says shift_plus %d, "
                       "shift_minus %d (%s); %s",
                       what, *given, *detected, _offsets_text(check), _advice(detected, options, source))
    return check.summary(*given)


def _offsets_text(check: ShiftCheck) -> str:
    if check.errors is not None:
        left, right = check.errors
        return f"left cuts {left:+d} bp, right cuts {right:+d} bp off the Tn5 insertion centres"
    return f"right cuts {check.right_offset:+d} bp off the left cuts of the same events; absolute shift unknown"


def _advice(detected: tuple[int, int], options: CountOptions, source: ReadSource) -> str:
    """What to set: the detected shifts, or the other fragment_format with the ATAC +4/-4 when that gives the same cuts."""
    from .sources.reads import TsvSource

    if isinstance(source, TsvSource):
        other = "10x" if options.fragment_format == "sequenced" else "sequenced"
        sign = 1 if other == "10x" else -1  # read as 10x, a row's ends move by -4 and +5: shifts +4/-5 make up for it
        if (detected[0] + sign * TENX_START, detected[1] + sign * TENX_END) == (4, -4):
            return f"set fragment_format: {other} with shift_plus: 4 and shift_minus: -4 (as preset: atac sets them)"
    return f"set shift_plus: {detected[0]} and shift_minus: {detected[1]}"


# -- sampling the cuts of an input --------------------------------------------------------------


def sample_cuts(source: ReadSource, sizes: Mapping[str, int], options: CountOptions, limit: int = SAMPLE) -> Cuts | None:
    """Cut sites of the first ``limit`` fragments (paired-end or text) or reads (single-end) of ``source``.

    They are placed exactly as counting places them (:func:`~bpnet.data.readcount.alignment_ends`,
    :func:`~bpnet.data.readcount.fragment_ends`). None for a source this module cannot
    sample (a read source plugin).
    """
    from .sources.reads import BamSource, SamSource, TsvSource

    if isinstance(source, TsvSource):
        chrom, start, end = _first_fragments(source.path, sizes, limit)
        both = fragment_ends(start, end, replace(options, ends="both"))
        return _split_halves(chrom, both)
    if isinstance(source, BamSource):
        names, alignments = _first_bam_alignments(source, sizes, options, limit)
    elif isinstance(source, SamSource):
        references, records, _ = source.alignments()
        on_genome = np.isin(records.ref, [i for i, c in enumerate(references) if c in sizes])
        rows = np.flatnonzero(on_genome & selected(records.flag, records.mapq, records.tlen, options))[:limit]
        names = np.asarray(references, dtype=object)
        alignments = Alignments(*(getattr(records, f)[rows] for f in ("ref", "pos", "ref_length", "flag", "mapq", "tlen")))
    else:
        return None
    chrom = names[alignments.ref]
    if options.paired_end:
        return _split_halves(chrom, alignment_ends(alignments, replace(options, ends="both"))[0])
    # single-end: the 5' ends, + strand reads' on the left of their insertion, - strand reads' on the right
    five_prime, minus = alignment_ends(alignments, replace(options, ends="five-prime"))
    return Cuts(_by_chrom(chrom[~minus], five_prime[~minus]), _by_chrom(chrom[minus], five_prime[minus]))


def _split_halves(chrom: np.ndarray, both: np.ndarray) -> Cuts:
    """Cuts from ``[left ends, right ends]`` as ``ends="both"`` gives them."""
    n = len(chrom)
    return Cuts(_by_chrom(chrom, both[:n]), _by_chrom(chrom, both[n:]))


def _by_chrom(chrom: np.ndarray, positions: np.ndarray) -> dict[str, np.ndarray]:
    return {str(c): positions[chrom == c] for c in dict.fromkeys(chrom.tolist())}


def _first_fragments(path: Path, sizes: Mapping[str, int], limit: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(chromosome, start, end) of the first ``limit`` lines on the genome's chromosomes (the file was counted already)."""
    from .textfiles import open_text

    chroms: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    with open_text(path) as lines:
        for line in lines:
            fields = line.split(None, 3)
            if len(fields) < 3 or fields[0].startswith("#") or fields[0] not in sizes:
                continue
            try:
                start, end = int(fields[1]), int(fields[2])
            except ValueError:  # a line only the counting's parser reads (e.g. "200#note"): not needed for a sample
                continue
            chroms.append(fields[0])
            starts.append(start)
            ends.append(end)
            if len(chroms) >= limit:
                break
    return np.array(chroms, dtype=object), np.array(starts, np.int64), np.array(ends, np.int64)


def _first_bam_alignments(source: BamSource, sizes: Mapping[str, int], options: CountOptions, limit: int) -> tuple[np.ndarray, Alignments]:
    """(reference names, the first ``limit`` counted records on the genome's chromosomes) of a sorted BAM."""
    import pysam

    from .sources.bam_records import read_batches

    names = np.asarray(source.header[0], dtype=object)
    on_genome = np.array([c in sizes for c in names.tolist()] + [False])  # index -1 (unmapped) -> False
    with pysam.AlignmentFile(str(source.path), "rb", check_sq=False) as bam:
        first = bam.tell()
    parts: list[Alignments] = []
    taken = 0
    for batch in read_batches(source.path, first, None, source.label):
        fields = batch.fields
        keep = on_genome[fields["ref"]] & selected(fields["flag"], fields["mapq"], fields["tlen"], options)
        rows = np.flatnonzero(keep)[: limit - taken]
        if not options.paired_end:
            rows = rows[fields["n_cigar"][rows] > 0]
        length = np.zeros(len(rows), np.int64) if options.paired_end else batch.reference_lengths(rows)
        parts.append(Alignments(*(fields[f][rows].astype(np.int64) for f in ("ref", "pos")), length,
                                *(fields[f][rows].astype(np.int64) for f in ("flag", "mapq", "tlen"))))
        taken += len(rows)
        if taken >= limit:
            break
    columns = ("ref", "pos", "ref_length", "flag", "mapq", "tlen")
    if not parts:
        return names, Alignments(*(np.zeros(0, np.int64) for _ in columns))
    return names, Alignments(*(np.concatenate([getattr(p, f) for p in parts]) for f in columns))
