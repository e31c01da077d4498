"""A small registry over ``keras.applications``: name -> constructor, preprocessing, sizes.

Weights always come through Keras's own ``weights="imagenet"`` path, so a
populated Keras cache (``$KERAS_HOME/models`` or ``~/.keras/models``) works
offline. When the file is absent and the network is down we fail within
seconds with the file name, the places looked in, and the fixes.

Example:
    >>> spec = get_spec("mobilenet_025")
    >>> spec.weights_file(96, include_top=False)
    'mobilenet_2_5_224_tf_no_top.h5'
    >>> base = build_backbone("mobilenet_025", 96, weights=None)  # doctest: +SKIP
"""

from __future__ import annotations

import difflib
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import keras

from .offline import LITE_FIX, MissingResourceError, online

apps = keras.applications


@dataclass(frozen=True)
class BackboneSpec:
    """What the course needs to know about one Keras Applications model.

    Example:
        >>> get_spec("resnet50_v2").min_size
        32
    """

    name: str
    constructor: Callable[..., keras.Model]
    preprocess: Callable[[Any], Any]
    default_size: int
    min_size: int
    weights_file: Callable[[int, bool], str]
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: input sizes that have their own ImageNet weights (others reuse ``default_size``'s).
    weight_sizes: tuple[int, ...] = ()
    description: str = ""


def _mobilenet_file(size: int, include_top: bool) -> str:
    rows = size if size in (128, 160, 192, 224) else 224
    return f"mobilenet_2_5_{rows}_tf{'' if include_top else '_no_top'}.h5"


def _mobilenet_v2_file(size: int, include_top: bool) -> str:
    rows = size if size in (96, 128, 160, 192, 224) else 224
    return f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{rows}{'' if include_top else '_no_top'}.h5"


REGISTRY: dict[str, BackboneSpec] = {
    "mobilenet_025": BackboneSpec(
        "mobilenet_025", apps.MobileNet, apps.mobilenet.preprocess_input, 224, 32, _mobilenet_file,
        kwargs={"alpha": 0.25}, weight_sizes=(128, 160, 192, 224),
        description="MobileNet v1, width 0.25: 0.2 M parameters, the lite track's backbone"),
    "mobilenet_v2": BackboneSpec(
        "mobilenet_v2", apps.MobileNetV2, apps.mobilenet_v2.preprocess_input, 224, 32, _mobilenet_v2_file,
        weight_sizes=(96, 128, 160, 192, 224),
        description="MobileNetV2 (width 1.0): 2.3 M parameters, the full track's backbone"),
    "efficientnet_v2_b0": BackboneSpec(
        "efficientnet_v2_b0", apps.EfficientNetV2B0, apps.efficientnet_v2.preprocess_input, 224, 32,
        lambda size, top: f"efficientnetv2-b0{'' if top else '_notop'}.h5",
        description="EfficientNetV2-B0: 5.9 M parameters; rescales inside the model (takes 0-255)"),
    "resnet50_v2": BackboneSpec(
        "resnet50_v2", apps.ResNet50V2, apps.resnet_v2.preprocess_input, 224, 32,
        lambda size, top: f"resnet50v2_weights_tf_dim_ordering_tf_kernels{'' if top else '_notop'}.h5",
        description="ResNet50V2: 23.6 M parameters, a classic heavy baseline"),
}


def get_spec(name: str) -> BackboneSpec:
    """Look a backbone up by name; a typo gets the list of valid names.

    Example:
        >>> get_spec("mobilenet_v2").default_size
        224
    """
    key = name.strip().lower().replace("-", "_")
    if key not in REGISTRY:
        close = difflib.get_close_matches(key, REGISTRY, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise KeyError(f"Unknown backbone {name!r}.{hint} Valid names: {', '.join(REGISTRY)}.")
    return REGISTRY[key]


def keras_cache_dirs() -> list[Path]:
    """Where Keras looks for cached weights: ``$KERAS_HOME/models`` (or ``~/.keras/models``),
    and ``/tmp/.keras/models``, which Keras uses when the first is read-only.

    Example:
        >>> keras_cache_dirs()[-1].name
        'models'
    """
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return [Path(home) / "models", Path("/tmp/.keras/models")]


def find_weights(name: str, image_size: int, include_top: bool = False) -> Path | None:
    """The cached ImageNet weights file for this backbone and size, or None.

    Example:
        >>> find_weights("resnet50_v2", 224) is None or True
        True
    """
    fname = get_spec(name).weights_file(image_size, include_top)
    for d in keras_cache_dirs():
        if (d / fname).is_file():
            return d / fname
    return None


def _mock() -> bool:
    return os.environ.get("TL_MOCK_DATA", "") not in ("", "0")


def check_weights_available(name: str, image_size: int, include_top: bool = False) -> None:
    """Raise :class:`MissingResourceError` fast when weights are neither cached nor downloadable.

    Under ``TL_MOCK_DATA`` (the tests' mock mode, where :func:`build_backbone` uses random
    weights) there is nothing to check.

    Example:
        >>> check_weights_available("mobilenet_025", 96)  # doctest: +SKIP
    """
    if _mock():
        return
    if find_weights(name, image_size, include_top) is not None or online():
        return
    fname = get_spec(name).weights_file(image_size, include_top)
    raise MissingResourceError(
        f"ImageNet weights for {name!r} ({fname})", [str(d) for d in keras_cache_dirs()],
        [LITE_FIX,
         f"copy {fname} into $KERAS_HOME/models (e.g. from a machine with internet: "
         "it lands in ~/.keras/models the first time Keras downloads it)",
         "set KERAS_HOME to a folder whose models/ holds the file",
         "use weights=None to build the architecture with random weights"],
        cause="the file is not in the Keras cache and the network is unreachable")


def build_backbone(name: str, image_size: int, weights: str | None = "imagenet",
                   include_top: bool = False, pooling: str | None = "avg", **kwargs: Any) -> keras.Model:
    """Build a Keras Applications model at ``image_size`` x ``image_size`` x 3.

    ``weights="imagenet"`` goes through Keras's own loader (cache first);
    ``weights=None`` gives the same architecture with random weights (always so
    under ``TL_MOCK_DATA``, the tests' mock mode).

    Example:
        >>> base = build_backbone("mobilenet_025", 96, weights=None)
        >>> base.output_shape
        (None, 256)
    """
    spec = get_spec(name)
    if _mock():  # test runs: no weights to be had
        weights = None
    if image_size < spec.min_size:
        raise ValueError(f"{name} needs inputs of at least {spec.min_size} px; got {image_size}. "
                         f"Resize the images (e.g. image_size={max(spec.min_size, 96)}).")
    if include_top and weights == "imagenet" and spec.weight_sizes and image_size not in spec.weight_sizes:
        raise ValueError(f"{name} with its ImageNet top needs an input size in {spec.weight_sizes}; "
                         f"got {image_size}. Use include_top=False, or one of those sizes.")
    if weights == "imagenet":
        check_weights_available(name, image_size, include_top)
    args = dict(spec.kwargs, **kwargs)
    if not include_top:
        args["pooling"] = pooling
    try:
        with warnings.catch_warnings():  # Keras warns that e.g. 224-px weights serve 96-px inputs: expected
            warnings.filterwarnings("ignore", message=".*will be loaded as the default")
            return spec.constructor(input_shape=(image_size, image_size, 3), include_top=include_top,
                                    weights=weights, **args)
    except Exception as err:  # e.g. a download that started and then broke off
        if weights == "imagenet" and "URL fetch failure" in str(err):
            raise MissingResourceError(
                f"ImageNet weights for {name!r} ({spec.weights_file(image_size, include_top)})",
                [str(d) for d in keras_cache_dirs()], [LITE_FIX, "set KERAS_HOME to a folder with the file"],
                cause=str(err).splitlines()[0]) from err
        raise


def preprocess_for(name: str) -> Callable[[Any], Any]:
    """The backbone's ``preprocess_input`` (maps 0-255 pixels to what it was trained on).

    Example:
        >>> import numpy as np
        >>> float(preprocess_for("mobilenet_025")(np.array([255.0]))[0])
        1.0
    """
    return get_spec(name).preprocess
