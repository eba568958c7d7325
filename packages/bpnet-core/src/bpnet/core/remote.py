"""Local paths and http(s) URLs for every data source.

A URL is streamed once into a download cache (``$BPNET_CACHE_DIR`` or
``~/.cache/bpnet/downloads``) with retries and a timeout, written to a temporary file
and renamed when complete, so an interrupted download never looks finished. Later
calls reuse the cached copy. Readers then open the local copy: pyBigWig, pysam and
pyfaidx all want seekable local files for random access. In a spec any input may be a
URL: the executor downloads it just before the stage runs (see
:mod:`bpnet.core.spec.resolve`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

from .atomic import atomic_path
from .errors import InputError

log = logging.getLogger(__name__)

URL_SCHEMES = ("http://", "https://")


def is_url(location: str | Path) -> bool:
    """Whether ``location`` is an http(s) URL rather than a local path."""
    return str(location).startswith(URL_SCHEMES)


def cache_dir() -> Path:
    """Where downloaded inputs are kept."""
    root = os.environ.get("BPNET_CACHE_DIR")
    return Path(root) if root else Path.home() / ".cache" / "bpnet" / "downloads"


def cached_location(url: str) -> Path:
    """Where the download of ``url`` is (or will be) kept."""
    name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "download"
    return cache_dir() / hashlib.sha256(url.encode()).hexdigest()[:16] / name


def localize(location: str | Path, *, retries: int = 3, timeout: float = 30.0, what: str = "input") -> Path:
    """A local path for ``location``: the path itself, or a cached download of a URL.

    Raises :class:`InputError` naming the file when a local path does not exist, or the
    URL when it cannot be fetched after ``retries`` attempts.
    """
    if not is_url(location):
        path = Path(location)
        if not path.exists():
            raise InputError(f"{what} {path} does not exist: check the path (relative paths are relative to the spec's folder)")
        return path
    url = str(location)
    target = cached_location(url)
    name = target.name
    if target.exists():
        return target
    for companion in _index_companions(url):  # pysam/pyBigWig look for these next to the file
        _download(companion[0], target.with_name(name + companion[1]), retries=1, timeout=timeout, required=False)
    _download(url, target, retries=retries, timeout=timeout, required=True, what=what)
    return target


def _index_companions(url: str) -> list[tuple[str, str]]:
    if url.split("?", 1)[0].endswith(".bam"):
        return [(url + ".bai", ".bai")]
    if url.split("?", 1)[0].endswith((".fa.gz", ".fasta.gz")):
        return [(url + ".fai", ".fai"), (url + ".gzi", ".gzi")]
    return []


def _download(url: str, target: Path, *, retries: int, timeout: float, required: bool, what: str = "input") -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    last_error = ""
    for attempt in range(1, max(retries, 1) + 1):
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, atomic_path(target) as tmp:
                with open(tmp, "wb") as out:
                    shutil.copyfileobj(response, out, length=1 << 20)
            log.info("downloaded %s to %s", url, target)
            return
        except urllib.error.HTTPError as exc:
            last_error = f"HTTP {exc.code} {exc.reason}"
            if exc.code in (401, 403, 404, 410):
                break  # retrying will not help
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            last_error = str(getattr(exc, "reason", exc)) or type(exc).__name__
        if attempt < retries:
            time.sleep(min(2 ** (attempt - 1), 5) * 0.5)
    if required:
        raise InputError(
            f"could not download {what} {url} ({last_error}) after {retries} attempt(s) with a {timeout:g} s timeout: "
            "check the URL and your network, or download the file and give its local path"
        )
