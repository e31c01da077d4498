"""Pin what the installed Keras does with BatchNorm inside a nested model (issue 12, item 1).

Notebooks 01, 02 and 06 teach: in Keras 3 (3.15 here), ``fit`` passes ``training=True`` into a
functional model and it OVERRIDES a nested ``inner(x, training=False)``
(keras-team/keras#20285), so what keeps BatchNorm in inference mode is ``trainable = False``
on the BatchNorm layers (then recompile). Notebook 01 measures this at run time; this test
notices when an upgrade changes it, so the prose gets updated.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

PROSE = ("update the BatchNorm paragraphs of notebooks 01 (frozen base, summary), 02 (unfreezing) and "
         "06 (fine-tuning), then this test")


def _bn_moved(freeze_bn: bool = False, freeze_inner: bool = False, compile_twice: bool = True) -> bool:
    """One ``fit`` step on data with mean 5: did the nested BatchNorm's moving mean move?"""
    keras.utils.set_random_seed(0)
    inner = keras.Sequential([keras.Input((4,)), keras.layers.BatchNormalization()], name="inner")
    inp = keras.Input((4,))
    model = keras.Model(inp, keras.layers.Dense(1)(inner(inp, training=False)))
    bn = inner.layers[0]
    if compile_twice:  # as in the notebooks: compile, then freeze, then recompile
        model.compile(optimizer="sgd", loss="mse")
    bn.trainable = not freeze_bn
    inner.trainable = not freeze_inner
    model.compile(optimizer="sgd", loss="mse")
    before = keras.ops.convert_to_numpy(bn.moving_mean).copy()
    model.fit(np.full((8, 4), 5.0, "float32"), np.zeros(8, "float32"), epochs=1, verbose=0)
    return not np.allclose(before, keras.ops.convert_to_numpy(bn.moving_mean))


def test_fit_overrides_a_nested_training_false():
    """Observed on Keras 3.15: the moving mean moves although the sub-model was called with training=False."""
    assert _bn_moved(), (
        f"Keras {keras.__version__} now KEEPS a nested inner(x, training=False) in inference mode during fit "
        f"(Keras 3.15 overrode it, keras-team/keras#20285; the fix was on Keras's main branch, #23364): {PROSE}.")


@pytest.mark.parametrize("how", ["bn_layer", "whole_sub_model"])
def test_frozen_batchnorm_stays_in_inference_mode(how):
    """The rule the course teaches for every version: trainable = False (BN layer or whole base) + recompile."""
    moved = _bn_moved(freeze_bn=how == "bn_layer", freeze_inner=how == "whole_sub_model")
    assert not moved, (f"Keras {keras.__version__}: a BatchNorm layer with trainable = False updated its moving "
                       f"mean during fit: the course's rule no longer holds; {PROSE}.")


def test_the_probe_can_tell_the_difference():
    """The measurement itself can fail both ways: a BatchNorm called in training mode moves, a frozen one does not."""
    keras.utils.set_random_seed(0)
    bn = keras.layers.BatchNormalization()
    x = np.full((8, 4), 5.0, "float32")
    bn(x, training=True)
    assert not np.allclose(keras.ops.convert_to_numpy(bn.moving_mean), 0.0)
    bn2 = keras.layers.BatchNormalization()
    bn2.build((None, 4))
    bn2.trainable = False
    bn2(x, training=True)
    assert np.allclose(keras.ops.convert_to_numpy(bn2.moving_mean), 0.0)
