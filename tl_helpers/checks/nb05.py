"""Checks for notebook 05 (pitfalls): balanced sampling, the watermark trigger, choosing a source.

Every check recomputes the truth from the run's own objects; a wrong answer
raises :class:`~tl_helpers.checks.CheckFailed` with a hint.

Example:
    >>> import numpy as np
    >>> y = np.array([0, 0, 0, 1])
    >>> nb05_balanced_sampling(np.array([0, 1, 2, 3, 3, 3]), y, 0.5)
    ✅ Correct: every class appears 3 times (rare-class recall with oversampling: 0.500).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from . import CheckFailed, answered, expect

__all__ = ["nb05_balanced_sampling", "nb05_hijack_rate", "nb05_choose_source"]


def _need(condition: bool, hint: str) -> None:
    if not condition:
        raise CheckFailed(f"❌ Not yet: {hint}")


def nb05_balanced_sampling(idx_balanced: Any, y_imb: np.ndarray, rare_recall_oversampled: Any) -> None:
    """``idx_balanced`` indexes ``y_imb``, keeps each index within its class, and equalises the class counts.

    Example:
        >>> try:
        ...     nb05_balanced_sampling(np.array([0, 1, 2]), np.array([0, 0, 1]), 0.5)
        ... except CheckFailed as e:
        ...     print(e)
        ❌ Not yet: every class must appear as often as the largest class (2 times); your counts are [2, 1].
    """
    idx = np.asarray(answered(idx_balanced, "idx_balanced"))
    y = np.asarray(y_imb)
    _need(idx.ndim == 1 and np.issubdtype(idx.dtype, np.integer),
          f"idx_balanced must be a 1-D array of integer indices into y_imb; got {idx.dtype} {idx.shape}.")
    _need(len(idx) > 0 and idx.min() >= 0 and idx.max() < len(y),
          f"indices must lie between 0 and len(y_imb) - 1 = {len(y) - 1}.")
    largest = int(np.bincount(y).max())
    present = np.unique(y)
    counts = np.bincount(y[idx], minlength=int(y.max()) + 1)[present]
    _need(bool(np.all(counts == largest)),
          f"every class must appear as often as the largest class ({largest} times); "
          f"your counts are {counts.tolist()}.")
    rec = float(answered(rare_recall_oversampled, "rare_recall_oversampled"))
    _need(0.0 <= rec <= 1.0, f"rare_recall_oversampled is a recall, between 0 and 1; got {rec}.")
    expect(True, hint="", success=f"every class appears {largest} times (rare-class recall with oversampling: "
                                  f"{rec:.3f}).")


def nb05_hijack_rate(hijack_rate: Any, model: Any, x_test: np.ndarray, y_test: np.ndarray, shortcut_class: int,
                     watermark: dict[str, Any], image_size: int, preprocess: Callable[[Any], Any] | None = None,
                     tol: float = 0.02) -> None:
    """Recompute the share of stamped other-class test images that ``model`` assigns to ``shortcut_class``.

    Example:
        >>> import keras
        >>> m = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.GlobalAveragePooling2D(),
        ...                       keras.layers.Dense(2, kernel_initializer="zeros",
        ...                                          bias_initializer=keras.initializers.Constant([1.0, 0.0]))])
        >>> x = np.zeros((4, 8, 8), "uint8"); y = np.array([0, 0, 1, 1])
        >>> nb05_hijack_rate(1.0, m, x, y, 0, {"size": 0.25}, 8)
        ✅ Correct: 100.0% of the stamped images of the other classes are predicted as class 0.
    """
    from ..data import prepare_images
    from ..pitfalls import stamp_watermark

    rate = answered(hijack_rate, "hijack_rate")
    _need(np.ndim(rate) == 0, "hijack_rate must be one number (a fraction between 0 and 1).")
    rate = float(rate)
    _need(0.0 <= rate <= 1.0, f"hijack_rate is a fraction between 0 and 1; got {rate}.")
    others = np.flatnonzero(np.asarray(y_test) != shortcut_class)
    _need(len(others) > 0, "there are no test images of other classes to stamp.")
    ready = prepare_images(stamp_watermark(np.asarray(x_test)[others], **watermark), image_size, preprocess)
    truth = float((np.asarray(model.predict(ready, verbose=0)).argmax(-1) == shortcut_class).mean())
    clean = float((np.asarray(model.predict(prepare_images(np.asarray(x_test)[others], image_size, preprocess),
                                            verbose=0)).argmax(-1) == shortcut_class).mean())
    if abs(rate - clean) <= tol and abs(truth - clean) > tol:
        raise CheckFailed("❌ Not yet: that is the rate on the CLEAN images; stamp them first "
                          "(pitfalls.stamp_watermark(x, **wm)).")
    _need(abs(rate - truth) <= tol,
          "stamp the other classes' test images (not the shortcut class's), preprocess them, predict, and "
          "count the fraction whose arg-max is the shortcut class.")
    expect(True, hint="", success=f"{truth:.1%} of the stamped images of the other classes are predicted as class "
                                  f"{shortcut_class}.")


def nb05_choose_source(chosen: Any, rows: Sequence[dict[str, Any]], min_img_per_s: float) -> None:
    """``chosen`` is the most accurate row of ``rows`` with ``img_per_s >= min_img_per_s`` (or None if none is).

    Example:
        >>> rows = [{"backbone": "a", "img_per_s": 10.0, "accuracy": 0.9},
        ...         {"backbone": "b", "img_per_s": 100.0, "accuracy": 0.7}]
        >>> nb05_choose_source(rows[1], rows, 50.0)
        ✅ Correct: b is the most accurate candidate at >= 50 img/s (accuracy 0.700).
    """
    fast = [r for r in rows if r["img_per_s"] >= min_img_per_s]
    if not fast:
        _need(chosen is None, f"no candidate reaches {min_img_per_s:.0f} img/s, so chosen should be None.")
        expect(True, hint="", success="no candidate is fast enough.")
        return
    answered(chosen, "chosen")
    _need(isinstance(chosen, dict) and "accuracy" in chosen and "img_per_s" in chosen,
          "chosen must be one of the dicts in rows (with 'accuracy' and 'img_per_s').")
    _need(chosen["img_per_s"] >= min_img_per_s,
          f"your choice runs at {chosen['img_per_s']:.0f} img/s, below the budget of {min_img_per_s:.0f} img/s.")
    best = max(r["accuracy"] for r in fast)
    _need(chosen["accuracy"] >= best,
          "a more accurate candidate also meets the throughput budget: filter by speed first, then take the "
          "highest accuracy.")
    expect(True, hint="", success=f"{chosen['backbone']} is the most accurate candidate at >= "
                                  f"{min_img_per_s:.0f} img/s (accuracy {chosen['accuracy']:.3f}).")
