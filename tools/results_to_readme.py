"""Fill README.md's results tables from course runs' results.json files.

    python tools/results_to_readme.py course_out/results.json [README.md]
    python tools/results_to_readme.py --backends tf/results.json jax/results.json torch/results.json [--readme README.md]

The first form replaces the lines between `<!-- results:start -->` and `<!-- results:end -->`
with the per-notebook table. From a multi-seed run (`python -m tl_helpers.course run --profile lite
--seeds 0 1 2`) each number reads `mean ± sd` and each row's status says `(3 seeds)`.

The second form replaces `<!-- backends:start -->` ... `<!-- backends:end -->` with one column per
backend (read from each file's `_meta`, which `course run` writes): the lite track's key numbers
(issue #13 item 7) and the course time per backend. Without `--readme` it prints the table.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tl_helpers.course import RUN_META, format_number, results_table

#: (label, notebook, metric or (a, b) for a - b) of the lite track's key numbers.
KEY_NUMBERS = [
    ("01 feature extraction @20/class", "01_feature_extraction", "fe_acc@20"),
    ("01 same network from scratch @20/class", "01_feature_extraction", "scratch_acc@20"),
    ("01 pipeline / in-memory predict throughput", "01_feature_extraction", "pipeline_ratio"),
    ("02 fine-tuning recipe @500/class", "02_fine_tuning", "ft_acc"),
    ("02 feature extraction @500/class", "02_fine_tuning", "fe_acc"),
    ("03 DANN: share of the domain gap closed", "03_domain_adaptation", "dann_gap_closed"),
    ("04 multi-task accuracy", "04_multi_task_learning", "multi_task_acc"),
    ("04 single-task accuracy", "04_multi_task_learning", "single_task_acc"),
    ("04 multi- minus single-task, paired by seed (mean of 3 seeds' differences)", "04_multi_task_learning",
     "multi_task_acc_minus_single_task_acc"),
    ("04 control: all tasks minus rich + poor task only (paired)", "04_multi_task_learning",
     "multi_task_acc_minus_two_task_acc"),
    ("05 shortcut: stamped minus clean accuracy", "05_pitfalls", ("shortcut_acc_watermarked", "shortcut_acc_clean")),
    ("06 .keras reload matches", "06_your_own_images", "reload_matches"),
    ("06 serving export matches", "06_your_own_images", "serving_matches"),
    ("07 devices (simulated on CPU)", "07_scaling_out", "dp_devices"),
    ("07 1 vs N devices: first-epoch loss difference (tolerance 1e-3)", "07_scaling_out", "dp_first_epoch_loss_diff"),
    ("07 1 vs N devices: largest loss difference, all epochs", "07_scaling_out", "dp_loss_diff"),
    ("07 control: the same, 1 device, inputs one rounding step apart", "07_scaling_out", "dp_control_loss_diff"),
    ("07 killed and resumed run matches", "07_scaling_out", "resume_matches"),
]
_NAMES = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}


def _value(results: dict[str, Any], notebook: str, metric: Any) -> str:
    row = results.get(notebook, {})
    if isinstance(metric, tuple):
        a, b = (row.get(m) for m in metric)
        v = None if a is None or b is None else a - b
    else:
        v = row.get(metric)
    if v is None:
        return "–"
    return format_number(v)


def backend_of(results: dict[str, Any], fallback: str) -> str:
    """The backend a results.json was run on: its ``_meta``, else the rows' ``backend``, else ``fallback``.

    Example:
        >>> backend_of({"_meta": {"backend": "jax"}}, "x"), backend_of({"01": {"backend": "torch"}}, "x")
        ('jax', 'torch')
    """
    meta = results.get(RUN_META, {})
    if meta.get("backend"):
        return meta["backend"]
    found = {row.get("backend") for k, row in results.items() if not k.startswith("_") and isinstance(row, dict)}
    found.discard(None)
    return found.pop() if len(found) == 1 else fallback


def course_time(results: dict[str, Any]) -> float:
    """Seconds the notebooks took in total (``_meta``'s ``course_runtime_s``, else the rows' sum).

    Example:
        >>> course_time({"00": {"runtime_s": 10.0}, "01": {"runtime_s": 5.5}})
        15.5
    """
    meta = results.get(RUN_META, {})
    if "course_runtime_s" in meta:
        return float(meta["course_runtime_s"])
    return round(sum(float(r.get("runtime_s", 0)) for k, r in results.items() if not k.startswith("_")), 1)


def backends_table(runs: dict[str, dict[str, Any]]) -> str:
    """A Markdown table: the key numbers (rows) per backend (columns), then the course time.

    Example:
        >>> t = backends_table({"jax": {"01_feature_extraction": {"fe_acc@20": 0.75, "runtime_s": 60.0}}})
        >>> t.splitlines()[0], t.splitlines()[2]
        ('| lite track, seed 0 | JAX |', '| 01 feature extraction @20/class | 0.750 |')
        >>> t.splitlines()[-1]
        '| lite course time (notebooks, s) | 60 |'
    """
    names = list(runs)
    lines = ["| lite track, seed 0 | " + " | ".join(_NAMES.get(n, n) for n in names) + " |",
             "|---|" + "---|" * len(names)]
    for label, notebook, metric in KEY_NUMBERS:
        lines.append(f"| {label} | " + " | ".join(_value(runs[n], notebook, metric) for n in names) + " |")
    lines.append("| lite course time (notebooks, s) | " + " | ".join(f"{course_time(runs[n]):.0f}" for n in names)
                 + " |")
    return "\n".join(lines)


def _replace_block(readme: str, tag: str, body: str) -> None:
    text = Path(readme).read_text()
    start, end = f"<!-- {tag}:start -->", f"<!-- {tag}:end -->"
    if start not in text or end not in text:
        raise SystemExit(f"{readme} has no {start} ... {end} block.")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    Path(readme).write_text(f"{head}{start}\n{body}\n{end}{tail}")


def main(path: str, readme: str = "README.md") -> None:
    """The per-notebook table from one results.json into README's results block."""
    results = json.loads(Path(path).read_text())
    _replace_block(readme, "results", results_table(results))
    print(f"updated {readme} from {path}")


def main_backends(paths: list[str], readme: str | None = None) -> str:
    """The per-backend table from several results.json files; into README's backends block when ``readme``."""
    runs: dict[str, dict[str, Any]] = {}
    for p in paths:
        results = json.loads(Path(p).read_text())
        name = backend_of(results, Path(p).parent.name or p)
        if name in runs:
            raise SystemExit(f"two result files for the {name} backend ({p}); give one per backend.")
        runs[name] = results
    order = [b for b in ("tensorflow", "jax", "torch") if b in runs] + [b for b in runs if b not in _NAMES]
    table = backends_table({b: runs[b] for b in order})
    if readme:
        _replace_block(readme, "backends", table)
        print(f"updated {readme} from {', '.join(paths)}")
    else:
        print(table)
    return table


if __name__ == "__main__":
    if "--backends" in sys.argv[1:]:
        ap = argparse.ArgumentParser(description="per-backend README table")
        ap.add_argument("--backends", nargs="+", required=True, metavar="RESULTS_JSON")
        ap.add_argument("--readme")
        a = ap.parse_args()
        main_backends(a.backends, a.readme)
    elif not sys.argv[1:] or sys.argv[1] in ("-h", "--help") or len(sys.argv) > 3:
        print(__doc__)
        raise SystemExit(0 if sys.argv[1:2] in (["-h"], ["--help"]) else 2)
    else:
        main(*sys.argv[1:])
