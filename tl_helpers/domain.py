"""Domain adaptation building blocks: gradient reversal (DANN), CORAL, balanced batches.

AdaBN is :func:`tl_helpers.batchnorm.reestimate_batchnorm` on the target data.

Everything is ``keras.ops`` + Keras layers, so it runs on TensorFlow, JAX and
PyTorch. The data side (the MNIST-M-style target domain, cached features) lives
in :mod:`tl_helpers.data.domains`.

Example:
    >>> import numpy as np
    >>> round(dann_lambda(1.0), 3)
    1.0
    >>> gap_closed(method=0.6, source_only=0.5, oracle=0.7)
    0.5
"""

from __future__ import annotations

import math
from typing import Any, Iterator, Sequence

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
                     seed: int = 0, domain_head: bool = True) -> Iterator[tuple]:
    """Endless DANN/CORAL batches: first half labelled source rows, second half unlabelled target rows.

    Each pass draws a fresh random order of both domains and yields
    ``min(len(x_source), len(x_target)) // (batch_size // 2)`` batches, then starts a new pass.
    Yields ``(x, (y_label, is_target), (w_label, w_domain))``: ``is_target`` is 0 on source rows,
    1 on target rows (shape ``(batch, 1)``); ``w_label`` is 2 on source rows and 0 on target
    rows, so the label loss never sees a target label (its placeholder label is 0) and, averaged
    over the whole batch, is the mean over the source rows. ``domain_head=False`` yields
    ``(x, y_label, w_label)`` for a single-output model (e.g. CORAL). This is the notebook's
    generator (notebook 03, section 5); the tests assert both give the same batches.

    Example:
        >>> x, (y, dom), (w, _) = next(balanced_batches(np.zeros((6, 2)), np.arange(6), np.ones((5, 2)), 4))
        >>> dom.ravel().tolist(), w.tolist()
        ([0.0, 0.0, 1.0, 1.0], [2.0, 2.0, 0.0, 0.0])
    """
    if batch_size % 2 or batch_size < 2:
        raise ValueError(f"batch_size must be even (half source, half target); got {batch_size}.")
    half, rng = batch_size // 2, np.random.default_rng(seed)
    if len(x_source) < half or len(x_target) < half or len(x_source) != len(y_source):
        raise ValueError(f"Need at least batch_size/2 = {half} labelled source rows and {half} unlabelled "
                         f"target rows; got {len(x_source)} source images, {len(y_source)} source labels and "
                         f"{len(x_target)} target images. Use a smaller batch_size.")
    w_label = np.r_[np.full(half, 2.0), np.zeros(half)].astype("float32")
    is_target = np.r_[np.zeros(half), np.ones(half)].astype("float32")[:, None]
    while True:
        s, t = rng.permutation(len(x_source)), rng.permutation(len(x_target))
        for i in range(0, min(len(s), len(t)) - half + 1, half):
            x = np.concatenate([x_source[s[i:i + half]], x_target[t[i:i + half]]])
            y = np.concatenate([y_source[s[i:i + half]], np.zeros(half, y_source.dtype)])
            yield (x, (y, is_target), (w_label, np.ones(batch_size, "float32"))) if domain_head else (x, y, w_label)


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


def gaps_closed(method: Sequence[float], source_only: Sequence[float], oracle: Sequence[float]) -> list[float] | None:
    """:func:`gap_closed` seed by seed (paired runs), or ``None`` when some oracle does not beat source-only.

    Example:
        >>> gaps_closed([0.6, 0.7], [0.5, 0.5], [0.7, 0.9])
        [0.5, 0.5]
        >>> gaps_closed([0.6], [0.5], [0.5]) is None
        True
    """
    if not len(method) == len(source_only) == len(oracle):
        raise ValueError(f"gaps_closed pairs runs seed by seed: got {len(method)} method, {len(source_only)} "
                         f"source-only and {len(oracle)} oracle accuracies.")
    if any(o <= s for s, o in zip(source_only, oracle)):
        return None
    return [gap_closed(m, s, o) for m, s, o in zip(method, source_only, oracle)]


def chance_note(accuracies: Sequence[float], what: str, chance: float = 0.5) -> str:
    """One honest sentence: how far a domain classifier's accuracy (over seeds) is from chance.

    "Near chance" needs the mean within ``max(0.05, 2 standard errors)`` of ``chance``;
    anything above is called separable, whatever it fell from. On the smoke track the
    sentence says the numbers are not meaningful.

    Example:
        >>> chance_note([0.80, 0.78, 0.79], "probe").startswith(
        ...     "probe: 0.790 ± 0.010 (3 seeds), still far above chance (0.5): the domains stay separable.")
        True
        >>> "within 0.05 of chance (0.5): the domains are hard to tell apart." in chance_note([0.52, 0.50, 0.51], "probe")
        True
    """
    from .results import Runs, smoke_note

    runs = Runs.of(accuracies)
    margin = max(0.05, 2 * runs.se)
    where = (f"still far above chance ({chance:g}): the domains stay separable" if runs.mean - chance > margin
             else f"within {margin:.2f} of chance ({chance:g}): the domains are hard to tell apart")
    return f"{what}: {runs}, {where}." + (f" {smoke_note()}" if smoke_note() else "")
