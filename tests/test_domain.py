"""Unit tests for tl_helpers.domain and tl_helpers.domain_data: tiny, deterministic, seconds."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from tl_helpers import autodiff, domain
from tl_helpers.domain_data import blend_with_photos


# ------------------------------------------------------------------ gradient reversal
@pytest.mark.parametrize("lam", [0.0, 0.3, 1.0, 2.5])
def test_grl_forward_is_identity_and_gradient_is_minus_lambda(lam):
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    grl = domain.GradientReversal(lam=lam)
    # forward: exactly the input, in the layer's compute dtype (float16 under mixed precision too)
    np.testing.assert_array_equal(autodiff.to_numpy(grl(x)), x.astype(grl.compute_dtype))
    weights = np.arange(12, dtype="float32").reshape(4, 3)  # a non-trivial upstream gradient
    _, g = autodiff.input_gradient(lambda t: keras.ops.sum(weights * grl(t)), x)
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
    batches = domain.balanced_batches(x_s, y_s, x_t, 64, steps=8, seed=0)
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
    gen = domain.balanced_batches(xs, ys, xt, batch_size=6, steps=3, seed=0)
    for _ in range(5):  # crosses an epoch boundary
        x, (y, dom), (w, wd) = next(gen)
        assert x.shape == (6, 2)
        np.testing.assert_array_equal(x[:3], 0), np.testing.assert_array_equal(x[3:], 1)
        assert dom.ravel().tolist() == [0, 0, 0, 1, 1, 1]
        assert w.tolist() == [2, 2, 2, 0, 0, 0] and wd.tolist() == [1] * 6
    x, y, w = next(domain.balanced_batches(xs, ys, xt, 4, 1, with_domain=False))
    assert w.tolist() == [2, 2, 0, 0]
    with pytest.raises(ValueError, match="even"):
        next(domain.balanced_batches(xs, ys, xt, batch_size=5, steps=1))


def test_adabn_sets_target_statistics_and_keeps_weights():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), layers.Dense(3), layers.BatchNormalization()])
    before = [w.copy() for w in model.get_weights()[:2]]
    target = (np.random.default_rng(0).normal(size=(100, 3)) * 4 + 2).astype("float32")
    assert domain.adapt_batchnorm(model, target, batch_size=30) == 1  # batches of 30, 30, 30, 10
    bn = model.layers[-1]
    acts = autodiff.to_numpy(model.layers[0](target))
    np.testing.assert_allclose(autodiff.to_numpy(bn.moving_mean), acts.mean(0), rtol=2e-3, atol=2e-3)  # TF32-safe
    assert bn.momentum == 0.99 and bn.trainable  # restored
    for a, b in zip(before, model.get_weights()[:2]):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="no BatchNormalization"):
        domain.adapt_batchnorm(keras.Sequential([keras.Input((3,)), layers.Dense(2)]), target)


def test_gap_closed():
    assert domain.gap_closed(0.6, 0.5, 0.7) == pytest.approx(0.5)
    assert domain.gap_closed(0.4, 0.5, 0.7) == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="oracle"):
        domain.gap_closed(0.6, 0.5, 0.5)


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

    from tl_helpers import domain_data

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
