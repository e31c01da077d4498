"""Checks for notebook 01 (feature extraction): a frozen base with a new head; a nearest-centroid classifier.

Example:
    >>> import numpy as np
    >>> f = np.array([[0.0], [0.2], [1.0], [1.2]]); y = np.array([0, 0, 1, 1])
    >>> nb01_nearest_centroid(np.array([0, 1]), 1.0, f, y, np.array([[0.1], [1.1]]), np.array([0, 1]))
    ✅ Correct: nearest-centroid accuracy 1.000 (chance is 0.500)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import CheckFailed, answered

__all__ = ["nb01_frozen_head", "nb01_nearest_centroid"]


def expect(condition: bool, hint: str) -> None:
    """Raise :class:`CheckFailed` with ``hint`` unless ``condition`` (silent on success)."""
    if not condition:
        raise CheckFailed(f"❌ Not yet: {hint}")


def _count(weights: Any) -> int:
    return sum(int(np.prod(w.shape)) for w in weights)


def nb01_frozen_head(model: Any, n_trainable: Any, num_classes: int) -> None:
    """Exercise 1: ``model`` holds a frozen nested base and a trainable softmax head; ``n_trainable`` counts it.

    Example:
        >>> import keras
        >>> inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)]); inner.trainable = False
        >>> inp = keras.Input((4,))
        >>> m = keras.Model(inp, keras.layers.Dense(2, activation="softmax")(inner(inp, training=False)))
        >>> nb01_frozen_head(m, 8, 2)
        ✅ Correct: 8 trainable parameters: only the head's (3 x 2 weights + 2 biases) train
    """
    import keras

    answered(model, "ex_model")
    answered(n_trainable, "n_trainable")
    expect(isinstance(model, keras.Model), hint="ex_model should be a keras.Model (keras.Model(inputs, outputs)).")
    nested = [l for l in model.layers if isinstance(l, keras.Model)]
    expect(bool(nested), hint="call the backbone inside the model: x = base(inputs, training=False).")
    base = nested[0]
    expect(not base.trainable_weights,
           hint="the backbone still has trainable weights: set base.trainable = False before building the model.")
    truth = _count(model.trainable_weights)
    expect(truth > 0, hint="nothing in the model is trainable: the head (a new Dense layer) must stay trainable.")
    expect(model.output_shape[-1] == num_classes,
           hint=f"the head should output one probability per class ({num_classes} here).")
    dim = int(base.output_shape[-1])
    expect(truth == (dim + 1) * num_classes,
           hint="besides the frozen base the model should hold only one Dense softmax layer.")
    expect(isinstance(n_trainable, (int, np.integer)) and int(n_trainable) == truth,
           hint="count the elements of every tensor in ex_model.trainable_weights (np.prod of each shape) "
                "and add them up; frozen weights do not count.")
    print(f"✅ Correct: {truth} trainable parameters: only the head's ({dim} x {num_classes} weights + "
          f"{num_classes} biases) train")


def nb01_nearest_centroid(pred: Any, acc: Any, f_lab: np.ndarray, y_lab: np.ndarray, f_test: np.ndarray,
                          y_test: np.ndarray) -> None:
    """Exercise 2: predictions of a nearest-class-mean classifier and their accuracy.

    The truth is recomputed from the labelled and test features; at least 99 % of
    the predictions must agree (ties may break either way).

    Example:
        >>> f = np.array([[0.0], [2.0]]); y = np.array([0, 1])
        >>> try:
        ...     nb01_nearest_centroid(np.array([1]), 0.0, f, y, np.array([[0.1]]), np.array([0]))
        ... except AssertionError as e:
        ...     print(str(e)[:18])
        ❌ Not yet: only 0%
    """
    answered(pred, "centroid_pred")
    answered(acc, "centroid_acc")
    pred = np.asarray(pred).reshape(-1)
    f_lab, f_test, y_lab, y_test = (np.asarray(a) for a in (f_lab, f_test, y_lab, y_test))
    expect(len(pred) == len(f_test),
           hint=f"centroid_pred needs one class per test image ({len(f_test)}), got {len(pred)}.")
    classes = np.unique(y_lab)
    means = np.stack([f_lab[y_lab == c].mean(0) for c in classes])
    d2 = (f_test ** 2).sum(1)[:, None] - 2 * f_test @ means.T + (means ** 2).sum(1)[None]
    truth = classes[d2.argmin(1)]
    agree = float((pred.astype(int) == truth).mean())
    expect(agree >= 0.99,
           hint=f"only {agree:.0%} of your predictions match a nearest-class-mean classifier: one mean per "
                "class over the labelled features (axis 0), squared Euclidean distance from each test "
                "feature to each mean, argmin over the classes.")
    real = float((pred == y_test).mean())
    expect(np.isscalar(acc) and abs(float(acc) - real) < 1e-6,
           hint="centroid_acc should be the fraction of test images whose prediction equals the true label.")
    print(f"✅ Correct: nearest-centroid accuracy {real:.3f} (chance is {1 / len(classes):.3f})")
