"""Recording a notebook's key numbers so the course runner and tests can read them.

Each notebook calls :func:`tl_helpers.config.setup` (which calls :func:`start`)
and then ``record("fe_acc@20", 0.81)`` for every number its prose relies on.
The numbers land in ``$TL_RESULTS_DIR/<notebook>.json`` (default ``results/``
beside the notebooks), which the course runner merges into ``results.json``.

Example:
    >>> import tempfile, os
    >>> os.environ["TL_RESULTS_DIR"] = tempfile.mkdtemp()
    >>> start("demo", None)
    >>> record("acc", 0.5)
    0.5
    >>> load("demo")["acc"]
    0.5
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

_state: dict[str, Any] = {"notebook": None, "meta": {}}


def results_dir() -> Path:
    """Where per-notebook result files go: ``$TL_RESULTS_DIR`` or ``./results``.

    Example:
        >>> isinstance(results_dir(), Path)
        True
    """
    return Path(os.environ.get("TL_RESULTS_DIR") or "results")


def _path(notebook: str) -> Path:
    return results_dir() / f"{notebook}.json"


def start(notebook: str | None, profile: Any) -> None:
    """Begin a notebook's record (called by ``config.setup``); clears its old numbers.

    Example:
        >>> start("demo", None)
    """
    name = notebook or os.environ.get("TL_NOTEBOOK") or "interactive"
    meta = {}
    if profile is not None:
        meta = {"profile": profile.name, "seed": profile.seed}
    _state.update(notebook=name, meta=meta)
    path = _path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"_meta": meta}, indent=2))


def record(key: str, value: float | int | str) -> float | int | str:
    """Store one key number of the current notebook and return it.

    Numbers are written to disk at once, so a notebook that fails later still
    leaves what it measured.

    Example:
        >>> record("runtime_demo", 1.25)
        1.25
    """
    if _state["notebook"] is None:
        start(None, None)
    if hasattr(value, "item"):  # numpy / backend scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"record({key!r}, {value}): the value is not finite; "
                         "a NaN or inf usually means training diverged - lower the learning rate.")
    if not isinstance(value, (int, float, str)):
        raise TypeError(f"record({key!r}, ...) takes a number or a string, got {type(value).__name__}.")
    path = _path(_state["notebook"])
    data = json.loads(path.read_text()) if path.exists() else {"_meta": _state["meta"]}
    data[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    return value


def load(notebook: str | None = None) -> dict[str, Any]:
    """The numbers a notebook recorded (without the ``_meta`` entry).

    Example:
        >>> "acc" in load("demo")
        True
    """
    path = _path(notebook or _state["notebook"] or "interactive")
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    data.pop("_meta", None)
    return data
