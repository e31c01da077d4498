"""Shipping a model: preprocessing inside it, class names saved with it, reloaded and checked.

A model that takes raw 0-255 RGB pixels of any size (``Resizing`` + the backbone's
``preprocess_input`` as a savable layer) can be used on an image file with no course
code around it. :func:`save_with_class_names` writes the usual ``.keras`` file and puts
a small ``tl_metadata.json`` (class names, image size, ...) inside the same zip;
``keras.saving.load_model`` reads that file as usual and ignores the extra member. The
``.keras`` file saves and reloads on every backend.

An inference-only artifact for serving depends on the backend (:func:`serving_support`,
:func:`export_for_serving`): a TensorFlow SavedModel on TensorFlow; ONNX on PyTorch
(``torch.onnx``, any batch and image size; needs ``onnx`` and ``onnxscript``); ONNX on JAX
only with ``jax2onnx`` installed and for one fixed input shape. ``onnxruntime``, when
installed, checks the ONNX file's predictions.

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
import importlib.util
import json
import logging
import zipfile
from dataclasses import dataclass
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



# ------------------------------------------------------------------ serving artifacts, per backend
#: backend -> (format, the packages it needs, what the artifact takes)
_SERVING = {
    "tensorflow": ("SavedModel", (), "any batch and image size; TF Serving, TFLite conversion"),
    "torch": ("ONNX", ("onnx", "onnxscript"), "any batch and image size; ONNX Runtime and other ONNX servers"),
    "jax": ("ONNX", ("onnx", "jax2onnx"), "one fixed input shape (jax2onnx cannot export a symbolic "
                                          "batch or image size through Resizing)"),
}


def _missing(packages: Sequence[str]) -> list[str]:
    return [p for p in packages if importlib.util.find_spec(p) is None]


def serving_support(backend: str | None = None) -> tuple[str, str]:
    """``(format, why not)`` for a serving export on ``backend`` (default: the active one).

    ``why not`` is ``""`` when :func:`export_for_serving` can write the format here, else
    one sentence naming what is missing and how to install it.

    Example:
        >>> serving_support("tensorflow")
        ('SavedModel', '')
        >>> serving_support("numpy")[0]
        ''
    """
    backend = backend or keras.backend.backend()
    if backend not in _SERVING:
        return "", f"Keras's {backend!r} backend has no serving export; ship the .keras file."
    fmt, packages, _ = _SERVING[backend]
    missing = _missing(packages)
    if missing:
        return fmt, (f"{fmt} export on the {backend} backend needs {', '.join(missing)}: "
                     f"pip install {' '.join(missing)} onnxruntime")
    return fmt, ""


@dataclass
class ServingExport:
    """What :func:`export_for_serving` wrote: format, path, whether its predictions match, one line to print.

    ``matches`` is ``None`` when nothing was written or the artifact could not be run here
    (ONNX without ``onnxruntime``).
    """

    format: str
    path: Path | None
    matches: bool | None
    note: str


def _run_onnx(path: Path, x: np.ndarray) -> np.ndarray | None:
    if _missing(["onnxruntime"]):
        return None
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {session.get_inputs()[0].name: x})[0])


def _onnx_torch(model: keras.Model, path: Path, x: np.ndarray) -> None:
    """``torch.onnx.export`` (dynamo) with the batch and every unknown input size left free."""
    import warnings

    import torch

    class Serving(torch.nn.Module):  # a plain forward(x): Keras's Model.forward takes *args
        def __init__(self, wrapped: keras.Model):
            super().__init__()
            self.wrapped = wrapped

        def forward(self, x):
            return self.wrapped(x, training=False)

    free = [0] + [i + 1 for i, d in enumerate(model.input_shape[1:]) if d is None]
    dims = {i: torch.export.Dim(f"dim{i}", min=2) if i else torch.export.Dim("batch") for i in free}
    sample = keras.ops.convert_to_tensor(np.concatenate([x[:2]] * 2)[:2])  # 2 rows: 1 would be frozen
    with warnings.catch_warnings(), _quiet_loggers("torch", "onnxscript"):
        warnings.simplefilter("ignore")
        program = torch.onnx.export(Serving(model).eval(), (sample,), dynamo=True, verbose=False,
                                    dynamic_shapes={"x": dims}, input_names=["images"])
        program.save(str(path))


@contextlib.contextmanager
def _quiet_loggers(*names: str) -> Iterator[None]:
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def export_for_serving(model: keras.Model, path: str | Path, x_check: np.ndarray,
                       atol: float = 1e-4) -> ServingExport:
    """Write the active backend's serving artifact for ``model`` and check it on ``x_check``.

    TensorFlow: a SavedModel folder ``path`` (reloaded as a ``keras.layers.TFSMLayer``).
    PyTorch: ``path.onnx`` with a free batch and image size. JAX: ``path.onnx`` for
    ``x_check``'s shape when ``jax2onnx`` is installed. Otherwise nothing is written and
    the note says why. The artifact's predictions on ``x_check`` are compared with the
    model's (:func:`predictions_match`, ``atol``); ONNX files are run with ``onnxruntime``
    when it is installed.

    Example:
        >>> out = export_for_serving(model, "flowers_serving", x_test[:32])  # doctest: +SKIP
        >>> print(out.note)  # doctest: +SKIP
        ONNX (torch) in flowers_serving.onnx: predictions match the model's on 32 images
    """
    backend = keras.backend.backend()
    fmt, why_not = serving_support(backend)
    if why_not:
        return ServingExport(fmt, None, None, f"no serving export: {why_not}")
    x_check = np.asarray(x_check, dtype="float32")
    want = keras.ops.convert_to_numpy(model(x_check, training=False))
    path = Path(path)
    try:
        if backend == "tensorflow":
            with quiet_tf_logs():  # TensorFlow would log the folder's full path
                model.export(str(path), format="tf_saved_model", verbose=False)
            served = keras.layers.TFSMLayer(str(path), call_endpoint="serve")
            got = keras.ops.convert_to_numpy(served(x_check))
        else:
            path = path.with_suffix(".onnx")
            if backend == "torch":
                _onnx_torch(model, path, x_check)
            else:  # jax: one fixed input shape
                model.export(str(path), format="onnx", verbose=False,
                             input_signature=[keras.InputSpec(shape=x_check.shape, dtype="float32")])
            got = _run_onnx(path, x_check)
    except Exception as err:  # an exporter's limits (a layer it cannot convert, mixed precision, ...)
        return ServingExport(fmt, None, None, f"{fmt} export on the {backend} backend failed: "
                                              f"{type(err).__name__}: {str(err).splitlines()[0][:300]}")
    if got is None:
        return ServingExport(fmt, path, None, f"{fmt} ({backend}) in {path.name}; not checked here: "
                                              "pip install onnxruntime to run it")
    matches = predictions_match(want, got, atol=atol)
    return ServingExport(fmt, path, matches,
                         f"{fmt} ({backend}) in {path.name}: predictions "
                         f"{'match' if matches else 'DIFFER from'} the model's on {len(x_check)} images")
