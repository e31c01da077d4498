"""Visible, compact training progress: one line per epoch (or every few epochs).

Keras's ``verbose=2`` prints two lines per epoch; :class:`EpochLine` prints one short
line with a label, which keeps loops over seeds or settings readable in a notebook
and in a headless run's log.

Example:
    >>> import keras, numpy as np
    >>> m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> m.compile(optimizer="sgd", loss="mse")
    >>> _ = m.fit(np.zeros((4, 2)), np.zeros(4), epochs=2, verbose=0, callbacks=[EpochLine("demo")])  # doctest: +ELLIPSIS
    demo epoch 1/2: loss 0.0000 (...s)
    demo epoch 2/2: loss 0.0000 (...s)
"""

from __future__ import annotations

import time

import keras


class EpochLine(keras.callbacks.Callback):
    """Print ``label epoch e/E: loss ..., accuracy ..., val_... (seconds)`` every ``every`` epochs.

    The last epoch is always printed. Pass it with ``verbose=0``:
    ``model.fit(..., verbose=0, callbacks=[EpochLine("head")])``. ``keys`` limits the line
    to those logs (e.g. ``("label_accuracy", "domain_accuracy")`` for a two-output model).

    Example:
        >>> EpochLine("x", every=5).every
        5
    """

    def __init__(self, label: str = "", every: int = 1, keys: tuple[str, ...] | None = None) -> None:
        super().__init__()
        self.label, self.every, self.keys = label, max(1, int(every)), keys
        self._t0 = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        total = self.params.get("epochs") or 0
        if (epoch + 1) % self.every and epoch + 1 != total:
            return
        items = ", ".join(f"{k} {float(v):.4f}" for k, v in (logs or {}).items()
                          if k not in ("learning_rate",) and (self.keys is None or k in self.keys))
        prefix = f"{self.label} " if self.label else ""
        print(f"{prefix}epoch {epoch + 1}/{total}: {items} ({time.perf_counter() - self._t0:.1f}s)")
