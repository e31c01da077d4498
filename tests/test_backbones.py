import time

import keras
import numpy as np
import pytest

from tl_helpers import backbones, offline


def test_typo_lists_valid_names():
    with pytest.raises(KeyError) as err:
        backbones.get_spec("mobilnet_v2")
    assert "mobilenet_v2" in str(err.value) and "resnet50_v2" in str(err.value)


def test_weight_file_names_follow_keras():
    assert backbones.get_spec("mobilenet_025").weights_file(96, False) == "mobilenet_2_5_224_tf_no_top.h5"
    assert backbones.get_spec("mobilenet_025").weights_file(128, True) == "mobilenet_2_5_128_tf.h5"
    assert backbones.get_spec("mobilenet_v2").weights_file(160, False).endswith("1.0_160_no_top.h5")
    assert backbones.get_spec("efficientnet_v2_b0").weights_file(224, False) == "efficientnetv2-b0_notop.h5"


@pytest.mark.parametrize("name", list(backbones.REGISTRY))
def test_every_backbone_builds_with_random_weights(name):
    base = backbones.build_backbone(name, 64, weights=None)
    assert base.output_shape[0] is None and len(base.output_shape) == 2
    x = backbones.preprocess_for(name)(np.full((1, 64, 64, 3), 128.0, "float32"))
    assert np.isfinite(np.asarray(base(x))).all()


def test_too_small_input_names_the_limit():
    with pytest.raises(ValueError, match="at least 32 px"):
        backbones.build_backbone("mobilenet_025", 16, weights=None)
    with pytest.raises(ValueError, match="input size in"):
        backbones.build_backbone("mobilenet_025", 96, include_top=True)


def test_missing_weights_offline_fails_fast(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(backbones, "keras_cache_dirs", lambda: [tmp_path / "models"])
    monkeypatch.setenv("TL_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(offline.MissingResourceError) as err:
        backbones.build_backbone("mobilenet_v2", 160)
    assert time.monotonic() - start < 10
    msg = str(err.value)
    assert "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_160_no_top.h5" in msg and "lite" in msg


def test_real_imagenet_weights_load_when_cached():
    if backbones.find_weights("mobilenet_025", 96) is None:
        pytest.skip("MobileNet 0.25 weights not in the Keras cache (set KERAS_HOME; see README)")
    base = backbones.build_backbone("mobilenet_025", 96)
    rand = backbones.build_backbone("mobilenet_025", 96, weights=None)
    w0, r0 = base.get_weights()[0], rand.get_weights()[0]
    assert w0.shape == r0.shape and not np.allclose(w0, r0)


def test_notebook_01_keras_call_and_the_helper_agree():
    """Notebook 01 builds the lite backbone with plain keras.applications; later notebooks use the helper."""
    keras.utils.set_random_seed(0)
    direct = keras.applications.MobileNet(alpha=0.25, include_top=False, weights=None, pooling="avg",
                                          input_shape=(96, 96, 3))
    helper = backbones.build_backbone("mobilenet_025", 96, weights=None, pooling="avg")
    assert direct.output_shape == helper.output_shape == (None, 256)
    assert direct.count_params() == helper.count_params()
    assert [type(l).__name__ for l in direct.layers] == [type(l).__name__ for l in helper.layers]
    assert backbones.preprocess_for("mobilenet_025") is keras.applications.mobilenet.preprocess_input
    assert backbones.preprocess_for("mobilenet_v2") is keras.applications.mobilenet_v2.preprocess_input
