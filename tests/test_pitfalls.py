"""Unit tests for tl_helpers.pitfalls (tiny synthetic data, seconds); the notebook-05 checks: test_checks_nb05.py."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tl_helpers import pitfalls


# ------------------------------------------------------------------ watermark
def test_stamp_watermark_only_touches_the_corner_and_copies():
    x = np.full((3, 20, 20), 7, "uint8")
    out = pitfalls.stamp_watermark(x, size=0.25, corner="bottom-right")
    assert (x == 7).all(), "the input must not change"
    changed = (out != 7).any(axis=0)
    rows, cols = np.nonzero(changed)
    assert rows.min() >= 15 and cols.min() >= 15
    assert set(np.unique(out[:, 15:, 15:]).tolist()) == {0, 255}


def test_stamp_watermark_rgb_and_errors():
    x = np.zeros((2, 16, 16, 3), "uint8")
    out = pitfalls.stamp_watermark(x, size=0.5)
    assert out.shape == x.shape and (out[:, :8, :8] == out[:, :8, :8, :1]).all()  # same on every channel
    assert out[:, :8, :8].max() == 255 and out[:, 8:, 8:].max() == 0
    with pytest.raises(ValueError, match="uint8"):
        pitfalls.stamp_watermark(x.astype("float32"))
    with pytest.raises(ValueError, match="corner"):
        pitfalls.stamp_watermark(x, corner="middle")


def test_share_in_corner_even_map_and_concentrated_map():
    even = np.ones((1, 20, 20))
    assert pitfalls.share_in_corner(even, 0.5)[0] == pytest.approx(0.25)
    peak = np.zeros((1, 20, 20)); peak[0, 19, 19] = 1
    assert pitfalls.share_in_corner(peak, 0.2, corner="bottom-right")[0] == 1.0
    assert pitfalls.share_in_corner(peak, 0.2, corner="top-left")[0] == 0.0


def test_occlusion_map_finds_the_decisive_patch():
    def predict(x):  # class 0 probability = mean brightness of the bottom-left 4x4 corner
        p = x[:, -4:, :4].reshape(len(x), -1).mean(1) / 255
        return np.stack([p, 1 - p], axis=1)

    m = pitfalls.occlusion_map(predict, np.full((2, 16, 16), 255, "uint8"), class_index=0, patch=0.25, stride=0.125)
    assert m.shape == (2, 16, 16) and m.max() == pytest.approx(1.0) and m.min() >= 0
    assert pitfalls.share_in_corner(m, 0.25, "bottom-left")[0] > 0.5
    assert m[0, 0, 15] == 0.0


# ------------------------------------------------------------------ imbalance
def test_make_imbalanced_keeps_others_and_subsamples_rare():
    y = np.repeat(np.arange(4), 25)
    idx = pitfalls.make_imbalanced(y, rare_class=2, n_rare=3, seed=1)
    assert np.bincount(y[idx]).tolist() == [25, 25, 3, 25]
    assert len(np.unique(idx)) == len(idx)
    with pytest.raises(ValueError, match="n_rare"):
        pitfalls.make_imbalanced(y, 2, 26)
    with pytest.raises(ValueError, match="does not occur"):
        pitfalls.make_imbalanced(y, 7, 1)


def test_balanced_class_weights_equalise_total_weight():
    y = np.array([0] * 90 + [1] * 10)
    w = pitfalls.balanced_class_weights(y)
    totals = [w[c] * n for c, n in enumerate(np.bincount(y))]
    assert totals[0] == pytest.approx(totals[1], rel=1e-2)
    assert pitfalls.balanced_class_weights(np.array([0, 0, 2]), num_classes=3)[1] == 0.0


def test_per_class_recall_matches_definition():
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 1, 0, 1, 1, 0])
    rec = pitfalls.per_class_recall(y_true, y_pred, 4)
    assert rec[:3].tolist() == [pytest.approx(2 / 3), 1.0, 0.0] and np.isnan(rec[3])
    with pytest.raises(ValueError, match="same shape"):
        pitfalls.per_class_recall(y_true, y_pred[:3])


def test_class_weights_raise_rare_recall_on_a_toy_problem():
    """The notebook's claim in miniature: a weighted softmax head finds a rare class more often."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (400, 2)), rng.normal(1.5, 1, (8, 2))]).astype("float32")
    y = np.array([0] * 400 + [1] * 8)
    xt = np.concatenate([rng.normal(0, 1, (200, 2)), rng.normal(1.5, 1, (200, 2))]).astype("float32")
    yt = np.array([0] * 200 + [1] * 200)

    def rare_recall(class_weight):
        keras.utils.set_random_seed(0)
        m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
        m.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy")
        m.fit(x, y, epochs=30, batch_size=64, verbose=0, class_weight=class_weight)
        return pitfalls.per_class_recall(yt, m.predict(xt, verbose=0).argmax(-1), 2)[1]

    assert rare_recall(pitfalls.balanced_class_weights(y)) > rare_recall(None) + 0.2


# ------------------------------------------------------------------ choosing a source
def test_throughput():
    m = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Conv2D(2, 3), keras.layers.GlobalAveragePooling2D()])
    assert pitfalls.measure_throughput(m, np.zeros((16, 4, 4, 3), "float32"), batch_size=8, repeats=1) > 0
    with pytest.raises(ValueError, match="full batch"):
        pitfalls.measure_throughput(m, np.zeros((3, 4, 4, 3), "float32"), batch_size=8)


def test_linear_probe_separates_informative_from_noise_features():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 50)
    good = y[:, None] * 2.0 + rng.normal(0, 0.3, (100, 3))
    noise = rng.normal(0, 1, (100, 3))
    assert pitfalls.linear_probe_accuracy(good[::2], y[::2], good[1::2], y[1::2]) > 0.95
    assert pitfalls.linear_probe_accuracy(noise[::2], y[::2], noise[1::2], y[1::2]) < 0.8
    with pytest.raises(ValueError, match="must match"):
        pitfalls.linear_probe_accuracy(good, y[:3], good, y)


def test_backbone_table_and_scatter():
    rows = [{"backbone": "a", "weights": "imagenet", "params_M": 1.0, "img_per_s": 100.0, "accuracy": 0.9},
            {"backbone": "a", "weights": "random", "params_M": 1.0, "img_per_s": 100.0, "accuracy": 0.4}]
    text = pitfalls.backbone_table(rows)
    assert text.splitlines()[2].split() == ["a", "random", "1.00", "100", "0.400"]
    fig = pitfalls.backbone_scatter(rows)
    assert len(fig.axes[0].collections) == 2
    with pytest.raises(KeyError, match="accuracy"):
        pitfalls.backbone_table([{"backbone": "a"}])
