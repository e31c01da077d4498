"""The image pipeline on every backend: resize, gray -> RGB, ``preprocess_input``, batches.

Images arrive as uint8 numpy arrays, ``(n, h, w)`` (grayscale) or ``(n, h, w, c)``.
They are resized with ``keras.ops.image.resize`` (bilinear, the same numbers as
``tf.image.resize`` on TensorFlow), grayscale gets three channels, then the
backbone's ``preprocess_input`` runs. What comes out feeds ``fit``, ``predict`` and
``evaluate`` either as one numpy array (:func:`prepare_images`, small sets) or as a
``keras.utils.PyDataset`` of batches (:class:`Batches`). No ``tf.data``: the same code
runs on TensorFlow, JAX and PyTorch.

Example:
    >>> x = np.zeros((5, 28, 28), "uint8")
    >>> prepare_images(x, 32).shape
    (5, 32, 32, 3)
    >>> [tuple(a.shape) for a in Batches(x, np.arange(5), batch_size=2, image_size=32)[0]]
    [(2, 32, 32, 3), (2,)]
"""

from __future__ import annotations

import functools
import math
from collections.abc import Hashable
from typing import Any, Callable, Mapping

import keras
import numpy as np

#: Batches caches the prepared images in memory below this size (bytes); above it, each batch is prepared anew.
CACHE_LIMIT = 2 * 1024 ** 3
#: Batches prepared anew are kept for the first this many batches of an epoch: on TensorFlow, Keras reads
#: them once to learn the batches' shapes and again when the epoch starts (every predict call).
REUSED_BATCHES = 2


def _resized(x: Any, image_size: int) -> np.ndarray:
    """Checked images -> float32 ``(n, size, size, channels)``, 1 or 3 channels as they came."""
    x = np.asarray(x)
    if x.ndim == 3:  # (n, h, w) grayscale batch
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise ValueError(f"Expected a batch of images (n, h, w), (n, h, w, 1) or (n, h, w, 3); got shape "
                         f"{x.shape}. Add the batch axis for one image: x[None].")
    x = x.astype("float32")
    if x.shape[1:3] != (image_size, image_size):
        x = keras.ops.convert_to_numpy(keras.ops.image.resize(x, (image_size, image_size),
                                                              interpolation="bilinear"))
    return x


def to_rgb_resized(x: Any, image_size: int) -> np.ndarray:
    """Images (uint8 or float; grayscale or RGB) -> float32 ``(n, size, size, 3)``, pixel values 0-255.

    Example:
        >>> to_rgb_resized(np.zeros((2, 28, 28), "uint8"), 32).shape
        (2, 32, 32, 3)
    """
    x = _resized(x, image_size)
    return np.repeat(x, 3, axis=-1) if x.shape[-1] == 1 else x


def _run(preprocess: Callable[[Any], Any], x: np.ndarray) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(preprocess(x)), "float32")


def treats_channels_alike(preprocess: Callable[[Any], Any]) -> bool:
    """Whether ``preprocess`` does the same to every channel (MobileNet's ``x / 127.5 - 1`` does; ResNet's
    per-channel means do not), checked once on a grey ramp.

    If so, a grayscale batch is preprocessed on its one channel and then copied to
    three: the same numbers, bit for bit, for a third of the work (the pipeline's
    largest cost on Fashion-MNIST).

    Example:
        >>> from keras.applications import mobilenet, resnet50
        >>> treats_channels_alike(mobilenet.preprocess_input), treats_channels_alike(resnet50.preprocess_input)
        (True, False)
    """
    if isinstance(preprocess, Hashable):
        return _channels_alike(preprocess)
    return _channels_alike.__wrapped__(preprocess)  # unhashable (``__hash__ = None``): probe it, uncached


@functools.lru_cache(maxsize=64)
def _channels_alike(preprocess: Callable[[Any], Any]) -> bool:
    grey = (np.arange(256, dtype="float32") + 0.25).reshape(1, 16, 16, 1)
    try:
        three, one = _run(preprocess, np.repeat(grey, 3, axis=-1)), _run(preprocess, grey.copy())
    except Exception:  # e.g. a preprocess that needs three channels
        return False
    return one.shape == grey.shape and three.shape == (1, 16, 16, 3) and np.array_equal(
        three, np.repeat(one, 3, axis=-1))


def _prepare(x: np.ndarray, image_size: int, preprocess: Callable[[Any], Any] | None) -> np.ndarray:
    out = _resized(x, image_size)
    if out.shape[-1] == 1:  # grey: preprocess one channel and copy it, when that gives the same numbers
        if preprocess is not None and treats_channels_alike(preprocess):
            return np.repeat(_run(preprocess, out), 3, axis=-1)
        out = np.repeat(out, 3, axis=-1)
    return out if preprocess is None else _run(preprocess, out)


def prepare_images(x: np.ndarray, image_size: int, preprocess: Callable[[Any], Any] | None = None,
                   batch_size: int = 512) -> np.ndarray:
    """Model-ready float32 images ``(n, size, size, 3)`` in one array: resize, RGB, then ``preprocess``.

    Works in chunks of ``batch_size`` so the float copies stay small in memory.
    Without ``preprocess`` the pixels stay 0-255 (handy for plotting).

    Example:
        >>> from keras.applications.mobilenet import preprocess_input
        >>> a = prepare_images(np.full((3, 28, 28), 255, "uint8"), 32, preprocess_input)
        >>> a.shape, float(a.max())
        ((3, 32, 32, 3), 1.0)
    """
    if len(x) == 0:
        return np.zeros((0, image_size, image_size, 3), "float32")
    return np.concatenate([_prepare(x[i:i + batch_size], image_size, preprocess)
                           for i in range(0, len(x), batch_size)])


class Batches(keras.utils.PyDataset):
    """Batches for ``fit``/``predict``/``evaluate`` on every backend, seeded shuffling included.

    With ``image_size``, ``x`` holds raw uint8 images and every batch is resized,
    turned RGB and ``preprocess``-ed (prepared once and kept in memory when ``cache``
    and small enough; else per batch). Without it, ``x`` is used as is (e.g. cached
    features). ``y`` is an array, a dict of arrays (one per output) or ``None``
    (``predict``). Batches prepared anew are not prepared twice when Keras reads the
    first ones again (TensorFlow's ``predict`` does). ``shuffle`` draws a new order
    every epoch from ``seed``: same seed, same batches. ``augment`` (e.g. a
    ``keras.Sequential`` of random layers) runs on each training batch after
    preprocessing. :meth:`set_epoch` jumps to any epoch's order, so a run resumed in
    a new process sees the batches the uninterrupted run saw.

    Example:
        >>> b = Batches(np.arange(10.0)[:, None], np.arange(10), batch_size=4, shuffle=True, seed=0)
        >>> len(b), sorted(int(v) for i in range(len(b)) for v in b[i][1])
        (3, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
        >>> first = b[0][1].tolist(); b.on_epoch_end(); second = b[0][1].tolist()   # fit's next epoch
        >>> b.set_epoch(0); b[0][1].tolist() == first, first == second
        (True, False)
    """

    def __init__(self, x: np.ndarray, y: np.ndarray | Mapping[str, np.ndarray] | None = None,
                 batch_size: int = 64, shuffle: bool = False, seed: int = 0, image_size: int | None = None,
                 preprocess: Callable[[Any], Any] | None = None, augment: Callable[..., Any] | None = None,
                 cache: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.x = np.asarray(x)
        n = len(self.x)
        labels = y.values() if isinstance(y, Mapping) else ([] if y is None else [y])
        for v in labels:
            if len(v) != n:
                raise ValueError(f"{n} inputs but {len(v)} labels: they must match (one label per image).")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1; got {batch_size}.")
        if n == 0:
            raise ValueError("No examples to batch (an empty array). Check the subset you passed.")
        self.y = {k: np.asarray(v) for k, v in y.items()} if isinstance(y, Mapping) else (
            None if y is None else np.asarray(y))
        self.batch_size, self.shuffle, self.image_size = batch_size, shuffle, image_size
        self.preprocess, self.augment = preprocess, augment
        self.seed = seed
        self._order = np.arange(n)
        self._kept: dict[int, np.ndarray] = {}
        self.set_epoch(0)
        self._ready = None
        if image_size is not None and cache and n * image_size ** 2 * 3 * 4 <= CACHE_LIMIT:
            self._ready = prepare_images(self.x, image_size, preprocess)

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, i: int) -> Any:
        if not 0 <= i < len(self):
            raise IndexError(f"batch {i} of {len(self)}")
        idx = self._order[i * self.batch_size:(i + 1) * self.batch_size]
        if self._ready is not None:
            xb = self._ready[idx]
        elif self.image_size is not None:
            xb = self._kept.get(i)
            if xb is None:
                xb = _prepare(self.x[idx], self.image_size, self.preprocess)
                if i < REUSED_BATCHES and self.augment is None:   # an augment may change it in place
                    self._kept[i] = xb
        else:
            xb = self.x[idx]
        if self.augment is not None:
            out = self.augment(xb, training=True) if isinstance(self.augment, keras.Layer) else self.augment(xb)
            xb = np.asarray(keras.ops.convert_to_numpy(out), "float32")
        if self.y is None:
            return xb
        yb = {k: v[idx] for k, v in self.y.items()} if isinstance(self.y, dict) else self.y[idx]
        return xb, yb

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch``'s order: the one a fresh ``Batches`` has after ``epoch`` epochs of ``fit``.

        It depends only on ``(seed, epoch)``, not on what ran before in this process. ``fit``
        does not tell a dataset which epoch it is in: call this at the start of every epoch
        (``keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: b.set_epoch(e))``,
        like PyTorch's ``DistributedSampler.set_epoch``).
        """
        if epoch < 0:
            raise ValueError(f"set_epoch: epoch must be 0 or more (fit counts from 0); got {epoch}.")
        self._kept = {}
        if self.shuffle:
            self._rng = np.random.default_rng(self.seed)
            for _ in range(epoch + 1):                 # the same draws as `epoch` calls of on_epoch_end
                self._order = self._rng.permutation(len(self.x))

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self._kept = {}
            self._order = self._rng.permutation(len(self.x))

    def __repr__(self) -> str:
        what = f"images -> {self.image_size} px" if self.image_size else f"arrays {self.x.shape[1:]}"
        return (f"Batches({len(self.x)} examples, {what}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, {len(self)} batches)")
