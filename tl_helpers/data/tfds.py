"""The full track's TFDS datasets as numpy arrays: the ONLY module that imports TensorFlow.

``tensorflow`` and ``tensorflow_datasets`` are imported inside the functions, so
``import tl_helpers.data`` works without them (the JAX and PyTorch installs); only
a full-track loader needs them. Every function fails within seconds, with the fix
named, when the data is not prepared and the network is down.

Example:
    >>> callable(load_tfds)
    True
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..offline import LITE_FIX, MissingResourceError, online


def load_tfds(name: str, split: str, data_dir: str | None = None, **kwargs: Any):
    """``tfds.load`` that fails within seconds, with a fix, when the data cannot be had.

    Prepared data is used as is; otherwise a download is attempted only when
    the network answers.

    Example:
        >>> import tensorflow_datasets as tfds_lib  # doctest: +SKIP
        >>> with tfds_lib.testing.mock_data(num_examples=4):  # doctest: +SKIP
        ...     ds = load_tfds("tf_flowers", "train", as_supervised=True)
    """
    try:
        import tensorflow_datasets as tfds
    except ImportError as err:
        raise MissingResourceError(
            f"the package tensorflow-datasets (the full track loads {name!r} with it)", [],
            [LITE_FIX, "install the TensorFlow extras: pip install \"tl-helpers[tf]\" "
             "(or pip install -r requirements.txt)"],
            cause="it is not installed in this environment (a JAX or PyTorch install)") from err
    try:
        return tfds.load(name, split=split, data_dir=data_dir, download=False, **kwargs)
    except AssertionError:  # "could not find data": not prepared yet
        pass
    if not online():
        where = data_dir or os.environ.get("TFDS_DATA_DIR") or os.path.expanduser("~/tensorflow_datasets")
        raise MissingResourceError(
            f"the TFDS dataset {name!r} (split {split!r})", [where],
            [LITE_FIX, f"on a machine with internet run `python -c \"import tensorflow_datasets as tfds; "
             f"tfds.load('{name}')\"` and copy {where} here (or set TFDS_DATA_DIR)"],
            cause="it is not prepared locally and the network is unreachable")
    return tfds.load(name, split=split, data_dir=data_dir, download=True, **kwargs)


def classification_arrays(name: str, split: str, image_size: int, limit: int | None = None,
                          data_dir: str | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """A TFDS classification split as uint8 ``(n, size, size, c)`` images, int64 labels and class names.

    Example:
        >>> with tfds_lib.testing.mock_data(num_examples=3):  # doctest: +SKIP
        ...     x, y, names = classification_arrays("tf_flowers", "train", 32)
    """
    import tensorflow as tf

    ds, info = load_tfds(name, split, data_dir=data_dir, as_supervised=True, with_info=True)
    if limit:
        ds = ds.take(limit)
    ds = ds.map(lambda x, y: (tf.cast(tf.image.resize(x, (image_size, image_size)), tf.uint8), y),
                num_parallel_calls=tf.data.AUTOTUNE)
    xs, ys = [], []
    for x, y in ds.batch(256).as_numpy_iterator():
        xs.append(x), ys.append(y)
    if not xs:
        raise ValueError(f"TFDS {name!r} split {split!r} is empty.")
    return np.concatenate(xs), np.concatenate(ys).astype("int64"), list(info.features["label"].names)


def gray_arrays(name: str, size: int = 28) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Train and test splits of a TFDS digits dataset as grayscale uint8 ``(n, size, size)`` + labels + names.

    Example:
        >>> gray_arrays("mnist")  # doctest: +SKIP
    """
    import tensorflow as tf

    arrays: list[np.ndarray] = []
    for split in ("train", "test"):
        ds, info = load_tfds(name, split, as_supervised=True, with_info=True)
        ds = ds.map(lambda x, y: (tf.cast(tf.image.resize(tf.image.rgb_to_grayscale(x) if x.shape[-1] == 3
                                                          else x, (size, size)), tf.uint8), y))
        xs, ys = zip(*ds.batch(1024).as_numpy_iterator())
        arrays += [np.concatenate(xs)[..., 0], np.concatenate(ys).astype("int64")]
    return (*arrays, list(info.features["label"].names))  # type: ignore[return-value]


def pets_arrays(split: str, image_size: int, mask_size: int,
                limit: int | None) -> tuple[np.ndarray, dict[str, np.ndarray], Any]:
    """``oxford_iiit_pet``: uint8 images, labels ``breed``/``species``/``mask`` (trimap 0-2), and the TFDS info.

    Example:
        >>> pets_arrays("train", 64, 16, 8)  # doctest: +SKIP
    """
    import tensorflow as tf

    ds, info = load_tfds("oxford_iiit_pet", split, with_info=True)
    if limit:
        ds = ds.take(limit)

    def prep(ex):
        img = tf.cast(tf.image.resize(ex["image"], (image_size, image_size)), tf.uint8)
        m = tf.image.resize(ex["segmentation_mask"], (mask_size, mask_size), method="nearest")
        m = tf.clip_by_value(tf.cast(m[..., 0], tf.int32) - 1, 0, 2)  # trimap 1, 2, 3 -> 0, 1, 2
        return img, ex["label"], ex["species"], m

    parts = [b for b in ds.map(prep, num_parallel_calls=tf.data.AUTOTUNE).batch(256).as_numpy_iterator()]
    if not parts:
        raise ValueError(f"TFDS oxford_iiit_pet split {split!r} is empty.")
    x, breed, species, mask = (np.concatenate(p) for p in zip(*parts))
    return x, {"breed": breed.astype("int64"), "species": species.astype("int64"),
               "mask": mask.astype("int64")}, info


def first_per_class(name: str, per_class: int) -> tuple[list[tuple[int, np.ndarray]], list[str]]:
    """The first ``per_class`` images of every class of a TFDS train split: ``[(label, uint8 RGB)]`` + names.

    Example:
        >>> first_per_class("tf_flowers", 2)  # doctest: +SKIP
    """
    ds, info = load_tfds(name, "train", as_supervised=True, with_info=True)
    names = list(info.features["label"].names)
    seen: dict[int, int] = {}
    items = []
    for img, lab in ds.as_numpy_iterator():
        if seen.get(int(lab), 0) < per_class:
            seen[int(lab)] = seen.get(int(lab), 0) + 1
            items.append((int(lab), img if img.shape[-1] == 3 else img[..., :3]))
        if len(seen) == len(names) and min(seen.values()) >= per_class:
            break
    return items, names
