"""Run the course headless: ``python -m tl_helpers.course run [--profile P] [--only NAME ...]``.

Executes the notebooks in order with papermill (injecting ``profile``, ``seed``
and any ``-p key=value``), writes the executed notebooks and ``DIR/results.json``
= ``{notebook: {metric: value, ..., "runtime_s": seconds}}``, prints a results
table and exits non-zero if any notebook failed.

Other commands: ``list`` (the notebooks), ``student OUT_DIR`` (copies without
solutions, see :mod:`tl_helpers.student`).

Example:
    >>> [n.stem for n in notebooks()][:1]
    ['00_setup']
    >>> parse_param("epochs=3"), parse_param("image_dir=/tmp/x")
    (('epochs', 3), ('image_dir', '/tmp/x'))
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"


def notebooks(only: list[str] | None = None, folder: Path = NOTEBOOK_DIR) -> list[Path]:
    """The course notebooks (``NN_name.ipynb``) in order, optionally filtered by name or number.

    Example:
        >>> [n.stem for n in notebooks(["00"])]
        ['00_setup']
    """
    found = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))
    if not only:
        return found
    picked = [p for p in found if any(p.stem == o or p.stem.startswith(o.rstrip("_") + "_")
                                      or p.stem == Path(o).stem for o in only)]
    unknown = [o for o in only if not any(p.stem == o or p.stem.startswith(o.rstrip("_") + "_")
                                          or p.stem == Path(o).stem for p in found)]
    if unknown:
        raise SystemExit(f"Unknown notebook(s): {', '.join(unknown)}. "
                         f"Available: {', '.join(p.stem for p in found)}.")
    return picked


def parse_param(text: str) -> tuple[str, Any]:
    """``key=value`` -> ``(key, value)``; the value is a Python literal when it parses as one.

    Example:
        >>> parse_param("lr=1e-3")
        ('lr', 0.001)
    """
    if "=" not in text:
        raise SystemExit(f"-p takes key=value (e.g. -p image_dir=/data/photos); got {text!r}.")
    key, raw = text.split("=", 1)
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return key.strip(), value


def run_one(nb: Path, out: Path, params: dict[str, Any], timeout: int | None = None,
            env: dict[str, str] | None = None) -> dict[str, Any]:
    """Execute one notebook; return its recorded numbers plus ``runtime_s`` and ``status``.

    ``env`` adds environment variables for the notebook's kernel only.

    Example:
        >>> run_one  # doctest: +ELLIPSIS
        <function run_one at ...>
    """
    import papermill as pm

    records = out / "records"
    records.mkdir(parents=True, exist_ok=True)
    (out / "executed").mkdir(parents=True, exist_ok=True)
    saved = dict(os.environ)
    os.environ.update(TL_RESULTS_DIR=str(records), TL_NOTEBOOK=nb.stem, **(env or {}))  # the kernel inherits
    (records / f"{nb.stem}.json").unlink(missing_ok=True)
    start = time.perf_counter()
    status, error = "ok", ""
    try:
        pm.execute_notebook(str(nb), str(out / "executed" / nb.name), parameters=params,
                            cwd=str(nb.parent), kernel_name="python3", progress_bar=False,
                            execution_timeout=timeout)
    except Exception as err:  # papermill's error carries the notebook's exception
        status = "failed"
        error = f"{getattr(err, 'ename', type(err).__name__)}: {getattr(err, 'evalue', str(err))}"
    finally:
        os.environ.clear()
        os.environ.update(saved)
    row: dict[str, Any] = {}
    rec = records / f"{nb.stem}.json"
    if rec.exists():
        row.update({k: v for k, v in json.loads(rec.read_text()).items() if k != "_meta"})
    row["runtime_s"] = round(time.perf_counter() - start, 1)
    row["status"] = status
    if error:
        row["error"] = error
    return row


def results_table(results: dict[str, dict[str, Any]]) -> str:
    """A plain-text (Markdown) table: one row per notebook, its numbers in one cell.

    Example:
        >>> print(results_table({"00_setup": {"top5_hit": 1, "runtime_s": 9.5, "status": "ok"}}))
        | notebook | status | runtime (s) | recorded numbers |
        |---|---|---|---|
        | 00_setup | ok | 9.5 | top5_hit=1 |
    """
    lines = ["| notebook | status | runtime (s) | recorded numbers |", "|---|---|---|---|"]
    for name, row in results.items():
        nums = ", ".join((f"{k}={v:.3f}" if abs(v) >= 0.01 or v == 0 else f"{k}={v:.2g}") if isinstance(v, float)
                         else f"{k}={v}"
                         for k, v in row.items() if k not in ("runtime_s", "status", "error"))
        lines.append(f"| {name} | {row.get('status', '?')} | {row.get('runtime_s', '')} | {nums} |")
    return "\n".join(lines)


def cmd_run(a: argparse.Namespace) -> int:
    out = Path(a.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    params: dict[str, Any] = dict(parse_param(p) for p in a.param)
    params.setdefault("profile", a.profile)
    params.setdefault("seed", a.seed)
    env = {"TL_PROFILE": str(params["profile"])}
    os.environ.pop("TL_SEED", None)  # the injected seed decides
    results_path = out / "results.json"
    results: dict[str, Any] = json.loads(results_path.read_text()) if results_path.exists() else {}
    failed = []
    for nb in notebooks(a.only):
        print(f"▶ {nb.stem} (profile={params['profile']}, seed={params['seed']}) ...", flush=True)
        row = run_one(nb, out, params, a.timeout, env)
        results[nb.stem] = row
        results_path.write_text(json.dumps(results, indent=2))
        if row["status"] != "ok":
            failed.append(nb.stem)
            print(f"✗ {nb.stem} failed after {row['runtime_s']} s:\n{row['error']}\n"
                  f"  (executed notebook: {out / 'executed' / nb.name})", flush=True)
        else:
            print(f"✓ {nb.stem} in {row['runtime_s']} s", flush=True)
    print("\n" + results_table(results))
    print(f"\nresults: {results_path}\nexecuted notebooks: {out / 'executed'}")
    if a.html:
        from .render import render_course
        index = render_course(out / "executed", results, Path(a.html))
        print(f"HTML course: {index}")
    if failed:
        print(f"\n{len(failed)} notebook(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module docstring).

    Example:
        >>> main(["list"])  # doctest: +ELLIPSIS
        00_setup...
        0
    """
    ap = argparse.ArgumentParser(prog="python -m tl_helpers.course", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="execute notebooks headless and collect their numbers")
    r.add_argument("--profile", default="auto", help="auto (default), full, lite or smoke")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--only", nargs="+", metavar="NAME", help="notebooks by stem or number, e.g. 00_setup or 01")
    r.add_argument("--out", default="course_out", help="output folder (default: course_out)")
    r.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="a notebook parameter, e.g. -p image_dir=/data/photos (repeatable)")
    r.add_argument("--timeout", type=int, default=None, help="per-cell timeout in seconds")
    r.add_argument("--html", metavar="DIR", help="also render every executed notebook and an index to DIR")
    sub.add_parser("list", help="list the notebooks")
    s = sub.add_parser("student", help="write student copies (solutions removed, no outputs)")
    s.add_argument("out_dir")
    a = ap.parse_args(argv)
    if a.cmd == "list":
        print("\n".join(p.stem for p in notebooks()))
        return 0
    if a.cmd == "student":
        from .student import StudentCopyError, make_student_copies
        try:
            written = make_student_copies(NOTEBOOK_DIR, Path(a.out_dir))
        except StudentCopyError as err:
            raise SystemExit(f"student copies not written: {err}") from None
        print(f"wrote {len(written)} student notebooks to {a.out_dir}")
        return 0
    return cmd_run(a)


if __name__ == "__main__":
    sys.exit(main())
