"""tl_helpers.scaling, and notebook 07's resume script on tiny data: killed after epoch k and restarted,
it ends with the uninterrupted run's weights; with fit's own shuffling it does not (the test can fail)."""

from __future__ import annotations

import ast
import shutil

import keras
import nbformat
import numpy as np
import pytest

from tl_helpers import course, scaling


def test_max_weight_diff():
    m1 = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    m2 = keras.models.clone_model(m1)
    m2.set_weights(m1.get_weights())
    assert scaling.max_weight_diff(m1, m2) == 0.0
    w = m2.get_weights()
    w[1] = w[1] + np.array([0.0, -0.25], "float32")
    m2.set_weights(w)
    assert scaling.max_weight_diff(m1, m2) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="shape"):
        scaling.max_weight_diff(m1, [np.zeros(2)])


def test_run_script_passes_the_backend_and_reports_failures(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("import os, sys; print(os.environ['KERAS_BACKEND']); print('noise', file=sys.stderr); sys.exit(int(sys.argv[1]))")
    assert scaling.run_script(script, 0).strip() == keras.backend.backend()   # stdout only
    assert scaling.run_script(script, 3, expect=3).strip() == keras.backend.backend()
    with pytest.raises(RuntimeError, match="exited with code 2, expected 0(.|\n)*noise"):
        scaling.run_script(script, 2)


def notebook_resume_script() -> str:
    """The RESUME_SCRIPT string that notebook 07 writes and runs."""
    path = [p for p in course.notebooks() if p.stem.startswith("07_")][0]
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code" and "RESUME_SCRIPT =" in cell.source:
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.Assign) and node.targets[0].id == "RESUME_SCRIPT":
                    return node.value.value
    raise AssertionError("notebook 07 has no RESUME_SCRIPT cell")


def _interrupt_and_resume(tmp_path, source: str, stop_after: int = 2) -> tuple[float, str]:
    script = tmp_path / "resume_train.py"
    script.write_text(source)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(70, 6)).astype("float32")
    np.savez(tmp_path / "d.npz", x=x, y=(x[:, 0] > 0).astype("int64") + (x[:, 1] > 0), seed=0, classes=3, epochs=4)
    run = lambda backup, out, stop, expect=0: scaling.run_script(script, tmp_path / "d.npz", tmp_path / backup,
                                                                  tmp_path / out, stop, expect=expect)
    run("b_full", "full.keras", 0)
    assert not (tmp_path / "b_full").exists()                     # a finished run deletes its backup
    assert "killed after epoch 2" in run("b_cut", "unused.keras", stop_after, expect=3)
    assert not (tmp_path / "unused.keras").exists() and (tmp_path / "b_cut").exists()
    resumed = run("b_cut", "resumed.keras", 0)
    full, res = (keras.saving.load_model(tmp_path / f) for f in ("full.keras", "resumed.keras"))
    return scaling.max_weight_diff(full, res), resumed


def test_notebook_script_resumes_to_the_same_weights(tmp_path):
    diff, log = _interrupt_and_resume(tmp_path, notebook_resume_script())
    assert "Epoch 1/4" not in log and "Epoch 3/4" in log             # it went on from the backup
    assert diff <= 1e-6, diff


def test_resume_check_fails_when_fit_shuffles(tmp_path):
    """fit's own shuffling draws from a generator that restarts with the process: the weights differ."""
    source = notebook_resume_script()
    assert "shuffle=False" in source
    diff, _ = _interrupt_and_resume(tmp_path, source.replace("shuffle=False", "shuffle=True"))
    assert diff > 1e-6
