"""Data for the domain-adaptation notebook: a source domain and an MNIST-M-style target domain.

MNIST-M (Ganin & Lempitsky, 2015) blends every MNIST digit with a random patch
of a colour photo: ``out = |patch - digit|`` per pixel and channel. We build the
same shift for Fashion-MNIST (lite) or MNIST (full), with patches cut from the
real photos that ship with scikit-learn (``load_sample_images``: a temple in
China and a flower), at three zoom levels and with random flips: deterministic
for a given seed.

Example:
    >>> import numpy as np
    >>> items = np.zeros((4, 28, 28), "uint8")
    >>> blend_with_photos(items, seed=0).shape
    (4, 28, 28, 3)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from . import tfds
from .fashion_mnist import FASHION_MNIST_CLASSES, load_fashion_mnist

if TYPE_CHECKING:
    from ..config import Profile


@dataclass
class DomainData:
    """Source (labelled) and target (unlabelled for training) domains, with test splits.

    ``yt_train`` exists only for the *oracle* (the upper bound nobody has in practice)
    and for checking; adaptation methods must never look at it.

    Example:
        >>> z = np.zeros((2, 28, 28), "uint8")
        >>> d = DomainData(z, np.array([0, 1]), z, np.array([0, 1]), z, np.array([0, 1]),
        ...                z, np.array([0, 1]), ["a", "b"])
        >>> d.num_classes
        2
    """

    xs_train: np.ndarray
    ys_train: np.ndarray
    xt_train: np.ndarray
    yt_train: np.ndarray
    xs_test: np.ndarray
    ys_test: np.ndarray
    xt_test: np.ndarray
    yt_test: np.ndarray
    class_names: list[str]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __repr__(self) -> str:
        return (f"DomainData(source train {self.xs_train.shape}, target train {self.xt_train.shape}, "
                f"source test {self.xs_test.shape}, target test {self.xt_test.shape})")


def photo_bank() -> list[np.ndarray]:
    """The real photos patches are cut from: sklearn's two sample images at zoom 1, 1/2 and 1/4.

    Example:
        >>> [p.shape for p in photo_bank()][:2]
        [(427, 640, 3), (427, 640, 3)]
    """
    from PIL import Image
    from sklearn.datasets import load_sample_images

    photos = [np.asarray(img, "uint8") for img in load_sample_images().images]
    bank = list(photos)
    for factor in (2, 4):
        for p in photos:
            h, w = p.shape[0] // factor, p.shape[1] // factor
            bank.append(np.asarray(Image.fromarray(p).resize((w, h), Image.BILINEAR)))
    return bank


def blend_with_photos(items: np.ndarray, seed: int = 0, bank: list[np.ndarray] | None = None) -> np.ndarray:
    """MNIST-M recipe: ``|photo patch - item|`` per pixel and colour channel, one random patch each.

    ``items``: uint8 ``(n, h, w)`` or ``(n, h, w, 1)`` grayscale images. Returns uint8 ``(n, h, w, 3)``.

    Example:
        >>> x = np.full((2, 28, 28), 255, "uint8")
        >>> out = blend_with_photos(x, seed=1)
        >>> bool((out == 255 - blend_with_photos(np.zeros_like(x), seed=1)).all())
        True
    """
    items = np.asarray(items)
    if items.ndim == 4 and items.shape[-1] == 1:
        items = items[..., 0]
    if items.ndim != 3 or items.dtype != np.uint8:
        raise ValueError(f"blend_with_photos wants grayscale uint8 images (n, h, w); got {items.dtype} "
                         f"{items.shape}. Convert RGB to gray first, or pass the raw dataset arrays.")
    bank = photo_bank() if bank is None else bank
    n, h, w = items.shape
    rng = np.random.default_rng(seed)
    which = rng.integers(len(bank), size=n)
    flips = rng.integers(2, size=(n, 2))
    out = np.empty((n, h, w, 3), "uint8")
    for i in range(n):
        photo = bank[which[i]]
        top, left = rng.integers(photo.shape[0] - h + 1), rng.integers(photo.shape[1] - w + 1)
        patch = photo[top:top + h, left:left + w]
        if flips[i, 0]:
            patch = patch[::-1]
        if flips[i, 1]:
            patch = patch[:, ::-1]
        out[i] = np.abs(patch.astype(np.int16) - items[i, :, :, None]).astype(np.uint8)
    return out


def _load_gray(P: Profile) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    if P.dataset == "fashion_mnist":
        (xtr, ytr), (xte, yte) = load_fashion_mnist()
        return xtr, ytr, xte, yte, list(FASHION_MNIST_CLASSES)
    return tfds.gray_arrays(P.datasets.get("digits", "mnist"))


def load_domains(P: Profile, source_per_class: int, target_per_class: int, test_size: int) -> DomainData:
    """Source = the track's grayscale items; target = *disjoint* items blended with photo patches.

    lite/smoke: Fashion-MNIST -> "Fashion-MNIST-M"; full: MNIST (TFDS) -> MNIST-M-style.
    The test splits hold the same ``test_size`` test items in both domains.

    Example:
        >>> from tl_helpers.config import get_profile
        >>> load_domains(get_profile("smoke"), 20, 20, 100)  # doctest: +SKIP
        DomainData(source train (200, 28, 28), target train (200, 28, 28, 3), ...)
    """
    xtr, ytr, xte, yte, names = _load_gray(P)
    rng = np.random.default_rng(P.seed)
    src, tgt = [], []
    for c in np.unique(ytr):  # disjoint items per class; a small class is split in half
        idx = rng.permutation(np.flatnonzero(ytr == c))
        n_src = min(source_per_class, (len(idx) + 1) // 2)
        src.append(idx[:n_src])
        tgt.append(idx[n_src:n_src + target_per_class])
    src, tgt = np.sort(np.concatenate(src)), np.sort(np.concatenate(tgt))
    test = np.sort(np.random.default_rng(P.seed + 1).permutation(len(yte))[:test_size])
    bank = photo_bank()
    return DomainData(xtr[src], ytr[src], blend_with_photos(xtr[tgt], P.seed, bank), ytr[tgt],
                      xte[test], yte[test], blend_with_photos(xte[test], P.seed + 10_000, bank), yte[test],
                      names)
