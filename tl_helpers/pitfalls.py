"""Pitfalls of transfer learning, measured: the chores behind notebook 05.

* choosing a source model: :func:`measure_throughput` (parameters: Keras's ``model.count_params()``),
  :func:`linear_probe_accuracy`, :func:`backbone_table`, :func:`backbone_scatter`;
* negative transfer: the source bodies are :func:`tl_helpers.models.small_cnn` without a head;
* shortcut learning: :func:`stamp_watermark`, :func:`occlusion_map`, :func:`share_in_corner`;
* class imbalance: :func:`make_imbalanced`, :func:`balanced_class_weights`,
  :func:`per_class_recall`.

The lessons themselves (which labels a source was trained on, what is frozen,
which images carry the watermark, the class weights passed to ``fit``) stay in
the notebook cells.

Example:
    >>> import numpy as np
    >>> y = np.array([0, 0, 0, 1])
    >>> balanced_class_weights(y)
    {0: 0.667, 1: 2.0}
    >>> int(stamp_watermark(np.zeros((1, 10, 10), "uint8"), size=0.2).max())
    255
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import keras
import numpy as np


# ------------------------------------------------------------ choosing a source
def measure_throughput(model: keras.Model, images: np.ndarray, batch_size: int = 64, repeats: int = 2) -> float:
    """Images per second of ``model`` in inference mode on model-ready ``images`` (a measurement).

    One batch is run first and not timed (tracing, memory allocation); then
    ``repeats`` passes over the full batches of ``images`` are timed with the
    same batch shape, and the best pass counts (the least disturbed by other work
    on the machine).

    Example:
        >>> m = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.GlobalAveragePooling2D()])
        >>> measure_throughput(m, np.zeros((8, 4, 4, 3), "float32"), batch_size=4) > 0
        True
    """
    images = np.asarray(images, "float32")
    if len(images) < batch_size:
        raise ValueError(f"measure_throughput needs at least one full batch: {len(images)} images < "
                         f"batch_size={batch_size}. Pass more images or a smaller batch_size.")
    n = (len(images) // batch_size) * batch_size
    batches = [images[i:i + batch_size] for i in range(0, n, batch_size)]
    keras.ops.convert_to_numpy(model(batches[0], training=False))  # warm-up, not timed
    best = float("inf")
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        for b in batches:
            keras.ops.convert_to_numpy(model(b, training=False))
        best = min(best, time.perf_counter() - start)
    return n / max(best, 1e-9)


def linear_probe_accuracy(f_train: np.ndarray, y_train: np.ndarray, f_test: np.ndarray, y_test: np.ndarray,
                          C: float = 1.0) -> float:
    """Test accuracy of an L2-regularised logistic regression on fixed features (a "linear probe").

    Kornblith et al. (2019) compare ImageNet models by exactly this: frozen
    features, a logistic-regression head. Features are standardised first.

    Example:
        >>> f = np.array([[0.0], [0.1], [1.0], [1.1]]); y = np.array([0, 0, 1, 1])
        >>> linear_probe_accuracy(f, y, f, y)
        1.0
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if len(f_train) != len(y_train) or len(f_test) != len(y_test):
        raise ValueError(f"features and labels must match: train {len(f_train)} vs {len(y_train)}, "
                         f"test {len(f_test)} vs {len(y_test)}.")
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
    clf.fit(np.asarray(f_train, "float64"), y_train)
    return float((clf.predict(np.asarray(f_test, "float64")) == np.asarray(y_test)).mean())


_COLUMNS = (("backbone", "{}"), ("weights", "{}"), ("params_M", "{:.2f}"), ("img_per_s", "{:.0f}"),
            ("accuracy", "{:.3f}"))


def backbone_table(rows: Sequence[dict[str, Any]]) -> str:
    """A plain-text table of backbone measurements (keys: backbone, weights, params_M, img_per_s, accuracy).

    Example:
        >>> print(backbone_table([{"backbone": "m", "weights": "imagenet", "params_M": 0.2,
        ...                        "img_per_s": 400.0, "accuracy": 0.8}]))
        backbone  weights   params_M  img_per_s  accuracy
        m         imagenet  0.20      400        0.800
    """
    cells = [[c for c, _ in _COLUMNS]]
    for r in rows:
        missing = [c for c, _ in _COLUMNS if c not in r]
        if missing:
            raise KeyError(f"backbone_table: a row lacks {missing}; every row needs {[c for c, _ in _COLUMNS]}.")
        cells.append([fmt.format(r[c]) if r[c] is not None else "-" for c, fmt in _COLUMNS])
    widths = [max(len(row[i]) for row in cells) for i in range(len(_COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells)


def backbone_scatter(rows: Sequence[dict[str, Any]]):
    """Accuracy against measured throughput (log scale); marker area ~ parameters; random weights hollow.

    Example:
        >>> fig = backbone_scatter([{"backbone": "m", "weights": None, "params_M": 0.2,
        ...                          "img_per_s": 400.0, "accuracy": 0.5}])
        >>> fig.axes[0].get_xlabel()
        'feature extraction throughput (images/s, log scale)'
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for r in rows:
        pretrained = r["weights"] not in (None, "random", "none")
        size = 40 + 60 * np.sqrt(max(r["params_M"], 0.0))
        ax.scatter(r["img_per_s"], r["accuracy"], s=size, color="C0" if pretrained else "C3",
                   facecolors=None if pretrained else "none", linewidths=1.5, zorder=3)
        ax.annotate(f"{r['backbone']}\n({r['weights'] or 'random'}, {r['params_M']:.1f} M)",
                    (r["img_per_s"], r["accuracy"]), textcoords="offset points", xytext=(6, 4), fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("feature extraction throughput (images/s, log scale)")
    ax.set_ylabel("linear-probe test accuracy")
    ax.set_title("filled: ImageNet weights - hollow: same architecture, random weights", fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------ shortcut learning
def stamp_watermark(images: np.ndarray, size: float = 0.22, corner: str = "top-left", cell: int = 0) -> np.ndarray:
    """A copy of uint8 ``images`` with a small black-and-white checkerboard stamped into a corner.

    ``size`` is the stamp's side as a fraction of the image side; ``corner`` is
    ``"top-left"``, ``"top-right"``, ``"bottom-left"`` or ``"bottom-right"``;
    ``cell`` is the checker cell in pixels (0: a quarter of the stamp). Works
    for ``(n, h, w)`` and ``(n, h, w, c)`` arrays; the input is not changed.

    Example:
        >>> out = stamp_watermark(np.zeros((2, 8, 8), "uint8"), size=0.5, cell=2)
        >>> out[0, :4, :4].tolist()
        [[255, 255, 0, 0], [255, 255, 0, 0], [0, 0, 255, 255], [0, 0, 255, 255]]
    """
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise ValueError(f"stamp_watermark takes uint8 images (n, h, w) or (n, h, w, c); got "
                         f"{images.dtype} {images.shape}. Stamp the raw images before preprocessing.")
    corners = ("top-left", "top-right", "bottom-left", "bottom-right")
    if corner not in corners:
        raise ValueError(f"corner must be one of {corners}; got {corner!r}.")
    if not 0 < size <= 1:
        raise ValueError(f"size is a fraction of the image side, in (0, 1]; got {size}.")
    h, w = images.shape[1:3]
    s = max(2, int(round(size * min(h, w))))
    c = cell or max(1, s // 4)
    yy, xx = np.mgrid[:s, :s]
    pattern = np.where(((yy // c) + (xx // c)) % 2 == 0, 255, 0).astype("uint8")
    top = 0 if corner.startswith("top") else h - s
    left = 0 if corner.endswith("left") else w - s
    out = images.copy()
    if out.ndim == 4:
        pattern = pattern[..., None]
    out[:, top:top + s, left:left + s] = pattern
    return out


def occlusion_map(predict: Callable[[np.ndarray], np.ndarray], images: np.ndarray, class_index: int,
                  patch: float = 0.25, stride: float = 0.125, fill: int = 0) -> np.ndarray:
    """Occlusion sensitivity (Zeiler & Fergus, 2014): how much the class probability drops when a patch is covered.

    ``predict`` maps uint8 images (like ``images``) to class probabilities.
    A square of side ``patch`` (fraction of the image side), slid with step
    ``stride``, is filled with ``fill``; each pixel gets the mean drop of the
    patches covering it, clipped at 0 and scaled so every map's maximum is 1.
    Returns ``(n, h, w)`` maps in [0, 1] at the images' own resolution.

    Example:
        >>> def predict(x):  # "class 0" = brightness of the top-left pixel
        ...     p = x[:, 0, 0].astype(float) / 255
        ...     return np.stack([p, 1 - p], axis=1)
        >>> m = occlusion_map(predict, np.full((1, 8, 8), 255, "uint8"), class_index=0, patch=0.25, stride=0.25)
        >>> float(m[0, 0, 0]), float(m[0, 7, 7])
        (1.0, 0.0)
    """
    images = np.asarray(images)
    if images.ndim not in (3, 4):
        raise ValueError(f"occlusion_map takes images (n, h, w) or (n, h, w, c); got shape {images.shape}.")
    h, w = images.shape[1:3]
    p = max(1, int(round(patch * min(h, w))))
    step = max(1, int(round(stride * min(h, w))))
    tops = sorted(set(list(range(0, h - p + 1, step)) + [h - p]))
    lefts = sorted(set(list(range(0, w - p + 1, step)) + [w - p]))
    boxes = [(t, l) for t in tops for l in lefts]
    base_p = np.asarray(predict(images))[:, class_index]
    covered = np.repeat(images[:, None], len(boxes), axis=1)  # (n, boxes, h, w[, c])
    for b, (t, l) in enumerate(boxes):
        covered[:, b, t:t + p, l:l + p] = fill
    probs = np.asarray(predict(covered.reshape(-1, *images.shape[1:])))[:, class_index].reshape(len(images), -1)
    drop = base_p[:, None] - probs
    maps = np.zeros((len(images), h, w))
    counts = np.zeros((h, w))
    for b, (t, l) in enumerate(boxes):
        maps[:, t:t + p, l:l + p] += drop[:, b, None, None]
        counts[t:t + p, l:l + p] += 1
    maps = np.clip(maps / counts, 0, None)
    peak = maps.reshape(len(images), -1).max(1)
    return (maps / np.where(peak > 0, peak, 1)[:, None, None]).astype("float32")


def share_in_corner(maps: np.ndarray, size: float, corner: str = "top-left") -> np.ndarray:
    """The share of every heat map's total mass inside the watermark's square (``size`` = fraction of the side).

    A map spread evenly over the image puts ``size ** 2`` of its mass there.

    Example:
        >>> m = np.zeros((1, 10, 10)); m[0, :2, :2] = 1
        >>> share_in_corner(m, 0.2).tolist()
        [1.0]
    """
    maps = np.asarray(maps, "float64")
    h, w = maps.shape[1:3]
    s = max(1, int(round(size * min(h, w))))
    rows = slice(0, s) if corner.startswith("top") else slice(h - s, h)
    cols = slice(0, s) if corner.endswith("left") else slice(w - s, w)
    total = maps.reshape(len(maps), -1).sum(1)
    return np.where(total > 0, maps[:, rows, cols].sum((1, 2)) / np.where(total > 0, total, 1), 0.0)


# --------------------------------------------------------------- class imbalance
def make_imbalanced(y: np.ndarray, rare_class: int, n_rare: int, seed: int = 0) -> np.ndarray:
    """Indices of all of ``y`` except the ``rare_class``, which keeps only ``n_rare`` random examples.

    Example:
        >>> idx = make_imbalanced(np.repeat([0, 1, 2], 10), rare_class=1, n_rare=2)
        >>> np.bincount(np.repeat([0, 1, 2], 10)[idx]).tolist()
        [10, 2, 10]
    """
    y = np.asarray(y)
    members = np.flatnonzero(y == rare_class)
    if len(members) == 0:
        raise ValueError(f"rare_class={rare_class} does not occur in y (classes: {np.unique(y).tolist()}).")
    if not 1 <= n_rare <= len(members):
        raise ValueError(f"n_rare must be between 1 and {len(members)} (the examples of class {rare_class}); "
                         f"got {n_rare}.")
    keep = np.random.default_rng(seed).choice(members, size=n_rare, replace=False)
    return np.sort(np.concatenate([np.flatnonzero(y != rare_class), keep]))


def balanced_class_weights(y: np.ndarray, num_classes: int | None = None) -> dict[int, float]:
    """``{class: n / (k * n_class)}``, rounded to 3 decimals: the weights that make every class count equally.

    (The same rule as scikit-learn's ``class_weight="balanced"``.) Classes absent
    from ``y`` get weight 0.

    Example:
        >>> balanced_class_weights(np.array([0, 0, 0, 0, 1, 2]))
        {0: 0.5, 1: 2.0, 2: 2.0}
    """
    y = np.asarray(y).astype(int)
    k = int(num_classes or (y.max() + 1))
    counts = np.bincount(y, minlength=k)
    present = int((counts > 0).sum())
    return {c: round(len(y) / (present * n), 3) if n else 0.0 for c, n in enumerate(counts.tolist())}


def per_class_recall(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int | None = None) -> np.ndarray:
    """Recall of every class: the fraction of its examples predicted as it (NaN for an absent class).

    Example:
        >>> per_class_recall(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])).tolist()
        [0.5, 1.0]
    """
    y_true, y_pred = np.asarray(y_true).astype(int), np.asarray(y_pred).astype(int)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} must have the same shape.")
    k = int(num_classes or max(y_true.max(), y_pred.max()) + 1)
    support = np.bincount(y_true, minlength=k).astype(float)
    hits = np.bincount(y_true[y_true == y_pred], minlength=k).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, hits / np.maximum(support, 1), np.nan)
