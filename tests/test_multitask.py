"""Fast tests of tl_helpers.multitask on tiny synthetic data."""

from pathlib import Path

import keras
import numpy as np
import pytest

from tl_helpers import data, features, multitask
from tl_helpers.autodiff import value_and_grads
from tl_helpers.checks import CheckFailed, nb04


# ------------------------------------------------------------- uncertainty weighting
def test_uncertainty_loss_matches_formula():
    uw = multitask.UncertaintyWeighting(["a", "b", "c"])
    s = np.array([0.3, -0.7, 1.2], "float32")
    uw.log_vars.assign(s)
    L = [0.5, 2.0, 3.5]
    expected = float(np.sum(np.exp(-s) * np.array(L) + s))
    assert float(uw(L)) == pytest.approx(expected, rel=1e-6)
    assert uw.task_weights() == pytest.approx(dict(zip("abc", np.exp(-s).tolist())), rel=1e-5)


def test_uncertainty_gradient_moves_log_variance_toward_log_loss():
    uw = multitask.UncertaintyWeighting(["big", "small"])  # s starts at 0
    L = [4.0, 0.25]  # optimum: s = log(L) = +1.39 (weight down) and -1.39 (weight up)
    _, (g,) = value_and_grads(lambda: uw(L), [uw.log_vars])
    g = keras.ops.convert_to_numpy(g)
    np.testing.assert_allclose(g, 1.0 - np.array(L), rtol=1e-6)  # d/ds (e^-s L + s) = 1 - e^-s L
    for _ in range(300):  # gradient descent settles at s = log L
        _, (g,) = value_and_grads(lambda: uw(L), [uw.log_vars])
        uw.log_vars.assign(uw.log_vars - 0.3 * g)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(uw.log_vars), np.log(L), atol=1e-3)
    w = uw.task_weights()
    assert w["big"] < 1.0 < w["small"]


def test_uncertainty_layer_rejects_wrong_number_of_losses():
    uw = multitask.UncertaintyWeighting(["a", "b"])
    with pytest.raises(ValueError, match="one scalar loss per task"):
        uw([1.0])
    with pytest.raises(ValueError, match="at least one task"):
        multitask.UncertaintyWeighting([])


def test_uncertainty_weighting_trains_inside_fit():
    class M(keras.Model):
        def __init__(self, inputs, outputs, **kw):
            super().__init__(inputs, outputs, **kw)
            self.weighting = multitask.UncertaintyWeighting(list(outputs))

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            mse = keras.losses.MeanSquaredError()
            return self.weighting([mse(y[t], y_pred[t]) for t in self.weighting.tasks])

    keras.utils.set_random_seed(0)
    inp = keras.Input((3,))
    m = M(inp, {"a": keras.layers.Dense(1, name="a")(inp), "b": keras.layers.Dense(1, name="b")(inp)})
    m.compile(optimizer=keras.optimizers.SGD(0.05))
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    noisy = np.random.default_rng(1).normal(scale=3.0, size=(64, 1)).astype("float32")  # unlearnable task
    m.fit(x, {"a": x[:, :1], "b": noisy}, epochs=30, verbose=0)
    w = m.weighting.task_weights()
    assert w["b"] < 1.0 < w["a"]  # the noisy task is down-weighted, the easy one up-weighted


# ------------------------------------------------------------------ gradient cosine
def test_cosine_identical_opposite_orthogonal():
    g = [np.array([1.0, -2.0, 0.5]), np.array([[3.0, 4.0]])]
    assert multitask.cosine(g, g) == pytest.approx(1.0)
    assert multitask.cosine(g, [-t for t in g]) == pytest.approx(-1.0)
    assert multitask.cosine([np.array([1.0, 0.0])], [np.array([0.0, 5.0])]) == pytest.approx(0.0)
    assert multitask.cosine([np.zeros(2)], [np.ones(2)]) == 0.0
    with pytest.raises(ValueError, match="different sizes"):
        multitask.cosine([np.ones(2)], [np.ones(3)])


def _two_head_model():
    keras.utils.set_random_seed(0)
    inp = keras.Input((4,))
    z = keras.layers.Dense(3, name="shared")(inp)
    return keras.Model(inp, {"t": keras.layers.Dense(1, name="t")(z), "u": keras.layers.Dense(1, name="u")(z)})


def test_gradient_cosine_of_same_and_opposite_targets():
    m = _two_head_model()
    m.get_layer("u").set_weights(m.get_layer("t").get_weights())  # identical heads
    x = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    pred = keras.ops.convert_to_numpy(m(x)["t"])
    mse = {"t": keras.losses.MeanSquaredError(), "u": keras.losses.MeanSquaredError()}
    shared = m.get_layer("shared").trainable_weights
    same = {"t": pred + 1.0, "u": pred + 1.0}
    opposite = {"t": pred + 1.0, "u": pred - 1.0}
    assert multitask.gradient_cosine(m, mse, x, same, "t", "u", shared) == pytest.approx(1.0, abs=1e-5)
    assert multitask.gradient_cosine(m, mse, x, opposite, "t", "u", shared) == pytest.approx(-1.0, abs=1e-5)
    with pytest.raises(KeyError, match="No loss for task"):
        multitask.task_gradients(m, mse, x, same, "v", shared)


def test_cosine_history_logs_each_epoch():
    m = _two_head_model()
    mse = {"t": keras.losses.MeanSquaredError(), "u": keras.losses.MeanSquaredError()}
    m.compile("sgd", loss=mse)
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    y = {"t": x[:, :1], "u": -x[:, :1]}
    log = multitask.CosineHistory(mse, x, y, [("t", "u")], ["shared"])
    m.fit(x, y, epochs=3, verbose=0, callbacks=[log])
    assert len(log.history["t vs u"]) == 3
    assert all(-1.0 <= c <= 1.0 for c in log.history["t vs u"])


# -------------------------------------------------------------------- Multi-Fashion
def _items(n=20):
    rng = np.random.default_rng(0)
    x = rng.integers(1, 255, (n, 28, 28), dtype=np.uint8)
    return x, np.arange(n) % 10


def test_multi_fashion_labels_match_the_items_placed():
    x, y = _items()
    mf = data.make_multi_fashion(x, y, n=12, seed=3, canvas=40, jitter=4)
    assert mf.images.shape == (12, 40, 40) and mf.images.dtype == np.uint8
    np.testing.assert_array_equal(mf.y_a, y[mf.src_a])
    np.testing.assert_array_equal(mf.y_b, y[mf.src_b])
    for k in range(12):
        (ra, ca), (rb, cb) = mf.offsets_a[k], mf.offsets_b[k]
        assert 0 <= ra <= 4 and 0 <= ca <= 4 and 8 <= rb <= 12 and 8 <= cb <= 12
        # the top-left corner shows only item A, the bottom-right corner only item B
        np.testing.assert_array_equal(mf.images[k, ra:ra + 4, ca:ca + 4], x[mf.src_a[k]][:4, :4])
        np.testing.assert_array_equal(mf.images[k, rb + 24:rb + 28, cb + 24:cb + 28], x[mf.src_b[k]][24:, 24:])
        # the overlap is the pixel-wise max
        a = np.zeros((40, 40), np.uint8); a[ra:ra + 28, ca:ca + 28] = x[mf.src_a[k]]
        b = np.zeros((40, 40), np.uint8); b[rb:rb + 28, cb:cb + 28] = x[mf.src_b[k]]
        np.testing.assert_array_equal(mf.images[k], np.maximum(a, b))


def test_multi_fashion_is_deterministic_by_seed():
    x, y = _items()
    a = data.make_multi_fashion(x, y, n=10, seed=1)
    b = data.make_multi_fashion(x, y, n=10, seed=1)
    c = data.make_multi_fashion(x, y, n=10, seed=2)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.y_b, b.y_b)
    assert not np.array_equal(a.images, c.images)


def test_lite_multitask_kind_b_is_the_coarse_kind_of_item_b(monkeypatch):
    """kind_b labels the same bottom-right item as item_b, coarsely: each class maps to one kind."""
    from tl_helpers.config import get_profile
    from tl_helpers.data import multitask as mt_data

    x, y = _items(40)
    monkeypatch.setattr(mt_data, "load_fashion_mnist", lambda: ((x, y), (x[:10], y[:10])))
    d = data.load_multitask(get_profile("smoke"), 30, 8)
    assert d.task_names == ["item_a", "kind_b", "item_b"] and (d.poor, d.rich) == ("item_b", "item_a")
    for split in (d.y_train, d.y_test):
        np.testing.assert_array_equal(split["kind_b"], mt_data.KIND_OF_CLASS[split["item_b"]])
        assert not np.array_equal(split["kind_b"], mt_data.KIND_OF_CLASS[split["item_a"]])
    assert d.tasks["kind_b"].crop == d.tasks["item_b"].crop != d.tasks["item_a"].crop
    assert d.tasks["kind_b"].num_classes == len(mt_data.KINDS) == len(set(mt_data.KIND_OF_CLASS.tolist()))
    # every kind groups at least two classes: a kind label never gives a class away
    assert np.bincount(mt_data.KIND_OF_CLASS).min() >= 2


def test_multi_fashion_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\(n, 28, 28\)"):
        data.make_multi_fashion(np.zeros((3, 32, 32, 3), "uint8"), np.arange(3), n=2)
    with pytest.raises(ValueError, match="must match"):
        data.make_multi_fashion(np.zeros((3, 28, 28), "uint8"), np.arange(2), n=2)
    with pytest.raises(ValueError, match="canvas"):
        data.make_multi_fashion(np.zeros((3, 28, 28), "uint8"), np.arange(3), n=2, canvas=30, jitter=4)


# ---------------------------------------------------------------- params & labels
def test_keras_count_params_counts_shared_parts_once():
    """Notebook 04's mtl_param_ratio relies on it: the shared trunk counts once in the multi-task model."""
    inp = keras.Input((10,))
    base = keras.layers.Dense(100, name="base")  # 1,100 params
    z = base(inp)
    mtl = keras.Model(inp, {"a": keras.layers.Dense(2, name="a")(z), "b": keras.layers.Dense(2, name="b")(z)})
    s1 = keras.Model(inp, keras.layers.Dense(2)(keras.layers.Dense(100)(inp)))
    assert mtl.count_params() == 1100 + 2 * 202 and s1.count_params() == 1302
    base.trainable = False
    assert mtl.count_params() == 1504 and sum(int(np.prod(w.shape)) for w in mtl.trainable_weights) == 2 * 202


def test_few_labels_per_class():
    y = np.repeat(np.arange(4), 6)
    idx = data.few_labels(y, 2, seed=0)
    assert np.bincount(y[idx]).tolist() == [2, 2, 2, 2]
    small = data.few_labels(np.array([0, 0, 0, 1]), 2)
    assert np.bincount(np.array([0, 0, 0, 1])[small]).tolist() == [2, 1]


# ------------------------------------------------------------------------ checks
def test_checks_fail_on_wrong_answers():
    inp = keras.Input((2,))
    m = keras.Model(inp, {"shape": keras.layers.Dense(2, name="shape")(inp),
                          "color": keras.layers.Dense(2, name="color")(inp)})
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with pytest.raises(CheckFailed):
        nb04.nb04_loss_dicts(m, {"dense": ce, "color": ce}, {"shape": 1.0, "color": 2.0})
    with pytest.raises(CheckFailed):
        nb04.nb04_loss_dicts(m, {"shape": ce, "color": ce}, {"shape": 2.0, "color": 1.0})
    nb04.nb04_loss_dicts(m, {"shape": ce, "color": ce}, {"shape": 0.5, "color": 1.0})
    with pytest.raises(CheckFailed):
        nb04.nb04_optimal_log_variance({"a": 2.0}, {"a": 2.0}, {"a": 0.5})
    with pytest.raises(CheckFailed):
        nb04.nb04_optimal_log_variance({"a": 2.0}, None, None)


# ------------------------------------------------- the notebook's layer == the helper's
NOTEBOOK_04 = Path(__file__).resolve().parents[1] / "notebooks" / "04_multi_task_learning.ipynb"


def _notebook_uncertainty_cell() -> dict:
    """Run notebook 04's cell that writes uncertainty weighting in plain Keras; return its namespace."""
    import nbformat

    nb = nbformat.read(NOTEBOOK_04, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and "class LogVarianceWeighting" in c.source)
    ns = {"keras": keras, "task_loss": lambda t: keras.losses.MeanSquaredError()}
    exec(compile(cell.source, "notebook-04-uncertainty", "exec"), ns)
    return ns


def test_notebook_uncertainty_layer_matches_helper():
    ns = _notebook_uncertainty_cell()
    nb_layer = ns["LogVarianceWeighting"](3)
    helper = multitask.UncertaintyWeighting(["a", "b", "c"])
    rng = np.random.default_rng(0)
    for _ in range(3):
        s = rng.normal(size=3).astype("float32")
        L = rng.uniform(0.1, 3.0, 3).astype("float32")
        nb_layer.log_vars.assign(s)
        helper.log_vars.assign(s)
        v_nb, (g_nb,) = value_and_grads(lambda: nb_layer([keras.ops.convert_to_tensor(x) for x in L]),
                                        [nb_layer.log_vars])
        v_h, (g_h,) = value_and_grads(lambda: helper(list(L)), [helper.log_vars])
        assert float(v_nb) == pytest.approx(float(v_h), rel=1e-6)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(g_nb), keras.ops.convert_to_numpy(g_h), rtol=1e-6)


def test_notebook_uncertainty_model_trains_like_the_helper():
    """Same data, same seed: the notebook's model and one built on the helper learn the same log-variances."""
    ns = _notebook_uncertainty_cell()

    class HelperModel(keras.Model):
        def __init__(self, inputs, outputs, **kw):
            super().__init__(inputs, outputs, **kw)
            self.task_names = list(outputs)
            self.weighting = multitask.UncertaintyWeighting(self.task_names)

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            mse = keras.losses.MeanSquaredError()
            return self.weighting([mse(y[t], y_pred[t]) for t in self.task_names])

    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    y = {"a": x[:, :1], "b": np.random.default_rng(1).normal(scale=3.0, size=(64, 1)).astype("float32")}
    learned = []
    for cls in (ns["UncertaintyWeightedModel"], HelperModel):
        keras.utils.set_random_seed(0)
        inp = keras.Input((3,))
        m = cls(inp, {"a": keras.layers.Dense(1, name="a")(inp), "b": keras.layers.Dense(1, name="b")(inp)})
        m.compile(optimizer=keras.optimizers.SGD(0.05))
        m.fit(x, y, epochs=5, batch_size=16, shuffle=False, verbose=0)
        learned.append(keras.ops.convert_to_numpy(m.weighting.log_vars))
    np.testing.assert_allclose(learned[0], learned[1], rtol=1e-5, atol=1e-6)
    assert learned[0][1] > learned[0][0]  # the noisy task got the larger log-variance (smaller weight)


def test_weight_history_reads_any_log_vars_layer():
    ns = _notebook_uncertainty_cell()
    layer = ns["LogVarianceWeighting"](2)
    layer.log_vars.assign(np.log(np.array([2.0, 0.5], "float32")))
    hist = multitask.WeightHistory(layer, ["a", "b"])
    hist.on_epoch_end(0)
    assert hist.history == {"a": [pytest.approx(0.5)], "b": [pytest.approx(2.0)]}


def test_cached_features_live_in_the_course_cache(tmp_path, monkeypatch):
    # notebook 04 stores its feature maps in float16 through the one feature cache
    monkeypatch.setenv("TL_CACHE_DIR", str(tmp_path / "cache"))
    base = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 8)])
    images = np.random.default_rng(0).integers(0, 256, (3, 8, 8), dtype=np.uint8)
    f = features.cached_features(base, images, 8, None, dtype="float16", verbose=False)
    assert f.shape == (3, 1, 1, 2) and f.dtype == np.float32
    files = list((tmp_path / "cache" / "features").glob("*.npy"))
    assert len(files) == 1 and np.load(files[0]).dtype == np.float16
    np.testing.assert_allclose(f, features.extract_features(base, images, 8), rtol=1e-3, atol=1e-3)
    repo = Path(multitask.__file__).resolve().parents[1]
    assert repo not in files[0].resolve().parents   # nothing written inside the checkout
