"""tl_helpers.tf_trace: on TensorFlow, a freshly compiled model's training step is traced once, same numbers."""

import numpy as np
import pytest

import keras

if keras.backend.backend() != "tensorflow":
    pytest.skip("tf_trace changes Keras's TensorFlow trainer only", allow_module_level=True)

from tl_helpers import config, tf_trace  # noqa: E402


@pytest.fixture(autouse=True)
def keras_own():
    tf_trace.disable()
    yield
    tf_trace.disable()


class Counting(keras.Model):
    """A functional model that counts how often its training step is traced."""

    traces = 0

    def train_step(self, data):
        Counting.traces += 1
        return super().train_step(data)


def fit_fresh(built: bool = True, seed: int = 0):
    """A small model with BatchNorm and Dropout, compiled afresh and trained 2 epochs with validation."""
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(96, 6)).astype("float32"), rng.integers(0, 3, 96)
    if built:
        inputs = keras.Input((6,))
        h = keras.layers.Dropout(0.2)(keras.layers.BatchNormalization()(keras.layers.Dense(8, activation="relu")(inputs)))
        model = Counting(inputs, keras.layers.Dense(3, activation="softmax")(h))
    else:  # no Input: built inside the first trace
        model = keras.Sequential([keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
    Counting.traces = 0
    model.fit(x, y, batch_size=32, epochs=2, validation_data=(x[:16], y[:16]), verbose=0)
    return model, Counting.traces, model.evaluate(x, y, verbose=0)


def test_keras_traces_twice_and_enable_traces_once():
    """Pins Keras's own behaviour too: if an upgrade traces once by itself, this says so (drop the module)."""
    _, own, _ = fit_fresh()
    assert own == 2, f"Keras's own now traces the training step {own} time(s); tf_trace may be unneeded"
    assert "traced once" in tf_trace.enable()
    _, ours, _ = fit_fresh()
    assert ours == 1


def test_same_weights_and_metrics_bit_for_bit():
    model, _, own_eval = fit_fresh(seed=3)
    own = [w.copy() for w in model.get_weights()]
    tf_trace.enable()
    model, _, our_eval = fit_fresh(seed=3)
    assert our_eval == own_eval
    for a, b in zip(own, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_unbuilt_models_train_as_before():
    _, _, own_eval = fit_fresh(built=False, seed=1)
    tf_trace.enable()
    _, _, our_eval = fit_fresh(built=False, seed=1)
    assert our_eval == own_eval


def test_setup_enables_it_and_says_so_unless_told_not_to(monkeypatch):
    P = config.setup("smoke", seed=0, notebook="t_tf_trace", verbose=False)
    assert "traced once" in config.report(P)
    tf_trace.disable()
    monkeypatch.setenv("TL_TF_TRACE", "keras")
    P = config.setup("smoke", seed=0, notebook="t_tf_trace", verbose=False)
    assert tf_trace.note() == "" and "traced once" not in config.report(P)
