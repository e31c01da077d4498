"""Test-wide settings: the smoke track, a temporary results folder, no plot windows.

They are set before any notebook kernel starts, so nbval's kernels inherit them.
"""

import os
import tempfile

os.environ.setdefault("TL_PROFILE", "smoke")
os.environ.setdefault("TL_RESULTS_DIR", tempfile.mkdtemp(prefix="tl_results_"))
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
