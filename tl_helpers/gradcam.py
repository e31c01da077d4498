"""Grad-CAM: where in the image does a classifier look? (Selvaraju et al., 2017)

The class score's gradient with respect to the last convolutional feature map,
averaged over space, weighs that map's channels; the ReLU of the weighted sum
is the heat map. Works for the course's models: ``inputs -> [layers] -> base
(a nested Keras Applications model) -> [head layers]``, or a flat model whose
last 4-D layer is followed by a chain of layers. Backend-portable (keras.ops
plus :mod:`tl_helpers.autodiff`).

Example:
    >>> import numpy as np, keras
    >>> base = keras.applications.MobileNet(input_shape=(64, 64, 3), alpha=0.25, include_top=False,
    ...                                     weights=None, pooling="avg")
    >>> inp = keras.Input((64, 64, 3)); out = keras.layers.Dense(3, activation="softmax")(base(inp))
    >>> heat = grad_cam(keras.Model(inp, out), np.random.rand(2, 64, 64, 3).astype("float32"))
    >>> heat.shape, float(heat.min()) >= 0.0, float(heat.max()) <= 1.0
    ((2, 64, 64), True, True)
"""

from __future__ import annotations

from typing import Sequence

import keras
import numpy as np
from keras import ops

from .autodiff import input_gradient


def _has_map(layer) -> bool:
    return any(len(l.output.shape) == 4 for l in getattr(layer, "layers", []) if not isinstance(l, keras.layers.InputLayer))


def _parts(model: keras.Model, layer_name: str | None = None):
    """Split a model into (layers before the conv map, conv-map model, layers after)."""
    layers = [l for l in model.layers if not isinstance(l, keras.layers.InputLayer)]
    # the base: the last nested model with a 4-D feature map (a Sequential head has none)
    nested = [i for i, l in enumerate(layers) if isinstance(l, keras.Model) and _has_map(l)]
    base, before, after = (layers[nested[-1]], layers[:nested[-1]], layers[nested[-1] + 1:]) if nested \
        else (model, [], [])
    inner = [l for l in base.layers if not isinstance(l, keras.layers.InputLayer)]
    four_d = [i for i, l in enumerate(inner) if len(l.output.shape) == 4]
    if layer_name is not None:
        names = [inner[i].name for i in four_d]
        if layer_name not in names:
            raise ValueError(f"{layer_name!r} is not a 4-D layer of {base.name!r}; choose one of: {', '.join(names)}.")
        four_d = [i for i in four_d if inner[i].name == layer_name]
    if not four_d:
        raise ValueError(f"Grad-CAM needs a convolutional feature map, but {base.name!r} has no 4-D layer.")
    cut = four_d[-1]
    rest = inner[cut + 1:]
    if layer_name is not None:  # the layers after an earlier map must form a chain to be replayed
        rest = [keras.Model(inner[cut].output, base.output)] if len(rest) else []
    return before, keras.Model(base.inputs, inner[cut].output), rest + after


SCALES = ("each", "shared", "probability")


def grad_cam(model: keras.Model, images: np.ndarray, class_index: int | Sequence[int] | None = None,
             layer_name: str | None = None, scale: str = "each") -> np.ndarray:
    """Heat maps ``(n, h, w)`` in [0, 1] for ``images`` (already model-ready floats).

    ``class_index``: one class for all images, one per image, or None (the
    predicted class). ``layer_name``: an earlier 4-D layer of the base for a
    finer (but less class-specific) map; default: the last one.

    ``scale`` sets what the colours of different images mean:

    * ``"each"``: every map is scaled to a maximum of 1 on its own (where the
      model looks, whatever its confidence: an image the class is nearly
      absent from still gets a red spot);
    * ``"shared"``: one scale for all ``images`` (the largest value of all).
      With a softmax model the score is the log-probability, whose gradient
      fades as the probability nears 1, so here a confident image looks cold;
    * ``"probability"``: each map scaled to 1, then multiplied by the model's
      probability of the class, so an image with a near-zero probability for
      the class looks cold. Needs a model that outputs probabilities.

    Example:
        >>> grad_cam(None, np.zeros((1, 8, 8, 3)), scale="loudest")
        Traceback (most recent call last):
        ...
        ValueError: scale must be one of ('each', 'shared', 'probability'); got 'loudest'.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}; got {scale!r}.")
    before, conv_model, after = _parts(model, layer_name)
    x = ops.convert_to_tensor(np.asarray(images, "float32"))
    for layer in before:
        x = layer(x, training=False)
    fmap = conv_model(x, training=False)

    def head(a):
        for layer in after:
            a = layer(a, training=False)
        return a

    out = ops.convert_to_numpy(head(fmap))
    if class_index is None:
        cls = out.argmax(-1)
    else:
        cls = np.broadcast_to(np.asarray(class_index), (len(out),))
    onehot = ops.convert_to_tensor(np.eye(out.shape[-1], dtype="float32")[cls])
    is_prob = np.allclose(out.sum(-1), 1.0, atol=1e-3) and out.min() >= 0

    def score(a):
        y = head(a)
        y = ops.log(y + 1e-7) if is_prob else y  # a probability's log keeps the gradient from vanishing
        return ops.sum(y * onehot)

    _, grads = input_gradient(score, fmap)
    weights = ops.mean(grads, axis=(1, 2), keepdims=True)
    cam = ops.relu(ops.sum(weights * fmap, axis=-1, keepdims=True))
    cam = ops.image.resize(cam, tuple(np.asarray(images).shape[1:3]))[..., 0]
    cam = ops.convert_to_numpy(cam)
    peak = cam.reshape(len(cam), -1).max(1)[:, None, None]
    if scale == "shared":
        return (cam / (peak.max() + 1e-8)).astype("float32")
    cam = cam / (peak + 1e-8)
    if scale == "probability":
        if not is_prob:
            raise ValueError("scale='probability' needs a model whose outputs are probabilities (a softmax "
                             "output); use scale='shared' for a model that outputs logits.")
        cam = cam * out[np.arange(len(out)), cls][:, None, None]
    return cam.astype("float32")


def gradcam_grid(images: np.ndarray, heatmaps: np.ndarray, titles: Sequence[str] | None = None,
                 alpha: float = 0.45, size: float = 1.9):
    """Each image with its heat map overlaid (top row: image, bottom row: overlay).

    Example:
        >>> fig = gradcam_grid(np.zeros((2, 8, 8), "uint8"), np.ones((2, 8, 8)), ["a", "b"])
        >>> len(fig.axes)
        4
    """
    import matplotlib.pyplot as plt

    from .plots import _show

    n = len(images)
    fig, axes = plt.subplots(2, n, figsize=(size * n, 2 * size + 0.4), squeeze=False)
    for i in range(n):
        img, kw = _show(images[i])
        axes[0, i].imshow(img, **kw)
        axes[1, i].imshow(img, **kw)
        axes[1, i].imshow(heatmaps[i], cmap="jet", alpha=alpha, vmin=0, vmax=1)
        if titles is not None:
            axes[0, i].set_title(str(titles[i]), fontsize=8)
        for ax in axes[:, i]:
            ax.axis("off")
    fig.tight_layout()
    return fig
