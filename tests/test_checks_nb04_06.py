"""Every exercise check of notebooks 04 and 06: a plausible wrong answer fails, the right one passes,
a blank one gets the friendly hint, and nothing is written to stderr (nbgrader scores that cell 0)."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from tl_helpers import multitask
from tl_helpers.checks import CheckFailed, nb04, nb06

CE = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
keras.ops.convert_to_numpy(keras.ops.ones((1,)) + 1)  # TensorFlow's start-up lines go out before any capture


def _two_heads():
    inp = keras.Input((8,))
    z = keras.layers.Dense(16, activation="relu", name="ex_shared")(inp)
    return keras.Model(inp, {"shape": keras.layers.Dense(3, name="shape")(z),
                             "color": keras.layers.Dense(4, name="color")(z)})


def _blank(check, *args):
    with pytest.raises(CheckFailed, match="still empty"):
        check(*args)


# ------------------------------------------------------------------ 04 exercise 1
def test_04_ex1_loss_dicts(capfd):
    m = _two_heads()
    nb04.nb04_loss_dicts(m, {"shape": CE, "color": CE}, {"shape": 1.0, "color": 2.0})
    with pytest.raises(CheckFailed):        # weights the wrong way round
        nb04.nb04_loss_dicts(m, {"shape": CE, "color": CE}, {"shape": 2.0, "color": 1.0})
    with pytest.raises(CheckFailed):        # keyed by layer names that are not the heads
        nb04.nb04_loss_dicts(m, {"dense": CE, "color": CE}, {"shape": 1.0, "color": 2.0})
    _blank(nb04.nb04_loss_dicts, m, None, None)
    assert capfd.readouterr().err == ""


# ------------------------------------------------------------------ 04 exercise 2
def test_04_ex2_uncertainty_total(capfd):
    ops = keras.ops
    nb04.nb04_uncertainty_total(lambda L, s: ops.sum(ops.exp(-s) * L + s))
    wrong = {
        "no +s": lambda L, s: ops.sum(ops.exp(-s) * L),
        "exp(+s)": lambda L, s: ops.sum(ops.exp(s) * L + s),
        "mean": lambda L, s: ops.mean(ops.exp(-s) * L + s),
        "numpy, no gradient": lambda L, s: np.sum(np.exp(-np.asarray(s)) * np.asarray(L) + np.asarray(s)),
    }
    for name, fn in wrong.items():
        with pytest.raises(CheckFailed):
            nb04.nb04_uncertainty_total(fn)
    _blank(nb04.nb04_uncertainty_total, None)
    assert capfd.readouterr().err == ""


# ------------------------------------------------------------------ 04 exercise 3
def test_04_ex3_optimal_log_variance(capfd):
    losses = {"a": 2.0, "b": 0.4}
    s = {t: float(np.log(L)) for t, L in losses.items()}
    nb04.nb04_optimal_log_variance(losses, s, {t: float(np.exp(-v)) for t, v in s.items()})
    with pytest.raises(CheckFailed):        # s = L instead of log L
        nb04.nb04_optimal_log_variance(losses, dict(losses), {t: float(np.exp(-L)) for t, L in losses.items()})
    with pytest.raises(CheckFailed):        # right s, weight exp(+s)
        nb04.nb04_optimal_log_variance(losses, s, {t: float(np.exp(v)) for t, v in s.items()})
    _blank(nb04.nb04_optimal_log_variance, losses, None, None)
    assert capfd.readouterr().err == ""


# ------------------------------------------------------------------ 04 exercise 4
def test_04_ex4_gradient_cosine(capfd):
    keras.utils.set_random_seed(0)
    inp = keras.Input((4,))
    z = keras.layers.Dense(3, name="shared")(inp)
    m = keras.Model(inp, {"a": keras.layers.Dense(2, name="a")(z), "b": keras.layers.Dense(2, name="b")(z)})
    losses = {"a": CE, "b": CE}
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 4)).astype("float32")
    y = {"a": rng.integers(0, 2, 16), "b": rng.integers(0, 2, 16)}
    var = m.get_layer("shared").trainable_weights
    truth = multitask.gradient_cosine(m, losses, x, y, "a", "b", var)
    nb04.nb04_gradient_cosine(m, losses, x, y, "a", "b", var, truth)
    ga = multitask.task_gradients(m, losses, x, y, "a", var)
    gb = multitask.task_gradients(m, losses, x, y, "b", var)
    kernel_only = multitask.cosine(ga[:1], gb[:1])  # forgot the bias: a plausible slip
    if abs(kernel_only - truth) > 1e-3:
        with pytest.raises(CheckFailed):
            nb04.nb04_gradient_cosine(m, losses, x, y, "a", "b", var, kernel_only)
    dot = float(sum(np.sum(keras.ops.convert_to_numpy(p) * keras.ops.convert_to_numpy(q)) for p, q in zip(ga, gb)))
    with pytest.raises(CheckFailed):        # the dot product, not normalised
        nb04.nb04_gradient_cosine(m, losses, x, y, "a", "b", var, dot if abs(dot - truth) > 1e-3 else truth + 0.5)
    with pytest.raises(CheckFailed):        # the sign flipped
        nb04.nb04_gradient_cosine(m, losses, x, y, "a", "b", var, -truth if abs(truth) > 1e-3 else 0.5)
    _blank(nb04.nb04_gradient_cosine, m, losses, x, y, "a", "b", var, None)
    assert capfd.readouterr().err == ""


# ------------------------------------------------------------------ 04 exercise 5
def test_nb04_paired_noise(capfd):
    """The right answer passes both ways (noise and a real gap); each plausible slip fails with its own hint."""
    b = np.array([0.45, 0.40, 0.50, 0.43, 0.47])
    a = b + np.array([0.010, 0.012, 0.009, 0.011, 0.013])           # a small gain on every seed: real
    d = a - b
    two_se = 2 * np.std(d, ddof=1) / np.sqrt(len(d))
    nb04.nb04_paired_noise(list(a), list(b), d, two_se, True)
    flip = b + np.array([0.03, -0.02, 0.01, -0.03, 0.02])           # a gain that changes sign: noise
    fd = flip - b
    nb04.nb04_paired_noise(list(flip), list(b), list(fd), 2 * np.std(fd, ddof=1) / np.sqrt(5), False)
    with pytest.raises(CheckFailed, match="wrong sign"):
        nb04.nb04_paired_noise(list(a), list(b), -d, two_se, True)
    with pytest.raises(CheckFailed, match="seed order"):
        nb04.nb04_paired_noise(list(a), list(b), np.sort(d), two_se, True)
    with pytest.raises(CheckFailed, match="ddof=1"):
        nb04.nb04_paired_noise(list(a), list(b), d, 2 * np.std(d) / np.sqrt(5), True)
    unpaired = 2 * np.sqrt(np.var(a, ddof=1) / 5 + np.var(b, ddof=1) / 5)
    with pytest.raises(CheckFailed, match="unpaired"):
        nb04.nb04_paired_noise(list(a), list(b), d, unpaired, False)
    with pytest.raises(CheckFailed, match="is the first larger"):
        nb04.nb04_paired_noise(list(a), list(b), d, two_se, False)
    _blank(nb04.nb04_paired_noise, list(a), list(b), None, None, None)
    assert capfd.readouterr().err == ""


# ------------------------------------------------------------------ 06 exercise 1
def test_06_ex1_per_class_accuracy(capfd):
    names = ["cat", "dog", "fox"]
    y_test, y_pred = np.array([0, 0, 1, 1, 2, 2]), np.array([0, 1, 1, 1, 0, 2])
    right = {"cat": 0.5, "dog": 1.0, "fox": 0.5}
    nb06.nb06_per_class_accuracy(right, "cat", y_test, y_pred, names)
    with pytest.raises(CheckFailed):        # precision instead of recall
        nb06.nb06_per_class_accuracy({"cat": 0.5, "dog": 2 / 3, "fox": 1.0}, "cat", y_test, y_pred, names)
    with pytest.raises(CheckFailed):        # keyed by index
        nb06.nb06_per_class_accuracy({0: 0.5, 1: 1.0, 2: 0.5}, "cat", y_test, y_pred, names)
    with pytest.raises(CheckFailed):        # the best class, not the worst
        nb06.nb06_per_class_accuracy(right, "dog", y_test, y_pred, names)
    _blank(nb06.nb06_per_class_accuracy, None, None, y_test, y_pred, names)
    assert capfd.readouterr().err == ""


# ------------------------------------------------------------------ 06 exercise 2
@pytest.fixture()
def model_and_files(tmp_path: Path):
    keras.utils.set_random_seed(0)
    inp = keras.Input((None, None, 3))
    h = keras.layers.Resizing(8, 8)(inp)
    h = keras.layers.Conv2D(4, 3, activation="relu")(keras.layers.Rescaling(1 / 255)(h))
    out = keras.layers.Dense(5, activation="softmax")(keras.layers.Flatten()(h))
    model = keras.Model(inp, out)
    rng = np.random.default_rng(0)
    files = []
    for i, size in enumerate([(12, 10), (20, 16), (9, 9)]):   # different sizes, as real files are
        path = tmp_path / f"img{i}.png"
        Image.fromarray(rng.integers(0, 256, size + (3,), dtype="uint8")).save(path)
        files.append(path)
    return model, files


def test_06_ex2_top3(model_and_files, capfd):
    from tl_helpers.data.folders import load_rgb

    model, files = model_and_files
    names = list("abcde")

    def probs(path):
        return keras.ops.convert_to_numpy(model(load_rgb(path)[None].astype("float32"), training=False))[0]

    def right(path):
        p = probs(path)
        return [(names[k], float(p[k])) for k in np.argsort(-p)[:3]]

    nb06.nb06_top3(right, model, names, files)
    wrong = {
        "least likely first": lambda path: right(path)[::-1],
        "indices, not names": lambda path: [(int(np.argsort(-probs(path))[k]), p) for k, (_, p) in
                                            enumerate(right(path))],
        "top 2 only": lambda path: right(path)[:2],
        "probabilities of the wrong classes": lambda path: [(n, float(probs(path)[k])) for k, (n, _) in
                                                            enumerate(right(path))],
    }
    for name, fn in wrong.items():
        with pytest.raises(CheckFailed):
            nb06.nb06_top3(fn, model, names, files)

    def predict_in_a_loop(path):  # the old solution: predict() per file may log a retracing warning
        p = model.predict(load_rgb(path)[None].astype("float32"), verbose=0)[0]
        return [(names[k], float(p[k])) for k in np.argsort(-p)[:3]]

    for _ in range(3):
        nb06.nb06_top3(predict_in_a_loop, model, names, files)
    _blank(nb06.nb06_top3, None, model, names, files)
    assert capfd.readouterr().err == ""


# ------------------------------------------------------------------ 06 exercise 3
def test_06_ex3_freeze_batchnorm(capfd):
    def right(model):
        for layer in model.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False
            elif hasattr(layer, "layers"):
                right(layer)

    nb06.nb06_freeze_batchnorm(right)

    def top_level_only(model):
        for layer in model.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False

    def everything(model):
        for layer in model.layers:
            layer.trainable = False

    def nothing(model):
        return model

    for fn in (top_level_only, everything, nothing):
        with pytest.raises(CheckFailed):
            nb06.nb06_freeze_batchnorm(fn)
    _blank(nb06.nb06_freeze_batchnorm, None)
    assert capfd.readouterr().err == ""
