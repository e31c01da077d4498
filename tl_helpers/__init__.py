"""tl_helpers: the chores behind the transfer-learning course notebooks.

Loading, caching, splitting, plotting and checking live here; the lessons
themselves (freezing a base, ``training=False``, a gradient reversal layer,
loss weights) stay visible in the notebooks.

Example:
    >>> from tl_helpers import config
    >>> P = config.setup(profile="smoke", seed=0, notebook="00_setup")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import warnings

# Quieten TensorFlow's C++ start-up chatter before anything imports it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: why Keras runs on the backend it does, when this package chose it (for ``config.report``), else "".
BACKEND_NOTE = ""


def _installed(name: str) -> bool:
    """Whether ``name`` can be imported, without importing it (a broken finder counts as absent)."""
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _choose_backend_without_tensorflow() -> str:
    """Without TensorFlow installed and no backend chosen, run Keras on JAX (else PyTorch).

    Keras's default backend is TensorFlow, so after ``pip install -e ".[jax,course]"``
    a bare ``import keras`` fails with "No module named 'tensorflow'". Only when the
    learner chose nothing (no ``KERAS_BACKEND``, no other backend in ``keras.json``)
    and Keras is not imported yet does this set ``KERAS_BACKEND``. Returns the note.

    Example:
        >>> isinstance(_choose_backend_without_tensorflow(), str)
        True
    """
    import json
    import sys
    from pathlib import Path

    if "KERAS_BACKEND" in os.environ or "keras" in sys.modules or _installed("tensorflow"):
        return ""
    config = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "keras.json"
    try:
        configured = json.loads(config.read_text()).get("backend")
    except (OSError, ValueError, AttributeError):
        configured = None
    if configured and configured != "tensorflow":  # Keras writes "tensorflow" there by default
        return ""
    for name in ("jax", "torch"):
        if _installed(name):
            os.environ["KERAS_BACKEND"] = name
            return (f"chosen by tl_helpers: TensorFlow is not installed and KERAS_BACKEND was not set; "
                    f"set KERAS_BACKEND to choose")
    return ""


BACKEND_NOTE = _choose_backend_without_tensorflow()


def _quiet_tensorflow_startup() -> None:
    """In a Jupyter kernel, import TensorFlow (and find its devices) with file descriptor 2 muted.

    TensorFlow 2.21 writes its start-up lines ("All log messages before
    absl::InitializeLog() ...", oneDNN, "Could not find cuda drivers", "failed
    call to cuInit") straight to the C-level stderr, ignoring ``TF_CPP_MIN_LOG_LEVEL``;
    a notebook shows them in red under the first import. They are harmless (the
    setup report says whether a GPU is used), so they are muted here. Only in a
    kernel whose user has not asked for TensorFlow's logs (``TF_CPP_MIN_LOG_LEVEL``
    0 or 1); Python errors are never hidden. Terminal tools stay lazy and untouched.
    """
    import sys

    if ("ipykernel" not in sys.modules or "tensorflow" in sys.modules
            or os.environ["TF_CPP_MIN_LOG_LEVEL"] in ("0", "1")
            or os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow"):
        return
    try:
        saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    try:
        os.dup2(devnull, 2)
        import tensorflow as tf

        tf.config.list_physical_devices()  # the cuInit line comes with the first device query
    except ImportError:
        pass
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


_quiet_tensorflow_startup()


class _DropRetracingAdvice(logging.Filter):
    """Drop TensorFlow's "triggered tf.function retracing" advice.

    The course builds a fresh model per seed or setting on purpose, and every new
    model traces its own training function; the advice ("define your @tf.function
    outside of the loop") is meant for library authors and only alarms learners
    (and nbgrader gives 0 to a graded cell that writes it to stderr).

    Example:
        >>> rec = logging.LogRecord("tensorflow", logging.WARNING, "", 0, "5 out of the last 6 calls to f "
        ...                         "triggered tf.function retracing.", None, None)
        >>> _DropRetracingAdvice().filter(rec)
        False
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


logging.getLogger("tensorflow").addFilter(_DropRetracingAdvice())
# Keras 3.15 warns "`shuffle=True` was passed, but will be ignored" on every fit() given a tf.data.Dataset,
# because shuffle=True is fit's default; the course's datasets are shuffled in the pipeline.
warnings.filterwarnings("ignore", message=r"`shuffle=True` was passed, but will be ignored")

__version__ = "0.1.0"
