import keras
import numpy as np

from tl_helpers import autodiff, gradcam


def test_value_and_grads_matches_analytic():
    w = keras.Variable(np.array([1.0, -2.0, 3.0], "float32"))
    value, (g,) = autodiff.value_and_grads(lambda: keras.ops.sum(w ** 3), [w])
    assert abs(float(value) - 20.0) < 1e-5
    np.testing.assert_allclose(autodiff.to_numpy(g), [3.0, 12.0, 27.0], rtol=1e-6)


def test_unused_variable_gets_zero_gradient():
    a, b = keras.Variable(1.0), keras.Variable(2.0)
    _, (ga, gb) = autodiff.value_and_grads(lambda: a * 5.0, [a, b])
    assert float(ga) == 5.0 and float(gb) == 0.0


def test_input_gradient_through_a_model():
    dense = keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")
    _, g = autodiff.input_gradient(lambda t: keras.ops.sum(dense(t)), np.ones((2, 3), "float32"))
    np.testing.assert_allclose(autodiff.to_numpy(g), np.ones((2, 3)))


def _spot_model(size=32):
    """A 'classifier' whose class-1 score is the brightness of the top-left quarter only."""
    base_in = keras.Input((size, size, 3))
    fmap = keras.layers.Conv2D(4, 3, padding="same", activation="relu", kernel_initializer="ones",
                               bias_initializer="zeros", name="conv")(base_in)
    base = keras.Model(base_in, keras.layers.GlobalAveragePooling2D()(fmap), name="base")
    inp = keras.Input((size, size, 3))
    feats = base(inp)
    out = keras.layers.Dense(2, kernel_initializer="ones")(feats)
    return keras.Model(inp, out), base


def test_gradcam_finds_the_bright_spot():
    model, _ = _spot_model()
    x = np.zeros((1, 32, 32, 3), "float32")
    x[0, 2:10, 20:28] = 1.0  # a bright patch at the top right
    heat = gradcam.grad_cam(model, x, class_index=1)
    assert heat.shape == (1, 32, 32) and heat.min() >= 0 and heat.max() <= 1.0 + 1e-6
    inside, outside = heat[0, 2:10, 20:28].mean(), heat[0, 20:, :12].mean()
    assert inside > 0.5 and outside < 0.1


def test_gradcam_grid_draws_two_rows():
    fig = gradcam.gradcam_grid(np.zeros((3, 8, 8, 3), "uint8"), np.random.rand(3, 8, 8), ["a", "b", "c"])
    assert len(fig.axes) == 6


def test_gradcam_skips_a_sequential_head_and_takes_an_earlier_layer():
    base = keras.applications.MobileNet(input_shape=(64, 64, 3), alpha=0.25, include_top=False,
                                        weights=None, pooling="avg")
    head = keras.Sequential([keras.layers.Dropout(0.1), keras.layers.Dense(3, activation="softmax")], name="head")
    inp = keras.Input((64, 64, 3))
    model = keras.Model(inp, head(base(inp)))
    x = np.random.default_rng(0).random((2, 64, 64, 3)).astype("float32")
    assert gradcam.grad_cam(model, x).shape == (2, 64, 64)
    assert gradcam.grad_cam(model, x, layer_name="conv_pw_11_relu").shape == (2, 64, 64)
    import pytest
    with pytest.raises(ValueError, match="choose one of"):
        gradcam.grad_cam(model, x, layer_name="nope")
