"""Checks for notebook 02 (fine-tuning): the right ``initial_epoch``, an unfreeze loop that keeps
BatchNorm frozen, and per-layer learning rates. Each computes the truth from the run's own objects
(the rates by measuring one step of the learner's optimizer).

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


def _run_quietly(fn: Any) -> Any:
    """Run ``fn()`` with Python warnings silenced (a check writes nothing to stderr)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


def nb02_bn_inference(model: Any, x: np.ndarray, top: keras.Model, first_layer: str) -> None:
    """``model`` trains ``top``'s convolutions from ``first_layer`` on, nothing earlier, no BatchNorm statistics.

    Runs one training-mode forward pass (what ``fit`` does) on ``x`` and compares
    every BatchNormalization layer's moving mean and variance before and after (the
    model's weights are put back afterwards); then checks which of ``top``'s
    convolutions the model trains.

    Example:
        >>> import numpy as np
        >>> top = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="d"),
        ...                         keras.layers.BatchNormalization(name="bn")])
        >>> nb02_bn_inference(top, np.ones((4, 3), "float32"), top, "d")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        tl_helpers.checks.CheckFailed: ❌ Not yet: ...
    """
    answered(model, "ex_model")
    _need(isinstance(model, keras.Model), hint="ex_model should be a keras.Model (inputs -> top blocks -> head).")
    leaves = _leaves(model)
    bns = [layer for layer in leaves if isinstance(layer, keras.layers.BatchNormalization)]
    _need(bool(bns), hint="ex_model contains no BatchNormalization layer: build it on the `top` blocks.")
    saved = model.get_weights()
    try:
        before = [keras.ops.convert_to_numpy(v) for b in bns for v in (b.moving_mean, b.moving_variance)]
        _run_quietly(lambda: model(np.asarray(x, "float32"), training=True))
        after = [keras.ops.convert_to_numpy(v) for b in bns for v in (b.moving_mean, b.moving_variance)]
    except Exception as err:  # noqa: BLE001 - any failure here is the learner's model, say so
        raise CheckFailed(f"❌ Not yet: ex_model could not run on the cached activations ({type(err).__name__}: "
                          f"{str(err)[:120]}). Build it as keras.Input(A_big.shape[1:]) -> top -> head.") from None
    finally:
        model.set_weights(saved)
    moved = sum(not np.allclose(a, b) for a, b in zip(before, after))
    _need(moved == 0, hint=f"{moved // 2 or 1} BatchNorm layer(s) updated their moving statistics in a "
                            "training-mode call. Is `training=False` enough in this Keras version? What does a "
                            "BatchNormalization layer with trainable = False do?")
    trained = {id(w) for w in model.trainable_weights}
    names = [layer.name for layer in top.layers]
    start = names.index(first_layer)
    convs = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense)
    early = [l.name for l in top.layers[:start] if isinstance(l, convs) and any(id(w) in trained for w in l.weights)]
    late = [l.name for l in top.layers[start:] if isinstance(l, convs) and not all(id(w) in trained for w in l.weights)]
    _need(not early, hint=f"{len(early)} layer(s) before {first_layer!r} train too (e.g. {early[0] if early else ''}): "
                          "freeze every layer before the first one you unfreeze.")
    expect(not late, hint=f"{len(late)} convolution(s) from {first_layer!r} on do not train (e.g. "
                          f"{late[0] if late else ''}): are `top` and those layers trainable?",
           success=f"{len(bns)} BatchNorm layers kept their statistics while the layers from {first_layer!r} "
                   f"on train ({len(model.trainable_weights)} weight tensors)")


def _rates(optimizer: Any, variables: list) -> list[float]:
    """The first step ``optimizer`` takes on each variable for a gradient of ones: its effective learning rate
    (Adam's and SGD's first step is exactly the learning rate then). The variables are put back afterwards."""
    saved = [keras.ops.convert_to_numpy(v) for v in variables]
    try:
        _run_quietly(lambda: optimizer.apply([keras.ops.ones(v.shape, dtype=v.dtype) for v in variables], variables))
        return [float(np.mean(np.abs(keras.ops.convert_to_numpy(v) - s))) for v, s in zip(variables, saved)]
    finally:
        for v, s in zip(variables, saved):
            v.assign(s)


def nb02_discriminative(optimizer: Any, top: keras.Model, last_block: str, head: keras.Model) -> None:
    """Head at 1e-3, ``top``'s last block (from ``last_block`` on) at 1e-4, the rest of ``top`` at 1e-5.

    Measures what the optimizer does: one step with a gradient of ones on the
    weights of ``top``'s convolutions and of the head (put back afterwards); the
    size of that step is each weight's learning rate. Works for any optimizer,
    e.g. notebook 02's ``LayerwiseAdam`` or ``training.DiscriminativeAdam``.

    Example:
        >>> d = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="d")])
        >>> [round(r, 4) for r in _rates(keras.optimizers.SGD(0.5), d.weights)]
        [0.5, 0.5]
    """
    answered(optimizer, "ex_opt")
    _need(isinstance(optimizer, keras.optimizers.Optimizer),
          hint="ex_opt should be a Keras optimizer, e.g. LayerwiseAdam(1e-3, ex_factors).")
    names = [layer.name for layer in top.layers]
    start = names.index(last_block)
    want, variables = [], []
    for i, layer in enumerate(top.layers):
        if isinstance(layer, keras.layers.BatchNormalization):
            continue                               # frozen while fine-tuning: their rate does not matter
        for w in layer.weights:
            want.append(1e-4 if i >= start else 1e-5)
            variables.append(w)
    for w in head.weights:
        want.append(1e-3)
        variables.append(w)
    try:
        got = _rates(optimizer, variables)
    except Exception as err:  # noqa: BLE001 - e.g. an optimizer already built for another model's variables
        raise CheckFailed(f"❌ Not yet: ex_opt could not take a step on top's and the head's weights "
                          f"({type(err).__name__}). Create a fresh optimizer in the exercise cell (one not yet "
                          f"used by fit), then run this check.") from None
    wrong = [f"{v.path}: {g:.0e} (want {w:.0e})" for v, g, w in zip(variables, got, want)
             if not np.isclose(g, w, rtol=0.02)]
    expect(not wrong, hint=f"{len(wrong)} of {len(variables)} weights get the wrong rate, e.g. {wrong[:2]}. "
                           "The rate is the base learning rate x the factor of the variable's path; "
                           "layer.weights lists a layer's variables and variable.path names each.",
           success="head 1e-3, last block 1e-4, earlier top blocks 1e-5")
