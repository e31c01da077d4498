"""Datasets for every track: finding them offline, subsetting, splitting, tf.data pipelines.

* lite / smoke: Fashion-MNIST, found offline (``$TL_DATA_DIR``, ``data/``, Debian's
  ``/usr/share/datasets/fashion-mnist``, the Keras cache) before any download.
* full: TFDS (``tf_flowers``, ``oxford_iiit_pet``, ``mnist``, ``svhn_cropped``), failing
  within seconds when the data is absent and the network is down.

Arrays are uint8 images ``(n, h, w)`` or ``(n, h, w, 3)`` with int labels; the
pipeline resizes, turns grayscale into 3 channels and applies the backbone's
``preprocess_input``.

Example:
    >>> import numpy as np
    >>> y = np.repeat(np.arange(3), 10)
    >>> len(per_class_indices(y, 4, seed=0))
    12
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .offline import LITE_FIX, MissingResourceError, online

FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
_FMNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
_CHECKOUT = Path(__file__).resolve().parents[1]
#: a course checkout's ``data/`` folder (read only: Fashion-MNIST may sit there); ``None`` when installed.
REPO_DATA: Path | None = _CHECKOUT / "data" if (_CHECKOUT / "pyproject.toml").is_file() else None


@dataclass
class ImageData:
    """A labelled train/test pair of uint8 image arrays.

    Example:
        >>> d = ImageData(np.zeros((2, 8, 8), "uint8"), np.array([0, 1]),
        ...               np.zeros((1, 8, 8), "uint8"), np.array([1]), ["a", "b"])
        >>> d.num_classes
        2
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __repr__(self) -> str:
        return (f"ImageData(train={self.x_train.shape}, test={self.x_test.shape}, "
                f"classes={self.num_classes})")


# ----------------------------------------------------------------- Fashion-MNIST
def fashion_mnist_locations() -> list[Path]:
    """The folders searched for Fashion-MNIST's four ``.gz`` files, in order.

    Example:
        >>> Path("/usr/share/datasets/fashion-mnist") in fashion_mnist_locations()
        True
    """
    from .paths import data_dir

    places = []
    if os.environ.get("TL_DATA_DIR"):
        base = Path(os.environ["TL_DATA_DIR"])
        places += [base / "fashion-mnist", base]
    places.append(data_dir("fashion-mnist"))  # ./data/fashion-mnist of the working folder
    if REPO_DATA is not None:  # running from a checkout: its data/fashion-mnist
        places.append(REPO_DATA / "fashion-mnist")
    places.append(Path("/usr/share/datasets/fashion-mnist"))
    keras_home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    places += [Path(keras_home) / "datasets" / "fashion-mnist", Path("/tmp/.keras/datasets/fashion-mnist")]
    return list(dict.fromkeys(places))


def _read_idx(path: Path, offset: int) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def load_fashion_mnist() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Fashion-MNIST as ``(x_train, y_train), (x_test, y_test)``: 60,000 + 10,000 28x28 uint8.

    Looks offline first (see :func:`fashion_mnist_locations`), then lets
    ``keras.datasets.fashion_mnist`` download it when the network is up.

    Example:
        >>> (x, y), _ = load_fashion_mnist()  # doctest: +SKIP
        >>> x.shape  # doctest: +SKIP
        (60000, 28, 28)
    """
    for folder in fashion_mnist_locations():
        if all((folder / f).is_file() for f in _FMNIST_FILES):
            xtr, ytr, xte, yte = (folder / f for f in _FMNIST_FILES)
            return ((_read_idx(xtr, 16).reshape(-1, 28, 28), _read_idx(ytr, 8).astype("int64")),
                    (_read_idx(xte, 16).reshape(-1, 28, 28), _read_idx(yte, 8).astype("int64")))
    if online():
        import keras
        return keras.datasets.fashion_mnist.load_data()
    raise MissingResourceError(
        "the Fashion-MNIST dataset (4 files: " + ", ".join(_FMNIST_FILES) + ")",
        [str(p) for p in fashion_mnist_locations()],
        ["Debian/Ubuntu: `sudo apt-get install dataset-fashion-mnist`",
         "put the four .gz files into data/fashion-mnist/ (or a folder named by TL_DATA_DIR)",
         "connect to the internet once: keras.datasets.fashion_mnist.load_data() caches it"],
        cause="not found in any of the folders below and the network is unreachable")


# ------------------------------------------------------------------------ TFDS
def load_tfds(name: str, split: str, data_dir: str | None = None, **kwargs: Any):
    """``tfds.load`` that fails within seconds, with a fix, when the data cannot be had.

    Prepared data is used as is; otherwise a download is attempted only when
    the network answers.

    Example:
        >>> import tensorflow_datasets as tfds
        >>> with tfds.testing.mock_data(num_examples=4):  # doctest: +SKIP
        ...     ds = load_tfds("tf_flowers", "train", as_supervised=True)
    """
    import tensorflow_datasets as tfds

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


def _tfds_arrays(name: str, split: str, image_size: int, limit: int | None = None,
                 data_dir: str | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
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


# ------------------------------------------------------------ subsets & splits
def per_class_indices(y: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Indices of ``k`` examples of every class (stratified "k labels per class"), sorted.

    Example:
        >>> idx = per_class_indices(np.array([0, 0, 1, 1, 1]), 2, seed=0)
        >>> np.bincount(np.array([0, 0, 1, 1, 1])[idx]).tolist()
        [2, 2]
    """
    y = np.asarray(y)
    classes, counts = np.unique(y, return_counts=True)
    if k > counts.min():
        small = classes[counts.argmin()]
        raise ValueError(f"Asked for {k} labels per class, but class {small} has only {counts.min()} "
                         f"examples here. Use k <= {counts.min()} (or a larger pool).")
    rng = np.random.default_rng(seed)
    picked = [rng.choice(np.flatnonzero(y == c), size=k, replace=False) for c in classes]
    return np.sort(np.concatenate(picked))


def stratified_split(y: np.ndarray, fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into ``(rest, held_out)`` with ``fraction`` of every class held out.

    Example:
        >>> a, b = stratified_split(np.repeat([0, 1], 10), 0.2, seed=0)
        >>> len(a), len(b)
        (16, 4)
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be between 0 and 1 (exclusive); got {fraction}.")
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    held = []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        held.append(idx[: max(1, int(round(fraction * len(idx))))] if len(idx) > 1 else idx[:0])
    held_idx = np.sort(np.concatenate(held))
    return np.setdiff1d(np.arange(len(y)), held_idx), held_idx


def _cap(x: np.ndarray, y: np.ndarray, per_class: int | None, total: int | None, seed: int):
    if per_class is not None:
        counts = np.bincount(y)
        idx = per_class_indices(y, min(per_class, int(counts[counts > 0].min())), seed)
        x, y = x[idx], y[idx]
    if total is not None and total < len(y):
        _, idx = stratified_split(y, total / len(y), seed)
        x, y = x[idx], y[idx]
    return x, y


def load_image_classification(P: Any) -> ImageData:
    """The track's classification data as uint8 arrays, capped to the track's sizes.

    lite/smoke: Fashion-MNIST at 28x28 (the pipeline resizes); full: TFDS
    ``P.dataset`` resized to ``P.image_size`` (tf_flowers has no test split: 20 %
    of every class is held out by seed).

    Example:
        >>> from tl_helpers.config import get_profile
        >>> load_image_classification(get_profile("smoke"))  # doctest: +SKIP
        ImageData(train=(200, 28, 28), test=(200, 28, 28), classes=10)
    """
    if P.dataset == "fashion_mnist":
        (xtr, ytr), (xte, yte) = load_fashion_mnist()
        names = list(FASHION_MNIST_CLASSES)
    else:
        x, y, names = _tfds_arrays(P.dataset, "train", P.image_size)
        if P.dataset == "tf_flowers":
            tr, te = stratified_split(y, 0.2, seed=1234)  # a fixed split, independent of P.seed
            xtr, ytr, xte, yte = x[tr], y[tr], x[te], y[te]
        else:
            xtr, ytr = x, y
            xte, yte, _ = _tfds_arrays(P.dataset, "test", P.image_size)
    xtr, ytr = _cap(xtr, ytr, P.train_per_class, None, P.seed)
    xte, yte = _cap(xte, yte, None, P.test_size, P.seed)
    return ImageData(xtr, ytr, xte, yte, names)


# --------------------------------------------------------------------- tf.data
def to_rgb_resized(x: Any, image_size: int):
    """Images (uint8, grayscale or RGB) -> float32 ``(n, size, size, 3)`` in 0-255 (tf).

    Example:
        >>> to_rgb_resized(np.zeros((2, 28, 28), "uint8"), 32).shape
        TensorShape([2, 32, 32, 3])
    """
    import tensorflow as tf

    x = tf.convert_to_tensor(x)
    if x.shape.rank == 3:  # (n, h, w) grayscale batch
        x = x[..., None]
    x = tf.image.resize(tf.cast(x, tf.float32), (image_size, image_size))
    if x.shape[-1] == 1:
        x = tf.image.grayscale_to_rgb(x)
    return x


def make_dataset(x: np.ndarray, y: np.ndarray | None, image_size: int,
                 preprocess: Callable[[Any], Any] | None = None, batch_size: int = 64,
                 shuffle: bool = False, seed: int = 0, augment: Callable[[Any], Any] | None = None,
                 cache: bool = True):
    """A batched ``tf.data.Dataset`` of model-ready images (and labels).

    Resize to ``image_size``, grayscale -> 3 channels, ``preprocess`` (e.g. the
    backbone's ``preprocess_input``), cache, shuffle, batch, augment, prefetch.

    Example:
        >>> ds = make_dataset(np.zeros((4, 28, 28), "uint8"), np.arange(4), 32, batch_size=2)
        >>> [tuple(t.shape) for t in next(iter(ds))]
        [(2, 32, 32, 3), (2,)]
    """
    import tensorflow as tf

    if y is not None and len(x) != len(y):
        raise ValueError(f"{len(x)} images but {len(y)} labels: they must match.")
    ds = tf.data.Dataset.from_tensor_slices(x if y is None else (x, y))

    def prep(img, *label):
        img = to_rgb_resized(img[None], image_size)[0]
        if preprocess is not None:
            img = preprocess(img)
        return (img, *label) if label else img

    ds = ds.map(prep, num_parallel_calls=tf.data.AUTOTUNE)
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(min(len(x), 10_000), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if augment is not None:
        ds = ds.map(lambda a, *b: (augment(a), *b) if b else augment(a), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def prepare_images(x: np.ndarray, image_size: int, preprocess: Callable[[Any], Any] | None = None,
                   batch_size: int = 512) -> np.ndarray:
    """Like :func:`make_dataset` but returns one float32 numpy array (for small sets).

    Example:
        >>> prepare_images(np.zeros((3, 28, 28), "uint8"), 32).shape
        (3, 32, 32, 3)
    """
    out = [np.asarray(b) for b in make_dataset(x, None, image_size, preprocess, batch_size, cache=False)]
    return np.concatenate(out) if out else np.zeros((0, image_size, image_size, 3), "float32")


def from_directory(*args: Any, **kwargs: Any):
    """Load your own folder of images (one sub-folder per class); see :func:`tl_helpers.folders.from_directory`.

    Example:
        >>> callable(from_directory)
        True
    """
    from .folders import from_directory as _from_directory

    return _from_directory(*args, **kwargs)
