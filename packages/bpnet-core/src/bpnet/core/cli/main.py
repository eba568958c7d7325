"""``bpnet``: run, validate and inspect pipelines; run any stage alone.

Exit codes scripts can rely on: 0 success, 1 a stage failed, 2 bad input (spec,
parameters, files, names), 130 interrupted.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import traceback
from collections.abc import Sequence

import cyclopts
from rich.markup import escape

from .. import __version__
from ..console import console, setup_logging
from ..errors import BpnetError
from .exit_codes import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK, EXIT_STAGE_FAILED


def build_app(argv: Sequence[str] | None = None) -> cyclopts.App:
    """The cyclopts app with bpnet's commands, plugins' commands, and (when asked) stages."""
    from . import commands, stage_commands

    app = cyclopts.App(
        name="bpnet",
        help="Basepair-resolution sequence-to-function models (BPNet, ChromBPNet): pipelines, stages and plugins.",
        version=__version__,
        console=console,
        error_console=console,
        help_format="rich",
    )
    app.command(commands.run)
    app.command(commands.validate)
    app.command(commands.schema)
    app.command(commands.plugins)
    stage_app = cyclopts.App(name="stage", help="Run one registered stage alone: `bpnet stage NAME --param value ...`.")
    app.command(stage_app)
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "stage":
        stage_commands.add_stage_commands(stage_app)
    from ..plugin.registry import registry

    registry().add_commands(app)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bpnet`` command; returns (and exits with) the exit code."""
    code = run_cli(argv)
    if argv is None:
        sys.exit(code)
    return code


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM (a cluster's wall-time limit, ``kill``): unwind so temporary outputs are removed."""
    raise SystemExit(128 + signum)


def run_cli(argv: Sequence[str] | None = None) -> int:
    setup_logging()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    try:
        app = build_app(argv)
        result = app(
            list(sys.argv[1:]) if argv is None else list(argv),
            exit_on_error=False,
            print_error=True,
            result_action="return_value",
        )
    except cyclopts.CycloptsError:
        return EXIT_BAD_INPUT
    except BpnetError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        console.print("[bold red]interrupted[/]")
        return EXIT_INTERRUPTED
    except SystemExit as exc:
        code = int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_BAD_INPUT
        if code > 128:
            console.print(f"[bold red]terminated[/] by signal {code - 128}; unfinished outputs were removed")
        return code
    except Exception as exc:  # a bug: one line, the traceback only when asked for
        if os.environ.get("BPNET_DEBUG"):
            traceback.print_exc()
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        console.print(
            f"[bold red]error:[/] unexpected {type(exc).__name__}: {escape(text)} "
            "(please report it; set BPNET_DEBUG=1 for the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        return EXIT_STAGE_FAILED
    return result if isinstance(result, int) else EXIT_OK
