"""Same seed, same numbers: training is deterministic on one machine (issue 12, item 6).

The notebooks seed everything through ``config.setup`` (``keras.utils.set_random_seed``);
these tests train tiny models twice and demand bit-identical results, and check that
a different seed really changes them (so the test can fail).
"""

from __future__ import annotations

import keras
import numpy as np

from tl_helpers import config
from tl_helpers.data import Batches


def _train(seed: int) -> np.ndarray:
    config.setup("smoke", seed=seed, notebook="determinism", verbose=False)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dropout(0.3), keras.layers.BatchNormalization(),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    model.fit(Batches(x, y, batch_size=16, shuffle=True, seed=seed), epochs=3, verbose=0)
    return np.concatenate([keras.ops.convert_to_numpy(w).ravel() for w in model.weights])


def test_same_seed_same_weights(monkeypatch):
    monkeypatch.delenv("TL_SEED", raising=False)
    a, b = _train(0), _train(0)
    assert np.array_equal(a, b), f"two seeded runs differ by up to {np.abs(a - b).max():.3g}"


def test_other_seed_other_weights(monkeypatch):
    monkeypatch.delenv("TL_SEED", raising=False)
    assert not np.allclose(_train(0), _train(1)), "a different seed gave the same weights: the seed is ignored"
