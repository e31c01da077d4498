"""Every exercise check of notebook 07: plausible wrong answers fail, the right one passes, a blank one
gets the friendly hint."""

from __future__ import annotations

import keras
import pytest

from tl_helpers.checks import CheckFailed, nb07


def _blank(check, *args, **kwargs):
    with pytest.raises(CheckFailed, match="still empty"):
        check(*args, **kwargs)


def test_07_ex1_scaled_batch():
    kw = dict(per_device=32, devices=8, base_batch=32, base_lr=1e-3)
    nb07.nb07_scaled_batch(256, 8e-3, **kw)
    nb07.nb07_scaled_batch(8 * 32, 1e-3 * 8, **kw)
    for wrong in [(32, 8e-3), (256, 1e-3), (256, 1e-3 / 8), (4, 8e-3), (256, 0.256)]:
        with pytest.raises(CheckFailed):
            nb07.nb07_scaled_batch(*wrong, **kw)
    with pytest.raises(CheckFailed, match="number"):
        nb07.nb07_scaled_batch("256", [8e-3], **kw)
    _blank(nb07.nb07_scaled_batch, None, 8e-3, **kw)
    _blank(nb07.nb07_scaled_batch, 256, None, **kw)


def test_07_ex2_efficiency():
    speed = {1: 100.0, 2: 80.0}
    nb07.nb07_efficiency(0.4, speed)
    with pytest.raises(CheckFailed, match="speed-up"):
        nb07.nb07_efficiency(0.8, speed)          # the speed-up, not divided by the devices
    for wrong in (1.25, 0.5, 2.0):
        with pytest.raises(CheckFailed):
            nb07.nb07_efficiency(wrong, speed)
    nb07.nb07_efficiency(1.0, {1: 50.0})          # one device (PyTorch): efficiency 1 by definition
    _blank(nb07.nb07_efficiency, None, speed)


def test_07_ex3_best_checkpoint(tmp_path):
    path = tmp_path / "most_accurate.keras"
    nb07.nb07_best_checkpoint(keras.callbacks.ModelCheckpoint(path, monitor="val_accuracy", save_best_only=True))
    nb07.nb07_best_checkpoint(keras.callbacks.ModelCheckpoint(path, monitor="val_accuracy", save_best_only=True,
                                                              mode="max"))
    wrong = [dict(monitor="accuracy", save_best_only=True),                 # training accuracy
             dict(monitor="val_loss", save_best_only=True),
             dict(monitor="val_accuracy"),                                  # saves every epoch
             dict(monitor="val_accuracy", save_best_only=True, mode="min")]
    for kw in wrong:
        with pytest.raises(CheckFailed):
            nb07.nb07_best_checkpoint(keras.callbacks.ModelCheckpoint(path, **kw))
    with pytest.raises(CheckFailed):
        nb07.nb07_best_checkpoint(keras.callbacks.ModelCheckpoint(tmp_path / "w.weights.h5", monitor="val_accuracy",
                                                                  save_best_only=True, save_weights_only=True))
    with pytest.raises(CheckFailed, match="ModelCheckpoint"):
        nb07.nb07_best_checkpoint(keras.callbacks.EarlyStopping(monitor="val_accuracy"))
    _blank(nb07.nb07_best_checkpoint, None)
