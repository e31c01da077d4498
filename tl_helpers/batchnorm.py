"""Re-estimate BatchNormalization statistics on data: exact, layer by layer, on any backend.

One mechanic serves two lessons. "Precise BN" (notebook 01): a network trained from
scratch on little data has moving averages that lag behind its weights, so its
inference-mode predictions are poor until the statistics are recomputed on the
training images. AdaBN (Li et al. 2016, notebook 03): a source model's statistics are
replaced by those of the unlabelled target data.

Example:
    >>> import keras, numpy as np
    >>> m = keras.Sequential([keras.Input((2,)), keras.layers.BatchNormalization()])
    >>> reestimate_batchnorm(m, np.arange(20, dtype="float32").reshape(10, 2), batch_size=4)
    1
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


def batchnorm_layers(model: keras.Layer) -> list[keras.layers.BatchNormalization]:
    """Every BatchNormalization layer in ``model``, nested models included, in order, each once.

    Example:
        >>> m = keras.Sequential([keras.Input((3,)), keras.layers.BatchNormalization()])
        >>> len(batchnorm_layers(m))
        1
    """
    found = []
    for layer in getattr(model, "layers", []):
        for bn in [layer] if isinstance(layer, keras.layers.BatchNormalization) else batchnorm_layers(layer):
            if not any(bn is f for f in found):
                found.append(bn)
    return found


class _Recorded(Exception):
    """Ends a forward pass once the layer being re-estimated has seen its (only) input."""


def _wrap_calls(bns: list[keras.layers.BatchNormalization], before_call) -> None:
    """Make each ``bn.call`` run ``before_call(bn, inputs)`` first (undo with ``del bn.call``)."""
    for bn in bns:
        def call(inputs, *args, _bn=bn, _original=bn.call, **kwargs):
            before_call(_bn, inputs)
            return _original(inputs, *args, **kwargs)
        bn.call = call


def _calls_per_pass(model: keras.Model, bns: list, x: np.ndarray) -> dict[int, int]:
    """How many times each BN layer is called in one forward pass (shared layers: more than once)."""
    calls = {id(bn): 0 for bn in bns}
    _wrap_calls(bns, lambda bn, inputs: calls.__setitem__(id(bn), calls[id(bn)] + 1))
    try:
        model(x[:1], training=False)
    finally:
        for bn in bns:
            del bn.call
    return calls


def _input_statistics(model: keras.Model, bn: keras.layers.BatchNormalization, x: np.ndarray,
                      batch_size: int, stop_early: bool) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population variance, per channel, of what ``bn`` receives over ALL rows of ``x``.

    Runs ``model`` in inference mode on batches of ``x`` while ``bn.call`` is wrapped to
    accumulate its inputs: each batch's mean and sum of squared deviations on the device, then
    Chan's parallel formula in float64, so the batch order does not matter. With ``stop_early``
    (``bn`` is called once per pass) the pass stops right after ``bn``'s input is recorded.
    """
    count, mean, m2 = 0, 0.0, 0.0

    def record(layer, inputs):
        nonlocal count, mean, m2
        a = ops.cast(inputs, "float32")
        axes = [i for i in range(len(a.shape)) if i != layer.axis % len(a.shape)]
        batch_mean = ops.mean(a, axis=axes, keepdims=True)
        batch_m2 = np.asarray(ops.convert_to_numpy(ops.sum(ops.square(a - batch_mean), axis=axes)), "float64")
        batch_mean = np.asarray(ops.convert_to_numpy(batch_mean), "float64").reshape(-1)
        n = int(np.prod([a.shape[i] for i in axes]))
        delta, total = batch_mean - mean, count + n
        m2 = m2 + batch_m2 + delta ** 2 * count * n / total
        mean, count = mean + delta * n / total, total
        if stop_early:
            raise _Recorded(layer.name)

    _wrap_calls([bn], record)
    try:
        for start in range(0, len(x), batch_size):
            try:
                model(x[start:start + batch_size], training=False)
            except _Recorded:
                pass  # the rest of the forward pass cannot change bn's input
    finally:
        del bn.call
    if count == 0:
        raise ValueError(f"reestimate_batchnorm: BatchNormalization layer {bn.name!r} saw no data: is it part "
                         "of the model's forward pass, and is x non-empty?")
    return mean, m2 / count


def reestimate_batchnorm(model: keras.Model, x: np.ndarray, batch_size: int = 256) -> int:
    """Every BN layer's moving statistics := those of what it receives over ALL rows of ``x``.

    Exact and layer by layer, as in AdaBN's Algorithm 1: for each BatchNormalization layer
    in order, its moving mean and variance become the mean and (population) variance, per
    channel, of its inputs over all of ``x``, in inference mode, with every earlier BN layer
    already re-estimated. Not an average of per-batch statistics (with class-ordered rows
    that underestimates the variance), whatever the batch order or ``batch_size``. No labels,
    no weight changes; works on frozen models (``trainable = False``), since the variables
    are assigned directly. One pass over ``x`` per BN layer, each stopped right after that layer
    (about L/2 full passes for L layers). Returns the number of BN layers.
    Notebook 03 writes the same mechanic for its Sequential encoder in a few lines; the
    tests assert both agree.

    Example:
        >>> m = keras.Sequential([keras.Input((2,)), keras.layers.BatchNormalization()])
        >>> reestimate_batchnorm(m, np.arange(20, dtype="float32").reshape(10, 2), batch_size=4)
        1
        >>> ops.convert_to_numpy(m.layers[0].moving_mean).tolist(), ops.convert_to_numpy(m.layers[0].moving_variance).tolist()
        ([9.0, 10.0], [33.0, 33.0])
    """
    layers = batchnorm_layers(model)
    if not layers:
        raise ValueError("reestimate_batchnorm: the model has no BatchNormalization layer, so there are no "
                         "statistics to re-estimate. Pass the model (or nested model) that holds them.")
    if len(x) == 0:
        raise ValueError("reestimate_batchnorm: x is empty; pass the rows whose statistics the layers should take.")
    calls = _calls_per_pass(model, layers, x)
    for bn in layers:  # in order: each layer's input depends on the (re-estimated) layers before it
        mean, var = _input_statistics(model, bn, x, batch_size, stop_early=calls[id(bn)] == 1)
        bn.moving_mean.assign(mean.astype(bn.moving_mean.dtype))
        bn.moving_variance.assign(var.astype(bn.moving_variance.dtype))
    return len(layers)


__all__ = ["batchnorm_layers", "reestimate_batchnorm"]
