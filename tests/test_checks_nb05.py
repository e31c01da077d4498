"""Notebook 05's exercise checks: each right answer passes, each plausible wrong answer raises CheckFailed.

Also: the class-weight rule written in the notebook's cell agrees with the helper
``pitfalls.balanced_class_weights``, and the checks write nothing to stderr.
"""

from __future__ import annotations

import re
from pathlib import Path

import keras
import nbformat
import numpy as np
import pytest

from tl_helpers import checks, pitfalls
from tl_helpers.checks import CheckFailed

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "05_pitfalls.ipynb"


# ------------------------------------------------------------------ exercise 1: balanced sampling
def _imbalanced_run():
    """A head on 1-D features that predicts round(feature); rare class 2. Test recalls 0.8, 0.9, 0.5."""
    y_imb = np.array([0] * 6 + [1] * 6 + [2] * 2)
    y_test = np.repeat([0, 1, 2], 10)
    f_test = y_test.astype("float32")[:, None].copy()
    f_test[:2] = 1        # two of class 0 look like class 1
    f_test[10] = 0        # one of class 1 looks like class 0
    f_test[20:25] = 1     # five of class 2 look like class 1

    def head(f):  # probabilities peaked at the nearest class
        return np.eye(3)[np.clip(np.rint(np.asarray(f)[:, 0]), 0, 2).astype(int)]

    pred = head(f_test).argmax(-1)
    recalls = pitfalls.per_class_recall(y_test, pred, 3)
    idx = np.concatenate([np.random.default_rng(0).choice(np.flatnonzero(y_imb == c), 6) for c in range(3)])
    return dict(idx=idx, head=head, y_imb=y_imb, f_test=f_test, y_test=y_test, recalls=recalls,
                accuracy=float((pred == y_test).mean()))


def test_ex1_right_answer_passes(capsys):
    r = _imbalanced_run()
    checks.nb05_balanced_sampling(r["idx"], r["head"], float(r["recalls"][2]), r["y_imb"], r["f_test"],
                                  r["y_test"], 2)
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", ["accuracy", "other_class", "made_up"])
def test_ex1_wrong_recall_fails(wrong):
    r = _imbalanced_run()
    assert len({round(float(v), 3) for v in r["recalls"]} | {round(r["accuracy"], 3)}) == 4, "toy values must differ"
    answer = {"accuracy": r["accuracy"], "other_class": float(r["recalls"][0]), "made_up": 0.3}[wrong]
    match = {"accuracy": "overall accuracy", "other_class": "recall of class 0", "made_up": "rare class"}[wrong]
    with pytest.raises(CheckFailed, match=match):
        checks.nb05_balanced_sampling(r["idx"], r["head"], answer, r["y_imb"], r["f_test"], r["y_test"], 2)


def test_ex1_wrong_indices_and_blanks_fail():
    r = _imbalanced_run()
    args = (r["y_imb"], r["f_test"], r["y_test"], 2)
    rec = float(r["recalls"][2])
    with pytest.raises(CheckFailed, match="as often as the largest"):          # the imbalanced set itself
        checks.nb05_balanced_sampling(np.arange(len(r["y_imb"])), r["head"], rec, *args)
    with pytest.raises(CheckFailed, match="still empty"):
        checks.nb05_balanced_sampling(None, None, None, *args)
    with pytest.raises(CheckFailed, match="oversampled_head is still empty"):
        checks.nb05_balanced_sampling(r["idx"], None, rec, *args)


def test_ex1_recall_of_another_head_fails():
    """The recall is recomputed from the learner's head: the imbalanced head's recall does not pass."""
    r = _imbalanced_run()

    def timid_head(f):  # never predicts the rare class
        p = r["head"](f)
        p[:, 1] += p[:, 2]
        p[:, 2] = 0
        return p

    with pytest.raises(CheckFailed):
        checks.nb05_balanced_sampling(r["idx"], timid_head, float(r["recalls"][2]), r["y_imb"], r["f_test"],
                                      r["y_test"], 2)


# ------------------------------------------------------------------ exercise 2: the watermark trigger
def _corner_model():
    """'Class 0' when the top-left pixel is bright: a model that is nothing but a watermark detector."""
    inputs = keras.Input((8, 8, 3))
    corner = keras.layers.Lambda(lambda t: t[:, 0, 0, :1] * 10.0)(inputs)
    logits = keras.layers.Concatenate()([corner, keras.ops.zeros_like(corner) + 5.0])
    return keras.Model(inputs, keras.layers.Softmax()(logits))


def test_ex2_hijack_rate_recomputes_truth(capsys):
    model = _corner_model()
    x = np.zeros((6, 8, 8), "uint8")
    y = np.array([0, 0, 1, 1, 2, 2])
    args = (model, x, y, 0, {"size": 0.25}, 8, lambda t: t / 255.0)
    checks.nb05_hijack_rate(1.0, *args)
    captured = capsys.readouterr()
    assert "Correct" in captured.out and captured.err == ""
    with pytest.raises(CheckFailed, match="CLEAN"):       # forgot to stamp
        checks.nb05_hijack_rate(0.0, *args)
    with pytest.raises(CheckFailed):                      # counted the shortcut class's own images too
        checks.nb05_hijack_rate(0.5, *args)
    with pytest.raises(CheckFailed, match="still empty"):
        checks.nb05_hijack_rate(None, *args)


# ------------------------------------------------------------------ exercise 3: choosing a source
ROWS = [{"backbone": "a", "img_per_s": 10.0, "accuracy": 0.9},
        {"backbone": "b", "img_per_s": 100.0, "accuracy": 0.7},
        {"backbone": "c", "img_per_s": 200.0, "accuracy": 0.6}]


def test_ex3_right_answers_pass():
    checks.nb05_choose_source(ROWS[1], ROWS, 50.0)
    checks.nb05_choose_source(None, ROWS, 500.0)          # nothing fast enough: None is the answer


@pytest.mark.parametrize("wrong", [ROWS[0], ROWS[2], None, ...])
def test_ex3_wrong_choices_fail(wrong):
    with pytest.raises(CheckFailed):
        checks.nb05_choose_source(wrong, ROWS, 50.0)       # too slow, fast but not best, None, blank


def test_ex3_blank_gets_the_hint_even_when_none_would_be_right():
    with pytest.raises(CheckFailed, match="still empty"):
        checks.nb05_choose_source(..., ROWS, 500.0)


# ------------------------------------------------------------------ the notebook's own code
def _notebook_cell(defines: str) -> str:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    found = [c.source for c in nb.cells if c.cell_type == "code" and re.search(rf"^def {defines}\(", c.source, re.M)]
    assert len(found) == 1, f"05_pitfalls.ipynb must define {defines}() in exactly one cell"
    return found[0]


def test_notebook_class_weights_agree_with_the_helper():
    source = _notebook_cell("balanced_weights")
    code = source[:source.index("\nclass_weight =")]      # the function only, not the training below it
    y = np.array([0] * 40 + [1] * 3 + [2] * 17 + [3] * 1 + [4] * 9)   # every class present, as in the notebook
    scope = {"np": np, "K": 5}
    exec(code, scope)
    mine = scope["balanced_weights"](y)
    helper = pitfalls.balanced_class_weights(y, 5)
    assert set(mine) == set(helper)
    for c in helper:
        assert mine[c] == pytest.approx(helper[c], abs=1e-3)
    assert sum(mine[c] * n for c, n in enumerate(np.bincount(y, minlength=5))) == pytest.approx(len(y))


def test_notebook_exercise_answers_start_empty():
    """A blank submission must reach the check's 'still empty' hint, not a NameError."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    solutions = [c.source for c in nb.cells if "### BEGIN SOLUTION" in c.source]
    assert len(solutions) == 3
    for source, names in zip(solutions, (["idx_balanced", "oversampled_head", "rare_recall_oversampled"],
                                         ["hijack_rate"], ["chosen"])):
        above = source[:source.index("### BEGIN SOLUTION")]
        for name in names:
            assert re.search(rf"\b{name}\b[^\n]*=", above), f"{name} is not initialised above ### BEGIN SOLUTION"
