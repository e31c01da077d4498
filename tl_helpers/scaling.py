"""Chores for notebook 07 (scaling out): epoch timing, resumable batch order, running a training script.

The lesson itself - ``keras.distribution.DataParallel``, ``tf.distribute.MirroredStrategy``,
``BackupAndRestore``, ``ModelCheckpoint`` - stays in the notebook's cells. Here:

* :class:`EpochTimer` and :func:`images_per_second` - throughput from a ``fit``'s epochs,
  the first one (compilation) left out;
* :class:`EpochShuffled` - batches whose order depends only on ``(seed, epoch)``, so a
  run resumed at epoch ``k`` sees the batches the uninterrupted run saw (a running random
  generator restarts from the seed in a new process, and shuffles differently);
* :func:`run_script` - run a Python script in a fresh process on the same interpreter and
  Keras backend, and check how it ended;
* :func:`max_weight_diff` - the largest absolute difference between two models' weights.

Example:
    >>> images_per_second(100, [9.0, 2.0, 2.5, 2.0])
    50.0
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import keras
import numpy as np

__all__ = ["EpochTimer", "images_per_second", "EpochShuffled", "run_script", "max_weight_diff"]


class EpochTimer(keras.callbacks.Callback):
    """Wall-clock seconds of every epoch of a ``fit``, in :attr:`seconds`.

    Example:
        >>> m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> m.compile(optimizer="sgd", loss="mse")
        >>> timer = EpochTimer()
        >>> _ = m.fit(np.zeros((8, 2)), np.zeros(8), epochs=3, verbose=0, callbacks=[timer])
        >>> len(timer.seconds), all(s > 0 for s in timer.seconds)
        (3, True)
    """

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []
        self._t0 = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.seconds.append(time.perf_counter() - self._t0)


def images_per_second(n_images: int, seconds: Sequence[float], skip_first: bool = True) -> float:
    """Training throughput: ``n_images`` per epoch over the median epoch time.

    With ``skip_first`` the first epoch (which also traces and compiles the training
    step) is left out, unless it is the only one.

    Example:
        >>> images_per_second(320, [30.0, 4.0, 4.0])
        80.0
        >>> images_per_second(320, [4.0], skip_first=True)
        80.0
    """
    secs = list(seconds)
    if not secs:
        raise ValueError("images_per_second: no epoch times; pass EpochTimer().seconds after a fit.")
    steady = secs[1:] if skip_first and len(secs) > 1 else secs
    return float(n_images / np.median(steady))


class EpochShuffled(keras.utils.PyDataset):
    """Shuffled batches of in-memory arrays whose order depends only on ``(seed, epoch)``.

    ``fit`` does not tell a dataset which epoch it is in: call :meth:`set_epoch` at
    the start of every epoch (a ``LambdaCallback(on_epoch_begin=...)``, like PyTorch's
    ``DistributedSampler.set_epoch``). A run resumed at epoch ``k`` then gets exactly the
    batches an uninterrupted run got at epoch ``k``.

    Example:
        >>> ds = EpochShuffled(np.arange(6.0)[:, None], np.arange(6), batch_size=4, seed=0)
        >>> len(ds), ds[1][0].shape
        (2, (2, 1))
        >>> first = ds[0][1].tolist(); ds.set_epoch(1); second = ds[0][1].tolist(); ds.set_epoch(0)
        >>> ds[0][1].tolist() == first, first == second
        (True, False)
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int = 32, seed: int = 0) -> None:
        super().__init__()
        if len(x) != len(y):
            raise ValueError(f"EpochShuffled: x has {len(x)} rows but y has {len(y)}; pass matching arrays.")
        self.x, self.y, self.batch_size, self.seed = x, y, int(batch_size), int(seed)
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        """Use the order of epoch ``epoch`` (a permutation drawn from ``(seed, epoch)``)."""
        self.epoch = int(epoch)
        self._order = np.random.default_rng([self.seed, self.epoch]).permutation(len(self.x))

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        rows = self._order[i * self.batch_size:(i + 1) * self.batch_size]
        return self.x[rows], self.y[rows]


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
