"""Notebooks 00 and 01: every exercise check rejects a plausible wrong answer and accepts the right one."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tl_helpers import checks
from tl_helpers.checks import CheckFailed


# ------------------------------------------------------------- 00, exercise 1
@pytest.fixture()
def probs():
    p = np.random.default_rng(0).dirichlet(np.full(1000, 0.05))
    return p.astype("float32")


def test_nb00_top5_mass_right_answer_passes(probs, capsys):
    checks.check_top5_mass(float(np.sort(probs)[-5:].sum()), probs)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", ["first_five", "top1", "all", "percent", "smallest_five", "blank"])
def test_nb00_top5_mass_wrong_answers_fail(probs, wrong):
    answer = {"first_five": float(probs[:5].sum()), "top1": float(probs.max()), "all": float(probs.sum()),
              "percent": 100 * float(np.sort(probs)[-5:].sum()), "smallest_five": float(np.sort(probs)[:5].sum()),
              "blank": None}[wrong]
    with pytest.raises(CheckFailed):
        checks.check_top5_mass(answer, probs)


# ------------------------------------------------------------- 01, exercise 1
def _ex_model(freeze: bool = True, hidden: bool = False):
    keras.utils.set_random_seed(0)
    base = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3), keras.layers.BatchNormalization(),
                             keras.layers.GlobalAveragePooling2D()], name="base")
    base.trainable = not freeze
    inp = keras.Input((8, 8, 3))
    x = base(inp, training=False)
    if hidden:
        x = keras.layers.Dense(16, activation="relu")(x)
    return keras.Model(inp, keras.layers.Dense(3, activation="softmax")(x))


def _trainable(model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_nb01_frozen_head_right_answer_passes(capsys):
    model = _ex_model()
    checks.nb01_frozen_head(model, _trainable(model), 3)
    assert "✅" in capsys.readouterr().out and _trainable(model) == 4 * 3 + 3


@pytest.mark.parametrize("wrong", ["all_params", "unfrozen_base", "wrong_classes", "extra_hidden_layer",
                                   "float_count", "no_nested_base", "blank"])
def test_nb01_frozen_head_wrong_answers_fail(wrong):
    model = _ex_model(freeze=wrong != "unfrozen_base", hidden=wrong == "extra_hidden_layer")
    count = _trainable(model)
    if wrong == "all_params":           # counted every parameter, frozen ones too
        count = model.count_params()
    if wrong == "float_count":
        count = float(count) + 0.5
    if wrong == "no_nested_base":       # the layers copied flat: no frozen backbone inside
        inp = keras.Input((8, 8, 3))
        model = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(inp)))
        count = _trainable(model)
    num_classes = 4 if wrong == "wrong_classes" else 3
    if wrong == "blank":
        model = None
    with pytest.raises(CheckFailed):
        checks.nb01_frozen_head(model, count, num_classes)


# ------------------------------------------------------------- 01, exercise 2
@pytest.fixture()
def centroid_data():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]])
    y_lab, y_test = np.repeat(np.arange(3), 6), np.repeat(np.arange(3), 30)
    f_lab = centres[y_lab] + rng.normal(0, 0.8, (len(y_lab), 2))
    f_test = centres[y_test] + rng.normal(0, 1.2, (len(y_test), 2))
    means = np.stack([f_lab[y_lab == c].mean(0) for c in range(3)])
    pred = ((f_test[:, None] - means[None]) ** 2).sum(-1).argmin(1)
    return f_lab, y_lab, f_test, y_test, means, pred


def test_nb01_nearest_centroid_right_answer_passes(centroid_data, capsys):
    f_lab, y_lab, f_test, y_test, _, pred = centroid_data
    assert 0.5 < (pred == y_test).mean() < 1.0  # a test set with some mistakes: accuracy is informative
    checks.nb01_nearest_centroid(pred, float((pred == y_test).mean()), f_lab, y_lab, f_test, y_test)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", ["argmax", "acc_not_matching", "acc_percent", "test_means", "nearest_neighbour",
                                   "too_few", "blank"])
def test_nb01_nearest_centroid_wrong_answers_fail(centroid_data, wrong):
    f_lab, y_lab, f_test, y_test, means, pred = centroid_data
    acc = float((pred == y_test).mean())
    if wrong == "argmax":               # the farthest mean
        pred = ((f_test[:, None] - means[None]) ** 2).sum(-1).argmax(1)
        acc = float((pred == y_test).mean())
    if wrong == "acc_not_matching":     # an accuracy that is not the one of the predictions
        acc = float((pred == np.roll(y_test, 1)).mean())
    if wrong == "acc_percent":
        acc = 100 * acc
    if wrong == "test_means":           # means over the labelled features, but without the mean: the sum
        sums = np.stack([f_lab[y_lab == c].sum(0) for c in range(3)])
        pred = ((f_test[:, None] - sums[None]) ** 2).sum(-1).argmin(1)
        acc = float((pred == y_test).mean())
    if wrong == "nearest_neighbour":    # 1-NN instead of the class means
        pred = y_lab[((f_test[:, None] - f_lab[None]) ** 2).sum(-1).argmin(1)]
        acc = float((pred == y_test).mean())
    if wrong == "too_few":
        pred = pred[:-1]
    if wrong == "blank":
        pred = None
    with pytest.raises(CheckFailed):
        checks.nb01_nearest_centroid(pred, acc, f_lab, y_lab, f_test, y_test)
