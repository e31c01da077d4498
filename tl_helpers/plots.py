"""Plotting chores: image grids, training curves, learning curves, learning-rate sweeps, confusion
matrices, 2-D embeddings, mistakes.

Every function draws with matplotlib and returns the ``Figure`` so a notebook
can show it (it displays inline) and a test can inspect it.

Example:
    >>> import numpy as np
    >>> fig = image_grid(np.zeros((4, 8, 8), "uint8"), [0, 1, 0, 1], ["a", "b"])
    >>> len(fig.axes)
    4
"""

from __future__ import annotations

from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np


def _show(img: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    img = np.asarray(img)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.dtype != np.uint8:  # floats: rescale whatever range they are in to 0-1 for display
        lo, hi = float(img.min()), float(img.max())
        img = (img - lo) / (hi - lo + 1e-8)
    return img, ({"cmap": "gray"} if img.ndim == 2 else {})


def image_grid(images: np.ndarray, labels: Sequence[int] | None = None,
               class_names: Sequence[str] | None = None, ncols: int = 8,
               titles: Sequence[str] | None = None, size: float = 1.6):
    """Show images in a grid with their class names (or given titles) above them.

    Example:
        >>> fig = image_grid(np.zeros((2, 8, 8, 3), "uint8"), titles=["x", "y"])
        >>> [a.get_title() for a in fig.axes]
        ['x', 'y']
    """
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.3), squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i >= n:
            fig.delaxes(ax)
            continue
        img, kw = _show(images[i])
        ax.imshow(img, **kw)
        ax.axis("off")
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
        elif labels is not None:
            lab = int(labels[i])
            ax.set_title(class_names[lab] if class_names else str(lab), fontsize=8)
    fig.tight_layout()
    return fig


def training_curves(histories: dict[str, Any], metric: str = "accuracy", markers: dict[str, int] | None = None):
    """Plot ``metric`` and ``val_<metric>`` per epoch for several runs (Keras ``History`` or dicts).

    ``markers`` draws a vertical line at an epoch, e.g. ``{"fine-tuning starts": 10}``.

    Example:
        >>> fig = training_curves({"run": {"accuracy": [0.5, 0.7], "val_accuracy": [0.4, 0.6]}})
        >>> len(fig.axes[0].lines)
        2
    """
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for name, h in histories.items():
        h = getattr(h, "history", h)
        epochs = h.get("epoch", list(range(1, len(h[metric]) + 1)))
        line, = ax.plot(epochs, h[metric], label=f"{name} (train)")
        if f"val_{metric}" in h:
            ax.plot(epochs, h[f"val_{metric}"], "--", color=line.get_color(), label=f"{name} (val)")
    for label, epoch in (markers or {}).items():
        ax.axvline(epoch, color="gray", linestyle=":")
        ax.text(epoch, ax.get_ylim()[0], f" {label}", rotation=90, va="bottom", fontsize=8, color="gray")
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def confusion_matrix_plot(y_true: Sequence[int], y_pred: Sequence[int], class_names: Sequence[str],
                          normalize: bool = True):
    """A confusion matrix (rows: true class, columns: predicted), row-normalised by default.

    Example:
        >>> fig = confusion_matrix_plot([0, 1, 1], [0, 1, 0], ["a", "b"])
        >>> fig.axes[0].get_xlabel()
        'predicted'
    """
    k = len(class_names)
    cm = np.zeros((k, k), float)
    np.add.at(cm, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    if normalize:
        cm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(0.55 * k + 2.5, 0.55 * k + 2))
    im = ax.imshow(cm, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ax.set_xticks(range(k), class_names, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(k), class_names, fontsize=8)
    for i in range(k):
        for j in range(k):
            if cm[i, j] > 0:
                ax.text(j, i, f"{cm[i, j]:.2f}" if normalize else int(cm[i, j]), ha="center",
                        va="center", fontsize=7, color="white" if cm[i, j] > 0.5 * cm.max() else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


def embedding_2d(features: np.ndarray, method: str = "pca", seed: int = 0, max_points: int = 2000) -> np.ndarray:
    """Project features to 2-D with PCA or t-SNE (on at most ``max_points`` rows).

    Example:
        >>> embedding_2d(np.random.rand(50, 8), "pca").shape
        (50, 2)
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    f = np.asarray(features, "float32")[:max_points]
    if method == "pca":
        return PCA(2, random_state=seed).fit_transform(f)
    if method == "tsne":
        f = PCA(min(50, f.shape[1], len(f)), random_state=seed).fit_transform(f)
        return TSNE(2, init="pca", random_state=seed, perplexity=min(30, max(2, len(f) // 4))).fit_transform(f)
    raise ValueError(f"method must be 'pca' or 'tsne'; got {method!r}.")


def scatter_2d(points: dict[str, tuple[np.ndarray, np.ndarray]], class_names: Sequence[str] | None = None,
               title: str = ""):
    """Side-by-side scatter plots: ``{panel title: (xy (n, 2), colour labels (n,))}``.

    Example:
        >>> fig = scatter_2d({"pca": (np.random.rand(10, 2), np.arange(10) % 2)})
        >>> fig.axes[0].get_title()
        'pca'
    """
    fig, axes = plt.subplots(1, len(points), figsize=(4.6 * len(points), 4.2), squeeze=False)
    for ax, (name, (xy, c)) in zip(axes.flat, points.items()):
        sc = ax.scatter(xy[:, 0], xy[:, 1], c=c, cmap="tab10", s=6, alpha=0.8,
                        vmin=0, vmax=max(9, int(np.max(c))))
        ax.set_title(name)
        ax.set_xticks([]), ax.set_yticks([])
    if class_names is not None:
        handles = [plt.Line2D([], [], marker="o", ls="", color=sc.cmap(sc.norm(i))) for i in range(len(class_names))]
        fig.legend(handles, class_names, loc="center right", fontsize=8)
        fig.subplots_adjust(right=0.82)
    if title:
        fig.suptitle(title)
    return fig


def mistakes_grid(images: np.ndarray, y_true: Sequence[int], y_pred: Sequence[int], class_names: Sequence[str],
                  confidence: Sequence[float] | None = None, n: int = 16):
    """The ``n`` most confident mistakes (or the first ``n``), titled "true -> predicted".

    Example:
        >>> fig = mistakes_grid(np.zeros((3, 8, 8), "uint8"), [0, 1, 1], [1, 1, 0], ["a", "b"])
        >>> len(fig.axes)
        2
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    wrong = np.flatnonzero(y_true != y_pred)
    if confidence is not None:
        wrong = wrong[np.argsort(-np.asarray(confidence)[wrong])]
    wrong = wrong[:n]
    if len(wrong) == 0:
        fig, ax = plt.subplots(figsize=(3, 1))
        ax.text(0.5, 0.5, "no mistakes", ha="center"), ax.axis("off")
        return fig
    titles = [f"{class_names[y_true[i]]}\n-> {class_names[y_pred[i]]}" for i in wrong]
    return image_grid(images[wrong], titles=titles)


def learning_curves(curves: dict[str, dict], chance: float | None = None, title: str = ""):
    """Test accuracy against labelled examples per class, one line per method.

    ``curves`` maps a method's name to ``{labels_per_class: accuracy}``; ``"all"``
    is drawn after the largest number. A method with one point shows as a marker.

    Example:
        >>> fig = learning_curves({"a": {5: 0.5, 20: 0.7}, "b": {20: 0.6}}, chance=0.1)
        >>> len(fig.axes[0].lines)
        3
    """
    ks = sorted({k for c in curves.values() for k in c}, key=lambda k: (k == "all", k if k != "all" else 0))
    pos = {k: i for i, k in enumerate(ks)}
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for name, c in curves.items():
        items = sorted(c.items(), key=lambda kv: pos[kv[0]])
        ax.plot([pos[k] for k, _ in items], [a for _, a in items], "o-", label=name)
    if chance is not None:
        ax.axhline(chance, color="gray", ls=":", label="chance")
    ax.set_xticks(range(len(ks)), [str(k) for k in ks])
    ax.set_xlabel("labelled examples per class")
    ax.set_ylabel("test accuracy")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def lr_sweep(learning_rates: Sequence[float], scores: Sequence[float], reference: float | None = None,
             reference_label: str = "before fine-tuning", ylabel: str = "validation accuracy"):
    """Score vs learning rate on a log axis, with an optional horizontal reference line.

    Example:
        >>> fig = lr_sweep([1e-4, 1e-3], [0.8, 0.7], reference=0.75)
        >>> fig.axes[0].get_xscale()
        'log'
    """
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    ax.plot(learning_rates, scores, "o-", label="after fine-tuning")
    if reference is not None:
        ax.axhline(reference, color="gray", linestyle="--", label=reference_label)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
