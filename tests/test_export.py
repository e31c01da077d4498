"""Saving a model with its preprocessing and class names, reloading it, predicting a file (tl_helpers.export)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from tl_helpers import export
from tl_helpers.backbones import preprocess_for


def _model(n_classes: int = 3) -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((None, None, 3))
    x = keras.layers.Resizing(12, 12)(inputs)
    x = export.preprocessing_layer("mobilenet_025")(x)
    x = keras.layers.Conv2D(4, 3, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(n_classes, activation="softmax")(x))


@pytest.mark.parametrize("name", ["mobilenet_025", "mobilenet_v2", "resnet50_v2", "efficientnet_v2_b0"])
def test_preprocessing_layer_equals_preprocess_input(name: str) -> None:
    x = np.random.default_rng(0).uniform(0, 255, (2, 4, 4, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(export.preprocessing_layer(name)(x)),
                               np.asarray(preprocess_for(name)(x.copy())), atol=1e-5)


def test_save_reload_predict_roundtrip(tmp_path: Path) -> None:
    model = _model()
    path = export.save_with_class_names(model, tmp_path / "m.keras", ["ant", "bee", "cat"], image_size=12)
    assert export.METADATA in zipfile.ZipFile(path).namelist()
    reloaded, meta = export.load_with_class_names(path)
    assert reloaded is not model
    assert meta == {"class_names": ["ant", "bee", "cat"], "image_size": 12}
    x = np.random.default_rng(1).uniform(0, 255, (5, 30, 20, 3)).astype("float32")
    p, q = model.predict(x, verbose=0), reloaded.predict(x, verbose=0)
    assert export.predictions_match(p, q)
    Image.fromarray(np.random.default_rng(2).integers(0, 256, (17, 9, 4), dtype="uint8"), "RGBA").save(
        tmp_path / "odd.png")
    name, prob, probs = export.predict_file(reloaded, tmp_path / "odd.png", meta["class_names"])
    assert name == meta["class_names"][int(np.argmax(probs))] and prob == pytest.approx(probs.max())
    assert probs.shape == (3,) and probs.sum() == pytest.approx(1, abs=1e-5)
    assert export.predict_file(model, tmp_path / "odd.png", meta["class_names"])[0] == name


def test_clear_errors(tmp_path: Path) -> None:
    model = _model(2)
    with pytest.raises(ValueError, match=r"\.keras"):
        export.save_with_class_names(model, tmp_path / "m.h5", ["a", "b"])
    with pytest.raises(ValueError, match="2 outputs but 3 class names"):
        export.save_with_class_names(model, tmp_path / "m.keras", ["a", "b", "c"])
    model.save(tmp_path / "plain.keras")
    with pytest.raises(ValueError, match="no tl_metadata.json"):
        export.load_with_class_names(tmp_path / "plain.keras")
    with pytest.raises(FileNotFoundError):
        export.load_with_class_names(tmp_path / "absent.keras")
    with pytest.raises(KeyError, match="Unknown backbone"):
        export.preprocessing_layer("vgg99")


def test_predictions_match_detects_differences() -> None:
    a = np.array([[0.6, 0.4], [0.1, 0.9]])
    assert export.predictions_match(a, a.copy())
    assert not export.predictions_match(a, a[::-1])
    assert not export.predictions_match(a, a + np.array([[1e-3, -1e-3], [0, 0]]))
    assert not export.predictions_match(a, a[:1])


def test_roundtrip_under_mixed_precision(tmp_path: Path) -> None:
    """The full track on a GPU trains under mixed_float16: the saved model must still reload identically."""
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        inputs = keras.Input((None, None, 3))
        x = keras.layers.Resizing(8, 8)(inputs)
        x = export.preprocessing_layer("mobilenet_v2")(x)
        x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3)(x))
        model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax", dtype="float32")(x))
        path = export.save_with_class_names(model, tmp_path / "mp.keras", ["a", "b"])
    finally:
        keras.mixed_precision.set_global_policy("float32")
    reloaded, _ = export.load_with_class_names(path)
    assert reloaded.layers[-1].compute_dtype == "float32" and reloaded.layers[2].compute_dtype == "float16"
    x = np.random.default_rng(3).uniform(0, 255, (4, 10, 10, 3)).astype("float32")
    assert export.predictions_match(model.predict(x, verbose=0), reloaded.predict(x, verbose=0))


def test_quiet_tf_logs_hides_info_and_restores_the_level(caplog) -> None:
    import logging

    logger = logging.getLogger("tensorflow")
    before = logger.level
    with caplog.at_level(logging.INFO, logger="tensorflow"):
        with export.quiet_tf_logs():
            logger.info("Assets written to: /some/machine/path")
        assert "machine/path" not in caplog.text
        logger.warning("visible again")
        assert "visible again" in caplog.text
    assert logger.level == before


def test_serving_support_per_backend(monkeypatch) -> None:
    assert export.serving_support("tensorflow") == ("SavedModel", "")
    monkeypatch.setattr(export, "_missing", lambda packages: list(packages))  # nothing installed
    fmt, why_not = export.serving_support("torch")
    assert fmt == "ONNX" and "onnxscript" in why_not and "pip install" in why_not
    assert "jax2onnx" in export.serving_support("jax")[1]
    assert export.serving_support("tensorflow") == ("SavedModel", "")  # needs nothing beyond TensorFlow
    assert export.serving_support("numpy")[0] == ""


def test_export_for_serving_on_this_backend(tmp_path: Path) -> None:
    """The active backend's artifact is written and predicts what the model does, or the note says why not."""
    model = _model()
    x = np.random.default_rng(4).uniform(0, 255, (6, 12, 12, 3)).astype("float32")
    fmt, why_not = export.serving_support()
    out = export.export_for_serving(model, tmp_path / "serve", x)
    assert out.format == fmt
    if why_not:
        assert out.path is None and out.matches is None and why_not in out.note
        return
    assert out.path is not None and out.path.exists(), out.note
    assert out.matches in (True, None) and out.path.name in out.note
    if out.matches is None:  # ONNX written, onnxruntime missing
        assert "onnxruntime" in out.note


def test_export_for_serving_reports_a_failing_exporter(tmp_path: Path, monkeypatch) -> None:
    model = _model()
    if export.serving_support()[1]:
        pytest.skip("no serving export on this backend here")

    def broken(*args, **kwargs):
        raise RuntimeError("cannot convert layer X")

    monkeypatch.setattr(export, "_onnx_torch", broken)
    monkeypatch.setattr(keras.Model, "export", broken)
    out = export.export_for_serving(model, tmp_path / "serve", np.zeros((2, 12, 12, 3), "float32"))
    assert out.path is None and out.matches is None and "cannot convert layer X" in out.note
