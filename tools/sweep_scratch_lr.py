"""Pick notebook 01's `scratch_lr` on a validation set, never on the test set.

The from-scratch MobileNet of notebook 01 (section 3) trains on the k_main labels per class. This script runs
notebook 01's own cells for it (setup, data, backbone, label subsets, head, `scratch_network` and the
training cell; see SETUP_CELLS and SCRATCH_CELL), once per candidate Adam learning rate, with the notebook's
`test_ds` swapped for a validation set: `--val-per-class` training images per class that are NOT in any of
the notebook's labelled subsets. It prints the validation accuracy per rate and the rate it picks. No score
reads the test set.

The best rate depends on the Keras backend, so the notebook keeps one per backend (its `SCRATCH_LR`).
Lite track, 2026-12-04, validation accuracy per rate:
- TensorFlow, seed 0: 1e-3 0.386, 3e-3 0.501, 1e-2 0.622, 3e-2 0.695, 1e-1 0.646; seed 1: 1e-2 0.622, 3e-2 0.675.
- JAX, seed 0: 3e-3 0.625, 1e-2 0.643, 3e-2 0.672, 1e-1 0.631; seed 1: 1e-2 0.660, 3e-2 0.696.
- PyTorch, seed 0: 3e-3 0.585, 1e-2 0.694, 3e-2 0.644, 1e-1 0.513; seed 1: 1e-2 0.699, 3e-2 0.680.
So 3e-2 on TensorFlow and JAX, 1e-2 on PyTorch.

Usage (lite track, about a minute per rate on a 2-core CPU):
    KERAS_BACKEND=... KERAS_HOME=... python3 tools/sweep_scratch_lr.py --profile lite [--seed 0] \
        [--lrs 1e-3 3e-3 1e-2 3e-2 1e-1]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import tempfile
from pathlib import Path
from typing import Any

import nbformat
import numpy as np

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "01_feature_extraction.ipynb"
#: Notebook 01's cells this script runs (by id): parameters, imports and setup, data, the pretrained base
#: (for `preprocess`), label subsets and `test_ds`, the head and `compile_`, `SCRATCH_LR` and `scratch_network`.
SETUP_CELLS = ["cell-002", "cell-003", "cell-005", "cell-007", "cell-019", "cell-020", "cell-032"]
#: The cell that trains, recalibrates and scores the from-scratch model (on `test_ds`), into `scratch_acc`.
SCRATCH_CELL = "cell-033"
#: Names the cells must define (tests/test_notebooks_static.py checks them).
NEEDED = ("P", "d", "preprocess", "subsets", "test_ds", "scratch_network", "scratch_lr")
NEEDED_BY_SCRATCH_CELL = ("k_main", "scratch_acc")


def cell_sources(ids: list[str]) -> list[str]:
    """The code of notebook 01's cells ``ids``, in that order.

    Example:
        >>> "scratch_network" in cell_sources(["cell-032"])[0]
        True
    """
    cells = {c.get("id"): c for c in nbformat.read(NOTEBOOK, as_version=4).cells}
    missing = [i for i in ids if i not in cells]
    if missing:
        raise SystemExit(f"notebook 01 has no cells {missing}: update SETUP_CELLS / SCRATCH_CELL in {__file__}")
    return [cells[i].source for i in ids]


def _run(source: str, g: dict[str, Any], quiet: bool = False) -> None:
    with contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext():
        exec(compile(source, str(NOTEBOOK), "exec"), g)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="lite")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lrs", type=float, nargs="+", default=[1e-3, 3e-3, 1e-2, 3e-2, 1e-1])
    ap.add_argument("--val-per-class", type=int, default=100)
    args = ap.parse_args()

    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ["TL_RESULTS_DIR"] = tempfile.mkdtemp(prefix="sweep_scratch_lr_")   # not the course's results
    g: dict[str, Any] = {"__name__": "__main__"}
    setup, [scratch_cell] = cell_sources(SETUP_CELLS), cell_sources([SCRATCH_CELL])
    _run(setup[0], g)
    g["profile"], g["seed"] = args.profile, args.seed                  # the parameters cell, overridden
    for source in setup[1:]:
        _run(source, g, quiet=True)
    d, P = g["d"], g["P"]
    labelled = np.unique(np.concatenate([np.asarray(v) for v in g["subsets"].values()]))
    rest = np.setdiff1d(np.arange(len(d.y_train)), labelled)      # never labelled in the notebook
    val = rest[g["data"].per_class_indices(d.y_train[rest], args.val_per_class, seed=P.seed + 1)]
    g["test_ds"] = g["data"].Batches(d.x_train[val], d.y_train[val], batch_size=256, image_size=P.image_size,
                                     preprocess=g["preprocess"])   # the notebook's test_ds, now validation
    print(f"validation: {len(val)} images outside every labelled subset; {g['keras'].backend.backend()}")
    scores = {}
    for lr in args.lrs:
        g["scratch_lr"] = lr                                          # what scratch_network() compiles with
        _run(scratch_cell, g, quiet=True)                              # its printout says "test": it is not
        scores[lr] = float(g["scratch_acc"][g["k_main"]])
        print(f"scratch_lr {lr:.0e}: validation accuracy {scores[lr]:.3f} (k={g['k_main']})", flush=True)
    print(f"picked scratch_lr = {max(scores, key=scores.get):.0e}")


if __name__ == "__main__":
    main()
