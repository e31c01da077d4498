"""Checks for notebook 03 (domain adaptation): CORAL by hand, the GRL's gradient, AdaBN's statistics.

Each check recomputes the truth from the objects the learner used, so it holds
for any seed and track.

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

__all__ = ["check_coral_by_hand", "check_grl_gradient", "check_adabn_mean", "check_gap_closed"]


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


def check_grl_gradient(grl: Any, grad: Any, x: np.ndarray) -> None:
    """Exercise 2: a GradientReversal layer with λ = 0.25 and the gradient of ``sum(grl(x))``.

    Example:
        >>> from tl_helpers.domain import GradientReversal
        >>> x = np.ones((1, 2), "float32")
        >>> check_grl_gradient(GradientReversal(0.25), np.full((1, 2), -0.25), x)
        ✅ Correct: forward = x, gradient = -λ = -0.25 everywhere
    """
    from ..autodiff import to_numpy
    from ..domain import GradientReversal

    answered(grl, "grl_ex")
    grad = np.asarray(answered(grad, "grad_ex"), "float32")
    if not isinstance(grl, GradientReversal):
        raise CheckFailed("❌ Not yet: grl_ex should be a domain.GradientReversal layer.")
    lam = float(to_numpy(grl.lam))
    if not np.isclose(lam, 0.25):
        raise CheckFailed(f"❌ Not yet: the layer's λ is {lam:g}; the exercise asks for 0.25 (lam=...).")
    if not np.allclose(to_numpy(grl(x)), x):
        raise CheckFailed("❌ Not yet: the layer's forward pass must return its input unchanged.")
    expect(grad.shape == np.shape(x) and np.allclose(grad, -lam),
           hint="take the gradient of keras.ops.sum(grl_ex(t)) with respect to the input t "
                "(autodiff.input_gradient), and convert it with autodiff.to_numpy.",
           success=f"forward = x, gradient = -λ = {-lam:g} everywhere")


def check_adabn_mean(adabn_mean: Any, adabn_model: Any, source_features: np.ndarray) -> None:
    """Exercise 3: the moving mean AdaBN wrote into the first BatchNorm layer (the target features' mean).

    Example:
        >>> import keras
        >>> from tl_helpers.domain import adapt_batchnorm
        >>> m = keras.Sequential([keras.Input((2,)), keras.layers.BatchNormalization()])
        >>> ft = np.array([[1.0, 2.0], [3.0, 6.0]], "float32")
        >>> _ = adapt_batchnorm(m, ft)
        >>> check_adabn_mean(ft.mean(0), m, np.zeros((2, 2)))
        ✅ Correct: AdaBN's first BatchNorm now centres the features on the target mean
    """
    from ..autodiff import to_numpy
    from ..domain import batchnorm_layers

    value = np.asarray(answered(adabn_mean, "adabn_mean"), "float32").ravel()
    truth = to_numpy(batchnorm_layers(adabn_model)[0].moving_mean).ravel()
    if value.shape != truth.shape:
        raise CheckFailed(f"❌ Not yet: adabn_mean has {value.size} numbers; the BatchNorm layer keeps one per "
                          f"feature ({truth.size}). Average over the rows (axis=0).")
    if np.allclose(value, np.mean(source_features, axis=0), rtol=1e-3, atol=1e-4) and \
            not np.allclose(value, truth, rtol=1e-3, atol=1e-4):
        raise CheckFailed("❌ Not yet: that is the SOURCE features' mean. AdaBN re-estimates the statistics on "
                          "the unlabelled data of the other domain.")
    expect(np.allclose(value, truth, rtol=1e-3, atol=1e-4),
           hint="AdaBN ran forward passes over the unlabelled TARGET training features; average them per feature.",
           success="AdaBN's first BatchNorm now centres the features on the target mean")


def check_gap_closed(gap: Any, method_acc: float, source_only_acc: float, oracle_acc: float) -> None:
    """Exercise 3: the fraction of the gap closed, ``(method - source_only) / (oracle - source_only)``.

    Example:
        >>> check_gap_closed(0.5, 0.6, 0.5, 0.7)
        ✅ Correct: gap closed = 0.500
    """
    value = float(np.asarray(answered(gap, "coral_gap")))
    if oracle_acc == source_only_acc:
        raise CheckFailed("❌ Not yet: on this run the oracle equals source-only, so there is no gap: "
                          "run the notebook on the lite track.")
    truth = (method_acc - source_only_acc) / (oracle_acc - source_only_acc)
    expect(np.isclose(value, truth, atol=1e-4),
           hint="how far did the method move from source-only, as a fraction of the distance from "
                "source-only to the oracle?",
           success=f"gap closed = {truth:.3f}")
