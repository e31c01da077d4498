"""Every exercise's check fails on the stub and passes on the solution (issue 9, item 3).

Each notebook's STUDENT copy runs once on the smoke track, cell by cell, with
errors allowed. Exactly the stubbed solution cells (``NotImplementedError``) and
their check cells (``CheckFailed`` or ``NameError``) may fail, nothing else; then,
in the same kernel, each original solution and its check run again and must pass.
A notebook not written yet is skipped; a notebook without exercises fails.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from tl_helpers import checks, course
from tl_helpers.student import Exercise, exercises, make_student_notebook

#: the course's notebooks and how many exercises each needs at least.
MIN_EXERCISES = {"00": 1, "01": 2, "02": 2, "03": 2, "04": 2, "05": 2, "06": 2}
CHECK_ERRORS = {"CheckFailed", "NameError"}


def course_numbers() -> list[str]:
    return sorted(set(MIN_EXERCISES) | {p.stem[:2] for p in course.notebooks()})


def find_notebook(number: str):
    found = [p for p in course.notebooks() if p.stem.startswith(number + "_")]
    if not found:
        pytest.skip(f"notebook {number}_*.ipynb is not written yet")
    assert len(found) == 1, f"two notebooks numbered {number}: {[p.name for p in found]}"
    return found[0]


def first_line(cell) -> str:
    return next((l for l in cell.source.split("\n") if l.strip()), "")[:70]


def checked_exercises(number: str) -> tuple[nbformat.NotebookNode, list[Exercise]]:
    path = find_notebook(number)
    nb = nbformat.read(path, as_version=4)
    found = exercises(nb)
    need = MIN_EXERCISES.get(number, 2)
    assert len(found) >= need, (f"{path.name} has {len(found)} exercise(s); it needs at least {need} "
                                f"(nbgrader solution cells with ### BEGIN SOLUTION, each followed by a check cell)")
    return nb, found


@pytest.mark.parametrize("number", course_numbers())
def test_exercises_are_well_formed(number):
    """Cheap and static: enough exercises, each under ## Exercises, with a markers-and-check pair."""
    nb, found = checked_exercises(number)
    name = find_notebook(number).name
    heading = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
                    and re.search(r"^## Exercises", c.source, re.M)), None)
    assert heading is not None, f"{name}: no '## Exercises' section"
    for ex in found:
        sol = nb.cells[ex.solution_cell]
        where = f"{name} cell {ex.solution_cell} ({ex.grade_id})"
        assert sol.cell_type == "code" and "### BEGIN SOLUTION" in sol.source, f"{where}: no ### BEGIN SOLUTION"
        assert ex.solution_cell > heading, f"{where}: exercises belong under '## Exercises'"
        assert ex.check_cell is not None, f"{where}: no check cell (nbgrader grade: true) follows it"
        check = nb.cells[ex.check_cell]
        called = re.findall(r"\bchecks\.(\w+)\(", check.source)
        assert called, f"{name} cell {ex.check_cell}: a check cell must call checks.<name>(...)"
        missing = [c for c in called if not hasattr(checks, c)]
        assert not missing, f"{name} cell {ex.check_cell}: tl_helpers.checks has no {missing} (add it to __all__)"
        assert ex.check_id and ex.check_id != ex.grade_id, f"{where}: its check needs its own grade_id"


def _errors(cell) -> tuple[str, str] | None:
    err = next((o for o in cell.get("outputs", []) if o.output_type == "error"), None)
    return (err.ename, err.evalue.split("\n")[0][:200]) if err else None


def exercise_problems(path: Path, found: list[Exercise] | None = None) -> list[str]:
    """Run the student copy of ``path`` (then the solutions) in one kernel; list what went wrong."""
    from nbclient import NotebookClient

    original = nbformat.read(path, as_version=4)
    found = exercises(original) if found is None else found
    student = make_student_notebook(original, path.name)
    client = NotebookClient(student, timeout=600, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    client.reset_execution_trackers()
    replays = []
    with client.setup_kernel():
        for i, cell in enumerate(student.cells):
            if cell.cell_type == "code":
                client.execute_cell(cell, i)
        for ex in (e for e in found if e.check_cell is not None):  # the solutions after the stubs
            pair = [nbformat.v4.new_code_cell(original.cells[ex.solution_cell].source),
                    nbformat.v4.new_code_cell(original.cells[ex.check_cell].source)]
            for cell in pair:
                student.cells.append(cell)
                client.execute_cell(cell, len(student.cells) - 1)
            replays.append((ex, pair))

    failed = {i: e for i, c in enumerate(student.cells[:len(original.cells)]) if (e := _errors(c))}
    stubs = {ex.solution_cell for ex in found}
    check_cells = {ex.check_cell: ex for ex in found if ex.check_cell is not None}
    problems = [f"{ex.grade_id}: no check cell (nbgrader grade: true) follows it" for ex in found
                if ex.check_cell is None]
    problems += [f"cell {i} ({first_line(original.cells[i])!r}) failed in the student copy: {e[0]}: {e[1]}"
                for i, e in failed.items() if i not in stubs and i not in check_cells]
    problems += [f"solution cell {i} raised {failed[i][0]} instead of NotImplementedError" if i in failed
                 else f"solution cell {i} did not fail as a stub" for i in sorted(stubs)
                 if failed.get(i, ("",))[0] != "NotImplementedError"]
    for i, ex in check_cells.items():
        if i not in failed:
            problems.append(f"check cell {i} ({ex.check_id}) PASSED on the stub: it cannot catch a missing answer "
                            f"(does an earlier cell define the same variable?)")
        elif failed[i][0] not in CHECK_ERRORS:
            problems.append(f"check cell {i} ({ex.check_id}) raised {failed[i][0]}: {failed[i][1]} on the stub; "
                            f"a check should raise CheckFailed (use checks.answered) or NameError")
    for ex, (sol, check) in replays:
        for what, cell in (("solution", sol), ("check", check)):
            if (e := _errors(cell)):
                problems.append(f"{ex.grade_id}: the {what} failed when run on the solution: {e[0]}: {e[1]}")
        text = "".join(o.get("text", "") for o in check.outputs if o.output_type == "stream")
        if not _errors(check) and "✅" not in text:
            problems.append(f"{ex.grade_id}: the check passed silently; print a pass with checks.expect(...)")
    return problems


@pytest.fixture()
def smoke_env(tmp_path, monkeypatch):
    monkeypatch.setenv("TL_PROFILE", "smoke")  # the kernel inherits the environment
    monkeypatch.setenv("TL_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("TL_SEED", raising=False)


@pytest.mark.parametrize("number", course_numbers())
def test_checks_fail_on_stubs_and_pass_on_solutions(number, smoke_env):
    _, found = checked_exercises(number)
    path = find_notebook(number)
    problems = exercise_problems(path, found)
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


SOL = {"grade": False, "locked": False, "schema_version": 3, "solution": True, "task": False}
CHK = {"grade": True, "locked": True, "points": 1, "schema_version": 3, "solution": False, "task": False}
CHECK = "expect({v} == 4, hint='square x')"
HARNESS = """x = 2
leaked = 4
class CheckFailed(AssertionError):
    pass
def expect(ok, hint):
    if not ok:
        raise CheckFailed(hint)
    print("✅ Correct")"""


def test_the_exercise_test_catches_broken_exercises(tmp_path, smoke_env):
    """The harness itself can fail: a check that passes on a stub, a later cell that needs an answer."""
    cells = [nbformat.v4.new_code_cell(HARNESS),
             nbformat.v4.new_markdown_cell("## Exercises"),
             nbformat.v4.new_code_cell("### BEGIN SOLUTION\ngood = x ** 2\n### END SOLUTION",
                                       metadata={"nbgrader": {**SOL, "grade_id": "ex1"}}),
             nbformat.v4.new_code_cell(CHECK.format(v="good"), metadata={"nbgrader": {**CHK, "grade_id": "ex1-c"}}),
             nbformat.v4.new_code_cell("### BEGIN SOLUTION\nleaked = x ** 2\n### END SOLUTION",
                                       metadata={"nbgrader": {**SOL, "grade_id": "ex2"}}),
             nbformat.v4.new_code_cell(CHECK.format(v="leaked"), metadata={"nbgrader": {**CHK, "grade_id": "ex2-c"}}),
             nbformat.v4.new_code_cell("print(good)")]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "99_broken.ipynb"
    nbformat.write(nb, path)
    # ex1 is right (its stub fails, its check fails then passes): only the two planted faults are reported
    assert exercise_problems(path) == [
        "cell 6 ('print(good)') failed in the student copy: NameError: name 'good' is not defined",
        "check cell 5 (ex2-c) PASSED on the stub: it cannot catch a missing answer "
        "(does an earlier cell define the same variable?)"]
