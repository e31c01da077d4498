"""Every exercise's check fails on the stub and passes on the solution (issue 9, item 3).

Each notebook's STUDENT copy runs once on the smoke track, cell by cell, with
errors allowed. Exactly the stubbed solution cells (``NotImplementedError``) and
their check cells (``CheckFailed`` with the course's "still empty" hint: the answer
variables are initialised above ``### BEGIN SOLUTION``, issue 16) may fail, nothing
else; then, in the same kernel, each original solution and its check run again and
must pass. A notebook not written yet is skipped; a notebook without exercises fails.

Every other cell must run without error too, so this is also the default test command's run of every
notebook on the smoke track (nbval runs them in CI's JAX job, and with ``pytest notebooks``).
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import nbformat
import pytest

from tl_helpers import checks, course
from tl_helpers.student import Exercise, exercises, make_student_notebook

#: the course's notebooks and how many exercises each needs at least.
MIN_EXERCISES = {"00": 1, "01": 2, "02": 2, "03": 2, "04": 2, "05": 2, "06": 2, "07": 2}
CHECK_ERRORS = {"CheckFailed"}
#: what checks.answered says about a blank answer: a blank submission's feedback must show it.
EMPTY_HINT = "still empty"


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


def _stored_names(source: str) -> set[str]:
    tree = ast.parse(textwrap.dedent(source))
    return ({n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
            | {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))})


def uninitialised_answers(nb: nbformat.NotebookNode, ex: Exercise) -> list[str]:
    """Names the solution region assigns and the check reads, but nothing above ``### BEGIN SOLUTION`` sets.

    A blank submission keeps the lines above the marker; with ``answer = None`` there,
    its check prints the "still empty" hint instead of a ``NameError``.
    """
    source = nb.cells[ex.solution_cell].source
    above, _, rest = source.partition("### BEGIN SOLUTION")
    above = above.rsplit("\n", 1)[0] if "\n" in above else ""
    region = rest.partition("### END SOLUTION")[0].split("\n", 1)[-1]
    read = {n.id for n in ast.walk(ast.parse(nb.cells[ex.check_cell].source)) if isinstance(n, ast.Name)}
    try:
        initialised = _stored_names(above)
    except SyntaxError:  # the marker sits inside a block: plain assignments are enough to find
        initialised = set(re.findall(r"^\s*(\w+)\s*(?::[^=\n]*)?=(?!=)", above, re.M))
    return sorted((_stored_names(region) & read) - initialised)


@pytest.mark.parametrize("number", course_numbers())
def test_answers_are_initialised_above_the_solution(number):
    """Static: every answer a check reads exists before ``### BEGIN SOLUTION`` (e.g. ``top5_mass = None``)."""
    nb, found = checked_exercises(number)
    name = find_notebook(number).name
    for ex in (e for e in found if e.check_cell is not None):
        missing = uninitialised_answers(nb, ex)
        assert not missing, (f"{name} cell {ex.solution_cell} ({ex.grade_id}): initialise {missing} above "
                             f"'### BEGIN SOLUTION' (e.g. `{missing[0]} = None`), so a blank answer gets the "
                             f"check's '{EMPTY_HINT}' hint instead of a NameError")


def test_the_initialisation_test_can_fail():
    sol = {"grade": False, "locked": False, "schema_version": 3, "solution": True, "task": False}
    chk = {"grade": True, "locked": True, "points": 1, "schema_version": 3, "solution": False, "task": False}
    for above, missing in (("", ["answer"]), ("answer = None", []), ("def f(x):\n    answer = None", [])):
        nb = nbformat.v4.new_notebook(cells=[
            nbformat.v4.new_code_cell(f"{above}\n### BEGIN SOLUTION\nhelper = 2\nanswer = helper ** 2\n### END SOLUTION",
                                      metadata={"nbgrader": {**sol, "grade_id": "ex1"}}),
            nbformat.v4.new_code_cell("checks.square(answer)", metadata={"nbgrader": {**chk, "grade_id": "c1"}})])
        assert uninitialised_answers(nb, exercises(nb)[0]) == missing, above


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
                            f"initialise the answer above ### BEGIN SOLUTION and call checks.answered on it, "
                            f"so a blank answer raises CheckFailed with the '{EMPTY_HINT}' hint")
        elif EMPTY_HINT not in failed[i][1]:
            problems.append(f"check cell {i} ({ex.check_id}) on the stub said {failed[i][1]!r}, not the "
                            f"'{EMPTY_HINT}' hint: call checks.answered(answer, \"answer\") first")
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
CHECK = "expect(answered({v}) == 4, hint='square x')"
HARNESS = """x = 2
leaked = 4
class CheckFailed(AssertionError):
    pass
def answered(v):
    if v is None:
        raise CheckFailed("your answer is still empty")
    return v
def expect(ok, hint):
    if not ok:
        raise CheckFailed(hint)
    print("✅ Correct")"""


def _exercise(n: int, name: str, init: bool, check: str = CHECK) -> list[nbformat.NotebookNode]:
    source = (f"{name} = None\n" if init else "") + f"### BEGIN SOLUTION\n{name} = x ** 2\n### END SOLUTION"
    return [nbformat.v4.new_code_cell(source, metadata={"nbgrader": {**SOL, "grade_id": f"ex{n}"}}),
            nbformat.v4.new_code_cell(check.format(v=name), metadata={"nbgrader": {**CHK, "grade_id": f"ex{n}-c"}})]


def test_the_exercise_test_catches_broken_exercises(tmp_path, smoke_env):
    """The harness itself can fail: a check that passes on a stub, a blank answer without the hint, ..."""
    cells = [nbformat.v4.new_code_cell(HARNESS), nbformat.v4.new_markdown_cell("## Exercises"),
             *_exercise(1, "good", init=True),
             *_exercise(2, "leaked", init=False),  # an earlier cell defines it: the check passes on the stub
             *_exercise(3, "bare", init=False),  # not initialised: NameError, no hint
             *_exercise(4, "plain", init=True, check="expect({v} == 4, hint='square x')"),  # no answered()
             nbformat.v4.new_code_cell("print(len(good))")]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "99_broken.ipynb"
    nbformat.write(nb, path)
    # ex1 is right (its stub fails, its check says "still empty", then passes): only the planted faults are reported
    problems = exercise_problems(path)
    assert problems[0] == ("cell 10 ('print(len(good))') failed in the student copy: "
                           "TypeError: object of type 'NoneType' has no len()")
    assert problems[1] == ("check cell 5 (ex2-c) PASSED on the stub: it cannot catch a missing answer "
                           "(does an earlier cell define the same variable?)")
    assert problems[2].startswith("check cell 7 (ex3-c) raised NameError: name 'bare' is not defined on the stub")
    assert problems[3] == "check cell 9 (ex4-c) on the stub said 'square x', not the 'still empty' hint: " \
                          "call checks.answered(answer, \"answer\") first"
    assert len(problems) == 4
