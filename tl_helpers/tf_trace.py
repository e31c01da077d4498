"""One speed fix for Keras on TensorFlow: trace each training step once, not twice.

On TensorFlow without a distribution strategy, Keras 3 creates the optimizer's
slots and the metrics' counters while it traces the first training (or
evaluation) step, inside ``tf.function``. A ``tf.function`` that creates
variables on its first call is traced a second time, so every freshly compiled
model pays for two traces. For MobileNet on a 2-core CPU that is 5-8 s per
``fit`` (Keras 3.15, TensorFlow 2.21), and the course compiles dozens of models.

:func:`enable` builds those variables first, from the shapes of the data (Keras's
own ``_symbolic_build``, which it already runs under a distribution strategy),
for models whose layers are built. The variables start at zero either way, so
training gives the same numbers, bit for bit (tested). Models not yet built, and
anything the symbolic build cannot handle, keep Keras's own behaviour.
``config.setup`` calls it on TensorFlow and its report says so; set
``TL_TF_TRACE=keras`` to keep Keras's own.

Example:
    >>> isinstance(note(), str)
    True
"""

from __future__ import annotations

import os
from typing import Any

#: Keras's own ``TensorFlowTrainer._maybe_symbolic_build``, kept while :func:`enable` has replaced it.
_keras_own: Any = None


def _build_before_tracing(self: Any, iterator: Any = None, data_batch: Any = None) -> Any:
    """``_maybe_symbolic_build`` that also builds without a strategy, from the dataset's element spec."""
    spec = getattr(getattr(iterator, "_distributed_dataset", None), "element_spec", None)
    if (self._distribute_strategy is None and data_batch is None and spec is not None
            and all(layer.built for layer in self._flatten_layers())):
        try:
            return self._symbolic_build(data_batch=spec)
        except Exception:  # whatever Keras cannot build symbolically, it builds while tracing, as before
            pass
    return _keras_own(self, iterator=iterator, data_batch=data_batch)


def _trainer() -> Any:
    from keras.src.backend.tensorflow.trainer import TensorFlowTrainer

    return TensorFlowTrainer


def enable() -> str:
    """Build optimizer and metric variables before the first trace, if Keras runs on TensorFlow.

    Returns a sentence for the setup report ("" when nothing changed). Calling it
    twice changes nothing more; ``TL_TF_TRACE=keras`` keeps Keras's own.

    Example:
        >>> isinstance(enable(), str)
        True
    """
    global _keras_own
    import keras

    if keras.backend.backend() != "tensorflow" or os.environ.get("TL_TF_TRACE", "").lower() == "keras":
        return ""
    trainer = _trainer()
    if _keras_own is None:
        if not callable(getattr(trainer, "_maybe_symbolic_build", None)):  # a Keras that changed: leave it
            return ""
        _keras_own = trainer._maybe_symbolic_build
        trainer._maybe_symbolic_build = _build_before_tracing
    return note()


def disable() -> None:
    """Put Keras's own behaviour back (for tests and comparisons).

    Example:
        >>> disable(); note()
        ''
    """
    global _keras_own
    if _keras_own is not None:
        _trainer()._maybe_symbolic_build = _keras_own
        _keras_own = None


def note() -> str:
    """The setup report's sentence while :func:`enable` is in force, else "".

    Example:
        >>> note() in ("", note())
        True
    """
    if _keras_own is None:
        return ""
    return ("TensorFlow: optimizer and metric variables built before tracing, so each training step "
            "is traced once, not twice (tl_helpers.tf_trace; TL_TF_TRACE=keras keeps Keras's own)")
