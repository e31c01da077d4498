"""Shared fixtures for the unit tests."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def tiny_images() -> tuple[np.ndarray, np.ndarray]:
    """60 tiny grayscale 'images' in 3 classes whose mean brightness encodes the class."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    x = (rng.random((60, 12, 12)) * 60 + y[:, None, None] * 80).astype("uint8")
    return x, y
