"""Shipping a model: preprocessing inside it, class names saved with it, reloaded and checked.

A model that takes raw 0-255 RGB pixels of any size (``Resizing`` + the backbone's
``preprocess_input`` as a savable layer) can be used on an image file with no course
code around it. :func:`save_with_class_names` writes the usual ``.keras`` file and puts
a small ``tl_metadata.json`` (class names, image size, ...) inside the same zip;
``keras.saving.load_model`` reads that file as usual and ignores the extra member.

Example:
    >>> import tempfile, keras
    >>> inputs = keras.Input((None, None, 3))
    >>> x = keras.layers.Resizing(8, 8)(inputs)
    >>> x = preprocessing_layer("mobilenet_025")(x)
    >>> x = keras.layers.GlobalAveragePooling2D()(x)
    >>> model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
    >>> path = save_with_class_names(model, tempfile.mkdtemp() + "/m.keras", ["cat", "dog"])
    >>> reloaded, meta = load_with_class_names(path)
    >>> meta["class_names"]
    ['cat', 'dog']
"""

from __future__ import annotations

import contextlib
import json
import logging
import zipfile
from pathlib import Path
from typing import Any, Iterator, Sequence

import keras
import numpy as np

from .backbones import get_spec, preprocess_for

METADATA = "tl_metadata.json"
#: backbones whose ``preprocess_input`` is ``x / 127.5 - 1`` ("tf" mode) or nothing (they rescale inside).
_SCALE_MINUS_ONE = ("mobilenet_025", "mobilenet_v2", "resnet50_v2")
_IDENTITY = ("efficientnet_v2_b0",)


def preprocessing_layer(backbone: str) -> keras.layers.Layer:
    """The backbone's ``preprocess_input`` as a Keras layer, so it is saved inside the model.

    Checked against ``preprocess_for(backbone)`` on sample pixels, so a mismatch fails loudly.

    Example:
        >>> layer = preprocessing_layer("mobilenet_v2")
        >>> [round(float(v), 3) for v in layer(np.array([[0.0, 127.5, 255.0]]))[0]]
        [-1.0, 0.0, 1.0]
    """
    name = get_spec(backbone).name
    if name in _SCALE_MINUS_ONE:
        layer = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="preprocess")
    elif name in _IDENTITY:
        layer = keras.layers.Identity(name="preprocess")
    else:
        raise ValueError(f"No savable preprocessing layer is known for {backbone!r}; "
                         f"add it to tl_helpers.export (known: {', '.join(_SCALE_MINUS_ONE + _IDENTITY)}).")
    sample = np.linspace(0, 255, 12, dtype="float32").reshape(1, 2, 2, 3)
    want = np.asarray(preprocess_for(name)(sample.copy()))
    atol = 1e-4 if layer.compute_dtype == "float32" else 1e-2  # mixed precision computes in float16
    if not np.allclose(keras.ops.convert_to_numpy(layer(sample)).astype("float32"), want, atol=atol):
        raise AssertionError(f"preprocessing_layer({backbone!r}) disagrees with its preprocess_input.")
    return layer


def save_with_class_names(model: keras.Model, path: str | Path, class_names: Sequence[str],
                          **info: Any) -> Path:
    """``model.save(path)`` plus ``tl_metadata.json`` (class names and ``info``) inside the ``.keras`` zip.

    Example:
        >>> save_with_class_names(model, "flowers.keras", ["daisy", "rose"], image_size=160)  # doctest: +SKIP
    """
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"Save to a file ending in .keras (got {path.name!r}), e.g. 'my_model.keras'.")
    path.parent.mkdir(parents=True, exist_ok=True)
    n_out = model.output_shape[-1]
    if n_out != len(class_names):
        raise ValueError(f"The model has {n_out} outputs but {len(class_names)} class names were given.")
    model.save(path)
    with zipfile.ZipFile(path, "a") as z:
        z.writestr(METADATA, json.dumps({"class_names": list(class_names), **info}, indent=2))
    return path


def load_with_class_names(path: str | Path) -> tuple[keras.Model, dict[str, Any]]:
    """Reload a model saved by :func:`save_with_class_names`: a fresh model object and its metadata.

    Example:
        >>> model, meta = load_with_class_names("flowers.keras")  # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No model file at {path}. Save one first with save_with_class_names(...).")
    with zipfile.ZipFile(path) as z:
        if METADATA not in z.namelist():
            raise ValueError(f"{path.name} has no {METADATA}: it was saved with model.save(), not "
                             "save_with_class_names(); keep its class names yourself (or save it again).")
        meta = json.loads(z.read(METADATA))
    return keras.saving.load_model(path), meta


def predict_file(model: keras.Model, path: str | Path, class_names: Sequence[str]) -> tuple[str, float, np.ndarray]:
    """Predict one image file (any size or mode) with a model that preprocesses inside.

    Returns ``(class name, its probability, all probabilities)``.

    Example:
        >>> name, p, probs = predict_file(reloaded, "my_photo.jpg", meta["class_names"])  # doctest: +SKIP
    """
    from .data.folders import load_rgb

    img = load_rgb(path).astype("float32")[None]  # (1, h, w, 3), 0-255: the model does the rest
    probs = keras.ops.convert_to_numpy(model(img, training=False))[0]  # one image: no predict() tracing
    k = int(probs.argmax())
    return class_names[k], float(probs[k]), probs


@contextlib.contextmanager
def quiet_tf_logs(level: int = logging.ERROR) -> Iterator[None]:
    """Silence TensorFlow's Python logger inside the block (e.g. ``model.export``'s "Assets written to
    <full path>" lines, which would print a machine path into a notebook).

    Example:
        >>> with quiet_tf_logs():
        ...     logging.getLogger("tensorflow").info("hidden")
    """
    logger = logging.getLogger("tensorflow")
    old = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(old)


def predictions_match(a: np.ndarray, b: np.ndarray, atol: float = 1e-5) -> bool:
    """True when two models' probabilities agree (same argmax everywhere, values within ``atol``).

    Example:
        >>> predictions_match(np.array([[0.2, 0.8]]), np.array([[0.2, 0.8 + 1e-7]]))
        True
    """
    a, b = np.asarray(a, "float64"), np.asarray(b, "float64")
    return a.shape == b.shape and bool((a.argmax(-1) == b.argmax(-1)).all()) and bool(np.allclose(a, b, atol=atol))
