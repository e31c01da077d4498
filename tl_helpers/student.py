"""Student copies of the notebooks: solutions replaced by a stub, outputs stripped.

The notebooks use nbgrader's conventions, so an instructor can either run
``python -m tl_helpers.course student OUT_DIR`` (this module) or hand the same
files to ``nbgrader generate_assignment``. Like nbgrader's ``ClearSolutions``:

* in a solution cell, the lines from ``### BEGIN SOLUTION`` to ``### END SOLUTION``
  become ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` (indentation kept);
  a markdown solution region becomes ``YOUR ANSWER HERE``;
* ``BEGIN MARK SCHEME`` ... ``END MARK SCHEME`` and ``BEGIN HIDDEN TESTS`` ...
  ``END HIDDEN TESTS`` regions are removed;
* outputs and execution counts are cleared; nbgrader cell metadata is kept.

Every copy is verified: no marker and no removed solution line may remain.

Example:
    >>> src = "# Task: freeze the base\\n### BEGIN SOLUTION\\nbase.trainable = False\\n### END SOLUTION"
    >>> print(strip_regions(src, "code")[0])
    # Task: freeze the base
    # YOUR CODE HERE
    raise NotImplementedError()
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"
#: (begin, end, kind): substrings that open and close a region, as nbgrader matches them.
REGIONS = (("BEGIN SOLUTION", "END SOLUTION", "solution"),
           ("BEGIN MARK SCHEME", "END MARK SCHEME", "mark scheme"),
           ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "hidden tests"))
#: which nbgrader cell flag a region needs (nbgrader refuses the region elsewhere, and so do we).
_NEEDS = {"solution": "solution", "mark scheme": "task", "hidden tests": "grade"}
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
_STUB_LINES = set(CODE_STUB.split("\n")) | {TEXT_STUB}


class StudentCopyError(ValueError):
    """A notebook's solution markers or nbgrader metadata are malformed.

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


def strip_regions(source: str, cell_type: str, where: str = "cell") -> tuple[str, list[str]]:
    """Remove solution / mark-scheme / hidden-test regions from one cell's source.

    Returns ``(new_source, removed_lines)``; a solution region is replaced by the
    stub (``CODE_STUB`` in code, ``TEXT_STUB`` in markdown) at the marker's indent.
    ``where`` names the cell in error messages.

    Example:
        >>> new, removed = strip_regions("if x:\\n    ### BEGIN SOLUTION\\n    y = 1\\n    ### END SOLUTION", "code")
        >>> print(new)
        if x:
            # YOUR CODE HERE
            raise NotImplementedError()
        >>> removed
        ['    y = 1']
    """
    stub = (CODE_STUB if cell_type == "code" else TEXT_STUB).split("\n")
    out: list[str] = []
    removed: list[str] = []
    open_region: tuple[str, str, str] | None = None
    for number, line in enumerate(source.split("\n"), start=1):
        begin = next((r for r in REGIONS if r[0] in line), None)
        end = next((r for r in REGIONS if r[1] in line), None)
        if begin:
            if open_region:
                raise StudentCopyError(f"{where}, line {number}: '{begin[0]}' inside an open "
                                       f"'{open_region[0]}' region; close it with '### {open_region[1]}' first.")
            open_region = begin
            if begin[2] == "solution":
                indent = re.match(r"\s*", line).group(0)
                out += [indent + s for s in stub]
        elif end:
            if open_region is None or end is not open_region:
                raise StudentCopyError(f"{where}, line {number}: '{end[1]}' without a matching "
                                       f"'### {end[0]}' before it; add the BEGIN line or delete this one.")
            open_region = None
        elif open_region:
            removed.append(line)
        else:
            out.append(line)
    if open_region:
        raise StudentCopyError(f"{where}: '{open_region[0]}' is never closed; add a "
                               f"'### {open_region[1]}' line after the {open_region[2]}.")
    return "\n".join(out), removed


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


def _validate_metadata(nb: nbformat.NotebookNode, name: str) -> None:
    """What nbgrader would refuse: duplicate or missing grade ids, grade cells without points."""
    seen: dict[str, int] = {}
    for i, cell in enumerate(nb.cells):
        meta = _nbgrader(cell)
        if not meta or not (meta.get("solution") or meta.get("grade") or meta.get("task")
                            or meta.get("locked")):
            continue
        gid = meta.get("grade_id")
        if not gid:
            raise StudentCopyError(f"{name}, cell {i}: nbgrader metadata without a 'grade_id'; "
                                   f"give it a unique one, e.g. \"NN-ex1\".")
        if gid in seen:
            raise StudentCopyError(f"{name}, cells {seen[gid]} and {i}: duplicate grade_id {gid!r}; "
                                   f"nbgrader needs them unique.")
        seen[gid] = i
        if (meta.get("grade") or meta.get("task")) and meta.get("points") is None:
            raise StudentCopyError(f"{name}, cell {i} ({gid}): a graded cell needs 'points' "
                                   f"in its nbgrader metadata, e.g. \"points\": 1.")


def make_student_notebook(nb: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """A student copy of one notebook (the input is not modified); verified before it is returned.

    Example:
        >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        ...     "# Task: a = 1\\n### BEGIN SOLUTION\\na = 1\\n### END SOLUTION",
        ...     metadata={"nbgrader": {"solution": True, "grade": False, "grade_id": "ex1"}})])
        >>> print(make_student_notebook(nb).cells[0].source)
        # Task: a = 1
        # YOUR CODE HERE
        raise NotImplementedError()
    """
    _validate_metadata(nb, name)
    out = copy.deepcopy(nb)
    out.metadata.pop("papermill", None)
    out.metadata.pop("widgets", None)
    removed_by_cell: dict[int, list[str]] = {}
    for i, cell in enumerate(out.cells):
        first = cell.source.strip().split("\n")[0][:50]
        where = f"{name}, cell {i} ({cell.cell_type} cell starting {first!r})"
        meta = _nbgrader(cell)
        if cell.cell_type in ("code", "markdown"):
            new, removed = strip_regions(cell.source, cell.cell_type, where)
            kinds = {k for b, _, k in REGIONS if b in cell.source}
            for kind in kinds:
                if not meta.get(_NEEDS[kind]):
                    raise StudentCopyError(f"{where}: a {kind} region in a cell whose nbgrader metadata lacks "
                                           f"\"{_NEEDS[kind]}\": true; nbgrader would refuse it too. Fix the "
                                           f"cell's metadata or move the region.")
            if meta.get("solution") and "solution" not in kinds:
                new = CODE_STUB if cell.cell_type == "code" else TEXT_STUB  # nbgrader: whole cell is the answer
                removed = cell.source.split("\n")
            cell.source = new
            if removed:
                removed_by_cell[i] = removed
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in ("execution", "papermill", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)
    verify_student_notebook(out, name, removed_by_cell)
    return out


def verify_student_notebook(nb: nbformat.NotebookNode, name: str = "notebook",
                            removed: dict[int, list[str]] | None = None) -> None:
    """Raise :class:`StudentCopyError` if a student copy still holds a marker, an output or solution text.

    ``removed`` maps a cell index to the lines taken out of it; none of them
    (blank lines and pure comments aside) may remain in that cell.

    Example:
        >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("### BEGIN SOLUTION")])
        >>> verify_student_notebook(nb, "x.ipynb")
        Traceback (most recent call last):
        ...
        tl_helpers.student.StudentCopyError: x.ipynb, cell 0: still contains 'BEGIN SOLUTION'
    """
    markers = [m for r in REGIONS for m in r[:2]]
    for i, cell in enumerate(nb.cells):
        hit = next((m for m in markers if m in cell.source), None)
        if hit:
            raise StudentCopyError(f"{name}, cell {i}: still contains {hit!r}")
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count")):
            raise StudentCopyError(f"{name}, cell {i}: still has outputs; clear them.")
    for i, lines in (removed or {}).items():
        kept = {line.strip() for line in nb.cells[i].source.split("\n")}
        for line in lines:
            text = line.strip()
            if text and not text.startswith("#") and text in kept and text not in _STUB_LINES:
                raise StudentCopyError(f"{name}, cell {i}: solution line {text!r} is still in the student copy.")


def make_student_copies(src_dir: Path | str, out_dir: Path | str) -> list[Path]:
    """Write a student copy of every ``NN_name.ipynb`` in ``src_dir`` to ``out_dir``; return the paths.

    Example:
        >>> import tempfile
        >>> src, out = Path(tempfile.mkdtemp()), Path(tempfile.mkdtemp()) / "student"
        >>> nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        ...     "### BEGIN SOLUTION\\na = 1\\n### END SOLUTION", metadata={"nbgrader": {
        ...     "solution": True, "grade": False, "grade_id": "ex1"}})]), src / "01_demo.ipynb")
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
    for path, student in copies:  # write only once every notebook converted cleanly
        target = out_dir / path.name
        nbformat.write(student, target)
        written.append(target)
    return written
