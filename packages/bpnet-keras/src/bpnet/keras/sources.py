"""Sources: a path, bytes or a binary file-like object, and what kind of file it holds.

Files are recognised by content, never by name: HDF5 by its signature (legacy Keras
``.h5`` and weights-only files), zip (Keras 3 ``.keras``), tar/tar.gz (ENCODE tarballs, or
a TensorFlow SavedModel archive, which is refused), a SavedModel directory (refused).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from bpnet.core.errors import ModelFileError

SourceLike = str | os.PathLike | bytes | bytearray | memoryview | BinaryIO

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"
GZIP_SIGNATURE = b"\x1f\x8b"
SAVEDMODEL_HINT = (
    "bpnet-keras reads Keras HDF5 (.h5) and .keras files, not TensorFlow SavedModels; "
    "use the .h5 file (every ENCODE fold has one next to the .tar)"
)


class KerasImportError(ModelFileError):
    """A source that bpnet-keras cannot import; the message says what was found and what is supported."""

    exit_code = 2


@dataclass
class Source:
    """An opened source: a display ``name`` and either a local ``path`` or in-memory ``data``."""

    name: str
    path: Path | None = None
    data: bytes | None = None

    def open(self) -> BinaryIO:
        """A fresh binary file object positioned at the start."""
        if self.path is not None:
            return open(self.path, "rb")
        return io.BytesIO(self.data or b"")

    def head(self, n: int = 512) -> bytes:
        """The first ``n`` bytes."""
        with self.open() as handle:
            return handle.read(n)

    def sha256(self) -> str:
        """SHA-256 of the whole content."""
        digest = hashlib.sha256()
        with self.open() as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()


def as_source(source: SourceLike | Source, name: str | None = None) -> Source:
    """Wrap a path, bytes or binary file-like object (read into memory) as a :class:`Source`."""
    if isinstance(source, Source):
        return source
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise KerasImportError(f"{path} does not exist")
        return Source(name or path.name, path=path)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return Source(name or "<bytes>", data=bytes(source))
    if hasattr(source, "read"):
        if hasattr(source, "seek"):
            try:
                source.seek(0)
            except (OSError, ValueError):
                pass
        data = source.read()
        if not isinstance(data, (bytes, bytearray)):
            raise KerasImportError("the file object must be opened in binary mode ('rb')")
        label = name or Path(str(getattr(source, "name", "<stream>"))).name
        return Source(label, data=bytes(data))
    raise KerasImportError(
        f"cannot read a {type(source).__name__}: give a path, bytes or a binary file object"
    )


def sniff(source: Source) -> str:
    """The container kind: ``hdf5``, ``keras-zip``, ``tar``, ``savedmodel-dir``; else raise."""
    if source.path is not None and source.path.is_dir():
        if (source.path / "saved_model.pb").exists():
            raise KerasImportError(f"{source.name} is a TensorFlow SavedModel directory; {SAVEDMODEL_HINT}")
        raise KerasImportError(f"{source.name} is a directory, not a Keras model file; give an .h5, .keras or .tar.gz file")
    head = source.head(512)
    if head.startswith(HDF5_SIGNATURE):
        return "hdf5"
    if head.startswith(ZIP_SIGNATURE):
        return "keras-zip"
    if head.startswith(GZIP_SIGNATURE) or (len(head) >= 262 and head[257:262] == b"ustar"):
        return "tar"
    if not head:
        raise KerasImportError(f"{source.name} is empty; supported: Keras .h5, .keras, ENCODE .tar.gz")
    raise KerasImportError(
        f"{source.name} is not an HDF5, .keras (zip) or tar file; "
        "supported: Keras .h5 / weights-only .h5, Keras 3 .keras, ENCODE model .tar.gz"
    )


def open_tar(source: Source) -> tarfile.TarFile:
    """Open a tar or tar.gz source for reading (members are read, never extracted)."""
    try:
        if source.path is not None:
            return tarfile.open(source.path, mode="r:*")
        return tarfile.open(fileobj=io.BytesIO(source.data or b""), mode="r:*")
    except (tarfile.TarError, gzip.BadGzipFile, EOFError, OSError) as exc:
        raise KerasImportError(f"{source.name} is not a readable tar archive ({exc})") from exc


def open_zip(source: Source) -> zipfile.ZipFile:
    """Open a zip (Keras 3 ``.keras``) source."""
    try:
        return zipfile.ZipFile(source.path if source.path is not None else io.BytesIO(source.data or b""))
    except (zipfile.BadZipFile, OSError) as exc:
        raise KerasImportError(f"{source.name} is not a readable zip (.keras) file ({exc})") from exc
