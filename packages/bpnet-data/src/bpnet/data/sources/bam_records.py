"""BAM records in bulk: decompressed BGZF data decoded into numpy columns.

Reading a BAM record by record through pysam costs a Python object per read. Here
htslib (through :class:`pysam.libcbgzf.BGZFile`) only decompresses, a short Python
loop finds where each record starts, and numpy decodes the fixed fields and CIGARs of
thousands of records at once. The layout follows the SAM/BAM specification (SAMv1,
section 4.2). The index readers give, per reference sequence, the virtual file
offsets between which its records lie, so each chromosome can be read on its own
(and chromosomes in parallel).
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError

#: Fixed part of a BAM alignment record: 36 bytes, little-endian, packed. Fields used
#: here: reference, position, name length, MAPQ, CIGAR length, flag (bytes 4-20) and
#: template length (bytes 32-36); only those are gathered, into :data:`FIELDS`.
FIXED = 36
_GATHER = np.r_[4:20, 32:36]
FIELDS = np.dtype(
    [
        ("ref", "<i4"),
        ("pos", "<i4"),
        ("l_read_name", "u1"),
        ("mapq", "u1"),
        ("bin", "<u2"),
        ("n_cigar", "<u2"),
        ("flag", "<u2"),
        ("tlen", "<i4"),
    ]
)
#: CIGAR operations that consume the reference: M, D, N, =, X (codes 0, 2, 3, 7, 8).
_REFERENCE_OPS = (1 << 0) | (1 << 2) | (1 << 3) | (1 << 7) | (1 << 8)
#: Decompressed bytes read at a time (records are decoded in batches of this size).
CHUNK = 8 << 20
#: The empty BGZF block every complete BGZF file ends with.
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")

_int32 = struct.Struct("<i").unpack_from


@dataclass
class RecordBatch:
    """Fixed fields of a batch of records, plus what is needed to decode their CIGARs."""

    fields: np.ndarray  # structured array of FIELDS
    offsets: np.ndarray  # int64 offset of each record in ``data``
    data: np.ndarray  # the decompressed bytes (uint8)

    def reference_lengths(self, rows: np.ndarray) -> np.ndarray:
        """Reference bases covered by the CIGAR of each selected row (0 without a CIGAR)."""
        n_cigar = self.fields["n_cigar"][rows].astype(np.int64)
        total = int(n_cigar.sum())
        if total == 0:
            return np.zeros(len(rows), dtype=np.int64)
        cigar_at = self.offsets[rows] + FIXED + self.fields["l_read_name"][rows]
        first = np.cumsum(n_cigar) - n_cigar
        at = np.repeat(cigar_at - 4 * first, n_cigar) + 4 * np.arange(total)
        ops = self.data[at[:, None] + np.arange(4)].view("<u4").ravel()
        covers = ((1 << (ops & 0xF)) & _REFERENCE_OPS) != 0
        lengths = np.where(covers, ops >> 4, 0).astype(np.float64)
        owner = np.repeat(np.arange(len(rows)), n_cigar)
        return np.bincount(owner, weights=lengths, minlength=len(rows)).astype(np.int64)

    def read_name(self, row: int) -> str:
        start = int(self.offsets[row]) + FIXED
        length = int(self.fields["l_read_name"][row])
        return self.data[start : start + length - 1].tobytes().decode(errors="replace")


def record_offsets(data: bytes, label: str) -> tuple[np.ndarray, int]:
    """Offsets of the complete records in ``data``, and where the incomplete tail starts."""
    offsets: list[int] = []
    add = offsets.append
    n = len(data)
    at = 0
    while at + 4 <= n:
        size = _int32(data, at)[0]
        if size < FIXED - 4:
            raise DataError(f"{label}: corrupt BAM record (block size {size}): the file is damaged; re-create or re-download it")
        end = at + 4 + size
        if end > n:
            break
        add(at)
        at = end
    return np.array(offsets, dtype=np.int64), at


def decode(data: bytes, offsets: np.ndarray) -> RecordBatch:
    """Decode the fixed fields of the records at ``offsets`` in ``data``."""
    raw = np.frombuffer(data, dtype=np.uint8)
    fixed = raw[offsets[:, None] + _GATHER]
    return RecordBatch(fixed.view(FIELDS).ravel(), offsets, raw)


def read_batches(path: Path, start: int, stop: int | None, label: str) -> Iterator[RecordBatch]:
    """Batches of records from virtual offset ``start`` until the stream passes ``stop``.

    ``stop`` None reads to the end of the file. The last batch may hold records past
    ``stop`` (callers select by reference). A record cut off by the end of the file is
    a truncated file, reported as :class:`DataError`.
    """
    from pysam.libcbgzf import BGZFile

    try:
        handle = BGZFile(str(path), "rb")
    except (OSError, ValueError) as exc:
        raise DataError(f"{label}: cannot open it as BGZF-compressed BAM ({exc})") from None
    try:
        handle.seek(start)
        tail = b""
        while True:
            try:
                chunk = handle.read(CHUNK)
            except (OSError, ValueError) as exc:
                raise DataError(
                    f"{label}: cannot decompress it ({exc}): the BAM is truncated or damaged; re-create or re-download it"
                ) from None
            data = tail + chunk if tail else chunk
            offsets, used = record_offsets(data, label)
            tail = data[used:]
            if len(offsets):
                yield decode(data, offsets)
            if not chunk:
                if tail:
                    raise DataError(f"{label}: the last BAM record is cut off: the file is truncated; re-create or re-download it")
                return
            if stop is not None and handle.tell() >= stop:
                return
    finally:
        try:
            handle.close()
        except OSError:
            pass


def has_eof_marker(path: Path) -> bool:
    """Whether a BGZF file ends with the empty end-of-file block (a complete file does)."""
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        if handle.tell() < len(BGZF_EOF):
            return False
        handle.seek(-len(BGZF_EOF), 2)
        return handle.read() == BGZF_EOF


def index_ranges(index: Path, n_refs: int) -> list[tuple[int, int] | None]:
    """Per reference sequence, (first, end) virtual offsets of its records, or None if it has none.

    Reads ``.bai`` and ``.csi`` indexes. Raises :class:`DataError` if the index is
    unreadable or describes a different number of sequences than the BAM header.
    """
    try:
        raw = index.read_bytes()
        if raw[:2] == b"\x1f\x8b":  # CSI indexes are BGZF-compressed
            raw = gzip.decompress(raw)
        ranges = _parse_csi(raw) if raw[:4] == b"CSI\x01" else _parse_bai(raw)
    except (OSError, EOFError, struct.error, IndexError, ValueError) as exc:
        raise DataError(f"{index}: cannot read the BAM index ({exc}): delete it so that it is rebuilt") from None
    if len(ranges) != n_refs:
        raise DataError(
            f"{index}: the index describes {len(ranges)} sequences but the BAM has {n_refs}: it belongs to another "
            "file; delete it so that it is rebuilt"
        )
    return ranges


def _parse_bai(raw: bytes) -> list[tuple[int, int] | None]:
    if raw[:4] != b"BAI\x01":
        raise ValueError("not a BAI index")
    (n_ref,) = struct.unpack_from("<i", raw, 4)
    at = 8
    ranges = []
    for _ in range(n_ref):
        (n_bin,) = struct.unpack_from("<i", raw, at)
        at += 4
        begs, ends = [], []
        for _ in range(n_bin):
            bin_id, n_chunk = struct.unpack_from("<Ii", raw, at)
            at += 8
            chunks = np.frombuffer(raw, dtype="<u8", count=2 * n_chunk, offset=at)
            at += 16 * n_chunk
            if bin_id != 37450:  # the pseudo-bin holds counts, not a chunk of records
                begs.append(int(chunks[0::2].min()) if n_chunk else None)
                ends.append(int(chunks[1::2].max()) if n_chunk else None)
        (n_intv,) = struct.unpack_from("<i", raw, at)
        at += 4 + 8 * n_intv
        ranges.append(_span(begs, ends))
    return ranges


def _parse_csi(raw: bytes) -> list[tuple[int, int] | None]:
    _, depth, l_aux = struct.unpack_from("<iii", raw, 4)
    at = 16 + l_aux
    pseudo = ((1 << (3 * (depth + 1))) - 1) // 7 + 1
    (n_ref,) = struct.unpack_from("<i", raw, at)
    at += 4
    ranges = []
    for _ in range(n_ref):
        (n_bin,) = struct.unpack_from("<i", raw, at)
        at += 4
        begs, ends = [], []
        for _ in range(n_bin):
            bin_id, _loffset, n_chunk = struct.unpack_from("<IQi", raw, at)
            at += 16
            chunks = np.frombuffer(raw, dtype="<u8", count=2 * n_chunk, offset=at)
            at += 16 * n_chunk
            if bin_id != pseudo:
                begs.append(int(chunks[0::2].min()) if n_chunk else None)
                ends.append(int(chunks[1::2].max()) if n_chunk else None)
        ranges.append(_span(begs, ends))
    return ranges


def _span(begs: list, ends: list) -> tuple[int, int] | None:
    begs = [b for b in begs if b is not None]
    ends = [e for e in ends if e is not None]
    return (min(begs), max(ends)) if begs else None
