"""Checks for notebook 03 (domain adaptation): CORAL by hand, a gradient reversal function, AdaBN for a layer.

Each check recomputes the truth from the objects the learner used, or calls the
learner's function on inputs of its own (so reading a stored answer off the
notebook's models cannot pass); it holds for any seed and track.

Example:
    >>> import numpy as np
    >>> f = np.eye(4, dtype="float32")
    >>> check_coral_by_hand(0.0, f, f)
    ✅ Correct: equal covariances give a CORAL loss of 0 (here 0.00000)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import CheckFailed, answered, expect

__all__ = ["check_coral_by_hand", "check_grl_function", "check_adabn_layer"]


def check_coral_by_hand(my_coral: Any, fs: np.ndarray, ft: np.ndarray) -> None:
    """Exercise 1: ``my_coral`` must equal ``||C_s - C_t||_F^2 / (4 d^2)`` for ``fs``, ``ft``.

    Example:
        >>> try:
        ...     check_coral_by_hand(1.0, np.eye(3), np.eye(3))
        ... except CheckFailed as e:
        ...     print("hint:", "UNBIASED covariance" in str(e))
        hint: True
    """
    from ..domain import coral_loss

    value = float(np.asarray(answered(my_coral, "my_coral")))
    truth = float(np.asarray(coral_loss(np.asarray(fs, "float32"), np.asarray(ft, "float32"))))
    expect(np.isclose(value, truth, rtol=1e-3, atol=1e-6),
           hint=f"the CORAL loss for these batches is not {value:.5f}. Use the UNBIASED covariance of each "
                "batch (features in columns), square the difference element-wise, sum, and divide by 4*d*d "
                "where d is the number of features.",
           success=f"{'equal covariances give a CORAL loss of 0' if truth == 0 else 'the CORAL loss'} "
                   f"(here {truth:.5f})")


def _callable(fn: Any, name: str) -> Any:
    answered(fn, name)
    if not callable(fn):
        raise CheckFailed(f"❌ Not yet: {name} should be a function (def {name}(...): ...), "
                          f"not a {type(fn).__name__}.")
    return fn


def check_grl_function(grl_textbook: Any) -> None:
    """Exercise 2: ``grl_textbook(x, lam)`` returns ``x`` forward and passes ``-lam`` times the gradient back.

    Called on the check's own inputs, with several values of ``lam`` and a non-uniform
    upstream gradient, so a sign error or a forward pass that is not ``x`` fails.

    Example:
        >>> from keras import ops
        >>> check_grl_function(lambda x, lam: ops.stop_gradient((1 + lam) * x) - lam * x)
        ✅ Correct: forward = x, gradient = -λ × the incoming gradient (λ = 0.25, 1.5)
    """
    from keras import ops

    from ..autodiff import input_gradient, to_numpy

    fn = _callable(grl_textbook, "grl_textbook")
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 4)).astype("float32")
    upstream = rng.uniform(0.5, 2.0, size=(3, 4)).astype("float32")
    for lam in (0.25, 1.5):
        out = np.asarray(to_numpy(fn(ops.convert_to_tensor(x), lam)), "float32")
        if out.shape != x.shape or not np.allclose(out, x, rtol=1e-5, atol=1e-5):
            raise CheckFailed(f"❌ Not yet: with lam={lam:g} the forward pass does not return x unchanged. "
                              "The forward value of stop_gradient(a) is a, so the terms must add up to x.")
        _, grad = input_gradient(lambda t: ops.sum(ops.multiply(upstream, fn(t, lam))), x)
        grad = np.asarray(to_numpy(grad), "float32")
        if np.allclose(grad, lam * upstream, rtol=1e-4, atol=1e-5):
            raise CheckFailed("❌ Not yet: the gradient comes back as +lam times the incoming gradient: "
                              "the sign is wrong (the encoder must learn to FOOL the discriminator).")
        if not np.allclose(grad, -lam * upstream, rtol=1e-4, atol=1e-5):
            break
    expect(np.allclose(grad, -lam * upstream, rtol=1e-4, atol=1e-5),
           hint=f"with lam={lam:g} the gradient is not -lam times the incoming gradient. Only the term "
                "outside stop_gradient passes a gradient: which term must that be?",
           success="forward = x, gradient = -λ × the incoming gradient (λ = 0.25, 1.5)")


def _statistics_after(fn: Any, h: np.ndarray, frozen: bool) -> tuple[np.ndarray, np.ndarray, list]:
    import keras

    from ..autodiff import to_numpy

    bn = keras.layers.BatchNormalization()
    bn.build((None, h.shape[1]))
    bn.trainable = not frozen
    before = [to_numpy(bn.gamma).copy(), to_numpy(bn.beta).copy()]
    try:
        fn(bn, h)
    except Exception as e:  # the learner's code failed: a hint, not a traceback from inside the check
        raise CheckFailed(f"❌ Not yet: adabn_layer(bn, h) raised {type(e).__name__}: {str(e)[:200]}") from None
    changed = [not np.array_equal(b, to_numpy(w)) for b, w in zip(before, (bn.gamma, bn.beta))]
    return np.asarray(to_numpy(bn.moving_mean)), np.asarray(to_numpy(bn.moving_variance)), changed


def _adabn_problem(fn: Any, what: str, h: np.ndarray, frozen: bool) -> str | None:
    """What is wrong with ``fn``'s statistics for ``h`` (``None`` when right)."""
    mean, var, changed = _statistics_after(fn, h, frozen)
    if any(changed):
        return "your function changed the layer's gamma or beta; AdaBN changes only the moving mean and variance."
    if np.allclose(mean, 0.0) and np.allclose(var, 1.0):
        return (f"on {what} the moving statistics are still the initial 0 and 1. Forward passes do not update "
                "a frozen BatchNorm: assign the variables.")
    if not np.allclose(mean, h.mean(axis=0), rtol=1e-3, atol=1e-3):
        return f"on {what} the moving mean is not the mean of all rows of h (per feature: average over axis 0)."
    if not any(np.allclose(var, h.var(axis=0, ddof=ddof), rtol=1e-3, atol=1e-4) for ddof in (0, 1)):
        return (f"on {what} the moving variance is not the variance of all rows of h (per feature). An average "
                "of per-batch variances misses the differences between batches.")
    return None


def check_adabn_layer(adabn_layer: Any, target_features: np.ndarray) -> None:
    """Exercise 3: ``adabn_layer(bn, h)`` sets ``bn``'s moving statistics to those of ALL rows of ``h``.

    Called on fresh BatchNorm layers (one frozen) with data of the check's own: rows sorted
    by class, where an average of per-batch statistics is far off, and ``target_features``.
    Copying statistics out of the notebook's adapted model, or forward passes in training
    mode (momentum 0.99; nothing at all on a frozen layer), cannot pass. The population or
    the unbiased variance are both accepted.

    Example:
        >>> from keras import ops
        >>> def adabn_layer(bn, h):
        ...     bn.moving_mean.assign(ops.mean(h, axis=0))
        ...     bn.moving_variance.assign(ops.var(h, axis=0))
        >>> check_adabn_layer(adabn_layer, np.random.default_rng(0).normal(size=(50, 3)).astype("float32"))
        ✅ Correct: the layer now normalises with the statistics of all rows (rows sorted by class too, frozen too)
    """
    fn = _callable(adabn_layer, "adabn_layer")
    target = np.asarray(target_features, "float32")
    rng = np.random.default_rng(11)  # as many features as the target, so statistics copied from elsewhere fit
    sorted_rows = np.concatenate([rng.normal(m, 1.0, size=(300, target.shape[1]))
                                  for m in (-3.0, 0.0, 2.0, 5.0)]).astype("float32")
    problem = None
    for what, h, frozen in (("rows sorted by class", sorted_rows, False),
                            ("a frozen layer (trainable = False)", sorted_rows, True),
                            ("the target features", target, True)):
        problem = problem or _adabn_problem(fn, what, h, frozen)
    expect(problem is None, hint=problem or "",
           success="the layer now normalises with the statistics of all rows (rows sorted by class too, frozen too)")
