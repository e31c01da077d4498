"""Notebook 02's exercise checks: the right answers pass, plausible wrong ones raise CheckFailed."""

from __future__ import annotations

import contextlib
import io

import keras
import numpy as np
import pytest

from tl_helpers import training
from tl_helpers.checks import CheckFailed, nb02
from test_training import notebook_definition

L = keras.layers


@pytest.fixture(scope="module")
def parts():
    keras.utils.set_random_seed(0)
    base = keras.applications.MobileNet(input_shape=(32, 32, 3), alpha=0.25, include_top=False,
                                        weights=None, pooling="avg")
    _, top = training.split_at(base, "conv_dw_7")
    head = keras.Sequential([L.Dropout(0.2), L.Dense(3, activation="softmax")], name="head")
    x = np.random.default_rng(0).random((4, *top.input_shape[1:])).astype("float32") * 3
    inputs = keras.Input(top.input_shape[1:])
    return top, head, x, inputs


def quiet(fn, *args):
    """Run a check, capturing what it prints; returns stdout."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        fn(*args)
    assert err.getvalue() == "", f"the check wrote to stderr: {err.getvalue()[:200]}"
    return out.getvalue()


# ---------------------------------------------------------------- exercise 1: initial_epoch
class _H:
    def __init__(self, n):
        self.epoch = list(range(n))


def test_initial_epoch_right_and_wrong():
    assert "Correct" in quiet(nb02.nb02_initial_epoch, 7, _H(7))
    for wrong in (6, 8, 7.0, "7"):               # off by one either way; not an int
        with pytest.raises(CheckFailed):
            nb02.nb02_initial_epoch(wrong, _H(7))
    with pytest.raises(CheckFailed, match="still empty"):
        nb02.nb02_initial_epoch(None, _H(7))


# ---------------------------------------------------------------- exercise 2: unfreeze, BatchNorm frozen
def _solution_ex2(top, first):
    top.trainable = True                         # the notebook's solution, verbatim
    start = [layer.name for layer in top.layers].index(first)
    for i, layer in enumerate(top.layers):
        layer.trainable = i >= start and not isinstance(layer, L.BatchNormalization)


def test_bn_inference_right_answer_passes_and_restores_weights(parts):
    top, head, x, inputs = parts
    _solution_ex2(top, "conv_pad_12")
    model = keras.Model(inputs, head(top(inputs)))
    w0 = model.get_weights()
    assert "Correct" in quiet(nb02.nb02_bn_inference, model, x, top, "conv_pad_12")
    assert all(np.array_equal(a, b) for a, b in zip(w0, model.get_weights()))
    unfreeze = notebook_definition("unfreeze")   # the notebook's own loop is a right answer too
    unfreeze(top, "conv_pad_12")
    quiet(nb02.nb02_bn_inference, model, x, top, "conv_pad_12")


def test_bn_inference_wrong_answers_fail(parts):
    top, head, x, inputs = parts
    model = keras.Model(inputs, head(top(inputs)))
    nested = keras.Model(inputs, head(top(inputs, training=False)))
    for layer in top.layers:                     # unfreezing everything, BatchNorm included
        layer.trainable = True
    w0 = model.get_weights()
    with pytest.raises(CheckFailed, match="moving statistics"):
        nb02.nb02_bn_inference(model, x, top, "conv_pad_12")
    assert all(np.array_equal(a, b) for a, b in zip(w0, model.get_weights()))   # the check put them back
    if keras.__version__.startswith("3."):       # keras-team/keras#20285: fit's training=True wins
        with pytest.raises(CheckFailed, match="moving statistics"):
            nb02.nb02_bn_inference(nested, x, top, "conv_pad_12")
    training.unfreeze_from(top, top.layers[0].name)   # everything but BatchNorm: too much unfrozen
    with pytest.raises(CheckFailed, match="before 'conv_pad_12'"):
        nb02.nb02_bn_inference(model, x, top, "conv_pad_12")
    training.unfreeze_from(top, "conv_dw_13")    # too little unfrozen
    with pytest.raises(CheckFailed, match="do not train"):
        nb02.nb02_bn_inference(model, x, top, "conv_pad_12")
    training.unfreeze_from(top, None)            # nothing unfrozen
    with pytest.raises(CheckFailed, match="do not train"):
        nb02.nb02_bn_inference(model, x, top, "conv_pad_12")
    with pytest.raises(CheckFailed, match="still empty"):
        nb02.nb02_bn_inference(None, x, top, "conv_pad_12")
    with pytest.raises(CheckFailed, match="could not run"):    # built on the wrong input
        bad_in = keras.Input((32, 32, 3))
        nb02.nb02_bn_inference(keras.Model(bad_in, L.BatchNormalization()(bad_in)), x, top, "conv_pad_12")


# ---------------------------------------------------------------- exercise 3: per-layer learning rates
def _factors(top, first, last=0.1, early=0.01):
    start = [layer.name for layer in top.layers].index(first)
    return {v.path: last if i >= start else early for i, layer in enumerate(top.layers) for v in layer.weights}


def test_discriminative_right_answers_pass(parts):
    top, head, x, inputs = parts
    keras.Model(inputs, head(top(inputs)))       # build the head
    layerwise_adam = notebook_definition("LayerwiseAdam")
    opt = layerwise_adam(1e-3, _factors(top, "conv_dw_13"))
    assert "Correct" in quiet(nb02.nb02_discriminative, opt, top, "conv_dw_13", head)
    quiet(nb02.nb02_discriminative, opt, top, "conv_dw_13", head)   # running the check twice still passes
    start = [layer.name for layer in top.layers].index("conv_dw_13")
    helper = training.DiscriminativeAdam(1e-3, multipliers=training.layer_multipliers(top.layers[start:], 0.1)
                                         | training.layer_multipliers(top.layers[:start], 0.01))
    quiet(nb02.nb02_discriminative, helper, top, "conv_dw_13", head)


def test_discriminative_checks_leave_weights_alone(parts):
    top, head, x, inputs = parts
    keras.Model(inputs, head(top(inputs)))
    w0 = [keras.ops.convert_to_numpy(w) for w in top.weights + head.weights]
    with pytest.raises(CheckFailed):
        nb02.nb02_discriminative(keras.optimizers.Adam(1e-3), top, "conv_dw_13", head)
    assert all(np.array_equal(a, keras.ops.convert_to_numpy(b)) for a, b in zip(w0, top.weights + head.weights))


def test_discriminative_wrong_answers_fail(parts):
    top, head, x, inputs = parts
    keras.Model(inputs, head(top(inputs)))
    layerwise_adam = notebook_definition("LayerwiseAdam")
    wrong = {
        "one rate for all of top": layerwise_adam(1e-3, {v.path: 0.1 for v in top.weights}),
        "groups swapped": layerwise_adam(1e-3, _factors(top, "conv_dw_13", last=0.01, early=0.1)),
        "wrong first layer": layerwise_adam(1e-3, _factors(top, "conv_pad_12")),
        "head slowed too": layerwise_adam(1e-3, _factors(top, "conv_dw_13") | {v.path: 0.1 for v in head.weights}),
        "plain Adam": keras.optimizers.Adam(1e-3),
    }
    for name, opt in wrong.items():
        with pytest.raises(CheckFailed):
            nb02.nb02_discriminative(opt, top, "conv_dw_13", head)
    with pytest.raises(CheckFailed, match="still empty"):
        nb02.nb02_discriminative(None, top, "conv_dw_13", head)
    with pytest.raises(CheckFailed, match="Keras optimizer"):
        nb02.nb02_discriminative({"conv_dw_13": 0.1}, top, "conv_dw_13", head)


class _ScaledGradients(keras.optimizers.Adam):
    """A plausible wrong idea: scale the gradients instead of the learning rate (Adam undoes it)."""

    def __init__(self, learning_rate, factors):
        super().__init__(learning_rate)
        self.factors = factors

    def build(self, variables):
        super().build(variables)
        self.scale = [self.factors.get(v.path, 1.0) for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        super().update_step(gradient * self.scale[self._get_variable_index(variable)], variable, learning_rate)


def test_discriminative_scaling_gradients_fails(parts):
    top, head, x, inputs = parts
    keras.Model(inputs, head(top(inputs)))
    with pytest.raises(CheckFailed, match="wrong rate"):
        nb02.nb02_discriminative(_ScaledGradients(1e-3, _factors(top, "conv_dw_13")), top, "conv_dw_13", head)


def test_discriminative_used_optimizer_gets_a_clear_hint(parts):
    top, head, x, inputs = parts
    other = keras.Sequential([keras.Input((2,)), L.Dense(1)])
    opt = keras.optimizers.Adam(1e-3)
    opt.build(other.trainable_variables)
    with pytest.raises(CheckFailed, match="fresh optimizer"):
        nb02.nb02_discriminative(opt, top, "conv_dw_13", head)
