"""Checks for notebook 00 (setup).

Example:
    >>> check_top5_mass(1.0, [0.2, 0.2, 0.2, 0.2, 0.2])
    ✅ Correct: the top five classes hold 1.000 of the probability
"""

from __future__ import annotations

import numpy as np

from . import answered, expect

__all__ = ["check_top5_mass"]


def check_top5_mass(top5_mass: float, probs: np.ndarray) -> None:
    """Check the sum of the five largest probabilities of one prediction.

    Example:
        >>> check_top5_mass(0.95, np.array([0.5, 0.2, 0.1, 0.05, 0.05, 0.1]))
        ✅ Correct: the top five classes hold 0.950 of the probability
    """
    answered(top5_mass, "top5_mass")
    truth = float(np.sort(np.asarray(probs))[-5:].sum())
    if not (np.ndim(top5_mass) == 0 and 0.0 <= float(top5_mass) <= 1.0 + 1e-6):
        expect(False, "top5_mass should be one number between 0 and 1 - did you sum probabilities (not labels)?")
    expect(abs(float(top5_mass) - truth) < 1e-4,
           "sort the 1000 probabilities (np.sort) and add up the LAST five - the largest ones.",
           success=f"the top five classes hold {truth:.3f} of the probability")
