"""Subsets and splits: k labels per class, stratified hold-outs, nested learning-curve subsets.

All seeded with ``numpy.random.default_rng``: same seed, same indices, on every backend.

Example:
    >>> y = np.repeat(np.arange(3), 10)
    >>> len(per_class_indices(y, 4, seed=0))
    12
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np


def per_class_indices(y: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Indices of ``k`` examples of every class (stratified "k labels per class"), sorted.

    Example:
        >>> idx = per_class_indices(np.array([0, 0, 1, 1, 1]), 2, seed=0)
        >>> np.bincount(np.array([0, 0, 1, 1, 1])[idx]).tolist()
        [2, 2]
    """
    y = np.asarray(y)
    classes, counts = np.unique(y, return_counts=True)
    if k > counts.min():
        small = classes[counts.argmin()]
        raise ValueError(f"Asked for {k} labels per class, but class {small} has only {counts.min()} "
                         f"examples here. Use k <= {counts.min()} (or a larger pool).")
    rng = np.random.default_rng(seed)
    picked = [rng.choice(np.flatnonzero(y == c), size=k, replace=False) for c in classes]
    return np.sort(np.concatenate(picked))


def stratified_split(y: np.ndarray, fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split indices into ``(rest, held_out)`` with ``fraction`` of every class held out.

    Example:
        >>> a, b = stratified_split(np.repeat([0, 1], 10), 0.2, seed=0)
        >>> len(a), len(b)
        (16, 4)
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be between 0 and 1 (exclusive); got {fraction}.")
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    held = []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        held.append(idx[: max(1, int(round(fraction * len(idx))))] if len(idx) > 1 else idx[:0])
    held_idx = np.sort(np.concatenate(held))
    return np.setdiff1d(np.arange(len(y)), held_idx), held_idx


def cap(x: np.ndarray, y: np.ndarray, per_class: int | None, total: int | None,
        seed: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``per_class`` examples of every class, then at most ``total`` (stratified); ``None`` = no cap.

    Example:
        >>> x, y = cap(np.arange(30), np.repeat(np.arange(3), 10), 4, None, seed=0)
        >>> np.bincount(y).tolist()
        [4, 4, 4]
    """
    if per_class is not None:
        counts = np.bincount(y)
        idx = per_class_indices(y, min(per_class, int(counts[counts > 0].min())), seed)
        x, y = x[idx], y[idx]
    if total is not None and total < len(y):
        _, idx = stratified_split(y, total / len(y), seed)
        x, y = x[idx], y[idx]
    return x, y


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


def few_labels(y: np.ndarray, per_class: int, seed: int = 0) -> np.ndarray:
    """Indices of ``per_class`` labelled examples per class (fewer if a class is smaller), sorted.

    Example:
        >>> len(few_labels(np.array([0, 0, 0, 1]), 2))  # 2 of class 0, the only 1 of class 1
        3
    """
    y = np.asarray(y)
    counts = np.bincount(y)
    k = min(per_class, int(counts[counts > 0].min()))
    if k < per_class:  # tiny (mock) data: take what each class has, up to per_class
        rng = np.random.default_rng(seed)
        idx = [rng.permutation(np.flatnonzero(y == c))[:per_class] for c in np.unique(y)]
        return np.sort(np.concatenate(idx))
    return per_class_indices(y, k, seed)
