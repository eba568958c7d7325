"""Terminal output: one rich console, logging to it, and progress bars with ETA."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

T = TypeVar("T")

console = Console(stderr=True)
_handler: RichHandler | None = None
#: pass as ``extra=`` to a log call whose record goes to the run log only, not the terminal
LOG_FILE_ONLY = {"file_only": True}


def setup_logging(verbose: bool = False) -> None:
    """Send bpnet's log records to the terminal (INFO, or DEBUG with ``verbose``)."""
    global _handler
    logger = logging.getLogger("bpnet")
    logger.setLevel(logging.DEBUG)
    if _handler is None:
        _handler = RichHandler(console=console, show_path=False, show_time=False, markup=False, rich_tracebacks=False)
        _handler.addFilter(lambda record: not getattr(record, "file_only", False))
        logger.addHandler(_handler)
    _handler.setLevel(logging.DEBUG if verbose or os.environ.get("BPNET_DEBUG") else logging.INFO)


def progress_bar(transient: bool = False) -> Progress:
    """A rich progress bar with count, elapsed time and ETA."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        transient=transient,
        disable=bool(os.environ.get("BPNET_NO_PROGRESS")),
    )


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate ``items`` with a progress bar (count, elapsed, ETA)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with progress_bar() as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)


def format_duration(seconds: float) -> str:
    """``12.3 s``, ``4 min 05 s`` or ``2 h 07 min``: a duration for logs, tables and reports."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"
