"""The course's one small CNN, trained from scratch: a baseline, a source model, a body to reuse.

:func:`small_cnn` stacks conv stages on images at their native size: each stage is
``convs`` 3x3 ReLU convolutions of one width, then 2x2 max pooling. Then ``Flatten``
or global average pooling, an optional ``Dense(units, relu)``, and (with
``num_classes``) dropout and a softmax layer. With ``num_classes=None`` it returns
the body alone, ready to be frozen and reused under another head.

Example:
    >>> small_cnn((28, 28, 1), 10).output_shape
    (None, 10)
    >>> small_cnn((28, 28, 1), widths=(8, 16), top="avg", units=32).output_shape  # a body
    (None, 32)
"""

from __future__ import annotations

import itertools
from typing import Sequence

import keras

layers = keras.layers


def small_cnn(input_shape: Sequence[int], num_classes: int | None = None, *,
              widths: Sequence[int] = (32, 64, 128), convs: int = 2, padding: str = "same",
              pool_last: bool = True, top: str = "auto", units: int | None = None, dropout: float = 0.3,
              augment: bool = False, rescale: float | None = 1 / 255, seed: int | None = None,
              name: str = "small_cnn") -> keras.Model:
    """A small VGG-style CNN: conv stages, then Flatten or global pooling, then a softmax (or not).

    - ``input_shape``: ``(h, w, c)``, or ``(h, w)`` for grayscale arrays without a channel axis.
    - ``widths``: one stage per width, each ``convs`` 3x3 convolutions (ReLU, ``padding``)
      then 2x2 max pooling (not after the last stage with ``pool_last=False``).
    - ``top``: ``"flatten"``, ``"avg"`` (global average pooling), or ``"auto"`` (avg above
      64 px, flatten below); then ``Dense(units, relu)`` when ``units`` is given.
    - ``num_classes``: adds ``Dropout(dropout)`` and ``Dense(num_classes, softmax)``;
      ``None`` returns the body (no dropout) whose output is the features.
    - ``rescale``: multiplies the inputs first (``1/255`` for raw uint8 pixels; ``None``
      for inputs already scaled). ``augment``: random shifts and horizontal flips, active
      in ``fit`` (never in ``predict``/``evaluate``; a direct call needs ``training=False``).
    - ``seed``: seeds every initialiser, dropout and augmentation layer, so the same seed
      gives the same weights; ``None`` draws from Keras's global seed
      (``keras.utils.set_random_seed``).

    Example:
        >>> import numpy as np
        >>> m = small_cnn((28, 28), 10, widths=(8,), seed=0)
        >>> m.predict(np.zeros((2, 28, 28), "uint8"), verbose=0).shape
        (2, 10)
        >>> small_cnn((3, 3, 1), 10)
        Traceback (most recent call last):
        ...
        ValueError: small_cnn: a (3, 3, 1) input shrinks below 1 px in stage 2 of widths (32, 64, 128); use larger images or fewer widths.
    """
    given = tuple(int(s) for s in input_shape)
    if len(given) not in (2, 3) or min(given) < 1:
        raise ValueError(f"small_cnn needs an (h, w) or (h, w, c) input shape; got {tuple(input_shape)}. "
                         "Pass one image's shape, e.g. x_train.shape[1:].")
    if top not in ("auto", "flatten", "avg"):
        raise ValueError(f"top must be 'auto', 'flatten' or 'avg'; got {top!r}.")
    shape = given if len(given) == 3 else given + (1,)
    side = min(shape[:2])
    for i, _ in enumerate(widths):  # the smallest side through the stages: fail here, not deep in Keras
        side = side - 2 * convs if padding == "valid" else side
        side = side // 2 if pool_last or i < len(widths) - 1 else side
        if side < 1:
            raise ValueError(f"small_cnn: a {given} input shrinks below 1 px in stage {i + 1} of widths "
                             f"{tuple(widths)}; use larger images or fewer widths.")
    seeds = itertools.count(seed) if seed is not None else None  # one seed per layer: seed, seed + 1, ...

    def init() -> str | keras.initializers.Initializer:
        return keras.initializers.GlorotUniform(next(seeds)) if seeds else "glorot_uniform"

    def layer_seed() -> int | None:
        return next(seeds) if seeds else None

    inputs = keras.Input(given)
    x = layers.Reshape(shape)(inputs) if len(given) == 2 else inputs
    if rescale is not None:
        x = layers.Rescaling(rescale)(x)
    if augment:
        x = layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=layer_seed())(x)
        x = layers.RandomFlip("horizontal", seed=layer_seed())(x)
    for i, width in enumerate(widths):
        for _ in range(convs):
            x = layers.Conv2D(width, 3, padding=padding, activation="relu", kernel_initializer=init())(x)
        if pool_last or i < len(widths) - 1:
            x = layers.MaxPooling2D()(x)
    use_avg = top == "avg" or (top == "auto" and min(shape[:2]) > 64)
    x = layers.GlobalAveragePooling2D()(x) if use_avg else layers.Flatten()(x)
    if units:
        x = layers.Dense(units, activation="relu", kernel_initializer=init())(x)
    if num_classes is not None:
        if dropout:
            x = layers.Dropout(dropout, seed=layer_seed())(x)
        x = layers.Dense(num_classes, activation="softmax", kernel_initializer=init())(x)
    return keras.Model(inputs, x, name=name)


__all__ = ["small_cnn"]
