"""tl_helpers.batchnorm: exact BatchNorm re-estimation (precise BN, AdaBN) on tiny synthetic data, any backend."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from tl_helpers.batchnorm import batchnorm_layers, reestimate_batchnorm


def to_np(v) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(v))


def class_ordered(n_per_class: int = 200, d: int = 4, seed: int = 0) -> np.ndarray:
    """Rows sorted by class, as files often are: each class has its own mean."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(m, 1.0, size=(n_per_class, d)) for m in (-3.0, -1.0, 1.0, 4.0)]).astype("float32")


def stacked_encoder() -> tuple[keras.Model, keras.Sequential]:
    """Two BN layers with a Dense between them, in a Sequential nested in a functional model."""
    keras.utils.set_random_seed(0)
    encoder = keras.Sequential([keras.Input((4,)), layers.BatchNormalization(), layers.Dense(5),
                                layers.BatchNormalization(), layers.Activation("relu")], name="encoder")
    inputs = keras.Input((4,))
    return keras.Model(inputs, layers.Dense(2)(encoder(inputs))), encoder


def per_batch_average(model: keras.Model, x: np.ndarray, batch_size: int) -> None:
    """The inexact way (the old helpers): training-mode passes, averaging per-batch statistics."""
    bns, seen = batchnorm_layers(model), 0
    for start in range(0, len(x), batch_size):
        batch = x[start:start + batch_size]
        for bn in bns:
            bn.momentum, bn.trainable = seen / (seen + len(batch)), True
        model(batch, training=True)
        seen += len(batch)
    for bn in bns:
        bn.momentum = 0.99


def test_statistics_of_all_rows_weights_kept_nothing_left_patched():
    keras.utils.set_random_seed(0)
    inner = keras.Sequential([keras.Input((3,)), layers.Dense(3), layers.BatchNormalization()])
    model = keras.Sequential([keras.Input((3,)), inner])             # a nested model, as a backbone is
    before = [w.copy() for w in model.get_weights()]
    x = (np.random.default_rng(0).normal(size=(100, 3)) * 4 + 2).astype("float32")
    assert reestimate_batchnorm(model, x, batch_size=30) == 1        # batches of 30, 30, 30, 10
    bn = inner.layers[-1]
    acts = to_np(inner.layers[0](x))
    np.testing.assert_allclose(to_np(bn.moving_mean), acts.mean(0), rtol=2e-3, atol=2e-3)  # TF32-safe
    np.testing.assert_allclose(to_np(bn.moving_variance), acts.var(0), rtol=2e-3, atol=2e-3)
    assert bn.momentum == 0.99 and bn.trainable and "call" not in vars(bn)
    after = model.get_weights()
    for a, b in zip(before[:2], after[:2]):                          # the Dense kernel and bias
        np.testing.assert_array_equal(a, b)
    for a, b in zip(before[2:4], after[2:4]):                        # gamma and beta
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("batch_size", [7, 50, 256, 10_000])
def test_exact_on_class_ordered_rows_layer_by_layer_on_a_frozen_model(batch_size):
    x = class_ordered()
    model, encoder = stacked_encoder()
    model.trainable = False  # a frozen model: forward passes alone would update nothing
    assert reestimate_batchnorm(model, x, batch_size=batch_size) == 2
    bn1, dense, bn2 = encoder.layers[0], encoder.layers[1], encoder.layers[2]
    np.testing.assert_allclose(to_np(bn1.moving_mean), x.mean(0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(to_np(bn1.moving_variance), x.var(0), rtol=1e-4, atol=1e-4)
    # layer by layer: BN 2 gets the statistics of its input with BN 1 ALREADY re-estimated (inference mode)
    h = to_np(dense(bn1(x, training=False)))
    np.testing.assert_allclose(to_np(bn2.moving_mean), h.mean(0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(to_np(bn2.moving_variance), h.var(0), rtol=1e-4, atol=1e-4)
    assert not model.trainable and not bn1.trainable


def test_the_exactness_test_rejects_the_per_batch_average():
    """The per-batch average is far off on class-ordered rows: the test above can fail."""
    x = class_ordered()
    model, encoder = stacked_encoder()
    per_batch_average(model, x, batch_size=200)
    ratio = to_np(encoder.layers[0].moving_variance) / x.var(0)
    assert np.all(ratio < 0.5), ratio  # the variance between classes is lost


def test_row_order_and_batch_size_do_not_matter():
    x = class_ordered()
    shuffled = x[np.random.default_rng(1).permutation(len(x))]
    stats = []
    for rows, batch_size in ((x, 64), (shuffled, 64), (shuffled, 1000)):
        model, encoder = stacked_encoder()
        reestimate_batchnorm(model, rows, batch_size=batch_size)
        stats.append(np.concatenate([to_np(v) for bn in batchnorm_layers(encoder)
                                     for v in (bn.moving_mean, bn.moving_variance)]))
    np.testing.assert_allclose(stats[1], stats[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(stats[2], stats[0], rtol=1e-5, atol=1e-6)


def test_conv_channels_and_other_axis():
    rng = np.random.default_rng(2)
    x = (rng.normal(size=(40, 6, 6, 3)) * [1.0, 3.0, 0.5] + [0.0, 5.0, -2.0]).astype("float32")
    conv = keras.Sequential([keras.Input((6, 6, 3)), layers.BatchNormalization()])
    reestimate_batchnorm(conv, x, batch_size=16)
    np.testing.assert_allclose(to_np(conv.layers[0].moving_mean), x.mean((0, 1, 2)), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(to_np(conv.layers[0].moving_variance), x.var((0, 1, 2)), rtol=1e-4, atol=1e-4)
    first = keras.Sequential([keras.Input((3, 6, 6)), layers.BatchNormalization(axis=1)])  # channels first
    xt = np.moveaxis(x, -1, 1)
    reestimate_batchnorm(first, xt, batch_size=16)
    np.testing.assert_allclose(to_np(first.layers[0].moving_variance), x.var((0, 1, 2)), rtol=1e-4, atol=1e-4)


def test_a_layer_called_twice_per_pass_sees_both_inputs():
    """A shared encoder (two inputs, one BN layer): its statistics cover everything it normalises."""
    bn = layers.BatchNormalization()
    a_in, b_in = keras.Input((2,)), keras.Input((2,))
    model = keras.Model([a_in, b_in], layers.Concatenate()([bn(a_in), bn(b_in)]))
    rng = np.random.default_rng(3)
    a, b = rng.normal(0, 1, (30, 2)).astype("float32"), rng.normal(10, 1, (30, 2)).astype("float32")

    class Pairs:  # x whose slices are [a rows, b rows]: what the model takes
        def __len__(self):
            return len(a)

        def __getitem__(self, s):
            return [a[s], b[s]]

    assert reestimate_batchnorm(model, Pairs(), batch_size=8) == 1
    both = np.concatenate([a, b])
    np.testing.assert_allclose(to_np(bn.moving_mean), both.mean(0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(to_np(bn.moving_variance), both.var(0), rtol=1e-4, atol=1e-4)


def test_batchnorm_layers_in_order_nested_and_once():
    model, encoder = stacked_encoder()
    assert batchnorm_layers(model) == [encoder.layers[0], encoder.layers[2]]
    bn = layers.BatchNormalization()                 # one layer inside two nested models
    first = keras.Sequential([keras.Input((4,)), bn])
    second = keras.Sequential([keras.Input((4,)), layers.Dense(4), bn])
    inputs = keras.Input((4,))
    assert batchnorm_layers(keras.Model(inputs, second(first(inputs)))) == [bn]


def test_clear_errors_and_nothing_left_patched_after_one():
    x = class_ordered()
    with pytest.raises(ValueError, match="no BatchNormalization"):
        reestimate_batchnorm(keras.Sequential([keras.Input((4,)), layers.Dense(2)]), x)
    model, encoder = stacked_encoder()
    with pytest.raises(ValueError, match="empty"):
        reestimate_batchnorm(model, x[:0])
    with pytest.raises(Exception):
        reestimate_batchnorm(model, np.zeros((8, 7), "float32"))   # wrong width: the forward pass fails
    assert all("call" not in vars(bn) for bn in batchnorm_layers(encoder))
