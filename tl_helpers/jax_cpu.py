"""One speed fix for Keras on JAX on a CPU: depthwise convolutions as sums of shifted products.

MobileNet is mostly depthwise convolutions. Keras's JAX backend runs them as one
XLA convolution with ``feature_group_count`` equal to the channel count, and
XLA's CPU compiler has no fast kernel for that: on a 2-core CPU (jax 0.10, Keras
3.15) a 3x3 depthwise convolution over a batch of 64 images of 48x48x16 takes
about 120 ms, against 3.5 ms on TensorFlow and 4 ms written as nine shifted
multiply-adds, which XLA fuses into one loop. For the whole MobileNet at 96 px a
forward pass gets about 8x faster and a training step about 3x.

:func:`enable` swaps Keras's JAX ``depthwise_conv`` for :func:`shifted_depthwise_conv`
(same results up to float rounding, tested against Keras's own). ``config.setup``
calls it on JAX when JAX computes on the CPU, on the lite and full tracks (smoke
runs a few steps per model: there the bigger graph compiles longer than it
saves), and its report says so; set
``TL_JAX_DEPTHWISE=xla`` to keep Keras's own. No model code changes: layers,
weights and saved files are those of plain Keras.

Example:
    >>> import numpy as np
    >>> x, k = np.ones((1, 4, 4, 2), "float32"), np.ones((3, 3, 2, 1), "float32")
    >>> shifted_depthwise_conv(x, k, padding="same")[0, :, :, 0].tolist()  # doctest: +SKIP
    [[4.0, 6.0, 6.0, 4.0], [6.0, 9.0, 9.0, 6.0], [6.0, 9.0, 9.0, 6.0], [4.0, 6.0, 6.0, 4.0]]
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

#: Keras's own JAX depthwise_conv, kept while :func:`enable` has replaced it.
_keras_depthwise_conv: Any = None


def _pair(value: int | Sequence[int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def shifted_depthwise_conv(inputs: Any, kernel: Any, strides: int | Sequence[int] = 1, padding: str = "valid",
                           data_format: str | None = None, dilation_rate: int | Sequence[int] = 1) -> Any:
    """A 2-D depthwise convolution as a sum of ``kh * kw`` shifted, strided slices times the kernel's taps.

    Same arguments and result as ``keras.ops.depthwise_conv`` on JAX (kernel
    ``(kh, kw, channels, multiplier)``, output channel ``c * multiplier + m``).
    Anything it does not cover (channels_first, 1-D or 3-D, padding given as
    numbers) goes to Keras's own implementation.

    Example:
        >>> import numpy as np
        >>> x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
        >>> y = shifted_depthwise_conv(x, np.ones((2, 2, 1, 1), "float32"), strides=2)  # doctest: +SKIP
        >>> y[0, :, :, 0].tolist()  # doctest: +SKIP
        [[10.0, 18.0], [42.0, 50.0]]
    """
    import keras
    from jax import lax
    import jax.numpy as jnp

    data_format = data_format or keras.config.image_data_format()
    x, k = keras.ops.convert_to_tensor(inputs), keras.ops.convert_to_tensor(kernel)
    if (data_format != "channels_last" or x.ndim != 4 or k.ndim != 4 or not isinstance(padding, str)
            or k.shape[2] != x.shape[-1]):
        return (_keras_depthwise_conv or _keras_nn().depthwise_conv)(
            inputs, kernel, strides=strides, padding=padding, data_format=data_format, dilation_rate=dilation_rate)
    (sh, sw), (dh, dw) = _pair(strides), _pair(dilation_rate)
    kh, kw, channels, multiplier = k.shape
    span = ((kh - 1) * dh + 1, (kw - 1) * dw + 1)
    pads = lax.padtype_to_pads(x.shape[1:3], span, (sh, sw), padding.upper())
    x = jnp.pad(x, ((0, 0), tuple(pads[0]), tuple(pads[1]), (0, 0)))
    out_h, out_w = (x.shape[1] - span[0]) // sh + 1, (x.shape[2] - span[1]) // sw + 1
    out = None
    for i in range(kh):
        for j in range(kw):
            top, left = i * dh, j * dw
            patch = lax.slice(x, (0, top, left, 0),
                              (x.shape[0], top + (out_h - 1) * sh + 1, left + (out_w - 1) * sw + 1, channels),
                              (1, sh, sw, 1))
            term = patch * k[i, j, :, 0] if multiplier == 1 else patch[..., None] * k[i, j]
            out = term if out is None else out + term
    return out if multiplier == 1 else out.reshape(out.shape[:3] + (channels * multiplier,))


def _keras_nn() -> Any:
    from keras.src.backend.jax import nn

    return nn


def enable() -> str:
    """Use :func:`shifted_depthwise_conv` for Keras's depthwise convolutions on JAX, if it applies here.

    Applies only when Keras runs on JAX, JAX computes on the CPU and
    ``TL_JAX_DEPTHWISE`` is not ``xla``. Returns a sentence for the setup report
    ("" when nothing changed). Calling it twice changes nothing more.

    Example:
        >>> isinstance(enable(), str)
        True
    """
    global _keras_depthwise_conv
    import keras

    if keras.backend.backend() != "jax" or os.environ.get("TL_JAX_DEPTHWISE", "").lower() == "xla":
        return ""
    import jax

    if jax.default_backend() != "cpu":
        return ""
    nn = _keras_nn()
    if _keras_depthwise_conv is None:
        if not callable(getattr(nn, "depthwise_conv", None)):  # a Keras that moved it: run it as it is
            return ""
        _keras_depthwise_conv = nn.depthwise_conv
        nn.depthwise_conv = shifted_depthwise_conv
    return note()


def note() -> str:
    """The setup report's sentence while :func:`enable` is in force, else "".

    Example:
        >>> disable(); note()
        ''
    """
    if _keras_depthwise_conv is None:
        return ""
    return ("JAX on CPU: depthwise convolutions run as sums of shifted products (tl_helpers.jax_cpu; "
            "XLA's grouped convolution is several times slower here); TL_JAX_DEPTHWISE=xla keeps Keras's own")


def disable() -> None:
    """Give Keras its own JAX depthwise convolution back (after :func:`enable`).

    Example:
        >>> disable()
    """
    global _keras_depthwise_conv
    if _keras_depthwise_conv is not None:
        _keras_nn().depthwise_conv = _keras_depthwise_conv
        _keras_depthwise_conv = None
