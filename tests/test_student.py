"""Student copies: nbgrader's own release steps, errors that name the cell, the same files as nbgrader."""

from __future__ import annotations

import re
from pathlib import Path
import shutil
import subprocess
import sys

import nbformat
import pytest

from tl_helpers import course
from tl_helpers.student import (CODE_STUB, TEXT_STUB, StudentCopyError, exercises, make_student_copies,
                                make_student_notebook, release_steps)

SOL = {"grade": False, "grade_id": "01-ex1", "locked": False, "schema_version": 3, "solution": True, "task": False}
CHK = {"grade": True, "grade_id": "01-ex1-check", "locked": True, "points": 1, "schema_version": 3,
       "solution": False, "task": False}


def code(src: str, nbgrader: dict | None = None, **meta) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(src, metadata={**({"nbgrader": nbgrader} if nbgrader else {}), **meta})
    return cell


def exercise_nb() -> nbformat.NotebookNode:
    lesson = code("x = 2\nprint(x)", tags=["parameters"])
    lesson.outputs = [nbformat.v4.new_output("stream", text="2\n")]
    lesson.execution_count = 1
    return nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 01 · Demo"),
        lesson,
        code("# Task: square x into `answer`.\n### BEGIN SOLUTION\nanswer = x ** 2\n### END SOLUTION", SOL),
        code("checks.check_square(answer, x)", CHK),
    ])


def test_solution_region_becomes_stub_and_the_rest_stays():
    nb = exercise_nb()
    student = make_student_notebook(nb, "01_demo.ipynb")
    assert student.cells[2].source == "# Task: square x into `answer`.\n" + CODE_STUB
    assert student.cells[3].source == nb.cells[3].source  # the check is untouched
    meta = student.cells[2].metadata["nbgrader"]
    assert {k: meta[k] for k in SOL} == SOL and "checksum" in meta  # kept, plus nbgrader's checksum
    assert student.cells[3].metadata["nbgrader"]["locked"] is True  # LockCells
    assert student.cells[1].metadata["tags"] == ["parameters"]
    assert nb.cells[2].source.endswith("### END SOLUTION")  # the input is not modified


def test_the_steps_are_nbgraders_generate_assignment_pipeline():
    from nbgrader.converters import GenerateAssignment

    theirs = [c.__name__ for c in GenerateAssignment.class_traits()["preprocessors"].default()]
    assert [type(s).__name__ for s in release_steps()] == [n for n in theirs if n != "SaveCells"]


def test_outputs_and_execution_counts_are_stripped():
    student = make_student_notebook(exercise_nb())
    assert student.cells[1].outputs == [] and student.cells[1].execution_count is None


def test_indentation_is_kept_and_several_regions_work():
    src = ("def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\n\n"
           "### BEGIN SOLUTION\ny = f(1)\n### END SOLUTION")
    new = make_student_notebook(nbformat.v4.new_notebook(cells=[code(src, SOL)])).cells[0].source
    assert new == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\n" + CODE_STUB
    compile(new, "<student>", "exec")  # still valid Python


def test_markdown_answer_mark_scheme_and_hidden_tests():
    answer = nbformat.v4.new_markdown_cell("Why?\n### BEGIN SOLUTION\nBecause BN statistics drift.\n### END SOLUTION",
                                           metadata={"nbgrader": {**SOL, "grade_id": "q1", "grade": True, "points": 1}})
    task = nbformat.v4.new_markdown_cell("Describe it.\n=== BEGIN MARK SCHEME ===\nGive 1 point for BN.\n=== END MARK SCHEME ===",
                                         metadata={"nbgrader": {"task": True, "grade_id": "t1", "points": 1,
                                                                "solution": False, "grade": False, "locked": True,
                                                                "schema_version": 3}})
    check = code("checks.visible(a)\n### BEGIN HIDDEN TESTS\nassert a == 4\n### END HIDDEN TESTS", CHK)
    student = make_student_notebook(nbformat.v4.new_notebook(cells=[answer, task, check]))
    assert student.cells[0].source == "Why?\n" + TEXT_STUB
    assert student.cells[1].source == "Describe it."
    assert student.cells[2].source == "checks.visible(a)"


def test_solution_cell_without_markers_is_replaced_whole():
    nb = nbformat.v4.new_notebook(cells=[code("answer = 42", SOL)])
    assert make_student_notebook(nb).cells[0].source == CODE_STUB


@pytest.mark.parametrize("src, problem", [
    ("### BEGIN SOLUTION\na = 1", "no end solution"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\na = 1\n### END SOLUTION", "nested begin solution"),
    ("### BEGIN SOLUTION\na = 1\n### END MARK SCHEME", "no end solution"),
])
def test_malformed_markers_name_notebook_cell_and_problem(src, problem):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# t"), code(src, SOL)])
    with pytest.raises(StudentCopyError, match=rf"03_bad\.ipynb, cell 1 .*ClearSolutions.*{problem}"):
        make_student_notebook(nb, "03_bad.ipynb")


def test_region_outside_a_solution_cell_is_refused():
    nb = nbformat.v4.new_notebook(cells=[code("a = 0"), code("### BEGIN SOLUTION\na = 1\n### END SOLUTION")])
    with pytest.raises(StudentCopyError, match=r"02_x.ipynb, cell 1 .*non-solution cell"):
        make_student_notebook(nb, "02_x.ipynb")


def test_duplicate_grade_ids_and_missing_points_are_refused():
    nb = nbformat.v4.new_notebook(cells=[code("### BEGIN SOLUTION\na=1\n### END SOLUTION", SOL),
                                         code("### BEGIN SOLUTION\nb=1\n### END SOLUTION", SOL)])
    with pytest.raises(StudentCopyError, match="Duplicate grade id: 01-ex1"):
        make_student_notebook(nb)
    no_points = {k: v for k, v in CHK.items() if k != "points"}
    with pytest.raises(StudentCopyError, match="cell 0 .*does not have points"):
        make_student_notebook(nbformat.v4.new_notebook(cells=[code("checks.a()", no_points)]))


def test_without_nbgrader_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "nbgrader.converters", None)
    with pytest.raises(StudentCopyError, match=r'pip install -e "\.\[grading\]"'):
        make_student_notebook(exercise_nb())


def test_exercises_pairs_each_solution_with_its_check():
    nb = exercise_nb()
    nb.cells += [code("### BEGIN SOLUTION\nb = 1\n### END SOLUTION", {**SOL, "grade_id": "01-ex2"}),
                 code("### BEGIN SOLUTION\nc = 1\n### END SOLUTION", {**SOL, "grade_id": "01-ex3"}),
                 code("checks.c(c)", {**CHK, "grade_id": "01-ex3-check"})]
    assert [(e.solution_cell, e.check_cell, e.check_id) for e in exercises(nb)] == [
        (2, 3, "01-ex1-check"), (4, None, None), (5, 6, "01-ex3-check")]


def test_make_student_copies_writes_all_or_nothing(tmp_path):
    src, out = tmp_path / "nbs", tmp_path / "student"
    src.mkdir()
    nbformat.write(exercise_nb(), src / "01_demo.ipynb")
    nbformat.write(exercise_nb(), src / "not_a_lesson.ipynb")
    written = make_student_copies(src, out)
    assert [p.name for p in written] == ["01_demo.ipynb"]
    assert "answer = x ** 2" not in (out / "01_demo.ipynb").read_text()
    bad = exercise_nb()
    bad.cells[2].source = "### BEGIN SOLUTION\nanswer = 1"
    nbformat.write(bad, src / "02_bad.ipynb")
    with pytest.raises(StudentCopyError, match="02_bad.ipynb, cell 2"):
        make_student_copies(src, tmp_path / "other")
    assert not (tmp_path / "other").exists()  # nothing half-written
    with pytest.raises(StudentCopyError, match="overwrite the solutions"):
        make_student_copies(src, src)
    with pytest.raises(StudentCopyError, match="No notebooks"):
        make_student_copies(tmp_path / "student" / "..", tmp_path / "x")


def _solution_lines(nb: nbformat.NotebookNode) -> list[str]:
    lines = []
    for cell in nb.cells:
        for block in re.findall(r"BEGIN SOLUTION[^\n]*\n(.*?)\n[^\n]*END SOLUTION", cell.source, re.S):
            lines += [l.strip() for l in block.split("\n") if l.strip() and not l.strip().startswith("#")]
    return lines


def test_course_student_command_on_the_real_notebooks(tmp_path, capsys):
    """`python -m tl_helpers.course student OUT`: every course notebook, no solution text left."""
    sources = course.notebooks()
    if not sources:
        pytest.skip("no course notebooks yet")
    assert course.main(["student", str(tmp_path)]) == 0
    assert f"wrote {len(sources)} student notebooks" in capsys.readouterr().out
    for src in sources:
        original = nbformat.read(src, as_version=4)
        student = nbformat.read(tmp_path / src.name, as_version=4)
        text = "\n".join(c.source for c in student.cells)
        assert "SOLUTION" not in text, src.name
        stubbed = [i for i, c in enumerate(original.cells) if "BEGIN SOLUTION" in c.source]
        assert stubbed, f"{src.name} has no exercise"
        for i in stubbed:
            kept = {l.strip() for l in student.cells[i].source.split("\n")}
            leaked = [l for l in _solution_lines(nbformat.v4.new_notebook(cells=[original.cells[i]]))
                      if l in kept]
            assert not leaked, f"{src.name} cell {i} still shows {leaked}"
            assert "raise NotImplementedError()" in student.cells[i].source
        assert len(student.cells) == len(original.cells)
        assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code")


def test_identical_to_nbgrader_generate_assignment(tmp_path):
    """`course student` and `nbgrader generate_assignment` write the same notebooks (sources and metadata)."""
    sources = course.notebooks()
    if not sources:
        pytest.skip("no course notebooks yet")
    (tmp_path / "source" / "tl").mkdir(parents=True)
    for src in sources:
        shutil.copy(src, tmp_path / "source" / "tl" / src.name)
    (tmp_path / "nbgrader_config.py").write_text('c = get_config()\nc.CourseDirectory.course_id = "tl"\n')
    run = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", "tl"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    ours = make_student_copies(course.NOTEBOOK_DIR, tmp_path / "ours")
    for path in ours:
        theirs = nbformat.read(tmp_path / "release" / "tl" / path.name, as_version=4)
        mine = nbformat.read(path, as_version=4)
        assert [(c.cell_type, c.source, c.metadata) for c in mine.cells] == \
               [(c.cell_type, c.source, c.metadata) for c in theirs.cells], path.name


def test_jupytext_round_trip_keeps_every_notebook_byte_for_byte(tmp_path):
    """The README's editing workflow: `jupytext --to py:percent`, edit, `jupytext --update --to ipynb`."""
    pytest.importorskip("jupytext")
    sources = course.notebooks()
    if not sources:
        pytest.skip("no course notebooks yet")
    for src in sources:
        shutil.copy(src, tmp_path / src.name)
    names = [src.name for src in sources]

    def jupytext(*args: str) -> None:
        run = subprocess.run([sys.executable, "-m", "jupytext", "-q", *args], cwd=tmp_path, capture_output=True,
                             text=True, timeout=300)
        assert run.returncode == 0, run.stderr[-2000:]

    jupytext("--to", "py:percent", *names)
    first = tmp_path / sources[0].with_suffix(".py").name
    text = first.read_text()
    assert '# %% tags=["parameters"]' in text and '# %% nbgrader={"grade": false' in text  # visible, editable
    first.write_text(text.replace("# ## Learning objectives", "# ## Learning objectives (edited)", 1))
    jupytext("--update", "--to", "ipynb", *[Path(n).with_suffix(".py").name for n in names])
    for src in sources[1:]:
        assert (tmp_path / src.name).read_bytes() == src.read_bytes(), f"{src.name} changed in a round trip"
    edited = nbformat.read(tmp_path / sources[0].name, as_version=4)
    original = nbformat.read(sources[0], as_version=4)
    assert "## Learning objectives (edited)" in "\n".join(c.source for c in edited.cells)
    assert edited.metadata == original.metadata
    assert [(c.get("id"), c.metadata) for c in edited.cells] == [(c.get("id"), c.metadata) for c in original.cells]
