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
# Most of the suite is notebooks executing on one core each, so two workers roughly halve it. Tests are handed
# out one by one, except what must share one process: a notebook's cells (one kernel, in order) and the
# modules whose fixtures are built once per module. The slow groups go first, so no worker is left with one.
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

ONE_PROCESS = {"test_grading.py", "test_training.py", "test_checks_nb02.py"}  # module-scoped fixtures
SLOW = {"test_exercises.py", "test_full_track_mock.py", "test_grading.py", "test_colab_rehearsal.py",
        "test_batchnorm.py", "test_determinism.py"}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        path = Path(str(item.path))
        if path.suffix == ".ipynb" or path.name in ONE_PROCESS:
            item.add_marker(pytest.mark.xdist_group(path.name))
    items.sort(key=lambda item: 0 if item.path.suffix == ".ipynb" or item.path.name in SLOW else 1)
