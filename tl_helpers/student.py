"""Student copies of the notebooks, made by nbgrader's own preprocessors.

``python -m tl_helpers.course student OUT_DIR`` and ``nbgrader generate_assignment``
produce the same notebooks because this module runs nbgrader's ``GenerateAssignment``
pipeline itself (``LockCells``, ``ClearSolutions``, ``ClearOutput``, ``CheckCellMetadata``,
``ComputeChecksums``, ``ClearHiddenTests``, ``ClearMarkScheme``, ...), read from
nbgrader so it cannot drift. Only ``SaveCells`` is left out: it writes nbgrader's
gradebook database, which a plain copy has no use for. nbgrader is in the
``grading`` extra: ``pip install -e ".[grading]"``.

One small piece is ours, for a measured reason: errors name the notebook and the
cell (nbgrader 0.9.6 says only "no end solution statement found", without saying where).

Example:
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
    ...     "answer = None\\n### BEGIN SOLUTION\\nanswer = 42\\n### END SOLUTION",
    ...     metadata={"nbgrader": {"solution": True, "grade": False, "grade_id": "ex1", "locked": False,
    ...                            "schema_version": 3}})])
    >>> print(make_student_notebook(nb).cells[0].source)
    answer = None
    # YOUR CODE HERE
    raise NotImplementedError()
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
#: GenerateAssignment steps a plain copy skips (SaveCells needs nbgrader's gradebook database).
SKIPPED_STEPS = ("SaveCells",)
INSTALL_HINT = 'pip install -e ".[grading]"  (nbgrader, into the course\'s environment)'

_quiet_log = logging.getLogger("tl_helpers.student.nbgrader")
_quiet_log.addHandler(logging.NullHandler())
_quiet_log.propagate = False  # nbgrader logs whole cells on errors; our exception names the cell instead


class StudentCopyError(ValueError):
    """A notebook's solution markers or nbgrader metadata are malformed (or nbgrader is missing).

    Example:
        >>> str(StudentCopyError("01_x.ipynb, cell 3: no END SOLUTION"))
        '01_x.ipynb, cell 3: no END SOLUTION'
    """


@dataclass(frozen=True)
class Exercise:
    """One exercise: its solution cell, the check cell after it, and their grade ids.

    Example:
        >>> Exercise(5, 6, "01-ex1", "01-ex1-check").solution_cell
        5
    """

    solution_cell: int
    check_cell: int | None
    grade_id: str
    check_id: str | None


def _nbgrader(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def exercises(nb: nbformat.NotebookNode) -> list[Exercise]:
    """The exercises of a notebook: each nbgrader solution cell and the grade (check) cell after it.

    Example:
        >>> nb = nbformat.v4.new_notebook(cells=[
        ...     nbformat.v4.new_code_cell("### BEGIN SOLUTION\\na = 1\\n### END SOLUTION",
        ...         metadata={"nbgrader": {"solution": True, "grade": False, "grade_id": "ex1"}}),
        ...     nbformat.v4.new_code_cell("checks.a(a)",
        ...         metadata={"nbgrader": {"solution": False, "grade": True, "grade_id": "ex1-check"}})])
        >>> exercises(nb)
        [Exercise(solution_cell=0, check_cell=1, grade_id='ex1', check_id='ex1-check')]
    """
    found = []
    cells = nb.cells
    for i, cell in enumerate(cells):
        meta = _nbgrader(cell)
        if not meta.get("solution"):
            continue
        check = next((j for j in range(i + 1, len(cells)) if _nbgrader(cells[j]).get("grade")
                      and cells[j].cell_type == "code"), None)
        if check is not None and any(_nbgrader(c).get("solution") for c in cells[i + 1:check]):
            check = None  # the next grade cell belongs to a later exercise
        found.append(Exercise(i, check, str(meta.get("grade_id", "")),
                              None if check is None else str(_nbgrader(cells[check]).get("grade_id", ""))))
    return found


def release_steps() -> list[Any]:
    """nbgrader's ``generate_assignment`` preprocessors (instances), minus :data:`SKIPPED_STEPS`.

    Example:
        >>> [type(s).__name__ for s in release_steps()][2:5]
        ['LockCells', 'ClearSolutions', 'ClearOutput']
    """
    try:
        from nbgrader.converters import GenerateAssignment
    except ImportError as err:
        raise StudentCopyError(f"student copies need nbgrader ({err}); install it: {INSTALL_HINT}") from None
    classes = GenerateAssignment.class_traits()["preprocessors"].default()
    return [cls(log=_quiet_log) for cls in classes if cls.__name__ not in SKIPPED_STEPS]


def _failing_cell(step: Any, nb: nbformat.NotebookNode) -> str:
    """Which cell ``step`` refuses on its own (``""`` when the problem spans cells, e.g. duplicate ids)."""
    for i, cell in enumerate(nb.cells):
        alone = nbformat.v4.new_notebook(cells=[copy.deepcopy(cell)], metadata=copy.deepcopy(nb.metadata))
        try:
            step.preprocess(alone, {})
        except Exception:  # noqa: BLE001 - any refusal locates the cell
            first = next((line for line in cell.source.split("\n") if line.strip()), "")[:50]
            return f", cell {i} ({cell.cell_type} cell starting {first!r})"
    return ""


def make_student_notebook(nb: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """A student copy of one notebook (the input is not modified), as ``nbgrader generate_assignment`` makes it.

    Raises :class:`StudentCopyError` naming ``name`` and the cell when nbgrader refuses the notebook.

    Example:
        >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        ...     "# Task: a = 1\\n### BEGIN SOLUTION\\na = 1\\n### END SOLUTION",
        ...     metadata={"nbgrader": {"solution": True, "grade": False, "grade_id": "ex1", "locked": False,
        ...                            "schema_version": 3}})])
        >>> print(make_student_notebook(nb).cells[0].source)
        # Task: a = 1
        # YOUR CODE HERE
        raise NotImplementedError()
    """
    out = copy.deepcopy(nb)
    resources: dict[str, Any] = {}
    for step in release_steps():
        before = copy.deepcopy(out)  # a failing step leaves the notebook half-changed
        try:
            out, resources = step.preprocess(out, resources)
        except Exception as err:  # nbgrader raises RuntimeError / ValidationError without a location
            cause = err.__context__  # e.g. "Duplicate grade id: 01-ex1" behind "failed to validate"
            why = f"{err}" + (f" ({getattr(cause, 'message', cause)})" if cause is not None else "")
            raise StudentCopyError(f"{name}{_failing_cell(step, before)}: nbgrader's "
                                   f"{type(step).__name__} refused it: {why}") from None
    return out


def make_student_copies(src_dir: Path | str, out_dir: Path | str) -> list[Path]:
    """Write a student copy of every ``NN_name.ipynb`` in ``src_dir`` to ``out_dir``; return the paths.

    Nothing is written unless every notebook converts cleanly.

    Example:
        >>> import tempfile
        >>> src, out = Path(tempfile.mkdtemp()), Path(tempfile.mkdtemp()) / "student"
        >>> nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        ...     "### BEGIN SOLUTION\\na = 1\\n### END SOLUTION", metadata={"nbgrader": {
        ...     "solution": True, "grade": False, "grade_id": "ex1", "locked": False,
        ...     "schema_version": 3}})]), src / "01_demo.ipynb")
        >>> [p.name for p in make_student_copies(src, out)]
        ['01_demo.ipynb']
    """
    src_dir, out_dir = Path(src_dir).resolve(), Path(out_dir).resolve()
    if src_dir == out_dir:
        raise StudentCopyError(f"The output folder is the notebooks folder ({src_dir}): that would overwrite "
                               f"the solutions. Choose another folder, e.g. student/.")
    sources = sorted(src_dir.glob(NOTEBOOK_GLOB))
    if not sources:
        raise StudentCopyError(f"No notebooks named like {NOTEBOOK_GLOB} in {src_dir}.")
    copies = [(p, make_student_notebook(nbformat.read(p, as_version=4), p.name)) for p in sources]
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path, student in copies:
        target = out_dir / path.name
        nbformat.write(student, target)
        written.append(target)
    return written
