"""Unit tests for tl_helpers.training (tiny synthetic models, seconds)."""

from __future__ import annotations

import ast
from pathlib import Path

import keras
import nbformat
import numpy as np
import pytest

from tl_helpers import training

L = keras.layers


@pytest.fixture(scope="module")
def mobilenet():
    keras.utils.set_random_seed(0)
    return keras.applications.MobileNet(input_shape=(32, 32, 3), alpha=0.25, include_top=False,
                                        weights=None, pooling="avg")


def two_layer_model(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inp = keras.Input((3,))
    return keras.Model(inp, L.Dense(2, name="head")(L.Dense(4, name="base")(inp)))


# ---------------------------------------------------------------- split_at / caching
def test_split_composes_to_base_and_shares_layers(mobilenet):
    bottom, top = training.split_at(mobilenet, "conv_pad_12")
    x = np.random.default_rng(0).random((3, 32, 32, 3)).astype("float32")
    a = bottom.predict(x, verbose=0)
    np.testing.assert_allclose(top.predict(a, verbose=0), mobilenet.predict(x, verbose=0), atol=1e-5)
    layer = top.get_layer("conv_pw_13")
    assert layer is mobilenet.get_layer("conv_pw_13")   # shared: training top trains the base


def test_split_rejects_unknown_layer_and_skip_connection(mobilenet):
    with pytest.raises(ValueError, match="no layer 'conv_dw_99'"):
        training.split_at(mobilenet, "conv_dw_99")
    inp = keras.Input((8,))
    h = L.Dense(8, name="a")(inp)
    g = L.Dense(8, name="b")(h)
    out = L.Add(name="add")([L.Dense(8, name="c")(g), h])   # a skip connection from "a" jumps over the cut
    with pytest.raises(ValueError, match="skip connection"):
        training.split_at(keras.Model(inp, out), "c")


def test_bottom_activations_go_through_the_one_cache(mobilenet, tmp_path):
    """Notebook 02 caches its frozen bottom with features.cached_features: the cut is part of the key."""
    from tl_helpers import features

    bottom_a, _ = training.split_at(mobilenet, "conv_pad_12")
    bottom_b, _ = training.split_at(mobilenet, "conv_pad_6")
    x = np.random.default_rng(0).integers(0, 255, (3, 28, 28)).astype("uint8")
    size = int(mobilenet.inputs[0].shape[1])
    a = features.cached_features(bottom_a, x, size, directory=tmp_path, verbose=False)
    b = features.cached_features(bottom_b, x, size, directory=tmp_path, verbose=False)
    assert a.shape[1:] != b.shape[1:] and len(list(tmp_path.glob("*.npy"))) == 2


# ---------------------------------------------------------------- freezing
def test_unfreeze_from_counts_and_flags(mobilenet):
    n_last = training.unfreeze_from(mobilenet, "conv_dw_13")
    n_top = training.unfreeze_from(mobilenet, "conv_pad_12")
    assert 0 < n_last < n_top < training.unfreeze_from(mobilenet, mobilenet.layers[0].name)
    training.unfreeze_from(mobilenet, "conv_dw_13")
    assert not mobilenet.get_layer("conv_pw_12").trainable and mobilenet.get_layer("conv_pw_13").trainable
    assert not mobilenet.get_layer("conv_pw_13_bn").trainable          # BatchNorm stays frozen by default
    with_bn = training.unfreeze_from(mobilenet, "conv_dw_13", freeze_batchnorm=False)
    assert mobilenet.get_layer("conv_pw_13_bn").trainable and with_bn > n_last
    assert training.unfreeze_from(mobilenet, None) == 0
    with pytest.raises(ValueError, match="no layer"):
        training.unfreeze_from(mobilenet, "nope")


# ---------------------------------------------------------------- discriminative learning rates
def _one_step(model, optimizer, x, y):
    before = {v.path: np.array(v) for v in model.trainable_variables}
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(x, y, batch_size=len(x), epochs=1, verbose=0, shuffle=False)
    return {p: np.array(v) - before[p] for p, v in ((v.path, v) for v in model.trainable_variables)}


def test_discriminative_sgd_scales_base_steps_by_the_factor():
    rng = np.random.default_rng(0)
    x, y = rng.random((8, 3)).astype("float32"), rng.random((8, 2)).astype("float32")
    plain = _one_step(two_layer_model(), keras.optimizers.SGD(0.1), x, y)
    disc = _one_step(two_layer_model(), training.DiscriminativeSGD(0.1, multipliers={"base": 0.1}), x, y)
    for path in plain:
        factor = 0.1 if path.startswith("base/") else 1.0
        np.testing.assert_allclose(disc[path], factor * plain[path], rtol=1e-4, atol=1e-8)
    assert np.abs(plain["base/kernel"]).max() > 0     # the comparison is not trivially 0 == 0


def test_discriminative_adam_zero_factor_freezes_and_gradient_scaling_does_not_change_adam():
    rng = np.random.default_rng(1)
    x, y = rng.random((8, 3)).astype("float32"), rng.random((8, 2)).astype("float32")
    step = _one_step(two_layer_model(), training.DiscriminativeAdam(0.01, multipliers={"base": 0.0}), x, y)
    assert np.all(step["base/kernel"] == 0) and np.abs(step["head/kernel"]).max() > 1e-4
    moves = []
    for g in (0.5, 0.05):   # Adam's first step is lr * sign(g) whatever |g| is: scaling gradients is useless
        v = keras.Variable(np.array([1.0], "float32"))
        keras.optimizers.Adam(0.01).apply([keras.ops.convert_to_tensor(np.array([g], "float32"))], [v])
        moves.append(1.0 - float(np.array(v)[0]))
    assert moves[0] == pytest.approx(moves[1], rel=1e-3)


def test_multiplier_lookup_and_validation():
    opt = training.DiscriminativeAdam(1e-3, multipliers={"conv_dw_13": 0.1, "head": 2.0}, default=0.5)
    assert opt.multiplier_for("conv_dw_13/kernel") == 0.1
    assert opt.multiplier_for("model/head/dense/kernel") == 2.0
    assert opt.multiplier_for("conv_dw_1/kernel") == 0.5      # a prefix of another name does not match
    assert opt.get_config()["multipliers"] == {"conv_dw_13": 0.1, "head": 2.0}
    with pytest.raises(ValueError, match=">= 0"):
        training.DiscriminativeSGD(0.1, multipliers={"base": -1.0})


def test_layer_multipliers_walks_nested_models():
    inner = keras.Sequential([keras.Input((2,)), L.Dense(2, name="x"), L.Dropout(0.1, name="drop")], name="inner")
    assert training.layer_multipliers([inner, L.Dense(1, name="y")], 0.3) == {"x": 0.3}


# ---------------------------------------------------------------- bookkeeping
class _H:
    def __init__(self, epoch, **hist):
        self.epoch, self.history = epoch, hist


def test_join_histories_and_the_off_by_one():
    joined, starts = training.join_histories(_H([0, 1, 2], loss=[3, 2, 1]), _H([3, 4], loss=[.5, .4], lr=[1, 1]))
    assert joined["epoch"] == [1, 2, 3, 4, 5] and starts == [1, 4]
    assert np.isnan(joined["lr"][0]) and joined["lr"][3:] == [1, 1]
    with pytest.raises(ValueError, match="initial_epoch=3"):
        training.join_histories(_H([0, 1, 2], loss=[3, 2, 1]), _H([2, 3], loss=[.5, .4]))


def test_snapshot_weight_drift_and_errors():
    m = two_layer_model()
    restore = training.snapshot(m)
    w0 = m.get_weights()
    m.set_weights([2 * a for a in w0])
    assert training.weight_drift(w0, m.get_weights()) == pytest.approx(1.0)
    other = two_layer_model(seed=5)
    restore(other)
    np.testing.assert_array_equal(other.get_weights()[0], w0[0])
    restore()
    assert training.weight_drift(w0, m.get_weights()) == 0.0
    with pytest.raises(ValueError, match="pass 1 models"):
        restore(m, other)
    with pytest.raises(ValueError, match="same model"):
        training.weight_drift(w0, w0[:1])


def test_table_formats():
    text = training.format_table({"a": {"n=1": 0.5}, "b": {"n=2": 0.25}})
    assert text.splitlines()[1].split() == ["a", "0.500", "-"]


# ---------------------------------------------------------------- the notebook's in-cell mechanics agree
NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "02_fine_tuning.ipynb"


def notebook_definition(name: str):
    """The function or class ``name`` as notebook 02 defines it in a cell (executed alone, with keras/np)."""
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        if cell.cell_type != "code" or name not in cell.source:
            continue
        tree = ast.parse(cell.source)
        nodes = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == name]
        if nodes:
            namespace = {"keras": keras, "np": np}
            exec(compile(ast.Module(body=nodes, type_ignores=[]), str(NOTEBOOK), "exec"), namespace)
            return namespace[name]
    raise AssertionError(f"notebook 02 defines no {name!r} in a code cell")


def test_notebook_unfreeze_loop_matches_unfreeze_from(mobilenet):
    unfreeze = notebook_definition("unfreeze")
    _, top = training.split_at(mobilenet, "conv_dw_7")
    for first, freeze_bn in (("conv_dw_7", True), ("conv_pad_12", True), ("conv_dw_13", False)):
        n_cell = unfreeze(top, first, freeze_bn=freeze_bn)
        flags_cell = [layer.trainable for layer in top.layers]
        n_helper = training.unfreeze_from(top, first, freeze_batchnorm=freeze_bn)
        assert flags_cell == [layer.trainable for layer in top.layers]
        assert n_cell == n_helper == sum(int(np.prod(w.shape)) for w in top.trainable_weights) > 0
    unfreeze(top, "conv_dw_7")
    assert not any(l.trainable for l in top.layers if isinstance(l, L.BatchNormalization))   # BN stays frozen
    assert top.get_layer("conv_pw_13").trainable and not top.get_layer("conv_pw_13_bn").trainable


def test_notebook_layerwise_adam_matches_discriminative_adam():
    layerwise_adam = notebook_definition("LayerwiseAdam")
    rng = np.random.default_rng(2)
    x, y = rng.random((8, 3)).astype("float32"), rng.random((8, 2)).astype("float32")
    helper = _one_step(two_layer_model(), training.DiscriminativeAdam(0.01, multipliers={"base": 0.1}), x, y)
    model = two_layer_model()
    factors = {v.path: 0.1 for v in model.get_layer("base").weights}
    cell = _one_step(model, layerwise_adam(0.01, factors), x, y)
    plain = _one_step(two_layer_model(), keras.optimizers.Adam(0.01), x, y)
    for path in helper:
        np.testing.assert_allclose(cell[path], helper[path], rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(cell["base/kernel"], 0.1 * plain["base/kernel"], rtol=1e-3, atol=1e-9)
    np.testing.assert_allclose(cell["head/kernel"], plain["head/kernel"], rtol=1e-5, atol=1e-9)
