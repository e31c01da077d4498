"""Checks for notebook 06 (your own images): per-class accuracy, a top-3 prediction, freezing BatchNorm.

Checks write nothing to stderr (nbgrader scores a cell that does as failed): library
warnings raised while they run the learner's code are captured by :func:`_quiet`.

Example:
    >>> import numpy as np
    >>> nb06_per_class_accuracy({"a": 1.0, "b": 0.5}, "b", np.array([0, 1, 1]), np.array([0, 1, 0]), ["a", "b"])
    ✅ Correct: 'b' is the weakest class (0.50).
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
import warnings
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from . import CheckFailed, answered, expect

__all__ = ["nb06_per_class_accuracy", "nb06_top3", "nb06_freeze_batchnorm"]


def _need(condition: bool, hint: str) -> None:
    if not condition:
        raise CheckFailed(f"❌ Not yet: {hint}")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Capture Python warnings, TensorFlow's logger (e.g. retracing notices) and ``sys.stderr``.

    Example:
        >>> with _quiet():
        ...     print("hidden", file=sys.stderr)
    """
    tf_logger = logging.getLogger("tensorflow")
    level = tf_logger.level
    tf_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        tf_logger.setLevel(level)


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

    from ..data.folders import load_rgb

    answered(top3, "top3")
    _need(callable(top3), hint="top3 must be a function: def top3(path): ...")
    for path in files:
        with _quiet():
            probs = keras.ops.convert_to_numpy(model(load_rgb(path)[None].astype("float32"), training=False))[0]
            try:
                got = top3(path)
            except Exception as err:
                raise CheckFailed(f"❌ Not yet: top3 raised {type(err).__name__}: {str(err)[:200]}") from None
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


def _bn_check_model() -> Any:
    """A small model with BatchNorm at the top level and inside a nested 'backbone' model."""
    import keras
    from keras import layers

    inner_in = keras.Input((8, 8, 3))
    h = layers.Conv2D(4, 3, name="inner_conv")(inner_in)
    h = layers.BatchNormalization(name="inner_bn")(h)
    inner = keras.Model(inner_in, layers.ReLU()(h), name="backbone")
    inp = keras.Input((8, 8, 3))
    z = layers.BatchNormalization(name="outer_bn")(inner(inp))
    out = layers.Dense(2, name="head")(layers.GlobalAveragePooling2D()(z))
    return keras.Model(inp, out, name="bn_check")


def nb06_freeze_batchnorm(fn: Callable[[Any], Any]) -> None:
    """Exercise 3: ``fn(model)`` freezes every BatchNormalization layer (nested too), nothing else.

    Example:
        >>> import keras
        >>> def freeze_all(m):
        ...     m.trainable = False
        >>> try:
        ...     nb06_freeze_batchnorm(freeze_all)
        ... except CheckFailed as e:
        ...     print("other layers" in str(e))
        True
    """
    import keras

    answered(fn, "freeze_batchnorm")
    _need(callable(fn), hint="freeze_batchnorm must be a function: def freeze_batchnorm(model): ...")
    model = _bn_check_model()
    with _quiet():
        try:
            fn(model)
        except Exception as err:
            raise CheckFailed(f"❌ Not yet: freeze_batchnorm raised {type(err).__name__}: {str(err)[:200]}") from None
    inner = model.get_layer("backbone")
    bns = [model.get_layer("outer_bn"), inner.get_layer("inner_bn")]
    others = [inner, inner.get_layer("inner_conv"), model.get_layer("head")]
    _need(all(not l.trainable for l in bns[:1]), hint="the BatchNormalization layer at the top of the model is "
                                                        "still trainable: set layer.trainable = False on it.")
    _need(not bns[1].trainable, hint="a BatchNormalization layer inside the nested model (the backbone) is still "
                                     "trainable: look inside every layer that has its own .layers.")
    _need(all(l.trainable for l in others), hint="other layers were frozen too (a Conv2D, the head or the whole "
                                                 "backbone): only the BatchNormalization layers should change.")
    n_bn_weights = sum(len(l.weights) for l in bns)
    expect(len(model.non_trainable_weights) == n_bn_weights,
           hint="the model's non-trainable weights should be exactly the BatchNorm layers' weights.",
           success="every BatchNorm layer is frozen (nested ones too) and nothing else: recompile after this.")
