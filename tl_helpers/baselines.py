"""Honest baselines for a transfer-learning comparison: a small CNN from scratch, and fair training budgets.

Transfer learning only "wins" against a baseline that was given a fair chance:
a model suited to the data (a small CNN at the images' native resolution), a
sensible learning rate, and enough optimisation *steps* even when the labelled
set is tiny (few examples per epoch means many epochs).

Example:
    >>> model = small_cnn((28, 28, 1), 10)
    >>> model.output_shape
    (None, 10)
    >>> epochs_for(50, batch_size=32, steps=300)
    150
"""

from __future__ import annotations

import math
from typing import Sequence

import keras
import numpy as np

layers = keras.layers


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


def small_cnn(input_shape: Sequence[int], num_classes: int, widths: Sequence[int] = (32, 64, 128),
              dropout: float = 0.3, augment: bool = True) -> keras.Model:
    """A small VGG-style CNN from scratch for uint8 images (0-255) at their native size.

    Rescaling to 0-1 and light augmentation (shifts, horizontal flips; active in
    training only) are inside the model, so it takes raw ``uint8`` arrays
    ``(n, h, w)`` or ``(n, h, w, c)``; a 2-D shape gets a channel axis.

    Example:
        >>> m = small_cnn((28, 28), 10, widths=(8,))
        >>> m.predict(np.zeros((2, 28, 28), "uint8"), verbose=0).shape
        (2, 10)
    """
    shape = tuple(int(s) for s in input_shape)
    if len(shape) == 2:
        shape = shape + (1,)
    if len(shape) != 3 or min(shape[:2]) < 2 ** len(widths):
        raise ValueError(f"small_cnn needs (h, w) or (h, w, c) images of at least {2 ** len(widths)} px "
                         f"for {len(widths)} pooling stages; got {tuple(input_shape)}.")
    inputs = keras.Input(shape[:2] if len(tuple(input_shape)) == 2 else shape)
    x = layers.Reshape(shape)(inputs) if len(tuple(input_shape)) == 2 else inputs
    x = layers.Rescaling(1 / 255)(x)
    if augment:
        x = layers.RandomTranslation(0.1, 0.1, fill_mode="constant")(x)
        x = layers.RandomFlip("horizontal")(x)
    for w in widths:
        x = layers.Conv2D(w, 3, padding="same", activation="relu")(x)
        x = layers.Conv2D(w, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x) if min(shape[:2]) > 64 else layers.Flatten()(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="small_cnn")


def recalibrate_batchnorm(model: keras.Model, x: np.ndarray, batch_size: int = 512) -> int:
    """Set every BatchNormalization layer's moving statistics to the statistics of ``x``.

    The "precise BN" fix for a network trained from scratch on little data: its
    moving averages lag behind weights that changed fast, so inference-mode
    predictions are garbage even though training-mode ones are fine. This runs
    ``model(x, training=True)`` with momentum 0 (weights untouched), averaging
    over batches, and returns how many layers were updated.

    Example:
        >>> m = keras.Sequential([keras.Input((3,)), keras.layers.BatchNormalization()])
        >>> recalibrate_batchnorm(m, np.full((8, 3), 5.0, "float32"))
        1
        >>> np.allclose(keras.ops.convert_to_numpy(m.layers[0].moving_mean), 5.0)
        True
    """
    bns = [l for l in _all_layers(model) if isinstance(l, layers.BatchNormalization)]
    if not bns:
        return 0
    old = [l.momentum for l in bns]
    sums: list[list[np.ndarray]] = [[np.zeros(l.moving_mean.shape), np.zeros(l.moving_variance.shape)]
                                    for l in bns]
    n_batches = 0
    try:
        for l in bns:
            l.momentum = 0.0  # moving stats := this batch's stats
        for i in range(0, len(x), batch_size):
            model(x[i:i + batch_size], training=True)
            for s, l in zip(sums, bns):
                s[0] += keras.ops.convert_to_numpy(l.moving_mean)
                s[1] += keras.ops.convert_to_numpy(l.moving_variance)
            n_batches += 1
    finally:
        for l, m in zip(bns, old):
            l.momentum = m
    for s, l in zip(sums, bns):
        l.moving_mean.assign(s[0] / n_batches)
        l.moving_variance.assign(s[1] / n_batches)
    return len(bns)


def _all_layers(model: keras.Model) -> list[keras.layers.Layer]:
    out = []
    for layer in model.layers:
        out.append(layer)
        if isinstance(layer, keras.Model):
            out += _all_layers(layer)
    return out


def learning_curve_plot(curves: dict[str, dict], chance: float | None = None, title: str = ""):
    """Test accuracy against labelled examples per class, one line per method.

    ``curves`` maps a method's name to ``{labels_per_class: accuracy}``; ``"all"``
    is drawn after the largest number. A method with one point shows as a marker.

    Example:
        >>> fig = learning_curve_plot({"a": {5: 0.5, 20: 0.7}, "b": {20: 0.6}}, chance=0.1)
        >>> len(fig.axes[0].lines)
        3
    """
    import matplotlib.pyplot as plt

    ks = sorted({k for c in curves.values() for k in c}, key=lambda k: (k == "all", k if k != "all" else 0))
    pos = {k: i for i, k in enumerate(ks)}
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for name, c in curves.items():
        items = sorted(c.items(), key=lambda kv: pos[kv[0]])
        ax.plot([pos[k] for k, _ in items], [a for _, a in items], "o-", label=name)
    if chance is not None:
        ax.axhline(chance, color="gray", ls=":", label="chance")
    ax.set_xticks(range(len(ks)), [str(k) for k in ks])
    ax.set_xlabel("labelled examples per class")
    ax.set_ylabel("test accuracy")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
