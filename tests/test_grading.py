"""Grading with nbgrader (issue 16): silent checks, the grader's track, every earned point given.

The fast tests cover the pieces; ``test_autograde_*`` runs the instructor's cycle for
real on the smoke track: ``grading init`` -> ``nbgrader generate_assignment`` ->
submissions (a solved and a blank copy) -> ``nbgrader autograde`` ->
``generate_feedback`` -> ``export``.
"""

from __future__ import annotations

import csv
import importlib
import json
import logging
import os
import pkgutil
import re
import subprocess
import sys
import warnings
from pathlib import Path

import nbformat
import pytest

from tl_helpers import checks, course, grading

# ------------------------------------------------------------------ silent checks


class StderrHandler(logging.Handler):
    """What a notebook kernel has (TensorFlow adds a stderr handler when the root logger has none)."""

    def emit(self, record: logging.LogRecord) -> None:
        sys.stderr.write(self.format(record) + "\n")


@pytest.fixture(autouse=True)
def like_a_kernel(monkeypatch):
    """Warnings shown on stderr every time, as in a notebook kernel (pytest would only record them)."""
    def show(message, category, filename, lineno, file=None, line=None):
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    monkeypatch.setattr(warnings, "showwarning", show)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        yield


@pytest.fixture(autouse=True)
def log_to_stderr():
    handler, loggers = StderrHandler(), [logging.getLogger(), logging.getLogger("tensorflow")]
    for logger in loggers:  # TensorFlow's logger does not propagate
        logger.addHandler(handler)
    yield
    for logger in loggers:
        logger.removeHandler(handler)


def noisy_check(answer):
    """Everything a check's libraries can write to stderr, then a verdict."""
    warnings.warn("Do not pass an `input_shape` argument to a layer", UserWarning)
    logging.getLogger("tensorflow").warning("a TensorFlow warning, e.g. about tracing")
    logging.getLogger("absl").error("an absl log line")
    print("a stray print to stderr", file=sys.stderr)
    os.write(2, b"I0000 a C++ log line\n")
    checks.answered(answer, "answer")
    checks.expect(answer == 4, hint="square x", success="4")


def test_a_noisy_check_writes_nothing_to_stderr_and_still_fails_loudly(capfd):
    quiet = checks.silenced(noisy_check)
    quiet(4)
    out, err = capfd.readouterr()
    assert out == "✅ Correct: 4\n" and err == ""
    with pytest.raises(checks.CheckFailed, match="still empty"):
        quiet(None)
    with pytest.raises(checks.CheckFailed, match="square x"):
        quiet(5)
    assert capfd.readouterr().err == ""
    noisy_check(4)  # unsilenced, the same function is loud: the test can fail
    err = capfd.readouterr().err
    assert "input_shape" in err and "a TensorFlow warning" in err and "C++ log line" in err
    # afterwards warnings, logging and stderr work as before
    with pytest.warns(UserWarning):
        warnings.warn("back", UserWarning)
    assert logging.root.manager.disable == logging.NOTSET


def test_a_real_keras_warning_inside_a_check_is_silenced(capfd):
    keras = pytest.importorskip("keras")

    def check_that_builds_a_layer():
        keras.layers.Dense(2, input_shape=(3,))  # Keras 3: "UserWarning: Do not pass an `input_shape`"
        checks.expect(True, hint="", success="built")

    check_that_builds_a_layer()
    assert "input_shape" in capfd.readouterr().err  # loud without the wrapper
    checks.silenced(check_that_builds_a_layer)()
    out, err = capfd.readouterr()
    assert err == "" and "built" in out


def test_every_gathered_check_is_silenced():
    gathered = 0
    for info in pkgutil.iter_modules(checks.__path__):
        mod = importlib.import_module(f"tl_helpers.checks.{info.name}")
        for name in getattr(mod, "__all__", []):
            assert getattr(getattr(checks, name), "__wrapped__", None) is getattr(mod, name), name
            gathered += 1
    assert gathered >= 7


# ------------------------------------------------------------------ grading init


def test_init_writes_a_course_folder_outside_the_checkout(tmp_path, capsys):
    assert grading.main(["init", str(tmp_path / "g"), "--notebooks", "00", "--track", "lite"]) == 0
    assert "grading track: lite" in capsys.readouterr().out
    config = (tmp_path / "g" / "nbgrader_config.py").read_text()
    compile(config, "nbgrader_config.py", "exec")
    assert 'setdefault("TL_PROFILE", \'lite\')' in config and "c.Execute.timeout" in config
    assert [p.name for p in (tmp_path / "g" / "source").iterdir()] == ["00_setup"]
    assert (tmp_path / "g" / "source" / "00_setup" / "00_setup.ipynb").exists()
    with pytest.raises(SystemExit, match="exists; pass --force"):
        grading.main(["init", str(tmp_path / "g")])
    with pytest.raises(SystemExit, match="inside the course checkout"):
        grading.main(["init", str(course.NOTEBOOK_DIR.parent / "grading")])


def _load_config(course_dir: Path, argv: list[str], monkeypatch) -> object:
    from traitlets.config import Config

    cfg = Config()
    monkeypatch.setattr(sys, "argv", argv)
    code = (course_dir / "nbgrader_config.py").read_text()
    exec(compile(code, "nbgrader_config.py", "exec"), {"get_config": lambda: cfg})
    return cfg


def test_config_sets_the_track_timeout_and_stops_a_kernel_without_tl_helpers(tmp_path, monkeypatch):
    grading.init(tmp_path / "g", track="smoke", notebooks=["00"])
    for var in ("TL_PROFILE", "TL_SEED", "TL_DATA_DIR"):  # the config file sets them: undo that afterwards
        monkeypatch.setenv(var, "")
        monkeypatch.delenv(var)
    cfg = _load_config(tmp_path / "g", ["nbgrader", "autograde", "00_setup"], monkeypatch)
    assert os.environ["TL_PROFILE"] == "smoke" and cfg.Execute.timeout == grading.CELL_TIMEOUT_S["smoke"]
    assert not Path(os.environ["TL_DATA_DIR"]).is_relative_to(tmp_path)  # demo data in the cache
    monkeypatch.setenv("TL_PROFILE", "lite")  # the instructor's environment wins
    assert _load_config(tmp_path / "g", ["nbgrader", "autograde"], monkeypatch).Execute.timeout == 1800
    # nbgrader in another environment: a python3 kernel that cannot import tl_helpers
    kernel = tmp_path / "jupyter" / "kernels" / "python3"
    kernel.mkdir(parents=True)
    python = tmp_path / "bare_python"
    python.write_text(f"#!/bin/sh\nexec {sys.executable} -I -S \"$@\"\n")
    python.chmod(0o755)
    (kernel / "kernel.json").write_text(json.dumps({"argv": [str(python), "-m", "ipykernel_launcher", "-f",
                                                             "{connection_file}"], "display_name": "Python 3",
                                                    "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match=r"cannot import tl_helpers.*pip install -e \"\.\[grading\]\""):
        _load_config(tmp_path / "g", ["nbgrader", "autograde", "00_setup"], monkeypatch)
    assert "cannot import tl_helpers" in grading.kernel_problem()
    _load_config(tmp_path / "g", ["nbgrader", "generate_assignment", "00_setup"], monkeypatch)  # no check


# ------------------------------------------------------------------ the real cycle

GRADED = ["00", "06"]  # the fastest notebooks with a written mechanic: ~30 s per submission on smoke


def nbgrader(course_dir: Path, *args: str) -> subprocess.CompletedProcess:
    run = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course_dir, capture_output=True,
                         text=True, timeout=900)
    assert run.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return run


def solved_copy(released: nbformat.NotebookNode, source: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """What a student who got everything right submits: the released notebook with the answers filled in."""
    solved = nbformat.from_dict(json.loads(json.dumps(released)))
    for cell, original in zip(solved.cells, source.cells):
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = original.source
    return solved


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    """Init, release, submit (solved + blank), autograde, feedback, export; return the course folder."""
    root = tmp_path_factory.mktemp("grading")
    env_backup = dict(os.environ)
    os.environ.pop("TL_PROFILE", None)  # the course's nbgrader_config.py chooses the track (smoke)
    os.environ["TL_RESULTS_DIR"] = str(root / "records")  # run records: anywhere but the course folder
    try:
        folders = grading.init(root / "course", track="smoke", notebooks=GRADED)
        course_dir = root / "course"
        for folder in folders:
            nbgrader(course_dir, "generate_assignment", folder.name)
            for released in (course_dir / "release" / folder.name).glob("*.ipynb"):
                nb = nbformat.read(released, as_version=4)
                source = nbformat.read(folder / released.name, as_version=4)
                for student, copy in (("solved", solved_copy(nb, source)), ("blank", nb)):
                    target = course_dir / "submitted" / student / folder.name
                    target.mkdir(parents=True, exist_ok=True)
                    params = next(c for c in copy.cells if "parameters" in c.metadata.get("tags", []))
                    params.source = re.sub(r"(?m)^seed = .*$", "seed = 3",
                                           re.sub(r"(?m)^profile = .*$", 'profile = "lite"', params.source))
                    nbformat.write(copy, target / released.name)
            nbgrader(course_dir, "autograde", folder.name)
            nbgrader(course_dir, "generate_feedback", folder.name)
        nbgrader(course_dir, "export")
        yield course_dir
    finally:
        os.environ.clear()
        os.environ.update(env_backup)


def scores(course_dir: Path) -> dict[tuple[str, str], tuple[float, float]]:
    with open(course_dir / "grades.csv", newline="") as f:
        return {(r["student_id"], r["assignment"]): (float(r["score"]), float(r["max_score"]))
                for r in csv.DictReader(f)}


def test_autograde_gives_solved_copies_every_point_and_blank_ones_none(graded_course):
    got = scores(graded_course)
    assignments = [p.name for p in sorted((graded_course / "source").iterdir())]
    for name in assignments:
        score, max_score = got[("solved", name)]
        assert max_score >= 1 and score == max_score, f"solved {name}: {score}/{max_score}"
        assert got[("blank", name)][0] == 0, f"blank {name}: {got[('blank', name)]}"


def test_graded_on_the_graders_track_with_hints_and_no_noise(graded_course):
    for name in (p.name for p in sorted((graded_course / "source").iterdir())):
        for student in ("solved", "blank"):
            nb = nbformat.read(graded_course / "autograded" / student / name / f"{name}.ipynb", as_version=4)
            text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
            assert "track chosen by the grader (TL_PROFILE=smoke)" in text, f"{student}/{name}"
            assert "track       smoke" in text  # the submission's `profile = "lite"` was ignored
            graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
            stderr = [o.text for c in graded for o in c.outputs if o.get("name") == "stderr"]
            assert not stderr, f"{student}/{name}: a graded cell wrote to stderr: {stderr[:1]}"
            if student == "blank":
                errors = [o for c in graded for o in c.outputs if o.output_type == "error"]
                assert errors and all(e.ename == "CheckFailed" and "still empty" in e.evalue for e in errors), \
                    f"blank {name}: {[(e.ename, e.evalue[:80]) for e in errors]}"
            feedback = graded_course / "feedback" / student / name
            assert sorted(p.name for p in feedback.rglob("*") if p.is_file()) == [f"{name}.html"]
            if student == "blank":
                assert "still empty" in (feedback / f"{name}.html").read_text()
    leftovers = [p for p in graded_course.rglob("*.json")]
    assert not leftovers, f"run records written into the course folder: {leftovers}"
