"""The classification task of notebooks 00, 01, 02, 05 and 07: one loader for every track.

lite/smoke: Fashion-MNIST (28x28 grayscale, offline); full: the TFDS dataset named by
the profile, resized to its image size. Capped to the track's sizes, seeded.

Example:
    >>> d = ImageData(np.zeros((2, 8, 8), "uint8"), np.array([0, 1]),
    ...               np.zeros((1, 8, 8), "uint8"), np.array([1]), ["a", "b"])
    >>> d
    ImageData(train=(2, 8, 8), test=(1, 8, 8), classes=2)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from . import tfds
from .fashion_mnist import FASHION_MNIST_CLASSES, load_fashion_mnist
from .sampling import cap, stratified_split

if TYPE_CHECKING:
    from ..config import Profile


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


def load_image_classification(P: Profile) -> ImageData:
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
        x, y, names = tfds.classification_arrays(P.dataset, "train", P.image_size)
        if P.dataset == "tf_flowers":
            tr, te = stratified_split(y, 0.2, seed=1234)  # a fixed split, independent of P.seed
            xtr, ytr, xte, yte = x[tr], y[tr], x[te], y[te]
        else:
            xtr, ytr = x, y
            xte, yte, _ = tfds.classification_arrays(P.dataset, "test", P.image_size)
    xtr, ytr = cap(xtr, ytr, P.train_per_class, None, P.seed)
    xte, yte = cap(xte, yte, None, P.test_size, P.seed)
    return ImageData(xtr, ytr, xte, yte, names)
