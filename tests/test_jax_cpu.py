"""tl_helpers.jax_cpu: the shifted-product depthwise convolution equals Keras's own on JAX, values and gradients."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")
if keras.backend.backend() != "jax":
    pytest.skip("the depthwise speed fix applies to Keras on JAX only", allow_module_level=True)
jax = pytest.importorskip("jax")

from tl_helpers import config, jax_cpu  # noqa: E402

CASES = [  # input shape, kernel shape, strides, padding, dilation
    ((2, 9, 9, 4), (3, 3, 4, 1), 1, "same", 1),
    ((2, 10, 10, 4), (3, 3, 4, 1), 2, "same", 1),  # MobileNet's downsampling blocks
    ((2, 9, 8, 3), (3, 3, 3, 2), 2, "valid", 1),  # a depth multiplier of 2
    ((2, 11, 11, 4), (3, 3, 4, 1), 1, "same", 2),
    ((1, 7, 6, 3), (5, 3, 3, 2), (2, 1), "same", 1),
]


@pytest.fixture
def keras_own():
    jax_cpu.disable()
    yield keras.src.backend.jax.nn.depthwise_conv
    jax_cpu.disable()


@pytest.mark.parametrize("shape,kshape,strides,padding,dilation", CASES)
def test_values_and_gradients_match_keras(keras_own, shape, kshape, strides, padding, dilation):
    rng = np.random.default_rng(0)
    x, k = rng.normal(size=shape).astype("float32"), rng.normal(size=kshape).astype("float32")
    ours = np.asarray(jax_cpu.shifted_depthwise_conv(x, k, strides, padding, None, dilation))
    theirs = np.asarray(keras_own(x, k, strides, padding, None, dilation))
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, atol=1e-5)

    def loss(fn):
        return lambda x, k: (fn(x, k, strides, padding, None, dilation) ** 2).sum()

    ours_g = jax.grad(loss(jax_cpu.shifted_depthwise_conv), argnums=(0, 1))(x, k)
    theirs_g = jax.grad(loss(keras_own), argnums=(0, 1))(x, k)
    for a, b in zip(ours_g, theirs_g):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-4)


def test_a_wrong_tap_order_would_be_caught(keras_own):
    """The comparison above rejects a plausible bug: the kernel flipped (correlation vs convolution)."""
    rng = np.random.default_rng(1)
    x, k = rng.normal(size=(1, 6, 6, 2)).astype("float32"), rng.normal(size=(3, 3, 2, 1)).astype("float32")
    flipped = np.asarray(jax_cpu.shifted_depthwise_conv(x, k[::-1, ::-1].copy(), 1, "same"))
    assert not np.allclose(flipped, np.asarray(keras_own(x, k, 1, "same")), atol=1e-3)


def test_layers_use_it_after_enable_and_keras_own_after_disable(keras_own):
    layer = keras.layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2)
    x = np.random.default_rng(2).normal(size=(2, 8, 8, 3)).astype("float32")
    before = np.asarray(layer(x))
    assert "shifted products" in jax_cpu.enable() and jax_cpu.note()
    assert keras.src.backend.jax.nn.depthwise_conv is jax_cpu.shifted_depthwise_conv
    np.testing.assert_allclose(np.asarray(layer(x)), before, atol=1e-5)
    jax_cpu.disable()
    assert keras.src.backend.jax.nn.depthwise_conv is keras_own and jax_cpu.note() == ""


def test_setup_enables_it_on_lite_and_says_so_unless_told_not_to(keras_own, monkeypatch):
    P = config.setup("lite", seed=0, notebook="t_jax_cpu", verbose=False)
    assert "shifted products" in config.report(P)
    P = config.setup("smoke", seed=0, notebook="t_jax_cpu", verbose=False)   # a few steps: compiling costs more
    assert keras.src.backend.jax.nn.depthwise_conv is keras_own and "shifted" not in config.report(P)
    monkeypatch.setenv("TL_JAX_DEPTHWISE", "xla")
    P = config.setup("lite", seed=0, notebook="t_jax_cpu", verbose=False)
    assert keras.src.backend.jax.nn.depthwise_conv is keras_own and "shifted" not in config.report(P)


def test_channels_first_falls_back_to_keras(keras_own):
    rng = np.random.default_rng(3)
    x, k = rng.normal(size=(1, 2, 6, 6)).astype("float32"), rng.normal(size=(3, 3, 2, 1)).astype("float32")
    np.testing.assert_allclose(np.asarray(jax_cpu.shifted_depthwise_conv(x, k, 1, "same", "channels_first")),
                               np.asarray(keras_own(x, k, 1, "same", "channels_first")), atol=1e-5)
