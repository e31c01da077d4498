"""An nbgrader course folder for the notebooks: ``python3 -m tl_helpers.grading init COURSE_DIR``.

``init`` writes ``COURSE_DIR/nbgrader_config.py`` and one nbgrader assignment per
notebook (``source/00_setup/00_setup.ipynb``, ...). The config file

* sets the grading track: ``TL_PROFILE`` (``smoke`` unless you pass ``--track``), which
  the notebooks obey while nbgrader grades, whatever the student's ``parameters`` cell
  says (see :func:`tl_helpers.config.setup`); ``TL_PROFILE=lite nbgrader autograde ...``
  overrides it for one run;
* sets a per-cell timeout that fits the track (nbgrader's default, 30 s, does not),
  and sends TensorFlow's C-level start-up lines to the grader's terminal, not into feedback;
* keeps caches and run records out of the course and feedback folders (they go to
  ``TL_CACHE_DIR`` or the per-user cache, :mod:`tl_helpers.paths`);
* stops ``nbgrader autograde`` when the grading kernel cannot import ``tl_helpers``
  (nbgrader installed in another environment would otherwise score every cell 0
  with ``ModuleNotFoundError``).

``doctor`` checks the last point from the current environment.

Example:
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp()) / "grading"
    >>> [p.name for p in init(folder, notebooks=["00"])]
    ['00_setup']
    >>> "TL_PROFILE" in (folder / "nbgrader_config.py").read_text()
    True
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from . import course
from .paths import user_cache_root

#: per-cell time limit (s) by grading track: a cell's worst case on a slow CPU, with margin.
CELL_TIMEOUT_S = {"smoke": 600, "lite": 1800, "full": 3600}
INSTALL_HINT = 'pip install -e ".[grading]"  (run in the course checkout, in the course\'s environment)'

CONFIG_TEMPLATE = '''\
# nbgrader configuration for the transfer-learning course.
# Written by `python3 -m tl_helpers.grading init`; edit freely.
import os
import subprocess
import sys

c = get_config()  # noqa: F821 - provided by nbgrader
c.CourseDirectory.course_id = {course_id!r}
_INSTALL = {install_hint!r}

# The grading track. While nbgrader grades, every notebook takes its track and seed from
# TL_PROFILE / TL_SEED (the student's `parameters` cell is ignored; the setup report says so).
# One run on another track: TL_PROFILE=lite nbgrader autograde 00_setup
os.environ.setdefault("TL_PROFILE", {track!r})
os.environ.setdefault("TL_SEED", "0")

# Per-cell time limit in seconds (nbgrader's default, 30 s, kills training cells).
c.Execute.timeout = {timeouts!r}.get(os.environ["TL_PROFILE"], {full_timeout})
# C-level log lines (TensorFlow's start-up messages) go to this terminal, not into students' feedback.
c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.capture_fd_output=False"]

# Caches and run records go to TL_CACHE_DIR or the per-user cache, and demo data beside them,
# never into the submission folders (whose files nbgrader copies into every student's feedback).
os.environ.setdefault("TL_DATA_DIR", os.path.join(os.environ.get("TL_CACHE_DIR") or {cache_root!r}, "data"))
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "results", "data"]


def _grading_kernel_cannot_import_tl_helpers():
    """The grading kernel's problem importing tl_helpers, or "" (the check costs well under a second)."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        argv = KernelSpecManager().get_kernel_spec("python3").argv
    except Exception as err:  # no python3 kernel at all
        return f"no 'python3' Jupyter kernel ({{err}})"
    python = sys.executable if argv[0] in ("python", "python3", "{{python_executable}}") else argv[0]
    found = subprocess.run([python, "-c", "import importlib.util as u; print(bool(u.find_spec('tl_helpers')))"],
                           capture_output=True, text=True)
    if found.stdout.strip() != "True":
        return f"the grading kernel ({{python}}) cannot import tl_helpers"
    return ""


if "autograde" in sys.argv or "validate" in sys.argv:
    _problem = _grading_kernel_cannot_import_tl_helpers()
    if _problem:
        _message = (f"{{_problem}}: every check cell would score 0 with ModuleNotFoundError. Install nbgrader "
                    f"INTO the course's environment: {{_INSTALL}}")
        if "autograde" in sys.argv:
            raise SystemExit("nbgrader autograde stopped: " + _message)
        print("WARNING: " + _message, file=sys.stderr)
'''


def config_text(course_id: str = "tl", track: str = "smoke") -> str:
    """The ``nbgrader_config.py`` that :func:`init` writes.

    Example:
        >>> 'os.environ.setdefault("TL_PROFILE", \\'lite\\')' in config_text(track="lite")
        True
    """
    if track not in CELL_TIMEOUT_S:
        raise ValueError(f"Unknown grading track {track!r}; choose one of {', '.join(CELL_TIMEOUT_S)} "
                         f"(smoke is fast and enough: the checks compute the right answer from the run).")
    return CONFIG_TEMPLATE.format(course_id=course_id, track=track, timeouts=CELL_TIMEOUT_S,
                                  full_timeout=CELL_TIMEOUT_S["full"], cache_root=str(user_cache_root()),
                                  install_hint=INSTALL_HINT)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def init(course_dir: Path | str, track: str = "smoke", notebooks: list[str] | None = None,
         course_id: str = "tl", force: bool = False) -> list[Path]:
    """Write an nbgrader course folder; return the assignment folders (``source/<notebook>``).

    Refuses a folder inside the course checkout (grading must not write there) and
    an existing ``nbgrader_config.py`` unless ``force``.

    Example:
        >>> import tempfile
        >>> init(Path(tempfile.mkdtemp()), track="medium")
        Traceback (most recent call last):
        ...
        ValueError: Unknown grading track 'medium'; choose one of smoke, lite, full (smoke is fast and enough: the checks compute the right answer from the run).
    """
    text = config_text(course_id, track)
    course_dir = Path(course_dir).expanduser()
    checkout = course.NOTEBOOK_DIR.parent
    if _inside(course_dir, checkout):
        raise ValueError(f"{course_dir} is inside the course checkout ({checkout}); grading writes a gradebook, "
                         f"submissions and feedback there. Choose a folder outside it, e.g. ~/tl-grading.")
    sources = course.notebooks(notebooks)
    if not sources:
        raise ValueError(f"No course notebooks found in {course.NOTEBOOK_DIR}.")
    config = course_dir / "nbgrader_config.py"
    if config.exists() and not force:
        raise ValueError(f"{config} exists; pass --force to overwrite it and the source notebooks.")
    course_dir.mkdir(parents=True, exist_ok=True)
    config.write_text(text)
    folders = []
    for nb in sources:
        folder = course_dir / "source" / nb.stem
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(nb, folder / nb.name)
        folders.append(folder)
    return folders


def kernel_problem() -> str:
    """Why the ``python3`` Jupyter kernel of this environment cannot grade the course, or ``""``.

    Example:
        >>> kernel_problem()
        ''
    """
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        argv = KernelSpecManager().get_kernel_spec("python3").argv
    except Exception as err:  # noqa: BLE001
        return f"no 'python3' Jupyter kernel ({err}); install ipykernel into the course's environment."
    python = sys.executable if argv[0] in ("python", "python3", "{python_executable}") else argv[0]
    found = subprocess.run([python, "-c", "import importlib.util as u; print(bool(u.find_spec('tl_helpers')))"],
                           capture_output=True, text=True)
    if found.stdout.strip() != "True":
        return f"the 'python3' kernel ({python}) cannot import tl_helpers; {INSTALL_HINT}"
    try:
        import nbgrader  # noqa: F401
    except ImportError:
        return f"nbgrader is not installed in this environment; {INSTALL_HINT}"
    return ""


def main(argv: list[str] | None = None) -> int:
    """Command line: ``init COURSE_DIR [--track T] [--notebooks 00 06] [--course-id ID] [--force]``, ``doctor``."""
    parser = argparse.ArgumentParser(prog="python3 -m tl_helpers.grading", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("init", help="write an nbgrader course folder (config + one assignment per notebook)")
    i.add_argument("course_dir")
    i.add_argument("--track", default="smoke", choices=sorted(CELL_TIMEOUT_S),
                   help="the track submissions are graded on (default smoke)")
    i.add_argument("--notebooks", nargs="*", help="notebook numbers or names (default: all)")
    i.add_argument("--course-id", default="tl")
    i.add_argument("--force", action="store_true", help="overwrite an existing nbgrader_config.py")
    sub.add_parser("doctor", help="check that nbgrader's grading kernel can import tl_helpers")
    a = parser.parse_args(argv)
    problem = kernel_problem()
    if a.cmd == "doctor":
        print(f"PROBLEM: {problem}" if problem else "ok: nbgrader is installed and the grading kernel "
                                                   "imports tl_helpers")
        return 1 if problem else 0
    try:
        folders = init(a.course_dir, a.track, a.notebooks, a.course_id, a.force)
    except ValueError as err:
        raise SystemExit(f"grading init: {err}") from None
    names = " ".join(f.name for f in folders)
    print(f"wrote {Path(a.course_dir) / 'nbgrader_config.py'} (grading track: {a.track}) and "
          f"{len(folders)} assignment(s) in {Path(a.course_dir) / 'source'}: {names}")
    print(f"next: cd {a.course_dir} && nbgrader generate_assignment {folders[0].name}")
    if problem:
        print(f"WARNING: {problem}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
