"""tl_helpers.models.small_cnn: shapes, options, seeds and errors on tiny synthetic data, any backend."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tl_helpers.models import small_cnn


def kinds(model: keras.Model) -> list[str]:
    return [layer.__class__.__name__ for layer in model.layers]


def weights_of(model: keras.Model) -> list[np.ndarray]:
    return [np.asarray(w) for w in model.get_weights()]


def test_classifier_shapes_and_top():
    gray = small_cnn((28, 28), 10, widths=(4, 8))                   # (h, w) arrays get a channel axis
    assert gray.output_shape == (None, 10) and kinds(gray)[1] == "Reshape"
    assert "Flatten" in kinds(gray) and "GlobalAveragePooling2D" not in kinds(gray)   # auto: 28 px <= 64
    big = small_cnn((96, 96, 3), 5, widths=(4,))
    assert big.output_shape == (None, 5) and "GlobalAveragePooling2D" in kinds(big)    # auto: above 64 px
    assert big.layers[-1].activation is keras.activations.softmax and "Dropout" in kinds(big)
    out = gray.predict(np.zeros((3, 28, 28), "uint8"), verbose=0)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_body_has_no_head_and_takes_one():
    body = small_cnn((16, 16, 3), widths=(4, 8), top="avg", units=5, name="body")
    assert body.output_shape == (None, 5) and body.name == "body"
    assert "Dropout" not in kinds(body) and body.layers[-1].activation is keras.activations.relu
    assert small_cnn((16, 16, 3), widths=(4, 8), top="avg").output_shape == (None, 8)   # no units: the pooled map
    body.trainable = False
    clf = keras.Sequential([keras.Input((16, 16, 3)), body, keras.layers.Dense(3, activation="softmax")])
    assert clf.output_shape == (None, 3) and len(clf.trainable_weights) == 2


def test_parameter_counts_of_the_course_variants():
    # notebook 02's scratch CNN: one valid conv per stage, Flatten; 28 -> 26 -> 13 -> 11 -> 5
    m = small_cnn((28, 28, 1), 10, widths=(16, 32), convs=1, padding="valid", top="flatten")
    assert m.count_params() == (9 * 1 * 16 + 16) + (9 * 16 * 32 + 32) + (5 * 5 * 32 * 10 + 10)
    # notebook 05's body: no pooling after the last stage, global average pooling, Dense(64)
    b = small_cnn((28, 28, 1), widths=(16, 32, 32), convs=1, pool_last=False, top="avg", units=64, rescale=None)
    assert b.count_params() == (9 * 16 + 16) + (9 * 16 * 32 + 32) + (9 * 32 * 32 + 32) + (32 * 64 + 64)
    assert b.get_layer(index=-3).output.shape[1:3] == (7, 7)    # the last stage is not pooled (28 -> 14 -> 7)
    # notebook 01's baseline: two same-padded convs per stage, pooled after each
    c = small_cnn((28, 28), 10, widths=(16, 32, 64))
    assert sum(k == "Conv2D" for k in kinds(c)) == 6 and sum(k == "MaxPooling2D" for k in kinds(c)) == 3


def test_same_seed_same_weights_and_outputs():
    x = np.random.default_rng(0).integers(0, 256, (4, 12, 12, 1)).astype("uint8")
    kw = dict(widths=(8, 8, 8), convs=1, augment=True, dropout=0.5)
    a, b, c = small_cnn((12, 12, 1), 3, seed=1, **kw), small_cnn((12, 12, 1), 3, seed=1, **kw), \
        small_cnn((12, 12, 1), 3, seed=2, **kw)
    for u, v in zip(weights_of(a), weights_of(b)):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(weights_of(a)[0], weights_of(c)[0])
    kernels = [w for w in weights_of(a) if w.shape == (3, 3, 8, 8)]
    assert len(kernels) == 2 and not np.array_equal(kernels[0], kernels[1])   # a seed per layer, not one
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(a(x, training=True)),   # augmentation + dropout
                                  keras.ops.convert_to_numpy(b(x, training=True)))


def test_unseeded_follows_the_global_seed():
    keras.utils.set_random_seed(4)
    a = small_cnn((12, 12, 1), 3, widths=(4,))
    keras.utils.set_random_seed(4)
    b = small_cnn((12, 12, 1), 3, widths=(4,))
    for u, v in zip(weights_of(a), weights_of(b)):
        np.testing.assert_array_equal(u, v)


def test_rescale_and_augment_only_in_training():
    x = np.random.default_rng(1).random((2, 12, 12, 1)).astype("float32")
    raw = small_cnn((12, 12, 1), 3, widths=(4,), seed=0)                       # takes 0-255
    scaled = small_cnn((12, 12, 1), 3, widths=(4,), seed=0, rescale=None)      # takes 0-1
    np.testing.assert_allclose(keras.ops.convert_to_numpy(raw(x * 255)), keras.ops.convert_to_numpy(scaled(x)),
                               rtol=1e-5, atol=1e-6)
    aug = small_cnn((12, 12, 1), 3, widths=(4,), seed=0, augment=True, dropout=0.0)
    inference = [keras.ops.convert_to_numpy(aug(x * 255, training=False)) for _ in range(2)]
    np.testing.assert_array_equal(inference[0], inference[1])
    np.testing.assert_allclose(aug.predict(x * 255, verbose=0), inference[0], rtol=1e-5, atol=1e-6)
    assert not np.allclose(keras.ops.convert_to_numpy(aug(x * 255, training=True)), inference[0])
    assert {"RandomTranslation", "RandomFlip"} <= set(kinds(aug))


def test_it_learns_a_visible_rule():
    x = np.zeros((40, 12, 12, 1), "uint8")
    y = np.repeat([0, 1], 20)
    x[y == 1, :6] = 255                                  # class 1: bright top half
    m = small_cnn((12, 12, 1), 2, widths=(16, 32), convs=1, padding="valid", top="flatten", seed=0)
    m.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    m.fit(x, y, epochs=15, verbose=0)
    assert m.evaluate(x, y, verbose=0)[1] == 1.0


def test_clear_errors():
    with pytest.raises(ValueError, match=r"\(h, w\) or \(h, w, c\)"):
        small_cnn((28,), 10)
    with pytest.raises(ValueError, match="shrinks below 1 px in stage 3"):
        small_cnn((4, 4), 10, widths=(8, 8, 8))                 # 4 -> 2 -> 1 -> 0
    with pytest.raises(ValueError, match="shrinks below 1 px in stage 2"):
        small_cnn((8, 8, 1), 10, widths=(4, 4), convs=1, padding="valid")   # 8 -> 6 -> 3 -> 1 -> 0
    small_cnn((4, 4), 10, widths=(8, 8, 8), pool_last=False)    # 4 -> 2 -> 1, unpooled: fine
    with pytest.raises(ValueError, match="top must be"):
        small_cnn((28, 28), 10, top="max")
