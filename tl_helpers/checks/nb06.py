"""Checks for notebook 06 (your own images): per-class accuracy and a top-3 prediction.

Example:
    >>> import numpy as np
    >>> nb06_per_class_accuracy({"a": 1.0, "b": 0.5}, "b", np.array([0, 1, 1]), np.array([0, 1, 0]), ["a", "b"])
    ✅ Correct: 'b' is the weakest class (0.50).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from . import CheckFailed, answered, expect

__all__ = ["nb06_per_class_accuracy", "nb06_top3"]


def _need(condition: bool, hint: str) -> None:
    if not condition:
        raise CheckFailed(f"❌ Not yet: {hint}")


def nb06_per_class_accuracy(per_class_acc: dict[str, float], worst_class: str, y_test: np.ndarray,
                            y_pred: np.ndarray, class_names: Sequence[str]) -> None:
    """Compare ``per_class_acc`` / ``worst_class`` with the truth computed from ``y_test`` and ``y_pred``.

    Example:
        >>> try:
        ...     nb06_per_class_accuracy({"a": 1.0}, "a", np.array([0, 1]), np.array([0, 0]), ["a", "b"])
        ... except CheckFailed as e:
        ...     print("one entry per class" in str(e))
        True
    """
    answered(per_class_acc, "per_class_acc")
    answered(worst_class, "worst_class")
    y_test, y_pred = np.asarray(y_test), np.asarray(y_pred)
    truth = {n: float(np.mean(y_pred[y_test == k] == k)) for k, n in enumerate(class_names) if (y_test == k).any()}
    _need(isinstance(per_class_acc, dict) and set(per_class_acc) == set(truth),
           hint="per_class_acc needs one entry per class name in data.class_names (keys are names, not indices).")
    wrong = [n for n in truth if not np.isclose(float(per_class_acc[n]), truth[n], atol=1e-6)]
    _need(not wrong, hint=f"the accuracy of {wrong[0]!r} is off. For class k, look only at the test images "
                           "whose true label is k, and count how many were predicted k." if wrong else "")
    lowest = min(truth.values())
    _need(worst_class in truth and np.isclose(truth[worst_class], lowest),
           hint="worst_class should be the name (a string) of the class with the lowest accuracy.")
    expect(True, hint="", success=f"{worst_class!r} is the weakest class ({lowest:.2f}).")


def nb06_top3(top3: Callable[[Any], list[tuple[str, float]]], model: Any, class_names: Sequence[str],
              files: Sequence[Any]) -> None:
    """Call ``top3(path)`` on a few files and compare with the model's own probabilities.

    Example:
        >>> nb06_top3(None, None, ["a"], [])
        Traceback (most recent call last):
        ...
        tl_helpers.checks.CheckFailed: ❌ Not yet: top3 is still empty - fill in the exercise cell above and run it.
    """
    import keras

    from ..folders import load_rgb

    answered(top3, "top3")
    _need(callable(top3), hint="top3 must be a function: def top3(path): ...")
    for path in files:
        probs = keras.ops.convert_to_numpy(model(load_rgb(path)[None].astype("float32"), training=False))[0]
        got = top3(path)
        _need(isinstance(got, (list, tuple)) and len(got) == min(3, len(class_names))
               and all(len(pair) == 2 for pair in got),
               hint="return a list of 3 (class name, probability) pairs.")
        best = np.argsort(-probs)[:3]
        _need([str(n) for n, _ in got] == [class_names[k] for k in best],
               hint="the names are not the 3 most likely classes in order: sort the probabilities in "
                    "decreasing order (np.argsort(-p)) and map indices to names with the class names.")
        _need(np.allclose([float(p) for _, p in got], probs[best], atol=1e-4),
               hint="the names are right but the probabilities are not the model's softmax outputs.")
    expect(True, hint="", success=f"top-3 predictions match the model on {len(files)} file(s).")
