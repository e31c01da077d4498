"""Compare notebook 04's task sets on validation canvases, never on the test set.

Runs notebook 04's own setup cells (data, cached features, `build_model`, `training_set`, `compile_and_fit`),
then holds out `--n-val` training canvases as a validation set: they leave the training rows, and their labels
stand in for the test labels (the test canvases are never scored). For each task set it trains, on each seed,
the single-task model on the data-poor task and the equal-weight multi-task model, and prints both mean
accuracies and the per-seed (paired) difference, mean ± standard error.

Lite track, TensorFlow, 2026-12-04, 5 seeds, multi- minus single-task on `item_b`, mean ± SE:
- 10 labels per class: `item_a,item_b` (04's design until then, now its control) +0.007 ± 0.003;
  `item_a,kind_b,item_b` (04's tasks now) +0.041 ± 0.007; `kind_b,item_b` +0.036 ± 0.004.
- 5 labels per class: +0.037 ± 0.010 (`item_a,kind_b,item_b`), +0.044 ± 0.010 (`kind_b,item_b`).
- With `item_a,item_b` only, other shared layers (a one-off variant of this script) did worse than the
  notebook's 1x1 convolution: 128 then 64 channels -0.014 ± 0.010, a 3x3 convolution -0.025 ± 0.009 (10 labels
  per class); fewer channels helped a little with fewer labels (3 per class, 16 channels: +0.055 ± 0.022).
So 04 gained `kind_b` (the coarse kind of the bottom-right item) and kept its shared layer.

Usage (lite track: about a minute per task set on a 2-core CPU):
    KERAS_HOME=... python3 tools/validate_04_tasks.py --profile lite [--seeds 5] [--poor-per-class 10] \
        [--task-sets item_a,item_b item_a,kind_b,item_b kind_b,item_b]
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import nbformat
import numpy as np

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "04_multi_task_learning.ipynb"
#: The notebook's cells this script runs (by id), and the names it needs them to define.
SETUP_CELLS = [f"cell-{i:03d}" for i in range(3, 16)]
NEEDED = ("mt", "F_train", "F_test", "y_test", "build_model", "training_set", "compile_and_fit")


def setup_sources() -> list[str]:
    """The code of notebook 04's setup cells, in order (a test checks that they still define :data:`NEEDED`)."""
    cells = {c.get("id"): c for c in nbformat.read(NOTEBOOK, as_version=4).cells}
    missing = [i for i in SETUP_CELLS if i not in cells]
    if missing:
        raise SystemExit(f"notebook 04 has no cells {missing}: update SETUP_CELLS in {__file__}")
    return [cells[i].source for i in SETUP_CELLS if cells[i].cell_type == "code"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="lite")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--poor-per-class", type=int, default=10)
    ap.add_argument("--n-val", type=int, default=1000)
    ap.add_argument("--task-sets", nargs="+", default=["item_a,item_b", "item_a,kind_b,item_b", "kind_b,item_b"])
    args = ap.parse_args()

    os.environ.setdefault("MPLBACKEND", "Agg")
    g: dict[str, Any] = {"__name__": "__main__", "profile": args.profile, "seed": 0}
    for source in setup_sources():
        exec(compile(source, str(NOTEBOOK), "exec"), g)
    mt = g["mt"]
    perm = np.random.default_rng(123).permutation(len(g["F_train"]))
    train, val = np.sort(perm[args.n_val:]), np.sort(perm[:args.n_val])
    g["F_train"], g["F_test"] = g["F_train"][train], g["F_train"][val]     # F_test: validation canvases
    g["y_test"] = {t: y[val] for t, y in mt.y_train.items()}
    y_train = {t: y[train] for t, y in mt.y_train.items()}
    mt.y_train.clear()
    mt.y_train.update(y_train)
    g["poor_per_class"], poor = args.poor_per_class, mt.poor
    print(f"{len(train)} training canvases, {len(val)} validation canvases; data-poor task {poor!r}, "
          f"{args.poor_per_class} labels per class")
    for spec in args.task_sets:
        tasks = spec.split(",")
        if poor not in tasks or any(t not in mt.tasks for t in tasks):
            raise SystemExit(f"task set {spec!r}: use tasks of {list(mt.tasks)}, including {poor!r}")
        g["main_tasks"] = tasks                      # training_set() labels these tasks
        single, multi = [], []
        for s in range(args.seeds):
            D = g["training_set"](s)
            single.append(g["compile_and_fit"](g["build_model"]([poor], name="single", seed=s), [poor], D)[poor])
            multi.append(g["compile_and_fit"](g["build_model"](tasks, name="multi", seed=s), tasks, D,
                                              loss_weights={t: 1.0 for t in tasks})[poor])
        d = np.subtract(multi, single)
        print(f"RESULT {spec}: single {np.mean(single):.3f}, multi {np.mean(multi):.3f}, multi - single "
              f"{d.mean():+.3f} ± {d.std(ddof=1) / np.sqrt(len(d)):.3f} (SE); per seed {np.round(d, 3).tolist()}",
              flush=True)


if __name__ == "__main__":
    main()
