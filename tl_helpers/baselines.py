"""Honest baselines for a transfer-learning comparison: fair training budgets.

Transfer learning only "wins" against a baseline that was given a fair chance:
a model suited to the data (a small CNN at the images' native resolution, see
:func:`tl_helpers.models.small_cnn`), a sensible learning rate, and enough
optimisation *steps* even when the labelled set is tiny (few examples per epoch
means many epochs).

Example:
    >>> epochs_for(50, batch_size=32, steps=300)
    150
"""

from __future__ import annotations

import math

import keras
import numpy as np


def epochs_for(n: int, batch_size: int, steps: int, min_epochs: int = 1, max_epochs: int = 1000) -> int:
    """How many epochs give about ``steps`` optimiser steps on ``n`` examples.

    Example:
        >>> epochs_for(1000, batch_size=50, steps=100)
        5
    """
    if n <= 0 or batch_size <= 0 or steps <= 0:
        raise ValueError(f"n, batch_size and steps must be positive; got {n}, {batch_size}, {steps}.")
    per_epoch = math.ceil(n / batch_size)
    return int(min(max_epochs, max(min_epochs, math.ceil(steps / per_epoch))))


def fit_steps(model: keras.Model, x: np.ndarray, y: np.ndarray, steps: int, batch_size: int = 32,
              seed: int = 0, **fit_kwargs) -> keras.callbacks.History:
    """``model.fit`` for exactly ``steps`` optimiser steps, however small ``x`` is.

    A tiny labelled set (5 images per class) needs hundreds of epochs for a fair
    number of steps, and every Keras epoch costs a fixed overhead. Here the data
    is shuffled afresh for every pass, the passes are concatenated, and the whole
    budget runs as one epoch: the same steps at a fraction of the overhead. Use
    it for small inputs (cached features, 28 px images); it copies ``x``.

    Example:
        >>> m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> m.compile(optimizer="sgd", loss="mse")
        >>> h = fit_steps(m, np.zeros((5, 2)), np.zeros(5), steps=7, batch_size=2, verbose=0)
        >>> len(h.history["loss"])
        1
    """
    if len(x) != len(y):
        raise ValueError(f"{len(x)} inputs but {len(y)} labels: they must match.")
    if len(x) == 0 or steps <= 0:
        raise ValueError(f"fit_steps needs examples and steps > 0; got {len(x)} examples, {steps} steps.")
    rng = np.random.default_rng(seed)
    need = steps * batch_size
    order = np.concatenate([rng.permutation(len(x)) for _ in range(math.ceil(need / len(x)))])[:need]
    return model.fit(x[order], y[order], batch_size=batch_size, epochs=1, shuffle=False, **fit_kwargs)
