"""Domain adaptation building blocks: gradient reversal (DANN), CORAL, AdaBN, balanced batches.

Everything is ``keras.ops`` + Keras layers, so it runs on TensorFlow, JAX and
PyTorch. The data side (the MNIST-M-style target domain, cached features) lives
in :mod:`tl_helpers.domain_data`.

Example:
    >>> import numpy as np
    >>> round(dann_lambda(1.0), 3)
    1.0
    >>> gap_closed(method=0.6, source_only=0.5, oracle=0.7)
    0.5
"""

from __future__ import annotations

import math
from typing import Any, Iterator

import keras
import numpy as np
from keras import ops


# ------------------------------------------------------------------ DANN
class GradientReversal(keras.layers.Layer):
    """Identity on the way forward, gradient times ``-lam`` on the way back (Ganin & Lempitsky 2015).

    ``y = stop_gradient((1 + lam) * x) - lam * x`` is the textbook one-liner: the forward
    value is ``x`` and only the ``-lam * x`` term passes a gradient. In float16 (mixed
    precision on a GPU) that difference is not exactly ``x``, so we write the same idea as
    ``stop_gradient(x) + (r - stop_gradient(r))`` with ``r = -lam * x``: forward ``x + 0``
    exactly in any precision, gradient ``-lam``. ``lam`` is a ``keras.Variable``
    (not a Python float, which a compiled train step would bake in as a constant),
    so a callback can ramp it during ``fit``.

    Example:
        >>> grl = GradientReversal(lam=0.5)
        >>> ops.convert_to_numpy(grl(np.array([[1.0, -2.0]], "float32"))).tolist()
        [[1.0, -2.0]]
    """

    def __init__(self, lam: float = 1.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.lam = self.add_weight(shape=(), initializer=keras.initializers.Constant(lam),
                                   trainable=False, name="lam")

    def call(self, x):
        lam = ops.cast(self.lam, x.dtype)
        reversed_ = -lam * x                    # carries the gradient -lam
        return ops.stop_gradient(x) + (reversed_ - ops.stop_gradient(reversed_))   # forward: x + 0

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "lam": float(ops.convert_to_numpy(self.lam))}


def dann_lambda(progress: float, ceiling: float = 1.0, gamma: float = 10.0) -> float:
    """The DANN paper's ramp ``ceiling * (2 / (1 + exp(-gamma * p)) - 1)`` for training progress p in [0, 1].

    It starts at 0 (the features are still noise, so do not fight the discriminator yet)
    and approaches ``ceiling``.

    Example:
        >>> dann_lambda(0.0), round(dann_lambda(0.5), 3), round(dann_lambda(1.0, ceiling=0.3), 3)
        (0.0, 0.987, 0.3)
    """
    if not 0.0 <= progress <= 1.0:
        raise ValueError(f"progress must be in [0, 1] (step / total_steps); got {progress}.")
    return ceiling * (2.0 / (1.0 + math.exp(-gamma * progress)) - 1.0)


class LambdaRamp(keras.callbacks.Callback):
    """Set ``variable`` to ``dann_lambda(step / total_steps, ceiling, gamma)`` before every batch.

    Keeps λ per step in ``self.values`` and the running training logs per step in
    ``self.logs`` (for :func:`dann_curves`). Works on every backend (on JAX the
    trainer's state is synced first, so the new value is seen).

    Example:
        >>> v = keras.Variable(0.0, trainable=False)
        >>> ramp = LambdaRamp(v, total_steps=2)
        >>> for step in range(3):
        ...     ramp.on_train_batch_begin(step)
        >>> [round(x, 3) for x in ramp.values]
        [0.0, 0.987, 1.0]
    """

    def __init__(self, variable: keras.Variable, total_steps: int, ceiling: float = 1.0, gamma: float = 10.0):
        super().__init__()
        if total_steps < 1:
            raise ValueError(f"total_steps must be >= 1 (epochs * steps_per_epoch); got {total_steps}.")
        self.variable, self.total_steps, self.ceiling, self.gamma = variable, total_steps, ceiling, gamma
        self.step, self.values, self.logs = 0, [], {}

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        if getattr(self, "_model", None) is not None:
            _ = self.model  # on JAX, reading .model writes the trainer's state back into the variables
        value = dann_lambda(min(self.step / self.total_steps, 1.0), self.ceiling, self.gamma)
        self.variable.assign(value)
        self.values.append(value)
        self.step += 1

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        for key, val in (logs or {}).items():
            self.logs.setdefault(key, []).append(float(val))


def balanced_batches(x_source: np.ndarray, y_source: np.ndarray, x_target: np.ndarray, batch_size: int,
                     steps: int, seed: int = 0, with_domain: bool = True) -> Iterator[tuple]:
    """Endless DANN/CORAL batches: first half source, second half target (labels unused there).

    Yields ``(x, (y_label, y_domain), (w_label, w_domain))``: ``y_domain`` is 0 for source
    rows and 1 for target rows; ``w_label`` is 0 on target rows, so the label loss
    never sees a target label. ``with_domain=False`` yields ``(x, y_label, w_label)`` for a
    single-output model (e.g. CORAL). Use with ``model.fit(..., steps_per_epoch=steps)``.

    Example:
        >>> x, (y, dom), (w, _) = next(balanced_batches(np.zeros((6, 2)), np.arange(6), np.ones((5, 2)), 4, 1))
        >>> dom.ravel().tolist(), w.tolist()
        ([0.0, 0.0, 1.0, 1.0], [2.0, 2.0, 0.0, 0.0])
    """
    if batch_size % 2 or batch_size < 2:
        raise ValueError(f"batch_size must be even (half source, half target); got {batch_size}.")
    half, rng = batch_size // 2, np.random.default_rng(seed)
    if len(x_source) == 0 or len(x_target) == 0 or len(x_source) != len(y_source):
        raise ValueError(f"Need labelled source rows and unlabelled target rows; got {len(x_source)} source "
                         f"images, {len(y_source)} source labels and {len(x_target)} target images.")
    dom = np.concatenate([np.zeros(half), np.ones(half)]).astype("float32")[:, None]
    w_label = np.concatenate([np.full(half, 2.0), np.zeros(half)]).astype("float32")  # mean over source rows
    ps, pt, i = rng.permutation(len(x_source)), rng.permutation(len(x_target)), 0
    while True:
        for _ in range(steps):
            s = ps[(i * half + np.arange(half)) % len(ps)]
            t = pt[(i * half + np.arange(half)) % len(pt)]
            i += 1
            y = np.concatenate([y_source[s], np.zeros(half, y_source.dtype)])
            x = np.concatenate([x_source[s], x_target[t]])
            yield (x, (y, dom), (w_label, np.ones(batch_size, "float32"))) if with_domain else (x, y, w_label)
        ps, pt = rng.permutation(len(x_source)), rng.permutation(len(x_target))


def dann_curves(ramp: LambdaRamp, label_loss: str = "label_loss", domain_loss: str = "domain_loss",
                domain_acc: str = "domain_accuracy"):
    """Three panels per training step: task loss, domain loss, domain accuracy (with λ).

    Domain accuracy near 0.5 means the discriminator cannot tell the domains apart
    (aligned features); pinned at 1.0 (or at 0.5 from the first step) means trouble.

    Example:
        >>> r = LambdaRamp(keras.Variable(0.0, trainable=False), total_steps=2)
        >>> r.values = [0.0, 0.5]
        >>> r.logs = {"label_loss": [2, 1], "domain_loss": [.7, .6], "domain_accuracy": [.9, .6]}
        >>> len(dann_curves(r).axes)
        4
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    for ax, key, title in zip(axes, (label_loss, domain_loss, domain_acc),
                              ("task (label) loss, source rows", "domain loss", "domain accuracy")):
        if key not in ramp.logs:
            raise KeyError(f"No {key!r} in the logged metrics {sorted(ramp.logs)}: name the model outputs "
                           "'label' and 'domain' and compile with a domain 'accuracy' metric.")
        ax.plot(ramp.logs[key], lw=1)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step (running mean within each epoch)")
    axes[2].axhline(0.5, color="gray", ls=":", lw=1)
    twin = axes[2].twinx()
    twin.plot(ramp.values, color="tab:red", lw=1, alpha=0.7)
    twin.set_ylabel("λ", color="tab:red")
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------ CORAL
def covariance(f):
    """Unbiased feature covariance ``(d, d)`` of a batch ``f`` of shape ``(n, d)``.

    Example:
        >>> ops.convert_to_numpy(covariance(np.array([[1.0, 0.0], [-1.0, 0.0]], "float32"))).tolist()
        [[2.0, 0.0], [0.0, 0.0]]
    """
    f = ops.convert_to_tensor(f)
    n = ops.cast(ops.shape(f)[0], f.dtype)
    centred = f - ops.mean(f, axis=0, keepdims=True)
    return ops.matmul(ops.transpose(centred), centred) / (n - 1.0)


def coral_loss(source, target):
    """Deep CORAL (Sun & Saenko 2016): ``||C_s - C_t||_F^2 / (4 d^2)`` between feature covariances.

    Example:
        >>> f = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
        >>> float(coral_loss(f, f))
        0.0
    """
    source, target = ops.convert_to_tensor(source), ops.convert_to_tensor(target)
    d = ops.cast(ops.shape(source)[1], source.dtype)
    return ops.sum(ops.square(covariance(source) - covariance(target))) / (4.0 * d * d)


class CoralPenalty(keras.layers.Layer):
    """Pass features through unchanged and ``add_loss(weight * coral_loss(first half, second half))``.

    For balanced batches (see :func:`balanced_batches`): source rows first, target rows second.
    Outside training it adds nothing.

    Example:
        >>> layer = CoralPenalty(weight=1.0)
        >>> tuple(layer(np.ones((4, 2), "float32")).shape)
        (4, 2)
    """

    def __init__(self, weight: float = 1.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.weight = weight

    def call(self, features, training=None):
        if training:
            half = ops.shape(features)[0] // 2
            self.add_loss(self.weight * coral_loss(features[:half], features[half:]))
        return features

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "weight": self.weight}


# ------------------------------------------------------------------ AdaBN
def batchnorm_layers(model: keras.Layer) -> list[keras.layers.BatchNormalization]:
    """Every BatchNormalization layer in ``model``, nested models included, in order.

    Example:
        >>> m = keras.Sequential([keras.Input((3,)), keras.layers.BatchNormalization()])
        >>> len(batchnorm_layers(m))
        1
    """
    found = []
    for layer in getattr(model, "layers", []):
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer)
        else:
            found += batchnorm_layers(layer)
    return found


def adapt_batchnorm(model: keras.Model, x: np.ndarray, batch_size: int = 256) -> int:
    """AdaBN (Li et al. 2016): replace every BN layer's moving statistics by the target data's.

    Forward passes only, no labels, no weight changes: each BN's moving mean and
    variance become the running average over ``x``'s batches, weighted by batch size
    (momentum ``seen / (seen + n)``), so the moving mean is the exact mean over ``x``
    for the first BN layer. Returns the number of BN layers adapted.

    Example:
        >>> m = keras.Sequential([keras.Input((2,)), keras.layers.BatchNormalization()])
        >>> adapt_batchnorm(m, np.arange(20, dtype="float32").reshape(10, 2), batch_size=4)
        1
        >>> ops.convert_to_numpy(m.layers[0].moving_mean).tolist()
        [9.0, 10.0]
    """
    layers = batchnorm_layers(model)
    if not layers:
        raise ValueError("adapt_batchnorm: the model has no BatchNormalization layer, so AdaBN has "
                         "nothing to re-estimate. Add BatchNormalization to the part you want to adapt.")
    saved = [(bn.momentum, bn.trainable) for bn in layers]
    try:
        seen = 0
        for start in range(0, len(x), batch_size):
            batch = x[start:start + batch_size]
            for bn in layers:  # keep seen/(seen+n) of the old estimate: an exact running mean
                bn.momentum, bn.trainable = seen / (seen + len(batch)), True
            model(batch, training=True)
            seen += len(batch)
    finally:
        for bn, (momentum, trainable) in zip(layers, saved):
            bn.momentum, bn.trainable = momentum, trainable
    return len(layers)


# ------------------------------------------------------------------ metric
def gap_closed(method: float, source_only: float, oracle: float) -> float:
    """The fraction of the domain gap a method closes: ``(method - source_only) / (oracle - source_only)``.

    0 = no better than training on the source alone; 1 = as good as the oracle trained
    on labelled target data; negative = it hurt.

    Example:
        >>> gap_closed(0.55, 0.5, 0.6)
        0.5
    """
    if oracle <= source_only:
        raise ValueError(f"oracle ({oracle:.3f}) must beat source-only ({source_only:.3f}) for a gap to "
                         "exist; with no gap, 'gap closed' is undefined (train the oracle longer?).")
    return round((method - source_only) / (oracle - source_only), 6)
