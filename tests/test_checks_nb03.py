"""Notebook 03's exercise checks: the right answer passes quietly, plausible wrong answers fail.

Each check is fed the notebook's solution (must pass, printing a pass and nothing on
stderr) and the mistakes a learner is likely to make, including the shortcut of
copying statistics out of the notebook's adapted model (must raise CheckFailed).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

from tl_helpers import batchnorm, domain
from tl_helpers.checks import CheckFailed, check_adabn_layer, check_coral_by_hand, check_grl_function

RNG = np.random.default_rng(0)
FS = RNG.normal(size=(64, 5)).astype("float32")
FT = (2.0 * RNG.normal(size=(64, 5)) + 1.0).astype("float32")
TARGET = (RNG.normal(size=(500, 6)) * [1, 2, 3, 1, 1, 5] + 3).astype("float32")  # stands in for Ft_train


def passes_quietly(capfd, check, *args):
    check(*args)
    out, err = capfd.readouterr()
    assert "✅" in out and err == "", (out, err)


# ------------------------------------------------------------------ exercise 1: CORAL by hand
def coral_numpy(fs, ft, bias=False, divisor=lambda d: 4 * d * d):
    c = np.cov(fs, rowvar=False, bias=bias) - np.cov(ft, rowvar=False, bias=bias)
    return float(np.sum(c ** 2) / divisor(fs.shape[1]))


def test_ex1_right_answer_passes(capfd):
    passes_quietly(capfd, check_coral_by_hand, coral_numpy(FS, FT), FS, FT)


@pytest.mark.parametrize("wrong", [
    None,                                                          # left blank
    coral_numpy(FS, FT, bias=True),                                # biased covariance (divide by n)
    coral_numpy(FS, FT, divisor=lambda d: 4 * d),                  # 4d instead of 4d^2
    float(np.sum((np.cov(FS) - np.cov(FT)) ** 2) / (4 * 25)),      # rows as variables (no rowvar=False)
    float(np.sqrt(np.sum((np.cov(FS, rowvar=False) - np.cov(FT, rowvar=False)) ** 2)) / 100),  # not squared
])
def test_ex1_wrong_answers_fail(wrong):
    with pytest.raises(CheckFailed):
        check_coral_by_hand(wrong, FS, FT)


# ------------------------------------------------------------------ exercise 2: the textbook GRL
def grl_textbook(x, lam):  # the notebook's solution
    return ops.stop_gradient((1.0 + lam) * x) - lam * x


def test_ex2_right_answer_passes(capfd):
    passes_quietly(capfd, check_grl_function, grl_textbook)
    passes_quietly(capfd, check_grl_function, lambda x, lam: domain.GradientReversal(lam)(x))  # any exact GRL


@pytest.mark.parametrize("wrong", [
    None,                                                             # left blank
    0.25,                                                             # a number, not a function
    lambda x, lam: x,                                                 # identity: gradient +1
    lambda x, lam: -lam * x,                                          # forward is not x
    lambda x, lam: ops.stop_gradient(x) - lam * x,                    # forward x - λx
    lambda x, lam: ops.stop_gradient((1.0 - lam) * x) + lam * x,      # sign: gradient +λ
    lambda x, lam: ops.stop_gradient((1.0 + 0.25) * x) - 0.25 * x,    # λ hard-coded to exercise 2's old 0.25
    lambda x, lam: ops.stop_gradient(x) * lam,                        # no gradient at all
])
def test_ex2_wrong_answers_fail(wrong):
    with pytest.raises(CheckFailed):
        check_grl_function(wrong)


# ------------------------------------------------------------------ exercise 3: AdaBN for one layer
def adabn_layer(bn, h):  # the notebook's solution
    bn.moving_mean.assign(ops.mean(h, axis=0))
    bn.moving_variance.assign(ops.var(h, axis=0))


def test_ex3_right_answer_passes(capfd):
    passes_quietly(capfd, check_adabn_layer, adabn_layer, TARGET)
    # the unbiased variance is fine too (a difference of 1/n)
    passes_quietly(capfd, check_adabn_layer,
                   lambda bn, h: (bn.moving_mean.assign(np.mean(h, 0)), bn.moving_variance.assign(np.var(h, 0, ddof=1))),
                   TARGET)


def _adapted_model_statistics():
    """The shortcut: the statistics AdaBN wrote into the notebook's model (here, for TARGET)."""
    model = keras.Sequential([keras.Input((TARGET.shape[1],)), keras.layers.BatchNormalization()])
    batchnorm.reestimate_batchnorm(model, TARGET)
    return keras.ops.convert_to_numpy(model.layers[0].moving_mean), keras.ops.convert_to_numpy(model.layers[0].moving_variance)


def copy_from_the_model(bn, h):
    mean, var = _adapted_model_statistics()
    bn.moving_mean.assign(mean), bn.moving_variance.assign(var)


def forward_passes_in_training_mode(bn, h):
    for start in range(0, len(h), 256):
        bn(h[start:start + 256], training=True)


def per_batch_average(bn, h, size=256):
    batches = [h[i:i + size] for i in range(0, len(h), size)]
    bn.moving_mean.assign(np.mean([b.mean(0) for b in batches], 0))
    bn.moving_variance.assign(np.mean([b.var(0) for b in batches], 0))


def mean_only(bn, h):
    bn.moving_mean.assign(np.mean(h, 0))


def standardises_gamma_instead(bn, h):
    bn.moving_mean.assign(np.mean(h, 0)), bn.moving_variance.assign(np.var(h, 0))
    bn.gamma.assign(1.0 / np.sqrt(np.var(h, 0) + 1e-3))


@pytest.mark.parametrize("wrong", [None, "adabn", copy_from_the_model, forward_passes_in_training_mode,
                                   per_batch_average, mean_only, standardises_gamma_instead,
                                   lambda bn, h: per_batch_average(bn, h[:, ::-1])])
def test_ex3_wrong_answers_fail(wrong):
    with pytest.raises(CheckFailed):
        check_adabn_layer(wrong, TARGET)


def test_ex3_the_shortcut_would_pass_on_the_notebooks_own_data_alone():
    """Why the check uses data of its own: on the target features alone, copying the model's statistics is right."""
    bn = keras.layers.BatchNormalization()
    bn.build((None, TARGET.shape[1]))
    copy_from_the_model(bn, TARGET)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bn.moving_mean), TARGET.mean(0), rtol=1e-4)
    with pytest.raises(CheckFailed, match="sorted by class"):
        check_adabn_layer(copy_from_the_model, TARGET)
