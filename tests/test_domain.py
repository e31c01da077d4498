"""Unit tests for tl_helpers.domain and tl_helpers.data.domains: tiny, deterministic, seconds."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from keras import layers

from tl_helpers import autodiff, batchnorm, domain
from tl_helpers.data.domains import blend_with_photos


# ------------------------------------------------------------------ gradient reversal
@pytest.mark.parametrize("lam", [0.0, 0.3, 1.0, 2.5])
def test_grl_forward_is_identity_and_gradient_is_minus_lambda(lam):
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    grl = domain.GradientReversal(lam=lam)
    # forward: exactly the input, in the layer's compute dtype (float16 under mixed precision too)
    np.testing.assert_array_equal(autodiff.to_numpy(grl(x)), x.astype(grl.compute_dtype))
    weights = np.arange(12, dtype="float32").reshape(4, 3)  # a non-trivial upstream gradient
    _, g = autodiff.input_gradient(lambda t: keras.ops.sum(keras.ops.multiply(weights, grl(t))), x)
    tol = 1e-6 if grl.compute_dtype == "float32" else 5e-3
    np.testing.assert_allclose(autodiff.to_numpy(g), -lam * weights, rtol=tol, atol=tol)


def test_grl_lambda_is_a_variable_read_at_call_time():
    grl = domain.GradientReversal(lam=0.0)
    x = np.ones((2, 2), "float32")
    grl.lam.assign(0.8)  # what LambdaRamp does between steps
    _, g = autodiff.input_gradient(lambda t: keras.ops.sum(grl(t)), x)
    np.testing.assert_allclose(autodiff.to_numpy(g), -0.8 * np.ones((2, 2)),
                               rtol=1e-6 if grl.compute_dtype == "float32" else 1e-3)
    assert not grl.lam.trainable


class _SetLambda(keras.callbacks.Callback):
    """Assign λ before every step, as LambdaRamp does (reading self.model syncs JAX's trainer state)."""

    def __init__(self, value):
        super().__init__()
        self.value = value

    def on_train_batch_begin(self, batch, logs=None):
        self.model.get_layer("grl").lam.assign(self.value)


@pytest.mark.parametrize("where", ["helper", "notebook"])
def test_grl_reverses_the_gradient_inside_fit(where):
    """The lesson of DANN on the current backend: inside the compiled train step the encoder
    receives -λ times the gradient, so SGD moves it UP the loss; with λ = 0 it gets nothing."""
    grl_class = domain.GradientReversal if where == "helper" else notebook_definitions("GradientReversal")["GradientReversal"]

    def weight_after_two_steps(lam):
        inputs = keras.Input((1,))
        h = layers.Dense(1, use_bias=False, kernel_initializer="ones", name="enc")(inputs)
        model = keras.Model(inputs, grl_class(lam=0.0, name="grl")(h))   # λ = 0 until the callback sets it
        model.compile(keras.optimizers.SGD(0.1), "mse")
        model.fit(np.ones((2, 1), "float32"), np.zeros((2, 1), "float32"), batch_size=1, epochs=1,
                  shuffle=False, verbose=0, callbacks=[_SetLambda(lam)])
        return float(autodiff.to_numpy(model.get_layer("enc").kernel)[0, 0])

    # loss w², gradient 2w reversed to -2λw: w <- w + 0.1 · 2λw per step, from w = 1
    for lam in (0.5, 1.0):
        assert weight_after_two_steps(lam) == pytest.approx((1 + 0.2 * lam) ** 2, rel=1e-5)
    assert weight_after_two_steps(0.0) == pytest.approx(1.0)


# ------------------------------------------------------------------ CORAL
def test_coral_matches_formula():
    rng = np.random.default_rng(1)
    fs = rng.normal(size=(50, 4)).astype("float32")
    ft = (rng.normal(size=(40, 4)) * [1, 2, 3, 0.5] + 1).astype("float32")
    d = 4
    expected = np.sum((np.cov(fs, rowvar=False) - np.cov(ft, rowvar=False)) ** 2) / (4 * d * d)
    # rel 5e-3: GPUs may run float32 matmuls in TF32; a biased covariance (2-2.5 % off) still fails
    assert float(domain.coral_loss(fs, ft)) == pytest.approx(expected, rel=5e-3)
    assert expected > 0.01


def test_coral_is_zero_for_equal_covariances():
    rng = np.random.default_rng(2)
    fs = rng.normal(size=(30, 5)).astype("float32")
    shifted = fs + 7.0  # same covariance, different mean: CORAL ignores the mean
    assert float(domain.coral_loss(fs, shifted)) == pytest.approx(0.0, abs=1e-5)


def test_coral_penalty_adds_loss_only_in_training():
    x = np.concatenate([np.random.default_rng(3).normal(size=(8, 3)),
                        3 * np.random.default_rng(4).normal(size=(8, 3))]).astype("float32")
    layer = domain.CoralPenalty(weight=2.0)
    out = layer(x, training=True)
    low = layer.compute_dtype != "float32"  # mixed precision: float16 arithmetic
    np.testing.assert_allclose(autodiff.to_numpy(out), x.astype(layer.compute_dtype), rtol=1e-7)
    assert len(layer.losses) == 1
    assert float(layer.losses[0]) == pytest.approx(2.0 * float(domain.coral_loss(x[:8], x[8:])),
                                                   rel=2e-2 if low else 5e-3)
    layer(x, training=False)
    assert len(layer.losses) == 0


# ------------------------------------------------------------------ lambda schedule
def test_lambda_schedule_endpoints_and_monotone():
    assert domain.dann_lambda(0.0) == 0.0
    assert domain.dann_lambda(1.0) > 0.99
    values = [domain.dann_lambda(p) for p in np.linspace(0, 1, 11)]
    assert all(a < b for a, b in zip(values, values[1:]))
    assert domain.dann_lambda(1.0, ceiling=0.3) == pytest.approx(0.3 * domain.dann_lambda(1.0))
    with pytest.raises(ValueError, match="progress"):
        domain.dann_lambda(1.5)


def test_lambda_ramp_updates_the_variable_during_fit():
    keras.utils.set_random_seed(0)
    grl = domain.GradientReversal(lam=0.0)
    inputs = keras.Input((2,))
    model = keras.Model(inputs, layers.Dense(1)(grl(inputs)))
    model.compile("sgd", "mse")
    ramp = domain.LambdaRamp(grl.lam, total_steps=4)
    model.fit(np.zeros((8, 2), "float32"), np.zeros((8, 1), "float32"), batch_size=2, epochs=1, verbose=0,
              callbacks=[ramp])
    assert ramp.values[0] == 0.0 and len(ramp.values) == 4
    assert float(autodiff.to_numpy(grl.lam)) == pytest.approx(ramp.values[-1])
    assert "loss" in ramp.logs and len(ramp.logs["loss"]) == 4


# ------------------------------------------------------------------ DANN toy
def _toy(seed: int = 0, n: int = 256):
    """2-D toy (in the style of adapt-python's tests): feature 0 carries the label in both domains,
    feature 1 is a pure domain flag (0 = source, 1 = target)."""
    rng = np.random.default_rng(seed)
    y_s, y_t = rng.integers(2, size=n), rng.integers(2, size=n)
    x_s = np.stack([y_s + 0.2 * rng.normal(size=n), np.zeros(n)], 1)
    x_t = np.stack([y_t + 0.2 * rng.normal(size=n), np.ones(n)], 1)
    return x_s.astype("float32"), y_s, x_t.astype("float32")


def _encoder_kernel_after_dann(lam: float) -> np.ndarray:
    """Train a DANN whose encoder is a 1-unit non-negative linear map; return its kernel (label, flag)."""
    keras.utils.set_random_seed(0)
    x_s, y_s, x_t = _toy()
    inputs = keras.Input((2,))
    encoder = layers.Dense(1, name="encoder", kernel_initializer="ones", kernel_constraint="non_neg")
    features = encoder(inputs)
    label = layers.Dense(2, activation="softmax", name="label")(features)
    h = layers.Dense(10, activation="relu")(domain.GradientReversal(lam=lam)(features))
    dom = layers.Dense(1, activation="sigmoid", name="domain")(h)
    model = keras.Model(inputs, [label, dom])
    model.compile(keras.optimizers.Adam(0.01),
                  loss={"label": "sparse_categorical_crossentropy", "domain": "binary_crossentropy"})
    batches = domain.balanced_batches(x_s, y_s, x_t, 64, seed=0)
    model.fit(batches, steps_per_epoch=8, epochs=30, shuffle=False, verbose=0)
    return autodiff.to_numpy(encoder.kernel).ravel()


def test_dann_toy_suppresses_the_domain_flag_with_lambda_1_and_keeps_it_with_lambda_0():
    on, off = _encoder_kernel_after_dann(lam=1.0), _encoder_kernel_after_dann(lam=0.0)
    assert on[1] < 0.05, on    # λ = 1: the encoder drops the flag
    assert on[0] > 0.5, on     # ... and keeps the label feature
    assert off[1] > 0.9, off   # λ = 0: nothing pushes the flag out (it starts at 1)


# ------------------------------------------------------------------ balanced batches, AdaBN, metric
def test_balanced_batches_layout_and_masking():
    xs, ys, xt = np.zeros((10, 2)), np.arange(10) % 3, np.ones((7, 2))
    gen = domain.balanced_batches(xs, ys, xt, batch_size=6, seed=0)
    for _ in range(5):  # crosses a pass boundary (7 target rows: 2 batches per pass)
        x, (y, dom), (w, wd) = next(gen)
        assert x.shape == (6, 2)
        np.testing.assert_array_equal(x[:3], 0), np.testing.assert_array_equal(x[3:], 1)
        assert dom.ravel().tolist() == [0, 0, 0, 1, 1, 1]
        assert w.tolist() == [2, 2, 2, 0, 0, 0] and wd.tolist() == [1] * 6
    x, y, w = next(domain.balanced_batches(xs, ys, xt, 4, domain_head=False))
    assert w.tolist() == [2, 2, 0, 0]
    with pytest.raises(ValueError, match="even"):
        next(domain.balanced_batches(xs, ys, xt, batch_size=5))
    with pytest.raises(ValueError, match="smaller batch_size"):
        next(domain.balanced_batches(xs, ys, xt, batch_size=16))


def test_balanced_batches_visit_every_source_row_once_per_pass():
    xs, ys, xt = np.arange(12.0)[:, None], np.arange(12), np.full((20, 1), -1.0)
    gen = domain.balanced_batches(xs, ys, xt, batch_size=8, seed=1)
    seen = np.concatenate([next(gen)[1][0][:4] for _ in range(3)])  # 12 source rows / 4 per batch
    assert sorted(seen.tolist()) == list(range(12))


# AdaBN: notebook 03 writes it in a cell; the exactness tests of the helper are in tests/test_batchnorm.py
def _class_ordered(n_per_class: int = 200, d: int = 4, seed: int = 0) -> np.ndarray:
    """Rows sorted by class, as files often are: each class has its own mean."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(m, 1.0, size=(n_per_class, d)) for m in (-3.0, -1.0, 1.0, 4.0)]).astype("float32")


def _stacked_encoder() -> tuple[keras.Model, keras.Sequential]:
    keras.utils.set_random_seed(0)
    encoder = keras.Sequential([keras.Input((4,)), layers.BatchNormalization(), layers.Dense(5),
                                layers.BatchNormalization(), layers.Activation("relu")], name="encoder")
    inputs = keras.Input((4,))
    return keras.Model(inputs, layers.Dense(2)(encoder(inputs))), encoder


def test_gap_closed():
    assert domain.gap_closed(0.6, 0.5, 0.7) == pytest.approx(0.5)
    assert domain.gap_closed(0.4, 0.5, 0.7) == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="oracle"):
        domain.gap_closed(0.6, 0.5, 0.5)
    assert domain.gaps_closed([0.6, 0.4], [0.5, 0.5], [0.7, 0.6]) == pytest.approx([0.5, -1.0])
    assert domain.gaps_closed([0.6, 0.6], [0.5, 0.5], [0.7, 0.5]) is None  # one seed without a gap
    with pytest.raises(ValueError, match="pairs runs"):
        domain.gaps_closed([0.6], [0.5, 0.5], [0.7, 0.7])


def test_chance_note_is_honest_about_distance_from_chance():
    assert "still far above chance" in domain.chance_note([0.90, 0.94, 0.92], "probe")
    assert "still far above chance" in domain.chance_note([0.79, 0.80, 0.78], "disc")  # 0.79 is not "aligned"
    assert "hard to tell apart" in domain.chance_note([0.52, 0.49, 0.51], "probe")


# ------------------------------------------------------------------ data
def test_blend_is_deterministic_and_follows_the_mnist_m_recipe():
    items = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    a, b = blend_with_photos(items, seed=3), blend_with_photos(items, seed=3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (5, 28, 28, 3) and a.dtype == np.uint8
    assert not np.array_equal(a, blend_with_photos(items, seed=4))
    patches = blend_with_photos(np.zeros_like(items), seed=3)  # |patch - 0| = the patch itself
    np.testing.assert_array_equal(a, np.abs(patches.astype(int) - items[..., None]).astype(np.uint8))
    with pytest.raises(ValueError, match="grayscale uint8"):
        blend_with_photos(items.astype("float32"))


def test_load_domains_disjoint_deterministic(monkeypatch):
    from types import SimpleNamespace

    from tl_helpers.data import domains as domain_data

    rng = np.random.default_rng(0)
    xtr = rng.integers(0, 256, size=(60, 28, 28), dtype=np.uint8)
    xtr[:, 0, 0] = np.arange(60)  # a unique id per item
    ytr = np.repeat([0, 1, 2], 20)
    xte, yte = xtr[:12].copy(), ytr[:12].copy()
    monkeypatch.setattr(domain_data, "_load_gray", lambda P: (xtr, ytr, xte, yte, ["a", "b", "c"]))
    P = SimpleNamespace(seed=0)
    d = domain_data.load_domains(P, source_per_class=5, target_per_class=8, test_size=9)
    assert d.xs_train.shape == (15, 28, 28) and d.xt_train.shape == (24, 28, 28, 3)
    assert np.bincount(d.ys_train).tolist() == [5, 5, 5] and np.bincount(d.yt_train).tolist() == [8, 8, 8]
    assert d.xt_test.shape == (9, 28, 28, 3) and len(d.yt_test) == 9
    again = domain_data.load_domains(P, source_per_class=5, target_per_class=8, test_size=9)
    np.testing.assert_array_equal(d.xt_train, again.xt_train)
    # without the photo blend, the ids show that source and target items are disjoint
    monkeypatch.setattr(domain_data, "blend_with_photos",
                        lambda x, seed, bank=None: np.repeat(x[..., None], 3, -1))
    plain = domain_data.load_domains(P, source_per_class=5, target_per_class=8, test_size=9)
    src_ids, tgt_ids = set(plain.xs_train[:, 0, 0].tolist()), set(plain.xt_train[:, 0, 0, 0].tolist())
    assert len(src_ids) == 15 and len(tgt_ids) == 24 and not src_ids & tgt_ids
    np.testing.assert_array_equal(ytr[sorted(tgt_ids)], np.sort(plain.yt_train))


# ------------------------------------------------------------------ the notebook's mechanics = the helper's
NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "03_domain_adaptation.ipynb"


def notebook_definitions(*names: str) -> dict:
    """The functions and classes ``names`` as notebook 03 defines them in its cells (only the ``def``s,
    not the cells' other statements), executed in a namespace with the notebook's imports."""
    import ast

    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    found = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # a cell with notebook magics: not one of ours
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in names:
                found[node.name] = node
    missing = sorted(set(names) - set(found))
    assert not missing, f"{NOTEBOOK.name} no longer defines {missing} in a cell"
    namespace = {"keras": keras, "np": np, "layers": layers, "ops": keras.ops, "feat_dim": 4}
    exec(compile(ast.Module(body=list(found.values()), type_ignores=[]), str(NOTEBOOK), "exec"), namespace)
    return namespace


def test_notebook_grl_matches_helper():
    nb = notebook_definitions("GradientReversal")
    x = np.random.default_rng(5).normal(size=(3, 4)).astype("float32")
    upstream = np.random.default_rng(6).uniform(0.5, 2, size=(3, 4)).astype("float32")
    for lam in (0.0, 0.4, 1.0):
        mine, theirs = nb["GradientReversal"](lam=lam), domain.GradientReversal(lam=lam)
        np.testing.assert_array_equal(autodiff.to_numpy(mine(x)), autodiff.to_numpy(theirs(x)))
        grads = [autodiff.to_numpy(autodiff.input_gradient(lambda t: keras.ops.sum(keras.ops.multiply(upstream, g(t))), x)[1])
                 for g in (mine, theirs)]
        np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6)
        np.testing.assert_allclose(grads[0], -lam * upstream, rtol=1e-5)


def test_notebook_coral_loss_and_penalty_match_helper():
    nb = notebook_definitions("coral_loss", "CoralPenalty")
    rng = np.random.default_rng(7)
    fs, ft = rng.normal(size=(30, 5)).astype("float32"), (3 * rng.normal(size=(30, 5)) + 1).astype("float32")
    assert float(nb["coral_loss"](fs, ft)) == pytest.approx(float(domain.coral_loss(fs, ft)), rel=1e-6)
    assert float(nb["coral_loss"](fs, ft)) > 0.01
    both = np.concatenate([fs, ft])
    mine, theirs = nb["CoralPenalty"](2.5), domain.CoralPenalty(weight=2.5)
    mine(both, training=True), theirs(both, training=True)
    assert float(mine.losses[0]) == pytest.approx(float(theirs.losses[0]), rel=1e-6)
    mine(both, training=False)
    assert not mine.losses


@pytest.mark.parametrize("domain_head", [True, False])
def test_notebook_balanced_batches_match_helper(domain_head):
    nb = notebook_definitions("balanced_batches")
    rng = np.random.default_rng(8)
    xs, ys, xt = rng.normal(size=(23, 3)), rng.integers(4, size=23), rng.normal(size=(17, 3))
    mine = nb["balanced_batches"](xs, ys, xt, 6, 3, domain_head=domain_head)
    theirs = domain.balanced_batches(xs, ys, xt, 6, seed=3, domain_head=domain_head)
    for _ in range(13):  # several passes
        a, b = next(mine), next(theirs)
        for u, v in zip(keras.tree.flatten(a), keras.tree.flatten(b)):
            np.testing.assert_array_equal(u, v)


def test_notebook_lambda_ramp_matches_helper():
    nb = notebook_definitions("GradientReversal", "LambdaRamp")
    values = {}
    for which in ("notebook", "helper"):
        keras.utils.set_random_seed(0)
        grl = nb["GradientReversal"](name="grl") if which == "notebook" else domain.GradientReversal(0.0, name="grl")
        inputs = keras.Input((2,))
        model = keras.Model(inputs, layers.Dense(1)(grl(inputs)))
        model.compile("sgd", "mse")
        ramp = (nb["LambdaRamp"](total_steps=6, ceiling=0.5) if which == "notebook"
                else domain.LambdaRamp(grl.lam, total_steps=6, ceiling=0.5))
        model.fit(np.zeros((16, 2), "float32"), np.zeros((16, 1), "float32"), batch_size=2, epochs=1, verbose=0,
                  callbacks=[ramp])
        values[which] = (ramp.values, float(autodiff.to_numpy(grl.lam)), len(ramp.logs["loss"]))
    np.testing.assert_allclose(values["notebook"][0], values["helper"][0], rtol=1e-12)
    assert values["notebook"][1:] == pytest.approx(values["helper"][1:])
    assert values["notebook"][0][0] == 0.0 and values["notebook"][0][-1] == pytest.approx(0.5, abs=1e-3)


def test_notebook_adabn_matches_helper_on_class_ordered_rows():
    nb = notebook_definitions("adapt_batchnorm")
    x = _class_ordered()
    (m1, enc1), (m2, _) = _stacked_encoder(), _stacked_encoder()
    nb["adapt_batchnorm"](enc1, x)
    batchnorm.reestimate_batchnorm(m2, x, batch_size=64)
    for a, b in zip(batchnorm.batchnorm_layers(m1), batchnorm.batchnorm_layers(m2)):
        for u, v in ((a.moving_mean, b.moving_mean), (a.moving_variance, b.moving_variance)):
            np.testing.assert_allclose(autodiff.to_numpy(u), autodiff.to_numpy(v), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(autodiff.to_numpy(batchnorm.batchnorm_layers(m1)[0].moving_variance), x.var(0), rtol=1e-4)
