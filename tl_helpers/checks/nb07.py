"""Checks for notebook 07 (scaling out): batch and learning-rate scaling, scaling efficiency, the best checkpoint.

Example:
    >>> nb07_scaled_batch(256, 8e-3, per_device=32, devices=8, base_batch=32, base_lr=1e-3)
    ✅ Correct: 8 devices x 32 = a global batch of 256, so the learning rate grows 8x to 0.008.
"""

from __future__ import annotations

import math
from typing import Any

from . import CheckFailed, answered, expect

__all__ = ["nb07_scaled_batch", "nb07_efficiency", "nb07_best_checkpoint"]


def _number(value: Any, name: str) -> float:
    answered(value, name)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise CheckFailed(f"❌ Not yet: {name} should be a number, got {type(value).__name__}.") from None


def nb07_scaled_batch(global_batch: Any, lr: Any, per_device: int, devices: int, base_batch: int,
                      base_lr: float) -> None:
    """The global batch is ``per_device * devices``; the linear rule scales the rate by ``global / base_batch``.

    Example:
        >>> try:
        ...     nb07_scaled_batch(32, 1e-3, per_device=32, devices=8, base_batch=32, base_lr=1e-3)
        ... except CheckFailed as e:
        ...     print("every device" in str(e))
        True
    """
    g = _number(global_batch, "ex_global_batch")
    rate = _number(lr, "ex_lr")
    want_g = per_device * devices
    if g != want_g:
        raise CheckFailed("❌ Not yet: one step processes a batch on every device at once: the global batch is "
                          "the per-device batch times the number of devices.")
    want_lr = base_lr * want_g / base_batch
    expect(math.isclose(rate, want_lr, rel_tol=1e-6),
           hint="the linear scaling rule multiplies the learning rate by the same factor as the batch "
                "(global batch / the batch the recipe was tuned with).",
           success=f"{devices} devices x {per_device} = a global batch of {want_g}, so the learning rate "
                   f"grows {want_g / base_batch:g}x to {want_lr:g}.")


def nb07_efficiency(efficiency: Any, speed: dict[int, float]) -> None:
    """Scaling efficiency: (throughput on n devices / on 1) / n, for the largest n in ``speed``.

    Example:
        >>> nb07_efficiency(0.4, {1: 100.0, 2: 80.0})
        ✅ Correct: 2 devices give 0.80x the throughput of one: an efficiency of 0.40 (1.0 would be perfect).
    """
    e = _number(efficiency, "ex_efficiency")
    n = max(speed)
    want = speed[n] / speed[1] / n
    if n > 1 and math.isclose(e, speed[n] / speed[1], rel_tol=1e-6):
        raise CheckFailed("❌ Not yet: that is the speed-up; divide it by the number of devices.")
    expect(math.isclose(e, want, rel_tol=1e-6),
           hint="speed-up = images/s on the most devices / images/s on one device; efficiency = speed-up "
                "/ that number of devices. Read both from `speed`.",
           success=f"{n} device{'s' if n > 1 else ''} give{'' if n > 1 else 's'} {speed[n] / speed[1]:.2f}x the "
                   f"throughput of one: an efficiency of {want:.2f} (1.0 would be perfect).")


def nb07_best_checkpoint(ckpt: Any) -> None:
    """A ``ModelCheckpoint`` writing a whole model only when ``val_accuracy`` improves (goes up).

    Example:
        >>> import keras
        >>> nb07_best_checkpoint(keras.callbacks.ModelCheckpoint("b.keras", monitor="val_accuracy",
        ...                                                      save_best_only=True))
        ✅ Correct: it writes b.keras only when the validation accuracy goes up.
    """
    import keras

    answered(ckpt, "ex_ckpt")
    if not isinstance(ckpt, keras.callbacks.ModelCheckpoint):
        raise CheckFailed(f"❌ Not yet: ex_ckpt should be a keras.callbacks.ModelCheckpoint, "
                          f"got {type(ckpt).__name__}.")
    if ckpt.monitor != "val_accuracy":
        raise CheckFailed(f"❌ Not yet: it monitors {ckpt.monitor!r}; the best epoch is judged on held-out "
                          "data, by its accuracy: which key does fit's history use for that?")
    if not ckpt.save_best_only:
        raise CheckFailed("❌ Not yet: as written it saves after every epoch; keep only improvements.")
    if ckpt.mode == "min":
        raise CheckFailed("❌ Not yet: mode='min' keeps the LEAST accurate epoch; accuracy improves upwards.")
    expect(not ckpt.save_weights_only and str(ckpt.filepath).endswith(".keras"),
           hint="save the whole model to a .keras file (save_weights_only=False), so it reloads with "
                "keras.saving.load_model.",
           success=f"it writes {ckpt.filepath} only when the validation accuracy goes up.")
