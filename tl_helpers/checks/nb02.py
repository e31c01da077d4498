"""Checks for notebook 02 (fine-tuning): the right ``initial_epoch``, BatchNorm kept in inference
mode, and a discriminative optimizer. Each computes the truth from the run's own objects.

Example:
    >>> class H: epoch = [0, 1, 2]
    >>> nb02_initial_epoch(3, H())
    ✅ Correct: phase 2 starts at epoch index 3, right after the 3 epochs phase 1 ran
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from . import CheckFailed, answered, expect

__all__ = ["nb02_initial_epoch", "nb02_bn_inference", "nb02_discriminative"]


def nb02_initial_epoch(initial_epoch: Any, phase1_history: Any) -> None:
    """``initial_epoch`` for phase 2 must be the number of epochs phase 1 actually ran.

    Example:
        >>> class H: epoch = [0, 1]
        >>> try:
        ...     nb02_initial_epoch(1, H())
        ... except AssertionError as e:
        ...     print("failed")
        failed
    """
    answered(initial_epoch, "phase2_initial_epoch")
    ran = len(phase1_history.epoch)
    expect(isinstance(initial_epoch, (int, np.integer)) and int(initial_epoch) == ran,
           hint="Keras counts epochs from 0, and early stopping may end phase 1 before the epochs you asked "
                "for. What does the first history's `.epoch` list hold?",
           success=f"phase 2 starts at epoch index {ran}, right after the {ran} epochs phase 1 ran")


def _need(condition: bool, hint: str) -> None:
    """A silent step of a check: raise with ``hint`` when ``condition`` fails, print nothing when it holds."""
    if not condition:
        raise CheckFailed(f"❌ Not yet: {hint}")


def _leaves(model: keras.layers.Layer) -> list[keras.layers.Layer]:
    out = []
    for layer in getattr(model, "layers", []):
        out += _leaves(layer) if getattr(layer, "layers", None) else [layer]
    return out


def nb02_bn_inference(model: Any, x: np.ndarray) -> None:
    """``model`` must train some backbone weights while its BatchNorm statistics stay put.

    Runs one training-mode forward pass (what ``fit`` does) on ``x`` and compares
    every BatchNormalization layer's moving mean and variance before and after; the
    model's weights are put back afterwards.

    Example:
        >>> import numpy as np
        >>> m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.BatchNormalization()])
        >>> nb02_bn_inference(m, np.ones((4, 3), "float32"))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        tl_helpers.checks.CheckFailed: ❌ Not yet: ...
    """
    answered(model, "ex_model")
    _need(isinstance(model, keras.Model), hint="ex_model should be a keras.Model (inputs -> top blocks -> head).")
    leaves = _leaves(model)
    bns = [layer for layer in leaves if isinstance(layer, keras.layers.BatchNormalization)]
    _need(bool(bns), hint="ex_model contains no BatchNormalization layer: build it on the `top` blocks.")
    convs = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)
    trainable_convs = [layer for layer in leaves if isinstance(layer, convs) and layer.trainable_weights]
    saved = model.get_weights()
    try:
        before = [keras.ops.convert_to_numpy(v) for b in bns for v in (b.moving_mean, b.moving_variance)]
        model(np.asarray(x, "float32"), training=True)
        after = [keras.ops.convert_to_numpy(v) for b in bns for v in (b.moving_mean, b.moving_variance)]
    finally:
        model.set_weights(saved)
    moved = sum(not np.allclose(a, b) for a, b in zip(before, after))
    _need(moved == 0, hint=f"{moved // 2 or 1} BatchNorm layer(s) updated their moving statistics in a "
                            "training-mode call. Is `training=False` enough in this Keras version? What does a "
                            "frozen BatchNormalization layer do?")
    expect(bool(trainable_convs) and model.trainable,
           hint="No convolution of the backbone is trainable: unfreeze the top blocks (but not BatchNorm).",
           success=f"{len(bns)} BatchNorm layers kept their statistics while "
                   f"{len(model.trainable_weights)} weight tensors train")


def nb02_discriminative(optimizer: Any, top: keras.Model, last_block: str, head: keras.Model) -> None:
    """Head at 1e-3, the last block (from ``last_block`` on) at 1e-4, the rest of ``top`` at 1e-5.

    Example:
        >>> nb02_discriminative  # doctest: +ELLIPSIS
        <function nb02_discriminative at ...>
    """
    answered(optimizer, "ex_opt")
    _need(hasattr(optimizer, "multiplier_for"),
           hint="ex_opt should be a training.DiscriminativeAdam (it has per-layer multipliers).")
    base_lr = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    names = [layer.name for layer in top.layers]
    start = names.index(last_block)
    wrong = []
    for i, layer in enumerate(top.layers):
        want = 1e-4 if i >= start else 1e-5
        for w in layer.weights:
            got = base_lr * optimizer.multiplier_for(w.path)
            if not np.isclose(got, want, rtol=1e-3):
                wrong.append(f"{w.path}: {got:.0e}")
    for w in head.weights:
        got = base_lr * optimizer.multiplier_for(w.path)
        if not np.isclose(got, 1e-3, rtol=1e-3):
            wrong.append(f"{w.path}: {got:.0e}")
    expect(not wrong, hint=f"{len(wrong)} weights get the wrong rate, e.g. {wrong[:2]}. The effective rate "
                           "is learning_rate x multiplier; training.layer_multipliers(layers, factor) "
                           "builds a dict for a list of layers, and dicts can be merged with `|`.",
           success="head 1e-3, last block 1e-4, earlier top blocks 1e-5")
