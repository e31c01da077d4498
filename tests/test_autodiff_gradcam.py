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


def _softmax_spot_model(size=32):
    """Class 1's probability grows with the brightness of the image; a dark image is almost surely class 0."""
    base_in = keras.Input((size, size, 3))
    fmap = keras.layers.Conv2D(4, 3, padding="same", activation="relu", kernel_initializer="ones",
                               bias_initializer="zeros", name="conv")(base_in)
    base = keras.Model(base_in, keras.layers.GlobalAveragePooling2D()(fmap), name="base")
    inp = keras.Input((size, size, 3))
    dense = keras.layers.Dense(2, activation="softmax", kernel_initializer=keras.initializers.Constant([[-1.0, 1.0]] * 4),
                               bias_initializer=keras.initializers.Constant([5.0, 0.0]))
    dense.build((None, 4))
    dense.kernel.assign(np.array([[-1.0, 1.0]] * 4, "float32"))
    return keras.Model(inp, dense(base(inp)))


def test_gradcam_scales_make_an_unlikely_class_look_cold():
    import pytest
    model = _softmax_spot_model()
    x = np.zeros((2, 32, 32, 3), "float32")
    x[0, 2:10, 20:28] = 1.0     # bright spot: class 1 almost certain
    x[1, 2:10, 20:28] = 0.01    # faint spot: class 1 almost impossible
    p = model.predict(x, verbose=0)[:, 1]
    assert p[0] > 0.99 and p[1] < 0.02
    each = gradcam.grad_cam(model, x, class_index=1)
    assert each[0].max() > 0.99 and each[1].max() > 0.99          # alone, each map is "red" somewhere
    shared = gradcam.grad_cam(model, x, class_index=1, scale="shared")
    # one scale for both, but the score is log p, whose gradient fades as p -> 1: the CONFIDENT image goes cold
    assert shared.max() > 0.99 and shared[0].max() < 0.1
    prob = gradcam.grad_cam(model, x, class_index=1, scale="probability")
    assert prob[0].max() > 0.98 and prob[1].max() < 0.02
    np.testing.assert_allclose(prob[1] / prob[1].max(), each[1], atol=1e-4)  # same place, colder
    with pytest.raises(ValueError, match="scale must be one of"):
        gradcam.grad_cam(model, x, scale="max")
