"""Fashion-MNIST offline: the lite and smoke tracks' data, found before any download.

Looked for in ``$TL_DATA_DIR``, the working folder's ``data/``, a checkout's ``data/``,
Debian's ``/usr/share/datasets/fashion-mnist`` and the Keras cache; only then
downloaded (when the network answers). No TensorFlow needed.

Example:
    >>> FASHION_MNIST_CLASSES[:2]
    ['T-shirt/top', 'Trouser']
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from ..offline import MissingResourceError, online
from ..paths import data_dir

FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
_FMNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
_CHECKOUT = Path(__file__).resolve().parents[2]
#: a course checkout's ``data/`` folder (read only: Fashion-MNIST may sit there); ``None`` when installed.
REPO_DATA: Path | None = _CHECKOUT / "data" if (_CHECKOUT / "pyproject.toml").is_file() else None


def fashion_mnist_locations() -> list[Path]:
    """The folders searched for Fashion-MNIST's four ``.gz`` files, in order.

    Example:
        >>> Path("/usr/share/datasets/fashion-mnist") in fashion_mnist_locations()
        True
    """
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
