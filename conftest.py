"""Test-wide settings: the smoke track, a temporary results folder, no plot windows.

They are set before any notebook kernel starts, so nbval's kernels inherit them.
"""

import os
import tempfile

os.environ.setdefault("TL_PROFILE", "smoke")
os.environ.setdefault("TL_RESULTS_DIR", tempfile.mkdtemp(prefix="tl_results_"))
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# A course cache of this test session's own (the learner's cache is left alone), and in it one folder per
# pytest-xdist worker: two workers can run the same notebook at once (nbval and the exercise tests), and
# notebooks 06 and 07 write fixed file names there (a saved model, a training script, backups). The workers
# start after this file ran in the main process, so they inherit its folder.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["TL_CACHE_DIR"] = os.path.join(os.environ.get("TL_CACHE_DIR") or tempfile.mkdtemp(prefix="tl_cache_"),
                                              os.environ["PYTEST_XDIST_WORKER"])
else:
    os.environ.setdefault("TL_CACHE_DIR", tempfile.mkdtemp(prefix="tl_cache_"))


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
