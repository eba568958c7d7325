"""The data source base class: a named reader of one kind of file, local or by URL.

It implements the plugin kind :class:`bpnet.core.plugin.kinds.SourceKind`; the classes
of :mod:`.roles` (and :class:`.reads.ReadSource`) add what each purpose needs.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import ClassVar

from bpnet.core.plugin.kinds import SourceKind

from ..remote import is_url, localize


class Source(SourceKind):
    """Base class of bpnet data sources.

    Subclasses set ``name`` (the name specs use) and ``suffixes`` (file endings they
    read, matched case-insensitively) and derive from the class of the role they play
    (:mod:`bpnet.data.sources.roles`), whose reading methods they implement. A source is
    built from a local path or an http(s) URL; :attr:`path` is the local file, fetched
    into the download cache on first use with ``retries`` attempts of ``timeout``
    seconds each (see :mod:`bpnet.data.remote`).
    """

    name: ClassVar[str] = ""
    suffixes: ClassVar[tuple[str, ...]] = ()
    #: what the source is read as, for messages (each role class names its own)
    role: ClassVar[str] = "data"
    #: the source that reads a file of this role whose suffix no source claims (None: refuse it)
    fallback: ClassVar[str | None] = None

    def __init__(self, location: str | Path, *, retries: int = 3, timeout: float = 30.0):
        self.location = location
        self.retries = retries
        self.timeout = timeout

    @property
    def label(self) -> str:
        """How error messages name this input."""
        return str(self.location)

    @cached_property
    def path(self) -> Path:
        return localize(self.location, retries=self.retries, timeout=self.timeout, what=f"{self.name} file")

    @classmethod
    def reads(cls, location: str | Path) -> bool:
        """Whether this source reads files named like ``location``."""
        name = str(location).split("?", 1)[0].lower()
        return name.endswith(tuple(s.lower() for s in cls.suffixes))

    def __repr__(self) -> str:
        where = self.location if is_url(self.location) else Path(self.location).name
        return f"{type(self).__name__}({where!s})"
