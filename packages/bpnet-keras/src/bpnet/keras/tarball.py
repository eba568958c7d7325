"""ENCODE model tarballs: list folds and read model members straight from the archive.

Members are read into memory with :mod:`tarfile`, never extracted. Archives with an
absolute or ``..`` member name are refused, and so are members larger than
:data:`MAX_MEMBER_BYTES`. A member's fold comes from a ``fold_K`` path component or
file-name part; which model a member holds is decided later from its weights.
"""

from __future__ import annotations

import re
import tarfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from .sources import SAVEDMODEL_HINT, KerasImportError, Source, open_tar

MAX_MEMBER_BYTES = 4 * 1024**3
FOLD_RE = re.compile(r"(?:^|[/.])fold_(\d+)(?=$|[/.])")
MODEL_SUFFIXES = {".h5", ".hdf5", ".keras", ""}


@dataclass
class Member:
    """A regular file of the archive that may hold a model."""

    name: str
    size: int
    fold: int | None


@dataclass
class Tarball:
    """What an archive holds: model candidates grouped by fold, and every member's name."""

    source: Source
    folds: dict[int | None, list[Member]] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)

    def fold_numbers(self) -> list[int]:
        return sorted(k for k in self.folds if k is not None)

    def members(self, fold: int | None) -> list[Member]:
        """Model candidates of ``fold`` (``None``: the lowest fold, or the fold-less members)."""
        if fold is None:
            numbers = self.fold_numbers()
            fold = numbers[0] if numbers else None
        if fold not in self.folds:
            available = ", ".join(str(k) for k in self.fold_numbers()) or "none"
            raise KerasImportError(f"{self.source.name} has no fold {fold} (folds found: {available})")
        return self.folds[fold]

    def default_fold(self) -> int | None:
        numbers = self.fold_numbers()
        return numbers[0] if numbers else None


def _check_name(source: Source, name: str) -> None:
    path = PurePosixPath(name)
    if name.startswith("/") or ".." in path.parts:
        raise KerasImportError(f"{source.name} has an unsafe member name {name!r} (absolute or '..'); refusing the archive")


def scan(source: Source) -> Tarball:
    """List an archive; raise for unsafe names, SavedModel archives and archives without models."""
    with open_tar(source) as archive:
        try:
            infos = archive.getmembers()
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise KerasImportError(f"{source.name} is a truncated or corrupt tar archive ({exc})") from exc
    tarball = Tarball(source)
    for info in infos:
        _check_name(source, info.name)
        tarball.names.append(info.name)
        if not info.isfile() or PurePosixPath(info.name).suffix.lower() not in MODEL_SUFFIXES:
            continue
        if "/logs." in f"/{info.name}" or PurePosixPath(info.name).name.startswith("."):
            continue
        folds = FOLD_RE.findall(info.name)
        fold = int(folds[-1]) if folds else None
        tarball.folds.setdefault(fold, []).append(Member(info.name, info.size, fold))
    if not tarball.folds:
        if any(PurePosixPath(n).name == "saved_model.pb" for n in tarball.names):
            raise KerasImportError(f"{source.name} is a TensorFlow SavedModel archive; {SAVEDMODEL_HINT}")
        if any(n.endswith(".tar") for n in tarball.names):
            raise KerasImportError(f"{source.name} only holds SavedModel .tar members and no .h5 models; {SAVEDMODEL_HINT}")
        raise KerasImportError(f"{source.name} is a tar archive without Keras .h5 models (an ENCODE model tarball was expected)")
    return tarball


def read_members(source: Source, names: list[str], max_bytes: int | None = None) -> dict[str, bytes]:
    """The bytes of the members ``names`` (regular files no larger than ``max_bytes``), in one pass."""
    limit = MAX_MEMBER_BYTES if max_bytes is None else max_bytes
    wanted = set(names)
    for name in wanted:
        _check_name(source, name)
    found: dict[str, bytes] = {}
    with open_tar(source) as archive:
        try:
            for info in archive:
                if info.name in wanted and info.name not in found:
                    found[info.name] = _read(source, archive, info, limit)
                    if len(found) == len(wanted):
                        break
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise KerasImportError(f"{source.name} is a truncated or corrupt tar archive ({exc})") from exc
    missing = sorted(wanted - set(found))
    if missing:
        raise KerasImportError(f"{source.name} has no member {missing[0]}")
    return found


def _read(source: Source, archive: tarfile.TarFile, info: tarfile.TarInfo, limit: int) -> bytes:
    if not info.isfile():
        raise KerasImportError(f"member {info.name} of {source.name} is not a regular file")
    if info.size > limit:
        raise KerasImportError(f"member {info.name} of {source.name} is {info.size} bytes, more than the {limit}-byte limit")
    handle = archive.extractfile(info)
    if handle is None:  # pragma: no cover - regular files always have data
        raise KerasImportError(f"cannot read member {info.name} of {source.name}")
    data = handle.read(limit + 1)
    if len(data) != info.size:
        raise KerasImportError(f"member {info.name} of {source.name} is truncated")
    return data
