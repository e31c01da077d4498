"""Feature extraction chores: run a frozen base once, cache its embeddings, time training epochs.

A frozen backbone maps every image to the same vector on every epoch, so the
vectors ("embeddings", "features") can be computed once and a head trained on
them directly. :func:`cached_features` does that with two caches: one in memory
(for this kernel) and one on disk in the course's cache folder
(``paths.cache_dir("features")``: ``$TL_CACHE_DIR`` or the per-user cache, never
the checkout), keyed by backbone, track, image size, dataset, the weights'
label *and* fingerprint, and a hash of the exact images, so a re-run skips the
work and a changed input never reads a stale file.

Example:
    >>> import numpy as np
    >>> subsets = nested_label_subsets(np.repeat(np.arange(3), 10), [2, 5], seed=0)
    >>> {k: len(v) for k, v in subsets.items()}
    {2: 6, 5: 15}
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import keras
import numpy as np

from .data import make_dataset, per_class_indices
from .paths import cache_dir as _course_cache_dir

_memory: dict[str, np.ndarray] = {}


# ------------------------------------------------------------------- hashing
def fingerprint(*parts: Any, length: int = 12) -> str:
    """A short, stable hash of arrays and strings (the bytes, shapes and dtypes of arrays).

    Example:
        >>> fingerprint(np.zeros(3, "uint8"), "x") == fingerprint(np.zeros(3, "uint8"), "x")
        True
        >>> fingerprint(np.zeros(3, "uint8")) == fingerprint(np.ones(3, "uint8"))
        False
    """
    h = hashlib.sha1()
    for p in parts:
        if isinstance(p, np.ndarray) or hasattr(p, "__array__"):
            a = np.ascontiguousarray(np.asarray(p))
            h.update(f"{a.shape}{a.dtype}".encode())
            h.update(a.tobytes())
        else:
            h.update(repr(p).encode())
        h.update(b"|")
    return h.hexdigest()[:length]


def weights_fingerprint(model: keras.Model) -> str:
    """A hash of every weight of ``model``: ImageNet and random weights never share a cache entry.

    Example:
        >>> m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, kernel_initializer="ones")])
        >>> len(weights_fingerprint(m))
        12
    """
    return fingerprint(*[keras.ops.convert_to_numpy(w) for w in model.weights])


def cache_dir() -> Path:
    """Where feature files go: ``features/`` in the course cache (:func:`tl_helpers.paths.cache_dir`).

    That is ``$TL_CACHE_DIR/features`` or the per-user cache folder, never the
    checkout, so grading a read-only copy of the course writes nothing beside it.

    Example:
        >>> import tempfile
        >>> os.environ["TL_CACHE_DIR"] = tempfile.mkdtemp()
        >>> cache_dir() == Path(os.environ["TL_CACHE_DIR"]) / "features"
        True
    """
    return _course_cache_dir("features")


def feature_key(backbone: str, track: str, image_size: int, dataset: str, weights: str | None,
                weights_hash: str, images_hash: str) -> str:
    """The file stem of one cache entry; readable first, exact (hashes) last.

    Example:
        >>> feature_key("mobilenet_025", "lite", 96, "fashion_mnist", "imagenet", "w1", "x2")
        'fashion_mnist-mobilenet_025-96px-imagenet-lite-w1-x2'
    """
    return f"{dataset}-{backbone}-{image_size}px-{weights or 'random'}-{track}-{weights_hash}-{images_hash}"


# ---------------------------------------------------------------- extraction
def _input_size(base: keras.Model) -> int | None:
    shape = base.inputs[0].shape if getattr(base, "inputs", None) else None
    return None if shape is None or shape[1] is None else int(shape[1])


def extract_features(base: keras.Model, images: np.ndarray, image_size: int,
                     preprocess: Callable[[Any], Any] | None = None, batch_size: int = 256) -> np.ndarray:
    """Run ``base`` in inference mode over uint8 images once; returns float32 ``(n, feature_dim)``.

    Images are resized to ``image_size`` (grayscale -> RGB) and ``preprocess``-ed
    by the course pipeline, then ``base.predict`` (i.e. ``training=False``) runs.

    Example:
        >>> base = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.GlobalAveragePooling2D()])
        >>> extract_features(base, np.full((5, 4, 4), 255, "uint8"), 8).shape
        (5, 3)
    """
    expected = _input_size(base)
    if expected is not None and expected != image_size:
        raise ValueError(f"The base was built for {expected} px inputs but image_size={image_size}. "
                         f"Build it with the track's size (build_backbone(name, {image_size})) or pass "
                         f"image_size={expected}.")
    if len(images) == 0:
        raise ValueError("No images to extract features from (an empty array).")
    ds = make_dataset(images, None, image_size, preprocess, batch_size=batch_size, cache=False)
    return np.asarray(base.predict(ds, verbose=0), dtype="float32")


def cached_features(base: keras.Model, images: np.ndarray, P: Any, weights: str | None,
                    preprocess: Callable[[Any], Any] | None = None, batch_size: int = 256,
                    directory: Path | None = None, verbose: bool = True) -> np.ndarray:
    """:func:`extract_features`, cached in memory and on disk for the track ``P``.

    The key holds ``P.backbone``, ``P.name``, ``P.image_size``, ``P.dataset``,
    ``weights`` (a label such as ``"imagenet"`` or ``None``), a fingerprint of the
    base's actual weights and a hash of ``images`` (so any subset gets its own
    entry). ``preprocess`` defaults to the backbone's ``preprocess_input``. Files go
    to ``directory`` (default :func:`cache_dir`); the printed lines name no path.

    Example:
        >>> from tl_helpers.config import get_profile
        >>> from tl_helpers.backbones import build_backbone
        >>> P = get_profile("smoke")
        >>> base = build_backbone(P.backbone, P.image_size, weights=None)  # doctest: +SKIP
        >>> f = cached_features(base, np.zeros((4, 28, 28), "uint8"), P, None)  # doctest: +SKIP
        >>> f.shape  # doctest: +SKIP
        (4, 256)
    """
    from .backbones import preprocess_for

    if preprocess is None:
        preprocess = preprocess_for(P.backbone)
    if getattr(P, "mock", False):  # mock mode builds every backbone with random weights
        weights = None
    key = feature_key(P.backbone, P.name, P.image_size, P.dataset, weights,
                      weights_fingerprint(base), fingerprint(images, f"{getattr(preprocess, '__module__', '')}.{getattr(preprocess, '__qualname__', '')}"))
    if key in _memory:
        if verbose:
            print(f"features: {len(images)} images from memory")
        return _memory[key]
    path = Path(directory or cache_dir()) / f"{key}.npy"
    if path.is_file():
        feats = np.load(path)
        if verbose:
            print(f"features: {len(images)} images from the disk cache")
    else:
        start = time.perf_counter()
        feats = extract_features(base, images, P.image_size, preprocess, batch_size)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, feats)
        os.replace(tmp, path)  # atomic: a killed run never leaves half a file
        if verbose:
            print(f"features: {len(images)} images extracted in {time.perf_counter() - start:.1f} s (now cached)")
    _memory[key] = feats
    return feats


def feature_dataset(feats: np.ndarray, labels: np.ndarray, batch_size: int = 64, shuffle: bool = True,
                    seed: int = 0):
    """Cached features as a ``tf.data`` pipeline (cache, shuffle, batch, prefetch), like the image pipeline.

    Built once and reused across epochs, it costs a few milliseconds per epoch,
    where ``fit`` on numpy arrays re-creates its input pipeline every epoch.

    Example:
        >>> ds = feature_dataset(np.zeros((5, 3), "float32"), np.arange(5), batch_size=2)
        >>> [tuple(b[0].shape) for b in ds]
        [(2, 3), (2, 3), (1, 3)]
    """
    import tensorflow as tf

    if len(feats) != len(labels):
        raise ValueError(f"{len(feats)} feature rows but {len(labels)} labels: they must match.")
    ds = tf.data.Dataset.from_tensor_slices((np.asarray(feats, "float32"), np.asarray(labels))).cache()
    if shuffle:
        ds = ds.shuffle(len(feats), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def clear_memory_cache() -> int:
    """Forget the in-memory features (the disk cache stays); returns how many entries went.

    Example:
        >>> clear_memory_cache() >= 0
        True
    """
    n = len(_memory)
    _memory.clear()
    return n


# ------------------------------------------------------------ label subsets
def nested_label_subsets(y: np.ndarray, ks: Sequence[int | str], seed: int = 0) -> dict[int | str, np.ndarray]:
    """Indices of ``k`` labelled examples per class for every ``k`` in ``ks``, nested (5 within 10 ...).

    ``"all"`` means every index. A ``k`` larger than the smallest class raises a
    ``ValueError`` naming the limit. Nesting makes a learning curve add data from
    one point to the next instead of redrawing it.

    Example:
        >>> y = np.array([0, 0, 0, 1, 1, 1])
        >>> s = nested_label_subsets(y, [1, 2, "all"], seed=0)
        >>> set(s[1]) <= set(s[2]), len(s["all"])
        (True, 6)
    """
    y = np.asarray(y)
    numeric = [int(k) for k in ks if k != "all"]
    bad = [k for k in ks if k != "all" and (not isinstance(k, (int, np.integer)) or k < 1)]
    if bad:
        raise ValueError(f"labels per class must be positive integers or 'all'; got {bad}.")
    out: dict[int | str, np.ndarray] = {}
    if numeric:
        pool = per_class_indices(y, max(numeric), seed)  # raises a clear error when a class is too small
        rng = np.random.default_rng(seed + 1)
        per_class = {c: rng.permutation(pool[y[pool] == c]) for c in np.unique(y)}
        for k in numeric:
            out[k] = np.sort(np.concatenate([idx[:k] for idx in per_class.values()]))
    if "all" in ks:
        out["all"] = np.arange(len(y))
    return {k: out[k if k == "all" else int(k)] for k in ks}


def fitting_ks(y: np.ndarray, ks: Iterable[int | str]) -> list[int | str]:
    """The ``ks`` that every class can supply (``"all"`` always fits); prints what it drops.

    Example:
        >>> fitting_ks(np.array([0, 0, 1, 1, 1]), [1, 2, 3, "all"])
        labels per class 3 skipped: the smallest class has 2 examples
        [1, 2, 'all']
    """
    smallest = int(np.bincount(np.asarray(y)).min()) if len(y) else 0
    keep = [k for k in ks if k == "all" or int(k) <= smallest]
    dropped = [k for k in ks if k not in keep]
    if dropped:
        print(f"labels per class {', '.join(map(str, dropped))} skipped: the smallest class has "
              f"{smallest} examples")
    return keep


# ------------------------------------------------------------------- timing
class EpochTimer(keras.callbacks.Callback):
    """A callback that records the wall time of every training epoch.

    :meth:`per_epoch` skips the first epoch (it includes tracing/compilation) when
    there is more than one, and returns the fastest of the rest: on a shared
    machine the minimum is the least-disturbed measurement (as ``timeit``
    recommends); ``stat="median"`` gives the typical one.

    Example:
        >>> m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> m.compile(optimizer="sgd", loss="mse")
        >>> timer = EpochTimer()
        >>> _ = m.fit(np.zeros((4, 2)), np.zeros(4), epochs=3, verbose=0, callbacks=[timer])
        >>> len(timer.times), timer.per_epoch() > 0
        (3, True)
    """

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.times.append(time.perf_counter() - self._start)

    def per_epoch(self, stat: str = "min") -> float:
        if not self.times:
            raise ValueError("EpochTimer saw no epoch: pass it to fit(..., callbacks=[timer]) first.")
        if stat not in ("min", "median"):
            raise ValueError(f"stat must be 'min' or 'median'; got {stat!r}.")
        t = self.times[1:] if len(self.times) > 1 else self.times
        return float(np.min(t) if stat == "min" else np.median(t))
