"""The ``bpnet-keras`` command: ``convert`` Keras/ENCODE models to bpnet model folders, ``inspect`` them.

Exit codes: 0 success, 2 bad input (one ``error: ...`` line on stderr, no traceback).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from cyclopts import App
from cyclopts.exceptions import CycloptsError

from bpnet.core.errors import BpnetError

from . import __version__

Kind = Literal["chrombpnet", "accessibility", "bias", "bpnet"]


app = App(
    name="bpnet-keras",
    help="Import official Keras/TensorFlow BPNet and ChromBPNet models (and ENCODE tarballs) into bpnet.",
    version=__version__,
)


@app.command
def convert(source: Path, /, *, out: Path, fold: int | None = None, kind: Kind | None = None) -> None:
    """Convert SOURCE (.h5, .keras or ENCODE .tar.gz) to the bpnet model folder OUT.

    Parameters
    ----------
    source
        Keras .h5 / weights-only .h5 / .keras file or ENCODE model tarball.
    out
        Model folder to write (config.json + model.safetensors); read it with bpnet.core.load_model.
    fold
        Tarball fold (default: the lowest fold in the archive).
    kind
        Model to write (default: what the file holds; full ChromBPNet for a tarball).
    """
    from bpnet.core.modelfile import CONFIG_NAME, save_model

    from .api import import_model

    if out.exists() and not (out.is_dir() and (out / CONFIG_NAME).is_file()):
        raise BpnetError(f"{out} exists and is not a bpnet model folder; choose another --out")
    imported = import_model(source, fold=fold, kind=kind, checksum=True)
    save_model(imported.model, out, provenance=imported.provenance)
    p = imported.provenance
    fold_text = f", fold {p['fold']}" if p["fold"] is not None else ""
    print(f"wrote {out} ({p['kind']} model from {p['source']}{fold_text})")


@app.command
def inspect(source: Path, /, *, fold: int | None = None) -> None:
    """Show what SOURCE holds: architecture, filters, layers, tracks, controls (and folds for tarballs).

    Parameters
    ----------
    source
        Keras .h5 / .keras file or ENCODE model tarball.
    fold
        Tarball fold to describe (default: the lowest).
    """
    from .api import inspect as inspect_source

    _print_inspection(inspect_source(source, fold=fold))


def _print_inspection(info: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{info['source']}[/bold] ({info['container']})")
    if "folds" in info:
        console.print(f"folds: {', '.join(map(str, info['folds'])) or 'none'}; described: fold {info['fold']}")
        members = Table("fold", "model members")
        for fold, names in info["members"].items():
            members.add_row(fold, "\n".join(names))
        console.print(members)
    columns, rows = [], {key: [] for key in _ROWS}
    for model in info["models"]:
        for role, part in model["parts"].items():
            columns.append(f"{_short(model['member'] or info['source'])}: {role}")
            values = {**model, **part, "architecture": f"{part['architecture']} ({model['family']})",
                      "controls": f"{part['n_control_tracks']} ({model['controls']})" if part["n_control_tracks"] else "none",
                      "keras": f"{model['keras_version']} ({model['layout']})"}
            for key in _ROWS:
                rows[key].append(str(values[key]))
    table = Table("", *columns)
    for key, label in _ROWS.items():
        table.add_row(label, *rows[key])
    console.print(table)


_ROWS = {
    "kind": "file holds",
    "architecture": "architecture",
    "n_filters": "filters",
    "n_layers": "dilated layers",
    "n_outputs": "profile tracks",
    "n_count_outputs": "count outputs",
    "controls": "control tracks",
    "input_length": "input length",
    "output_length": "output length",
    "keras": "keras version",
}


def _short(name: str) -> str:
    """``model.bias_scaled.fold_0.ENCSR….h5`` -> ``bias_scaled``; other names: the file name."""
    match = re.match(r"model\.(.+?)\.fold_\d+", Path(name).name)
    return match.group(1) if match else Path(name).name


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit code (0 ok, 2 bad input)."""
    tokens = list(sys.argv[1:] if argv is None else argv)
    try:
        app(tokens, exit_on_error=False, print_error=False, result_action="return_value")
    except CycloptsError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except BpnetError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
