"""Run the course headless: ``python -m tl_helpers.course run [--profile P] [--only NAME ...]``.

Executes the notebooks in order with papermill (injecting ``profile``, ``seed``
and any ``-p key=value``), writes the executed notebooks and ``DIR/results.json``
= ``{notebook: {metric: value, ..., "runtime_s": seconds}}``, prints a results
table and exits non-zero if any notebook failed.

Quiet by default: one line per notebook, then the table. Everything the kernel
writes to stderr (TensorFlow's C++ start-up lines, ``cuInit`` errors, kernel
transport warnings) goes to ``DIR/logs/<notebook>.log``, whose tail is shown when a
notebook fails; ``--verbose`` shows it all, and the cells' outputs, as they come.

Several seeds: ``--seeds 0 1 2`` runs every notebook once per seed into
``DIR/seed_<N>/`` (each with its own ``results.json``, ``executed/`` and ``logs/``)
and writes ``DIR/results.json`` aggregated over the seeds: per notebook, each
metric holds the mean, ``"<metric>±"`` its sample standard deviation across the
seeds (left out for integers every seed agrees on), ``"seeds"`` the seeds and
``"status"`` ``"ok"`` only when every seed ran. The table shows ``mean ± sd``.

Other commands: ``list`` (the notebooks), ``student OUT_DIR`` (copies without
solutions, see :mod:`tl_helpers.student`), ``retarget OWNER/NAME [--ref REF]``
(point every badge and install cell at another course home, see
:mod:`tl_helpers.home`).

Example:
    >>> [n.stem for n in notebooks()][:1]
    ['00_setup']
    >>> parse_param("epochs=3"), parse_param("image_dir=/tmp/x")
    (('epochs', 3), ('image_dir', '/tmp/x'))
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import logging
import math
import re
import os
import sys
import time
from pathlib import Path
from typing import Any, Iterator

from . import home

NOTEBOOK_DIR = home.notebook_dir()
#: keys of a results row that are not recorded numbers.
_META_KEYS = ("runtime_s", "runtime_s±", "status", "error", "seeds", "log", "backend")
#: the key of results.json that describes the run (backend, versions, track), not a notebook.
RUN_META = "_meta"


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


@contextlib.contextmanager
def stderr_to(path: Path | None) -> Iterator[None]:
    """Send file descriptor 2 (this process's and its children's stderr) to ``path``; restore it after.

    A kernel started inside the block inherits the redirected stderr, so its
    TensorFlow start-up lines land in the file. ``None`` redirects nothing.

    Example:
        >>> import tempfile
        >>> log = Path(tempfile.mkdtemp()) / "x.log"
        >>> with stderr_to(log):
        ...     _ = os.write(2, b"to the log\\n")
        >>> log.read_text()
        'to the log\\n'
    """
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as f:
        os.dup2(f.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def log_tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a log file ("" when there is none).

    Example:
        >>> log_tail(Path("/nonexistent.log"))
        ''
    """
    if not path.is_file():
        return ""
    return "\n".join(path.read_text(errors="replace").rstrip().splitlines()[-lines:])


def run_one(nb: Path, out: Path, params: dict[str, Any], timeout: int | None = None,
            env: dict[str, str] | None = None, verbose: bool = False) -> dict[str, Any]:
    """Execute one notebook; return its recorded numbers plus ``runtime_s`` and ``status``.

    ``env`` adds environment variables for the notebook's kernel only. Unless
    ``verbose``, the kernel's stderr goes to ``out/logs/<notebook>.log`` (the row's ``log``).

    Example:
        >>> run_one  # doctest: +ELLIPSIS
        <function run_one at ...>
    """
    import papermill as pm

    records = out / "records"
    records.mkdir(parents=True, exist_ok=True)
    (out / "executed").mkdir(parents=True, exist_ok=True)
    log = None if verbose else out / "logs" / f"{nb.stem}.log"
    if log is not None:
        log.unlink(missing_ok=True)
    saved = dict(os.environ)
    os.environ.update(TL_RESULTS_DIR=str(records), TL_NOTEBOOK=nb.stem, **(env or {}))  # the kernel inherits
    (records / f"{nb.stem}.json").unlink(missing_ok=True)
    start = time.perf_counter()
    status, error = "ok", ""
    try:
        with stderr_to(log):
            pm.execute_notebook(str(nb), str(out / "executed" / nb.name), parameters=params,
                                cwd=str(nb.parent), kernel_name="python3", progress_bar=False,
                                log_output=verbose, execution_timeout=timeout)
    except Exception as err:  # papermill's error carries the notebook's exception
        status = "failed"
        error = f"{getattr(err, 'ename', type(err).__name__)}: {getattr(err, 'evalue', str(err))}"
    finally:
        os.environ.clear()
        os.environ.update(saved)
    row: dict[str, Any] = {}
    rec = records / f"{nb.stem}.json"
    if rec.exists():
        recorded = json.loads(rec.read_text())
        row.update({k: v for k, v in recorded.items() if k != "_meta"})
        if recorded.get("_meta", {}).get("backend"):
            row["backend"] = recorded["_meta"]["backend"]
    row["runtime_s"] = round(time.perf_counter() - start, 1)
    row["status"] = status
    if error:
        row["error"] = error
    if log is not None:
        row["log"] = str(log)
    return row


def aggregate(per_seed: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """One notebook's rows from several seeds -> one row: means, ``<metric>±`` sds, ``seeds``, ``status``.

    Example:
        >>> row = aggregate({0: {"acc": 0.80, "n": 5, "runtime_s": 10.0, "status": "ok"},
        ...                  1: {"acc": 0.84, "n": 5, "runtime_s": 12.0, "status": "ok"}})
        >>> round(row["acc"], 3), round(row["acc±"], 4), row["n"], "n±" in row, row["seeds"], row["status"]
        (0.82, 0.0283, 5, False, [0, 1], 'ok')
    """
    seeds = sorted(per_seed)
    row: dict[str, Any] = {}
    keys: list[str] = []
    for s in seeds:
        keys += [k for k in per_seed[s] if k not in keys and k not in ("status", "error", "log")]
    for key in keys:
        values = [per_seed[s][key] for s in seeds if key in per_seed[s]]
        numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(numbers) != len(values):  # strings: keep one when all seeds agree
            row[key] = values[0] if all(v == values[0] for v in values) else " / ".join(map(str, values))
            continue
        if all(isinstance(v, int) for v in numbers) and len(set(numbers)) == 1:
            row[key] = numbers[0]
            continue
        mean = sum(numbers) / len(numbers)
        sd = math.sqrt(sum((v - mean) ** 2 for v in numbers) / (len(numbers) - 1)) if len(numbers) > 1 else 0.0
        row[key] = round(mean, 1) if key == "runtime_s" else mean
        row[f"{key}±"] = round(sd, 1) if key == "runtime_s" else sd
    failed = [s for s in seeds if per_seed[s].get("status") != "ok"]
    row["status"] = "ok" if not failed else "failed"
    if failed:
        row["error"] = "; ".join(f"seed {s}: {per_seed[s].get('error', per_seed[s].get('status'))}" for s in failed)
    row["seeds"] = seeds
    return row


def format_number(v: Any) -> str:
    """A recorded number as the results tables show it: 3 decimals, 2 significant digits when small.

    Below 1e-12 a number is float rounding of zero (e.g. the sd of three equal accuracies) and shows as 0.

    Example:
        >>> format_number(0.7354), format_number(5.5e-05), format_number(4.5e-17), format_number(2)
        ('0.735', '5.5e-05', '0.000', '2')
    """
    if isinstance(v, float):
        return "0.000" if abs(v) < 1e-12 else f"{v:.3f}" if abs(v) >= 0.01 else f"{v:.2g}"
    return str(v)


def results_table(results: dict[str, dict[str, Any]]) -> str:
    """A plain-text (Markdown) table: one row per notebook, its numbers in one cell.

    Rows aggregated over seeds (see :func:`aggregate`) show ``mean ± sd`` and say how many seeds.

    Example:
        >>> print(results_table({"00_setup": {"top5_hit": 1, "runtime_s": 9.5, "status": "ok"}}))
        | notebook | status | runtime (s) | recorded numbers |
        |---|---|---|---|
        | 00_setup | ok | 9.5 | top5_hit=1 |
        >>> print(results_table({"01": {"acc": 0.8, "acc±": 0.02, "runtime_s": 9.5, "runtime_s±": 0.5,
        ...                             "status": "ok", "seeds": [0, 1, 2]}}).splitlines()[-1])
        | 01 | ok (3 seeds) | 9.5 ± 0.5 | acc=0.800 ± 0.020 |
    """
    lines = ["| notebook | status | runtime (s) | recorded numbers |", "|---|---|---|---|"]
    for name, row in results.items():
        if name.startswith("_"):  # the run's _meta, not a notebook
            continue
        n = len(row.get("seeds") or [])
        suffix = f" ({n} seeds)" if n > 1 else ""
        nums = []
        for k, v in row.items():
            if k in _META_KEYS or k.endswith("±"):
                continue
            text = f"{k}={format_number(v)}"
            if f"{k}±" in row:
                text += f" ± {format_number(row[k + '±'])}"
            nums.append(text)
        runtime = str(row.get("runtime_s", ""))
        if "runtime_s±" in row:
            runtime += f" ± {row['runtime_s±']}"
        lines.append(f"| {name} | {row.get('status', '?')}{suffix} | {runtime} | {', '.join(nums)} |")
    return "\n".join(lines)


def run_meta(results: dict[str, Any], profile: str) -> dict[str, Any]:
    """``results.json``'s ``_meta``: the Keras backend the notebooks ran on, versions, machine, track.

    The backend is the one the notebooks' kernels recorded (``mixed: ...`` when an output
    folder holds rows from different backends), so result files from different backends
    can be told apart.

    Example:
        >>> m = run_meta({"00_setup": {"backend": "jax", "runtime_s": 9.5, "status": "ok"}}, "smoke")
        >>> m["backend"], m["profile"], m["course_runtime_s"]
        ('jax', 'smoke', 9.5)
    """
    import platform
    from importlib import metadata

    rows = {k: v for k, v in results.items() if not k.startswith("_")}
    backends = sorted({row["backend"] for row in rows.values() if row.get("backend")})
    versions = {}
    for dist in ("keras", "tensorflow", "jax", "torch"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[dist] = metadata.version(dist)
    return {"backend": backends[0] if len(backends) == 1 else ("mixed: " + ", ".join(backends) if backends
                                                                  else os.environ.get("KERAS_BACKEND", "?")),
            "profile": profile, "versions": versions,
            "python": platform.python_version(), "machine": f"{platform.system()} {platform.machine()}",
            "cpu_count": os.cpu_count(),
            "course_runtime_s": round(sum(float(r.get("runtime_s", 0)) for r in rows.values()), 1),
            "date": time.strftime("%Y-%m-%d")}


def _progress(text: str, verbose: bool) -> None:
    print(text, end="\n" if verbose else "", flush=True)


def _run_seed(nbs: list[Path], out: Path, params: dict[str, Any], a: argparse.Namespace,
              env: dict[str, str]) -> dict[str, Any]:
    """Run ``nbs`` once into ``out``; print one line per notebook; update ``out/results.json``."""
    results_path = out / "results.json"
    results: dict[str, Any] = json.loads(results_path.read_text()) if results_path.exists() else {}
    for nb in nbs:
        _progress(f"▶ {nb.stem} (profile={params['profile']}, seed={params['seed']}) ...", a.verbose)
        row = run_one(nb, out, params, a.timeout, env, verbose=a.verbose)
        results[nb.stem] = row
        results[RUN_META] = run_meta(results, str(params["profile"]))
        results_path.write_text(json.dumps(results, indent=2))
        if row["status"] != "ok":
            print(f" ✗ failed after {row['runtime_s']} s\n  {row['error']}\n"
                  f"  executed notebook: {out / 'executed' / nb.name}", flush=True)
            if row.get("log"):
                tail = log_tail(Path(row["log"]))
                print(f"  kernel log: {row['log']}" + (f" (last lines)\n{tail}" if tail else ""), flush=True)
        else:
            print(f"{'' if a.verbose else ' '}✓ {nb.stem} in {row['runtime_s']} s", flush=True)
    return results


def cmd_run(a: argparse.Namespace) -> int:
    if a.verbose:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = Path(a.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    params: dict[str, Any] = dict(parse_param(p) for p in a.param)
    params.setdefault("profile", a.profile)
    env = {"TL_PROFILE": str(params["profile"])}
    os.environ.pop("TL_SEED", None)  # the injected seed decides
    nbs = notebooks(a.only)
    results_path = out / "results.json"
    if a.seeds:
        per_seed = {}
        for seed in a.seeds:
            per_seed[seed] = _run_seed(nbs, out / f"seed_{seed}", {**params, "seed": seed}, a, env)
        results = json.loads(results_path.read_text()) if results_path.exists() else {}
        for nb in nbs:
            results[nb.stem] = aggregate({s: per_seed[s][nb.stem] for s in a.seeds})
        results[RUN_META] = {**run_meta(results, str(params["profile"])), "seeds": list(a.seeds)}
        results_path.write_text(json.dumps(results, indent=2))
        executed = out / f"seed_{a.seeds[0]}" / "executed"
    else:
        params.setdefault("seed", a.seed)
        results = _run_seed(nbs, out, params, a, env)
        executed = out / "executed"
    failed = [name for name, row in results.items() if row.get("status") != "ok" and name in {n.stem for n in nbs}]
    print("\n" + results_table(results))
    meta = results.get(RUN_META, {})
    print(f"\nKeras backend: {meta.get('backend', '?')}; notebooks' total runtime {meta.get('course_runtime_s', '?')} s")
    print(f"\nresults: {results_path}\nexecuted notebooks: {executed}")
    if not a.verbose:
        logs = out / ("seed_*/logs" if a.seeds else "logs")
        print(f"kernel logs (TensorFlow start-up lines and other stderr): {logs}")
    if a.html:
        from .render import render_course
        rows = {k: v for k, v in results.items() if k != RUN_META}
        index = render_course(executed, rows, Path(a.html), source_dir=NOTEBOOK_DIR)
        print(f"HTML course: {index}")
    if failed:
        print(f"\n{len(failed)} notebook(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def retarget(repo: str, ref: str | None = None, root: Path | None = None) -> list[Path]:
    """Point the course at another home: every badge, install cell and the home itself. Returns changed files.

    Rewrites, under ``root`` (default: this checkout): every Colab/Kaggle/``git+`` link in
    ``*.md`` files and notebook markdown, each notebook's install cell (its first code
    cell; inserted when missing) from :func:`tl_helpers.home.install_cell_source`,
    ``tl_helpers/home.py``'s ``REPO``/``REF`` and ``pyproject.toml``'s ``[project.urls]``.
    ``ref`` defaults to the current one. Plain ``https://github.com/...`` links are rewritten
    only when they name the current home (links to other projects stay).

    Example:
        >>> retarget  # doctest: +ELLIPSIS
        <function retarget at ...>
    """
    import nbformat

    repo = home.check_repo(repo)
    root = Path(root or home.ROOT)
    module = root / "tl_helpers" / "home.py"
    old_repo, old_ref = home.REPO, home.REF  # the home being replaced: the root's own, when it has one
    if module.is_file():
        text = module.read_text(encoding="utf-8")
        found = dict(re.findall(r'^(REPO|REF) = "([^"]*)"', text, re.M))
        old_repo, old_ref = found.get("REPO", old_repo), found.get("REF", old_ref)
    ref = home.check_ref(ref or old_ref)
    changed: list[Path] = []

    def write(path: Path, old: str, new: str) -> None:
        if new != old:
            path.write_text(new, encoding="utf-8")
            changed.append(path)

    for path in sorted({*root.glob("*.md"), *root.glob("*/*.md")}):
        text = path.read_text(encoding="utf-8")
        write(path, text, home.rewrite_links(text, repo, ref, old_repo))
    for path in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        before = nbformat.writes(nb)
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = home.rewrite_links(cell.source, repo, ref, old_repo)
        if nb.cells and nb.cells[0].cell_type == "markdown" and "colab.research.google.com" not in nb.cells[0].source:
            title, _, rest = nb.cells[0].source.partition("\n")
            nb.cells[0].source = f"{title}\n\n{home.colab_badge(path.name, repo, ref)}\n{rest}"
        source = home.install_cell_source(repo, ref)
        code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        if code and home.is_install_cell(nb.cells[code[0]].source):
            nb.cells[code[0]].source = source
        else:
            cell = nbformat.v4.new_code_cell(source)
            if nb.get("nbformat_minor", 0) >= 5:
                cell["id"] = "install-cell"
            else:
                cell.pop("id", None)
            nb.cells.insert(code[0] if code else len(nb.cells), cell)
        if nbformat.writes(nb) != before:
            nbformat.write(nb, path)
            changed.append(path)
    if module.is_file():
        text = module.read_text(encoding="utf-8")
        write(module, text, home.set_home_in_source(text, repo, ref))
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        text = pyproject.read_text(encoding="utf-8")
        write(pyproject, text, home.set_urls_in_pyproject(text, repo))
    if Path(root).resolve() == home.ROOT.resolve():
        home.REPO, home.REF = repo, ref
    return changed


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
    r.add_argument("--seeds", type=int, nargs="+", metavar="N",
                   help="run every notebook once per seed into OUT/seed_N and aggregate (mean ± sd)")
    r.add_argument("-v", "--verbose", action="store_true",
                   help="show everything: the kernel's stderr (TensorFlow start-up lines) and cell outputs")
    r.add_argument("--only", nargs="+", metavar="NAME", help="notebooks by stem or number, e.g. 00_setup or 01")
    r.add_argument("--out", default="course_out", help="output folder (default: course_out)")
    r.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="a notebook parameter, e.g. -p image_dir=/data/photos (repeatable)")
    r.add_argument("--timeout", type=int, default=None, help="per-cell timeout in seconds")
    r.add_argument("--html", metavar="DIR", help="also render every executed notebook and an index to DIR")
    sub.add_parser("list", help="list the notebooks")
    t = sub.add_parser("retarget", help="point every badge and install cell at another repository/ref")
    t.add_argument("repo", metavar="OWNER/NAME", help="the GitHub repository, e.g. me/keras-transfer-learning")
    t.add_argument("--ref", help=f"branch or tag the badges open and the install cell installs "
                                 f"(default: the current one, {home.REF})")
    t.add_argument("--root", help="the course checkout to rewrite (default: this one)")
    s = sub.add_parser("student", help="write student copies (solutions removed, no outputs)")
    s.add_argument("out_dir")
    a = ap.parse_args(argv)
    if a.cmd == "list":
        print("\n".join(p.stem for p in notebooks()))
        return 0
    if a.cmd == "retarget":
        try:
            changed = retarget(a.repo, a.ref, Path(a.root) if a.root else None)
        except ValueError as err:
            raise SystemExit(str(err)) from None
        root = Path(a.root or home.ROOT).resolve()
        module = root / "tl_helpers" / "home.py"
        ref = (re.search(r'^REF = "([^"]*)"', module.read_text(), re.M).group(1) if module.is_file()
               else a.ref or home.REF)
        print(f"course home: {a.repo} @ {ref}; {len(changed)} file(s) changed"
              + "".join(f"\n  {p.resolve().relative_to(root)}" for p in changed))
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
