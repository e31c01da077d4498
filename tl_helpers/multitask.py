"""Multi-task learning chores: Multi-Fashion, pet tasks, loss weighting, gradient conflict, parameters.

* :func:`make_multi_fashion` overlays two Fashion-MNIST items on one canvas (like
  MultiMNIST): task A is the class of the top-left item, task B of the bottom-right one.
* :func:`load_multitask` gives a track's tasks (lite: Multi-Fashion; full:
  ``oxford_iiit_pet`` breed + species + trimap mask) as arrays.
* :class:`UncertaintyWeighting` is Kendall et al. (2018)'s learned loss weighting:
  ``L = sum_i exp(-s_i) * L_i + s_i`` with one log-variance ``s_i`` per task.
* :func:`gradient_cosine` measures whether two tasks pull the shared layers the same way.

Example:
    >>> import numpy as np
    >>> x = np.zeros((5, 28, 28), "uint8"); y = np.arange(5)
    >>> mf = make_multi_fashion(x, y, n=3, seed=0)
    >>> mf.images.shape, mf.y_a.shape
    ((3, 40, 40), (3,))
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import keras
import numpy as np
from keras import ops

from .autodiff import value_and_grads
from .paths import cache_dir

ITEM = 28  # Fashion-MNIST items are 28 x 28


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


def _pets(split: str, image_size: int, mask_size: int, limit: int | None):
    import tensorflow as tf

    from .data import load_tfds

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


def load_multitask(P: Any, n_train: int, n_test: int, mask_size: int = 40) -> MultiTaskData:
    """The track's multi-task data. lite/smoke: Multi-Fashion (``item_a`` rich, ``item_b`` poor);
    full: ``oxford_iiit_pet`` with ``breed`` (poor), ``species`` (rich) and the trimap ``mask``.

    Example:
        >>> from tl_helpers.config import get_profile
        >>> load_multitask(get_profile("smoke"), 100, 50).task_names  # doctest: +SKIP
        ['item_a', 'item_b']
    """
    from .data import FASHION_MNIST_CLASSES, load_fashion_mnist

    if P.dataset == "fashion_mnist":
        (xtr, ytr), (xte, yte) = load_fashion_mnist()
        tr = make_multi_fashion(xtr, ytr, n_train, seed=P.seed)
        te = make_multi_fashion(xte, yte, n_test, seed=10_000 + P.seed)
        names = list(FASHION_MNIST_CLASSES)
        tasks = {"item_a": Task("class", 10, names, crop=((0, 1), (0, 1))),   # top-left cells
                 "item_b": Task("class", 10, names, crop=((1, 0), (1, 0)))}   # bottom-right cells
        return MultiTaskData(tr.images, te.images, {"item_a": tr.y_a, "item_b": tr.y_b},
                             {"item_a": te.y_a, "item_b": te.y_b}, tasks, poor="item_b", rich="item_a")
    x_tr, y_tr, info = _pets("train", P.image_size, mask_size, n_train)
    x_te, y_te, _ = _pets("test", P.image_size, mask_size, n_test)
    tasks = {"breed": Task("class", 37, list(info.features["label"].names)),
             "species": Task("class", 2, list(info.features["species"].names)),
             "mask": Task("mask", 3, ["pet", "background", "border"])}
    return MultiTaskData(x_tr, x_te, y_tr, y_te, tasks, poor="breed", rich="species")


def cached_features(base: keras.Model, images: np.ndarray, image_size: int,
                    preprocess: Callable[[Any], Any] | None, key: str, batch_size: int = 256) -> np.ndarray:
    """Run a frozen ``base`` over ``images`` once; later calls read the course cache (float16).

    The cache lives in ``paths.cache_dir("features")`` (``$TL_CACHE_DIR`` or the per-user
    cache; never the checkout). Its file name hashes ``key`` (say: track, seed, backbone) and the images.

    Example:
        >>> base = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 8)])
        >>> cached_features(base, np.zeros((3, 8, 8), "uint8"), 8, None, "doc").shape
        (3, 1, 1, 2)
    """
    from .data import prepare_images

    digest = hashlib.sha1(np.ascontiguousarray(images).tobytes()).hexdigest()[:12]
    path = cache_dir("features") / f"nb04_{key}_{image_size}_{len(images)}_{digest}.npy"
    if path.exists():
        return np.load(path).astype("float32")
    parts = []
    for i in range(0, len(images), 1024):  # chunks keep the float32 images small in memory
        x = prepare_images(images[i:i + 1024], image_size, preprocess)
        parts.append(base.predict(x, batch_size=batch_size, verbose=0))
    feats = np.concatenate(parts).astype("float16")  # what the cache holds: same numbers on every run
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, feats)
    return feats.astype("float32")


# -------------------------------------------------------------- loss weighting
class UncertaintyWeighting(keras.layers.Layer):
    """Kendall, Gal & Cipolla (2018): ``L = sum_i exp(-s_i) * L_i + s_i``, ``s_i`` learned.

    ``s_i`` is a log-variance: a task whose loss stays large gets a larger ``s_i``
    and so a smaller weight ``exp(-s_i)``; the ``+ s_i`` term stops all weights
    from collapsing to 0. At the optimum ``s_i = log(L_i)``.

    Example:
        >>> uw = UncertaintyWeighting(["a", "b"])
        >>> float(uw([2.0, 3.0]))  # s = 0: the plain sum
        5.0
        >>> uw.task_weights()
        {'a': 1.0, 'b': 1.0}
    """

    def __init__(self, tasks: Sequence[str], init: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        if not tasks:
            raise ValueError("UncertaintyWeighting needs at least one task name, e.g. ['item_a', 'item_b'].")
        self.tasks = list(tasks)
        # Created here (not in build) so the optimizer sees it before the first training step.
        self.log_vars = self.add_weight(shape=(len(self.tasks),), initializer=keras.initializers.Constant(init),
                                        name="log_vars", trainable=True)

    def __call__(self, losses: Sequence[Any], **kwargs: Any) -> Any:
        if isinstance(losses, (list, tuple)):  # plain floats are fine too
            if len(losses) != len(self.tasks):
                raise ValueError(f"Got {len(losses)} losses for {len(self.tasks)} tasks {self.tasks}: "
                                 "pass one scalar loss per task, in the same order.")
            losses = [ops.cast(ops.convert_to_tensor(l), "float32") for l in losses]
        return super().__call__(losses, **kwargs)

    def call(self, losses: Sequence[Any]) -> Any:
        L = ops.stack(losses) if isinstance(losses, (list, tuple)) else losses
        s = self.log_vars
        return ops.sum(ops.exp(-s) * ops.cast(L, s.dtype) + s)

    def task_weights(self) -> dict[str, float]:
        """The current weights ``exp(-s_i)`` per task.

        Example:
            >>> UncertaintyWeighting(["a"], init=0.0).task_weights()
            {'a': 1.0}
        """
        w = np.exp(-keras.ops.convert_to_numpy(self.log_vars))
        return {t: round(float(v), 6) for t, v in zip(self.tasks, w)}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "tasks": self.tasks}


class WeightHistory(keras.callbacks.Callback):
    """Record the weights ``exp(-s_i)`` of a layer's ``log_vars`` after every epoch (for a plot).

    Works with :class:`UncertaintyWeighting` and with any layer that keeps its log-variances
    in a variable named ``log_vars`` (pass ``tasks`` then, in the same order).

    Example:
        >>> WeightHistory(UncertaintyWeighting(["a"])).history
        {'a': []}
    """

    def __init__(self, weighting: keras.layers.Layer, tasks: Sequence[str] | None = None):
        super().__init__()
        self.weighting = weighting
        self.tasks = list(tasks if tasks is not None else weighting.tasks)
        self.history: dict[str, list[float]] = {t: [] for t in self.tasks}

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        w = np.exp(-keras.ops.convert_to_numpy(self.weighting.log_vars))
        for t, v in zip(self.tasks, w):
            self.history[t].append(round(float(v), 6))


# ---------------------------------------------------------- gradient conflict
def cosine(grads_a: Sequence[Any], grads_b: Sequence[Any]) -> float:
    """Cosine similarity of two gradients given as lists of tensors (flattened and joined).

    1: the tasks pull the shared weights the same way; 0: unrelated; -1: opposite.

    Example:
        >>> g = [np.array([1.0, 2.0]), np.array([[3.0]])]
        >>> round(cosine(g, g), 6), round(cosine(g, [-t for t in g]), 6)
        (1.0, -1.0)
    """
    a = np.concatenate([np.ravel(keras.ops.convert_to_numpy(t)) for t in grads_a]).astype("float64")
    b = np.concatenate([np.ravel(keras.ops.convert_to_numpy(t)) for t in grads_b]).astype("float64")
    if a.shape != b.shape:
        raise ValueError(f"The gradients have different sizes ({a.size} vs {b.size}): "
                         "take both with respect to the same variables.")
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return 0.0
    return float(a @ b / (na * nb))


def task_gradients(model: keras.Model, losses: dict[str, Callable], x: Any, y: dict[str, Any],
                   task: str, variables: Sequence[keras.Variable], sample_weight: Any = None) -> list[Any]:
    """Gradient of one head's loss with respect to ``variables`` (e.g. the shared layers).

    Example:
        >>> inp = keras.Input((2,)); z = keras.layers.Dense(2, name="shared")(inp)
        >>> m = keras.Model(inp, {"t": keras.layers.Dense(1, name="t")(z)})
        >>> mse = {"t": keras.losses.MeanSquaredError()}
        >>> g = task_gradients(m, mse, np.ones((4, 2)), {"t": np.zeros((4, 1))}, "t",
        ...                    m.get_layer("shared").trainable_weights)
        >>> [tuple(t.shape) for t in g]
        [(2, 2), (2,)]
    """
    if task not in losses:
        raise KeyError(f"No loss for task {task!r}; the loss dict has {list(losses)}.")
    x = ops.convert_to_tensor(x)

    def loss_fn():
        pred = model(x, training=False)
        return losses[task](y[task], pred[task], sample_weight)

    return value_and_grads(loss_fn, variables)[1]


def gradient_cosine(model: keras.Model, losses: dict[str, Callable], x: Any, y: dict[str, Any],
                    task_a: str, task_b: str, variables: Sequence[keras.Variable],
                    sample_weight: dict[str, Any] | None = None) -> float:
    """Cosine between two tasks' gradients on the shared ``variables`` (one probe batch).

    Example:
        >>> inp = keras.Input((2,)); z = keras.layers.Dense(2, name="shared")(inp)
        >>> m = keras.Model(inp, {"t": keras.layers.Dense(1, name="t")(z),
        ...                       "u": keras.layers.Dense(1, name="u")(z)})
        >>> mse = {"t": keras.losses.MeanSquaredError(), "u": keras.losses.MeanSquaredError()}
        >>> y = {"t": np.zeros((4, 1)), "u": np.zeros((4, 1))}
        >>> -1.0 <= gradient_cosine(m, mse, np.ones((4, 2)), y, "t", "u", m.get_layer("shared").weights) <= 1.0
        True
    """
    sw = sample_weight or {}
    ga = task_gradients(model, losses, x, y, task_a, variables, sw.get(task_a))
    gb = task_gradients(model, losses, x, y, task_b, variables, sw.get(task_b))
    return cosine(ga, gb)


class CosineHistory(keras.callbacks.Callback):
    """After every epoch, the gradient cosine of task pairs on the shared layers (a probe batch).

    Example:
        >>> CosineHistory({}, None, {}, [("a", "b")], []).history
        {'a vs b': []}
    """

    def __init__(self, losses: dict[str, Callable], x: Any, y: dict[str, Any],
                 pairs: Sequence[tuple[str, str]], shared_layers: Sequence[str],
                 sample_weight: dict[str, Any] | None = None):
        super().__init__()
        self.losses, self.x, self.y, self.pairs = losses, x, y, list(pairs)
        self.shared_layers, self.sample_weight = list(shared_layers), sample_weight
        self.history: dict[str, list[float]] = {f"{a} vs {b}": [] for a, b in self.pairs}

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        variables = [w for name in self.shared_layers for w in self.model.get_layer(name).trainable_weights]
        for a, b in self.pairs:
            self.history[f"{a} vs {b}"].append(
                gradient_cosine(self.model, self.losses, self.x, self.y, a, b, variables, self.sample_weight))


# -------------------------------------------------------------------- parameters
def count_params(model: keras.Model, trainable_only: bool = False) -> int:
    """Number of parameters (all, or only the trainable ones).

    Example:
        >>> m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> count_params(m)
        8
    """
    weights = model.trainable_weights if trainable_only else model.weights
    return int(sum(int(np.prod(w.shape)) for w in weights))


def param_ratio(mtl: keras.Model, singles: Sequence[keras.Model]) -> float:
    """``params(mtl) / sum(params(single))``: what one shared model saves over one model per task.

    Example:
        >>> m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> param_ratio(m, [m, m])
        0.5
    """
    if not singles:
        raise ValueError("param_ratio needs at least one single-task model to compare with.")
    return count_params(mtl) / sum(count_params(s) for s in singles)


def few_labels(y: np.ndarray, per_class: int, seed: int = 0) -> np.ndarray:
    """Indices of ``per_class`` labelled examples per class (fewer if a class is smaller), sorted.

    Example:
        >>> len(few_labels(np.array([0, 0, 0, 1]), 2))  # 2 of class 0, the only 1 of class 1
        3
    """
    from .data import per_class_indices

    y = np.asarray(y)
    counts = np.bincount(y)
    k = min(per_class, int(counts[counts > 0].min()))
    if k < per_class:  # tiny (mock) data: take what each class has, up to per_class
        rng = np.random.default_rng(seed)
        idx = [rng.permutation(np.flatnonzero(y == c))[:per_class] for c in np.unique(y)]
        return np.sort(np.concatenate(idx))
    return per_class_indices(y, k, seed)


__all__ = ["MultiFashion", "make_multi_fashion", "Task", "MultiTaskData", "load_multitask", "cached_features",
           "UncertaintyWeighting", "WeightHistory", "cosine", "task_gradients", "gradient_cosine",
           "CosineHistory", "count_params", "param_ratio", "few_labels"]
