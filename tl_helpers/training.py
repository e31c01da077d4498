"""Fine-tuning chores: split a backbone, cache its frozen bottom, unfreeze, per-layer learning rates.

* :func:`split_at` cuts a backbone into a frozen ``bottom`` and a trainable ``top``
  that SHARE the backbone's layers (training the top updates the backbone).
* the frozen bottom runs once over the images through the course's one cache
  (:func:`tl_helpers.features.cached_features`), so top-block fine-tuning trains on
  small activation maps instead of pixels.
* :func:`unfreeze_from` freezes everything before a layer and unfreezes the rest,
  BatchNorm kept frozen (notebook 02 writes the same loop in a cell; a test keeps them equal).
* :class:`DiscriminativeAdam` / :class:`DiscriminativeSGD`: one optimizer, a
  learning-rate multiplier per layer (Keras 3 has no parameter groups); the reusable
  version of notebook 02's in-cell ``LayerwiseAdam`` (a test keeps their updates equal).
* :func:`snapshot` / :func:`join_histories` / :func:`weight_drift`: restore a
  starting point, plot two training phases on one axis, measure how far weights moved.

Example:
    >>> import keras, numpy as np
    >>> base = keras.applications.MobileNet(input_shape=(32, 32, 3), alpha=0.25, include_top=False,
    ...                                     weights=None, pooling="avg")
    >>> bottom, top = split_at(base, "conv_pad_12")
    >>> bottom.output_shape, top.output_shape
    ((None, 2, 2, 128), (None, 256))
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import keras
import numpy as np


#: per backbone: the first layer of its last two stages (stride 16 and 32), of its last stage, of its last block.
TOP_BLOCKS = {
    "mobilenet_025": {"last two stages": "conv_dw_7", "last stage": "conv_pad_12", "last block": "conv_dw_13"},
    "mobilenet_v2": {"last two stages": "block_10_expand", "last stage": "block_13_expand",
                     "last block": "block_16_expand"},
}


# ------------------------------------------------------------------ splitting & caching
def split_at(base: keras.Model, layer_name: str) -> tuple[keras.Model, keras.Model]:
    """``(bottom, top)``: ``base`` cut just before ``layer_name``; ``top(bottom(x)) == base(x)``.

    Both halves reuse ``base``'s layer objects, so training ``top`` changes ``base``.
    The cut must separate the graph (no skip connection may jump over it).

    Example:
        >>> import keras, numpy as np
        >>> base = keras.applications.MobileNet(input_shape=(32, 32, 3), alpha=0.25, include_top=False,
        ...                                     weights=None, pooling="avg")
        >>> bottom, top = split_at(base, "conv_dw_13")
        >>> x = np.random.rand(2, 32, 32, 3).astype("float32")
        >>> bool(np.allclose(top.predict(bottom.predict(x, verbose=0), verbose=0), base.predict(x, verbose=0), atol=1e-5))
        True
    """
    names = [layer.name for layer in base.layers]
    if layer_name not in names:
        raise ValueError(f"{base.name!r} has no layer {layer_name!r}. Pick one of its layer names, "
                         f"e.g. {names[-12:]} (see base.summary()).")
    cut = base.get_layer(layer_name).input
    if isinstance(cut, (list, tuple)):
        raise ValueError(f"Layer {layer_name!r} takes several inputs (a skip connection joins there); "
                         f"cut at the first layer of a block instead.")
    try:
        top = keras.Model(cut, base.output, name=f"{base.name}_top")
    except ValueError as err:
        raise ValueError(f"Cannot cut {base.name!r} before {layer_name!r}: a skip connection jumps over "
                         f"the cut ({err}). Cut at the first layer of a block instead.") from err
    bottom = keras.Model(base.input, cut, name=f"{base.name}_bottom")
    return bottom, top


# ------------------------------------------------------------------ freezing
def unfreeze_from(model: keras.Model, layer_name: str | None, freeze_batchnorm: bool = True) -> int:
    """Freeze every layer of ``model`` before ``layer_name``, unfreeze it and those after.

    ``freeze_batchnorm=True`` keeps every ``BatchNormalization`` layer frozen: a frozen
    BN layer always runs in inference mode (its ImageNet moving statistics), even
    when the model trains. ``layer_name=None`` freezes the whole model. Returns the
    number of trainable parameters.

    Example:
        >>> import keras
        >>> m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="a"),
        ...                       keras.layers.BatchNormalization(name="bn"), keras.layers.Dense(2, name="b")])
        >>> unfreeze_from(m, "b"), unfreeze_from(m, "a"), unfreeze_from(m, "a", freeze_batchnorm=False)
        (8, 23, 29)
        >>> unfreeze_from(m, None)
        0
    """
    names = [layer.name for layer in model.layers]
    if layer_name is not None and layer_name not in names:
        raise ValueError(f"{model.name!r} has no layer {layer_name!r}; its last layers are {names[-8:]}.")
    start = len(names) if layer_name is None else names.index(layer_name)
    model.trainable = True
    for i, layer in enumerate(model.layers):
        is_bn = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = i >= start and not (freeze_batchnorm and is_bn)
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


# ------------------------------------------------------------------ discriminative learning rates
def _matches(path: str, key: str) -> bool:
    return path == key or path.startswith(key + "/") or key in path.split("/")


class LRMultiplierMixin:
    """Scale the learning rate per variable: ``multipliers = {layer name or path prefix: factor}``.

    Mix into any Keras optimizer (before it in the bases). Keras calls
    ``update_step(gradient, variable, learning_rate)`` once per variable on every
    backend, so scaling ``learning_rate`` there gives per-layer step sizes.
    Unlisted variables use factor ``default``. (Scaling the *gradient* instead
    would do nothing under Adam, which divides the gradient by its own scale.)

    Example:
        >>> opt = DiscriminativeSGD(0.1, multipliers={"base": 0.01})
        >>> opt.multiplier_for("base/kernel"), opt.multiplier_for("head/kernel")
        (0.01, 1.0)
    """

    def __init__(self, *args: Any, multipliers: dict[str, float] | None = None, default: float = 1.0,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.multipliers = {str(k): float(v) for k, v in (multipliers or {}).items()}
        self.default = float(default)
        bad = {k: v for k, v in self.multipliers.items() if not v >= 0}
        if bad:
            raise ValueError(f"Learning-rate multipliers must be >= 0; got {bad}.")
        self._factors: list[float] = []

    def multiplier_for(self, path: str) -> float:
        """The factor for a variable path (the first matching key wins)."""
        for key, factor in self.multipliers.items():
            if _matches(path, key):
                return factor
        return self.default

    def build(self, var_list: Sequence[Any]) -> None:
        super().build(var_list)
        self._factors = [self.multiplier_for(v.path) for v in var_list]

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        factor = self._factors[self._get_variable_index(variable)]
        super().update_step(gradient, variable, learning_rate * factor)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "multipliers": self.multipliers, "default": self.default}


class DiscriminativeAdam(LRMultiplierMixin, keras.optimizers.Adam):
    """Adam with per-layer learning-rate multipliers (see :class:`LRMultiplierMixin`).

    Example:
        >>> opt = DiscriminativeAdam(1e-3, multipliers={"conv_dw_13": 0.1})
        >>> opt.multiplier_for("conv_dw_13/kernel")
        0.1
    """


class DiscriminativeSGD(LRMultiplierMixin, keras.optimizers.SGD):
    """SGD with per-layer learning-rate multipliers (see :class:`LRMultiplierMixin`).

    Example:
        >>> DiscriminativeSGD(0.1, multipliers={"a": 0.5}).multiplier_for("a/bias")
        0.5
    """


def layer_multipliers(layers: Sequence[keras.layers.Layer], factor: float) -> dict[str, float]:
    """``{layer.name: factor}`` for the layers (and nested layers) that hold weights.

    Example:
        >>> import keras
        >>> m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="d")])
        >>> layer_multipliers(m.layers, 0.1)
        {'d': 0.1}
    """
    out: dict[str, float] = {}
    for layer in layers:
        inner = getattr(layer, "layers", None)
        if inner:
            out.update(layer_multipliers(inner, factor))
        elif layer.weights:
            out[layer.name] = float(factor)
    return out


# ------------------------------------------------------------------ bookkeeping
def snapshot(*models: keras.Model) -> Callable[..., None]:
    """Remember the models' weights now; the returned function puts them back.

    Call it with other models of the same architectures to load the saved
    weights into those instead (e.g. a head that was rebuilt since).

    Example:
        >>> import keras, numpy as np
        >>> d = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> restore = snapshot(d); w = d.get_weights()
        >>> d.set_weights([np.ones_like(a) for a in w]); restore()
        >>> bool(np.array_equal(d.get_weights()[0], w[0]))
        True
    """
    saved = [m.get_weights() for m in models]

    def restore(*targets: keras.Model) -> None:
        targets = targets or models
        if len(targets) != len(saved):
            raise ValueError(f"This snapshot holds {len(saved)} models' weights; pass {len(saved)} models "
                             f"(got {len(targets)}), or none to restore the original ones.")
        for m, w in zip(targets, saved):
            m.set_weights(w)

    return restore


def weight_drift(before: Sequence[np.ndarray], after: Sequence[np.ndarray]) -> float:
    """Relative change ``||after - before|| / ||before||`` over all the arrays.

    Example:
        >>> import numpy as np
        >>> weight_drift([np.ones(4)], [np.full(4, 1.5)])
        0.5
    """
    if len(before) != len(after):
        raise ValueError(f"{len(before)} arrays before but {len(after)} after: pass the same model's weights.")
    num = sum(float(np.sum((np.asarray(a, "float64") - np.asarray(b, "float64")) ** 2)) for a, b in zip(after, before))
    den = sum(float(np.sum(np.asarray(b, "float64") ** 2)) for b in before)
    return float(np.sqrt(num / max(den, 1e-12)))


def join_histories(*histories: Any) -> tuple[dict[str, list[float]], list[int]]:
    """Concatenate training phases into one history (1-based ``epoch`` list) + where each phase starts.

    Each phase must have been fitted with ``initial_epoch`` = the number of
    epochs run before it (``len(previous_history.epoch)`` after early stopping);
    a gap or overlap raises. The returned starts are 1-based epoch numbers, ready
    for ``plots.training_curves(markers=...)`` at ``start - 0.5``.

    Example:
        >>> class H:  # what model.fit returns
        ...     def __init__(self, epoch, acc): self.epoch, self.history = epoch, {"accuracy": acc}
        >>> joined, starts = join_histories(H([0, 1], [.5, .6]), H([2, 3, 4], [.7, .8, .9]))
        >>> joined["epoch"], starts
        ([1, 2, 3, 4, 5], [1, 3])
    """
    out: dict[str, list[float]] = {"epoch": []}
    starts = []
    for i, h in enumerate(histories):
        epochs = [int(e) for e in getattr(h, "epoch", range(len(next(iter(h.history.values())))))]
        if not epochs:
            continue
        if out["epoch"] and epochs[0] != out["epoch"][-1]:  # 0-based vs the previous 1-based last epoch
            raise ValueError(f"Phase {i + 1} starts at epoch index {epochs[0]} but {out['epoch'][-1]} epochs ran "
                             f"before it: fit it with initial_epoch={out['epoch'][-1]}.")
        starts.append(epochs[0] + 1)
        out["epoch"] += [e + 1 for e in epochs]
        for k, v in h.history.items():
            out.setdefault(k, [float("nan")] * (len(out["epoch"]) - len(epochs)))
            out[k] += [float(x) for x in v]
        for k in out:  # metrics missing in this phase
            if len(out[k]) < len(out["epoch"]):
                out[k] += [float("nan")] * (len(out["epoch"]) - len(out[k]))
    return out, starts


def format_table(rows: dict[str, dict[str, float]], fmt: str = "{:.3f}") -> str:
    """A plain-text table: one row per key of ``rows``, one column per inner key.

    Example:
        >>> print(format_table({"fe": {"n=100": 0.81, "n=500": 0.84}}))
        method  n=100  n=500
        fe      0.810  0.840
    """
    cols = list(dict.fromkeys(c for r in rows.values() for c in r))
    cells = [["method", *cols]] + [[name, *[fmt.format(r[c]) if c in r else "-" for c in cols]]
                                   for name, r in rows.items()]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells)
