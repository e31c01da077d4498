"""Chores for notebook 07 (scaling out): running a training script in a new process, comparing weights.

The lesson itself - ``keras.distribution.DataParallel``, ``tf.distribute.MirroredStrategy``,
``BackupAndRestore``, ``ModelCheckpoint`` - stays in the notebook's cells. Epoch times come from
:class:`tl_helpers.features.EpochTimer`, and batches whose order depends only on ``(seed, epoch)``
(a resumed run sees the uninterrupted run's batches) from :meth:`tl_helpers.data.Batches.set_epoch`. Here:

* :func:`run_script` - run a Python script in a fresh process on the same interpreter and
  Keras backend, and check how it ended;
* :func:`max_weight_diff` - the largest absolute difference between two models' weights.

Example:
    >>> max_weight_diff([np.ones(2)], [np.array([1.0, 0.75])])
    0.25
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["run_script", "max_weight_diff"]


def run_script(path: str | Path, *args: Any, expect: int = 0, timeout: float = 900,
               env: dict[str, str] | None = None) -> str:
    """Run ``python path args...`` in a new process and return what it printed on stdout.

    The child uses this interpreter (``sys.executable``) and this process's Keras
    backend (``KERAS_BACKEND`` is set to it when Keras is loaded), plus ``env``. Its
    stderr (library start-up lines) is kept out of the result; if it exits with a code
    other than ``expect``, a ``RuntimeError`` shows the end of both.

    Example:
        >>> import tempfile
        >>> script = Path(tempfile.mkdtemp()) / "hello.py"
        >>> _ = script.write_text("import sys; print('hello', sys.argv[1]); sys.exit(3)")
        >>> run_script(script, "world", expect=3).strip()
        'hello world'
    """
    child_env = dict(os.environ)
    if "keras" in sys.modules:
        child_env["KERAS_BACKEND"] = sys.modules["keras"].backend.backend()
    child_env.update(env or {})
    proc = subprocess.run([sys.executable, str(path), *map(str, args)], env=child_env, timeout=timeout,
                          capture_output=True, text=True)
    if proc.returncode != expect:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
        raise RuntimeError(f"{Path(path).name} exited with code {proc.returncode}, expected {expect}. "
                           f"The end of its output:\n{tail}")
    return proc.stdout


def max_weight_diff(a: Any, b: Any) -> float:
    """The largest absolute difference between two models' weights (or two lists of arrays).

    Example:
        >>> max_weight_diff([np.zeros(3), np.ones(2)], [np.zeros(3), np.array([1.0, 1.5])])
        0.5
    """
    wa = a.get_weights() if hasattr(a, "get_weights") else list(a)
    wb = b.get_weights() if hasattr(b, "get_weights") else list(b)
    shapes_a, shapes_b = [np.shape(w) for w in wa], [np.shape(w) for w in wb]
    if shapes_a != shapes_b:
        raise ValueError(f"max_weight_diff: the weights differ in shape ({shapes_a} vs {shapes_b}); "
                         "compare two copies of the same architecture.")
    return max((float(np.max(np.abs(np.asarray(x, "float64") - np.asarray(y, "float64"))))
                for x, y in zip(wa, wb) if np.size(x)), default=0.0)
