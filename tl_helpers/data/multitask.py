"""The multi-task data of notebook 04: Multi-Fashion (lite, smoke) and Oxford-IIIT Pet (full).

* :func:`make_multi_fashion` overlays two Fashion-MNIST items on one canvas (like
  MultiMNIST): task A is the class of the top-left item, task B of the bottom-right one.
* :func:`load_multitask` gives a track's tasks as arrays. lite: Multi-Fashion's two items plus
  the coarse kind of the bottom-right one (:data:`KINDS`); full: ``oxford_iiit_pet`` breed +
  species + trimap mask. Both tracks pair a data-poor fine label with a coarse label of the same
  object on every image (kind of item / species) and a third task.

Example:
    >>> x = np.zeros((5, 28, 28), "uint8"); y = np.arange(5)
    >>> mf = make_multi_fashion(x, y, n=3, seed=0)
    >>> mf.images.shape, mf.y_a.shape
    ((3, 40, 40), (3,))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from . import tfds
from .fashion_mnist import FASHION_MNIST_CLASSES, load_fashion_mnist

if TYPE_CHECKING:
    from ..config import Profile

ITEM = 28  # Fashion-MNIST items are 28 x 28

#: Coarse kinds of Fashion-MNIST's ten classes (task ``kind_b``): the kind's index per class.
KINDS = ["top or dress", "footwear", "trousers or bag"]
KIND_OF_CLASS = np.array([0, 2, 0, 0, 0, 1, 0, 1, 2, 1])   # T-shirt, Trouser, Pullover, Dress, Coat,
                                                           # Sandal, Shirt, Sneaker, Bag, Ankle boot


# ------------------------------------------------------------------ Multi-Fashion
@dataclass
class MultiFashion:
    """Overlaid canvases and their two labels (plus where the items came from).

    Example:
        >>> mf = make_multi_fashion(np.zeros((4, 28, 28), "uint8"), np.arange(4), n=2, seed=1)
        >>> len(mf)
        2
    """

    images: np.ndarray   # (n, canvas, canvas) uint8
    y_a: np.ndarray      # class of the top-left item
    y_b: np.ndarray      # class of the bottom-right item
    src_a: np.ndarray    # index of the top-left item in the source array
    src_b: np.ndarray
    offsets_a: np.ndarray  # (n, 2) row, col of the top-left item
    offsets_b: np.ndarray

    def __len__(self) -> int:
        return len(self.images)


def make_multi_fashion(x: np.ndarray, y: np.ndarray, n: int, seed: int = 0, canvas: int = 40,
                       jitter: int = 4) -> MultiFashion:
    """``n`` canvases, each two random items overlaid (pixel-wise max) with offsets.

    The top-left item sits at ``(0..jitter, 0..jitter)``, the bottom-right one at
    ``canvas - 28 - (0..jitter)`` in both directions. Same ``seed``, same canvases.

    Example:
        >>> x = np.zeros((2, 28, 28), "uint8"); x[0, :, :] = 200  # item 0 is bright, item 1 black
        >>> mf = make_multi_fashion(x, np.array([3, 7]), n=4, seed=0, jitter=0)
        >>> bool(((mf.images[:, 0, 0] == 200) == (mf.y_a == 3)).all())
        True
    """
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 3 or x.shape[1:] != (ITEM, ITEM):
        raise ValueError(f"make_multi_fashion needs grayscale items of shape (n, 28, 28); got {x.shape}. "
                         "Pass Fashion-MNIST images as loaded by data.load_fashion_mnist().")
    if len(x) != len(y):
        raise ValueError(f"{len(x)} items but {len(y)} labels: they must match.")
    if canvas < ITEM + jitter or jitter < 0:
        raise ValueError(f"canvas={canvas} must be at least 28 + jitter ({ITEM + jitter}) and jitter >= 0.")
    rng = np.random.default_rng(seed)
    src_a, src_b = rng.integers(0, len(x), n), rng.integers(0, len(x), n)
    off_a = rng.integers(0, jitter + 1, (n, 2))
    off_b = canvas - ITEM - rng.integers(0, jitter + 1, (n, 2))
    out = np.zeros((n, canvas, canvas), np.uint8)
    for k in range(n):
        (ra, ca), (rb, cb) = off_a[k], off_b[k]
        out[k, ra:ra + ITEM, ca:ca + ITEM] = x[src_a[k]]
        np.maximum(out[k, rb:rb + ITEM, cb:cb + ITEM], x[src_b[k]], out=out[k, rb:rb + ITEM, cb:cb + ITEM])
    return MultiFashion(out, y[src_a], y[src_b], src_a, src_b, off_a, off_b)


# --------------------------------------------------------------------- task data
@dataclass
class Task:
    """One head's job: ``kind`` is "class" (one label per image) or "mask" (one label per pixel).

    ``crop`` ((top, bottom), (left, right)) cells to cut off the shared feature map
    before the head pools it (None = look at the whole map).

    Example:
        >>> Task("class", 10).num_classes
        10
    """

    kind: str
    num_classes: int
    class_names: list[str] = field(default_factory=list)
    crop: tuple[tuple[int, int], tuple[int, int]] | None = None


@dataclass
class MultiTaskData:
    """Images plus a dict of labels per task; ``poor`` names the data-poor task.

    Example:
        >>> d = MultiTaskData(np.zeros((2, 8, 8)), np.zeros((1, 8, 8)), {"t": np.zeros(2)},
        ...                   {"t": np.zeros(1)}, {"t": Task("class", 2)}, poor="t", rich="t")
        >>> d.task_names
        ['t']
    """

    x_train: np.ndarray
    x_test: np.ndarray
    y_train: dict[str, np.ndarray]
    y_test: dict[str, np.ndarray]
    tasks: dict[str, Task]
    poor: str
    rich: str

    @property
    def task_names(self) -> list[str]:
        return list(self.tasks)

    def __repr__(self) -> str:
        return (f"MultiTaskData(train={self.x_train.shape}, test={self.x_test.shape}, tasks="
                f"{ {k: (t.kind, t.num_classes) for k, t in self.tasks.items()} }, poor={self.poor!r})")


def load_multitask(P: Profile, n_train: int, n_test: int, mask_size: int = 40) -> MultiTaskData:
    """The track's multi-task data.

    lite/smoke: Multi-Fashion with ``item_a`` (the top-left item's class, rich), ``kind_b`` (the
    bottom-right item's coarse kind, :data:`KINDS`) and ``item_b`` (its class, poor).
    full: ``oxford_iiit_pet`` with ``breed`` (poor), ``species`` (rich) and the trimap ``mask``.
    Every image has every label; which ones a model trains on is the notebook's choice.

    Example:
        >>> from tl_helpers.config import get_profile
        >>> load_multitask(get_profile("smoke"), 100, 50).task_names  # doctest: +SKIP
        ['item_a', 'kind_b', 'item_b']
    """
    if P.dataset == "fashion_mnist":
        (xtr, ytr), (xte, yte) = load_fashion_mnist()
        tr = make_multi_fashion(xtr, ytr, n_train, seed=P.seed)
        te = make_multi_fashion(xte, yte, n_test, seed=10_000 + P.seed)
        names = list(FASHION_MNIST_CLASSES)
        top_left, bottom_right = ((0, 1), (0, 1)), ((1, 0), (1, 0))          # cells of the feature map
        tasks = {"item_a": Task("class", 10, names, crop=top_left),
                 "kind_b": Task("class", len(KINDS), list(KINDS), crop=bottom_right),
                 "item_b": Task("class", 10, names, crop=bottom_right)}
        labels = [{"item_a": m.y_a, "kind_b": KIND_OF_CLASS[m.y_b], "item_b": m.y_b} for m in (tr, te)]
        return MultiTaskData(tr.images, te.images, *labels, tasks, poor="item_b", rich="item_a")
    x_tr, y_tr, info = tfds.pets_arrays("train", P.image_size, mask_size, n_train)
    x_te, y_te, _ = tfds.pets_arrays("test", P.image_size, mask_size, n_test)
    tasks = {"breed": Task("class", 37, list(info.features["label"].names)),
             "species": Task("class", 2, list(info.features["species"].names)),
             "mask": Task("mask", 3, ["pet", "background", "border"])}
    return MultiTaskData(x_tr, x_te, y_tr, y_te, tasks, poor="breed", rich="species")
