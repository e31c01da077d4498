"""Checks for notebook 05 (pitfalls): balanced sampling, the watermark trigger, choosing a source.

Every check recomputes the truth from the run's own objects; a wrong answer
raises :class:`~tl_helpers.checks.CheckFailed` with a hint.

Example:
    >>> import numpy as np
    >>> nb05_choose_source(None, [{"backbone": "a", "img_per_s": 10.0, "accuracy": 0.9}], 50.0)
    ✅ Correct: no candidate is fast enough.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from . import CheckFailed, answered, expect

__all__ = ["nb05_balanced_sampling", "nb05_hijack_rate", "nb05_choose_source"]


def _need(condition: bool, hint: str) -> None:
    if not condition:
        raise CheckFailed(f"❌ Not yet: {hint}")


def nb05_balanced_sampling(idx_balanced: Any, oversampled_head: Any, rare_recall_oversampled: Any,
                           y_imb: np.ndarray, f_test: np.ndarray, y_test: np.ndarray, rare_class: int,
                           tol: float = 1e-3) -> None:
    """``idx_balanced`` equalises the class counts of ``y_imb``; the recall is the rare class's, of that head.

    The check recomputes the rare class's test recall from ``oversampled_head``
    (a layer or model mapping features to class probabilities) on ``f_test``, so
    the overall accuracy, another class's recall, or another head's recall fail.

    Example:
        >>> head = lambda f: np.eye(2)[np.asarray(f)[:, 0].astype(int)]   # predicts the feature's value
        >>> f_t, y_t = np.array([[0], [1], [1], [1]]), np.array([0, 1, 1, 0])
        >>> nb05_balanced_sampling(np.array([0, 1, 2, 3, 3, 3]), head, 1.0, np.array([0, 0, 0, 1]), f_t, y_t, 1)
        ✅ Correct: every class appears 3 times; the rare class's test recall with oversampling is 1.000.
        >>> try:
        ...     nb05_balanced_sampling(np.array([0, 1, 2]), head, 1.0, np.array([0, 0, 1]), f_t, y_t, 1)
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
    head = answered(oversampled_head, "oversampled_head")
    _need(callable(head), "oversampled_head must be the head you trained on the oversampled features "
                          "(what train_head returns).")
    rec = answered(rare_recall_oversampled, "rare_recall_oversampled")
    _need(np.ndim(rec) == 0, "rare_recall_oversampled must be one number (the rare class's recall).")
    rec = float(rec)
    from ..pitfalls import per_class_recall

    y_t = np.asarray(y_test).astype(int)
    pred = np.asarray(_to_numpy(head(np.asarray(f_test, "float32")))).argmax(-1)
    recalls = per_class_recall(y_t, pred, max(int(y_t.max()), int(pred.max()), int(rare_class)) + 1)
    truth = float(np.nan_to_num(recalls[rare_class]))
    if abs(rec - truth) <= tol:
        expect(True, hint="", success=f"every class appears {largest} times; the rare class's test recall with "
                                      f"oversampling is {truth:.3f}.")
        return
    _need(abs(rec - float((pred == y_t).mean())) > tol,
          "that is the head's overall accuracy; recall is per class: of the rare class's test images, the "
          "fraction predicted as the rare class.")
    others = [c for c in range(len(recalls)) if c != rare_class and abs(rec - float(np.nan_to_num(recalls[c]))) <= tol]
    _need(not others, f"that is the recall of class {others[0] if others else ''}, not of the rare class "
                      f"(rare_class = {rare_class}).")
    _need(False, "compute the rare class's recall from the predictions of oversampled_head on f_test "
                 "(pitfalls.per_class_recall(y_test, predict(oversampled_head, f_test), K)[rare_class]).")


def _predict(model: Any, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """``model`` called directly in batches (no ``predict`` tracing, so no retracing warnings on stderr)."""
    out = [_to_numpy(model(np.asarray(x[i:i + batch_size], "float32"), training=False))
           for i in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros((0,))


def _to_numpy(x: Any) -> np.ndarray:
    try:
        import keras

        return keras.ops.convert_to_numpy(x)
    except Exception:  # plain numpy outputs (tests)
        return np.asarray(x)


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
    truth = float((_predict(model, ready).argmax(-1) == shortcut_class).mean())
    clean = float((_predict(model, prepare_images(np.asarray(x_test)[others], image_size, preprocess)).argmax(-1)
                   == shortcut_class).mean())
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
    if chosen is Ellipsis:
        raise CheckFailed("❌ Not yet: chosen is still empty - fill in the exercise cell above and run it.")
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
