"""The one cache of the course: run a frozen model once over images, keep what it outputs.

A frozen backbone (or any frozen part of one: notebook 02 caches the activations of
its bottom blocks) maps every image to the same output on every epoch, so the
outputs ("features", "embeddings", "activations") can be computed once and a head
trained on them directly. :func:`cached_features` does that with two caches: one in
memory (this kernel) and one on disk in the course's cache folder
(``paths.cache_dir("features")``: ``$TL_CACHE_DIR`` or the per-user cache, never the
checkout). The key is a fingerprint of the model's weights and shapes, of the exact
images, of the image size and of what ``preprocess`` does, so a re-run skips the work,
random (mock) weights never read ImageNet features, and a changed input never reads
a stale file.

Example:
    >>> import keras
    >>> m = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.GlobalAveragePooling2D()])
    >>> cached_features(m, np.zeros((3, 8, 8), "uint8"), 8, verbose=False).shape
    (3, 3)
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any, Callable

import keras
import numpy as np

from .data.pipeline import Batches
from .paths import cache_dir as _course_cache_dir

_memory: dict[str, np.ndarray] = {}
#: a fixed probe image batch: what ``preprocess`` makes of it identifies the preprocessing.
_PROBE = np.linspace(0, 255, 2 * 4 * 4 * 3, dtype="float32").reshape(2, 4, 4, 3)


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


def _leaf_layers(model: Any) -> list[Any]:
    out = []
    for layer in getattr(model, "layers", []):
        out += _leaf_layers(layer) if getattr(layer, "layers", None) else [layer]
    return out


def model_fingerprint(model: keras.Model) -> str:
    """A hash of a model's weights, its layers' kinds and settings (names aside) and its input/output shapes.

    Two cuts of one backbone, two weightless models (average vs max pooling) or the
    same layers with other weights all get different fingerprints.

    Example:
        >>> pool = lambda layer: keras.Sequential([keras.Input((4, 4, 3)), layer])
        >>> model_fingerprint(pool(keras.layers.GlobalAveragePooling2D())) == model_fingerprint(
        ...     pool(keras.layers.GlobalMaxPooling2D()))
        False
    """
    layers = []
    for layer in _leaf_layers(model):
        try:
            config = {k: v for k, v in layer.get_config().items() if k not in ("name", "trainable")}
        except NotImplementedError:
            config = {}
        layers.append((type(layer).__name__, repr(config)))
    shapes = ([tuple(t.shape) for t in keras.tree.flatten(model.inputs)],
              [tuple(t.shape) for t in keras.tree.flatten(model.outputs)])
    return fingerprint(weights_fingerprint(model), layers, shapes)


def preprocess_fingerprint(preprocess: Callable[[Any], Any] | None) -> str:
    """A hash of what ``preprocess`` does to a fixed probe batch (so two lambdas are told apart).

    Example:
        >>> preprocess_fingerprint(lambda t: t / 255.0) == preprocess_fingerprint(lambda t: t / 127.5 - 1)
        False
    """
    if preprocess is None:
        return "none"
    return fingerprint(np.asarray(keras.ops.convert_to_numpy(preprocess(_PROBE.copy())), "float32"))


def _input_size(model: keras.Model) -> int | None:
    shape = model.inputs[0].shape if getattr(model, "inputs", None) else None
    return None if shape is None or len(shape) < 3 or shape[1] is None else int(shape[1])


def extract_features(model: keras.Model, images: np.ndarray, image_size: int,
                     preprocess: Callable[[Any], Any] | None = None, batch_size: int = 256) -> np.ndarray:
    """Run ``model`` in inference mode over uint8 images once; returns its outputs as float32.

    Images are resized to ``image_size`` (grayscale -> RGB) and ``preprocess``-ed
    batch by batch (:class:`~tl_helpers.data.Batches`), then ``model.predict`` runs.

    Example:
        >>> base = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.GlobalAveragePooling2D()])
        >>> extract_features(base, np.full((5, 4, 4), 255, "uint8"), 8).shape
        (5, 3)
    """
    expected = _input_size(model)
    if expected is not None and expected != image_size:
        raise ValueError(f"The model was built for {expected} px inputs but image_size={image_size}. "
                         f"Build it with the track's size (build_backbone(name, {image_size})) or pass "
                         f"image_size={expected}.")
    if len(images) == 0:
        raise ValueError("No images to extract features from (an empty array).")
    batches = Batches(images, batch_size=batch_size, image_size=image_size, preprocess=preprocess, cache=False)
    return np.asarray(model.predict(batches, verbose=0), dtype="float32")


def cached_features(model: keras.Model, images: np.ndarray, image_size: int,
                    preprocess: Callable[[Any], Any] | None = None, batch_size: int = 256,
                    dtype: str = "float32", verbose: bool = True, directory: Path | None = None) -> np.ndarray:
    """:func:`extract_features`, cached in memory and on disk; returns float32.

    The key fingerprints the model (:func:`model_fingerprint`), the images' bytes,
    ``image_size`` and ``preprocess`` (:func:`preprocess_fingerprint`). ``dtype`` is
    the stored precision (``"float16"`` halves big feature maps; the result is the same
    float32 array on a first and on a cached run). Files go to ``directory`` (default
    :func:`cache_dir`); the printed line names no path.

    Example:
        >>> m = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.GlobalAveragePooling2D()])
        >>> first = cached_features(m, np.ones((2, 8, 8), "uint8"), 8, dtype="float16", verbose=False)
        >>> again = cached_features(m, np.ones((2, 8, 8), "uint8"), 8, dtype="float16")
        features: 2 images from memory
        >>> bool((first == again).all()), first.dtype
        (True, dtype('float32'))
    """
    if dtype not in ("float32", "float16"):
        raise ValueError(f"dtype must be 'float32' or 'float16'; got {dtype!r}.")
    key = (f"{len(images)}x{image_size}px-m{model_fingerprint(model)}-x{fingerprint(images)}"
           f"-p{preprocess_fingerprint(preprocess)}-{dtype}")
    if key in _memory:
        if verbose:
            print(f"features: {len(images)} images from memory")
        return _memory[key]
    path = Path(directory or cache_dir()) / f"{key}.npy"
    if path.is_file():
        feats = np.load(path).astype("float32")
        if verbose:
            print(f"features: {len(images)} images from the disk cache")
    else:
        start = time.perf_counter()
        feats = extract_features(model, images, image_size, preprocess, batch_size).astype(dtype)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}.npy")
        np.save(tmp, feats)
        os.replace(tmp, path)  # atomic: a killed run never leaves half a file
        feats = feats.astype("float32")
        if verbose:
            print(f"features: {len(images)} images extracted in {time.perf_counter() - start:.1f} s (now cached)")
    _memory[key] = feats
    return feats


def clear_memory_cache() -> int:
    """Forget the in-memory features (the disk cache stays); returns how many entries went.

    Example:
        >>> clear_memory_cache() >= 0
        True
    """
    n = len(_memory)
    _memory.clear()
    return n


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
