"""Test-wide settings: the smoke track, a temporary results folder, no plot windows.

They are set before any notebook kernel starts, so nbval's kernels inherit them.
"""

import os
import tempfile

os.environ.setdefault("TL_PROFILE", "smoke")
os.environ.setdefault("TL_RESULTS_DIR", tempfile.mkdtemp(prefix="tl_results_"))
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# ---------------------------------------------------------------- parallel runs (pytest-xdist, `-n` in pyproject)
# Most of the suite is notebooks executing on one core each, so two workers roughly halve it. `--dist loadfile`
# hands out whole files: a notebook's cells share one kernel and run in order, and a module's fixtures are built
# once. (Per-test `xdist_group` marks did not survive pytest 9.2's workers: cells were split across kernels.)
# The slow files go first, so no worker is left alone with one at the end.
import pytest  # noqa: E402

SLOW = {"test_exercises.py", "test_full_track_mock.py", "test_grading.py", "test_colab_rehearsal.py",
        "test_batchnorm.py", "test_determinism.py"}


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: 0 if item.path.suffix == ".ipynb" or item.path.name in SLOW else 1)
