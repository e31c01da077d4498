"""Gradients on any Keras 3 backend (TensorFlow, JAX, PyTorch) behind one function.

Keras 3 model code is backend-portable through ``keras.ops``, but taking a
gradient is not part of ``keras.ops``. Grad-CAM, gradient-conflict diagnostics
and the tests of a gradient reversal layer all need one, so this module hides
the three backends' ways of asking for it.

Example:
    >>> import numpy as np, keras
    >>> v = keras.Variable(np.array([1.0, 2.0], "float32"))
    >>> loss, (g,) = value_and_grads(lambda: keras.ops.sum(v * v), [v])
    >>> np.asarray(g).tolist()
    [2.0, 4.0]
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import keras
import numpy as np


def value_and_grads(fn: Callable[[], Any], variables: Sequence[keras.Variable]) -> tuple[Any, list[Any]]:
    """Evaluate ``fn()`` (a scalar) and its gradient with respect to ``variables``.

    Example:
        >>> w = keras.Variable(3.0)
        >>> float(value_and_grads(lambda: w * w, [w])[1][0])
        6.0
    """
    backend = keras.backend.backend()
    variables = list(variables)
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            value = fn()
        grads = tape.gradient(value, [v.value for v in variables])
    elif backend == "jax":
        import jax

        def pure(values):
            # Inside a StatelessScope, reading a variable returns the traced value.
            with keras.StatelessScope(state_mapping=list(zip(variables, values))):
                return fn()

        value, grads = jax.value_and_grad(pure)([v.value for v in variables])
    elif backend == "torch":
        import torch

        for v in variables:
            v.value.grad = None
        value = fn()
        grads = torch.autograd.grad(value, [v.value for v in variables], allow_unused=True)
    else:  # pragma: no cover
        raise NotImplementedError(f"Gradients are not implemented for the {backend!r} backend.")
    grads = [keras.ops.zeros_like(v) if g is None else g for v, g in zip(variables, grads)]
    return value, grads


def input_gradient(fn: Callable[[Any], Any], x: Any) -> tuple[Any, Any]:
    """``fn(x)`` (a scalar) and its gradient with respect to the input tensor ``x``.

    Example:
        >>> val, g = input_gradient(lambda t: keras.ops.sum(t ** 2), np.array([1.0, -1.0], "float32"))
        >>> np.asarray(g).tolist()
        [2.0, -2.0]
    """
    var = keras.Variable(keras.ops.convert_to_tensor(x), trainable=True)
    value, (grad,) = value_and_grads(lambda: fn(var.value), [var])
    return value, grad


def to_numpy(x: Any) -> np.ndarray:
    """A backend tensor (or list of them) as numpy.

    Example:
        >>> to_numpy(keras.ops.ones((2,))).tolist()
        [1.0, 1.0]
    """
    return keras.ops.convert_to_numpy(x)
