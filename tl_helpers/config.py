"""Tracks ("profiles"), seeds and the one-call notebook setup.

Three tracks share every notebook:

* ``full``  - TFDS datasets and ImageNet backbones at 160 px; a GPU is recommended.
* ``lite``  - offline on a laptop CPU: Fashion-MNIST and MobileNet (alpha 0.25) at 96 px.
* ``smoke`` - lite on tiny subsets for one epoch: what CI runs.

``auto`` means ``full`` when a GPU is visible, else ``lite``. A notebook's tagged
``parameters`` cell (``profile = "auto"``) or the ``TL_PROFILE`` / ``TL_SEED``
environment variables choose the track. While nbgrader grades a submission (it sets
``NBGRADER_EXECUTION`` in the kernel's environment) the grader chooses: ``TL_PROFILE``
(default ``smoke``) and ``TL_SEED`` win over whatever the student's ``parameters`` cell says.

Example:
    >>> P = get_profile("lite")
    >>> P.image_size, P.backbone
    (96, 'mobilenet_025')
    >>> P.pick(full=20, lite=10, smoke=1)
    10
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass, field, replace
from typing import Any

from . import jax_cpu, tf_trace

TRACKS = ("full", "lite", "smoke")
#: the track nbgrader grades on when the instructor's environment sets no ``TL_PROFILE``.
GRADING_TRACK = "smoke"


@dataclass(frozen=True)
class Profile:
    """Everything that differs between tracks, in one place.

    Example:
        >>> get_profile("smoke").epochs
        1
    """

    name: str
    image_size: int
    backbone: str
    #: role -> dataset name; "fashion_mnist" is loaded offline, the rest through TFDS.
    datasets: dict[str, str]
    #: learning-curve points (labelled examples per class).
    labels_per_class: tuple[int, ...]
    #: cap on the training pool per class (None = everything).
    train_per_class: int | None
    #: cap on the test set (None = everything).
    test_size: int | None
    epochs: int
    batch_size: int
    seed: int = 0
    #: set by :func:`setup` - whether a GPU is used and mixed precision is on.
    gpu: bool = False
    mixed_precision: bool = False
    #: tests only: TFDS mocked, random weights, smoke-sized (see :func:`mock_mode`).
    mock: bool = False
    extras: dict[str, Any] = field(default_factory=dict)
    #: set by :func:`setup` under nbgrader: who chose the track, for the report.
    chosen_by: str = ""

    @property
    def dataset(self) -> str:
        """The track's main classification dataset (``datasets["classification"]``)."""
        return self.datasets["classification"]

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(image_size, image_size, 3)``: what the backbones take."""
        return (self.image_size, self.image_size, 3)

    def pick(self, **by_track: Any) -> Any:
        """Choose a notebook-specific value per track, visibly, in one line.

        Example:
            >>> get_profile("smoke").pick(full=30, lite=10, smoke=1)
            1
        """
        missing = [t for t in TRACKS if t not in by_track]
        if missing:
            raise ValueError(f"pick() needs a value for every track; missing {missing}. "
                             f"Write e.g. P.pick(full=..., lite=..., smoke=...).")
        return by_track["smoke" if self.mock else self.name]


PROFILES: dict[str, Profile] = {
    "full": Profile(
        name="full", image_size=160, backbone="mobilenet_v2",
        datasets={"classification": "tf_flowers", "pets": "oxford_iiit_pet",
                  "digits": "mnist", "digits_target": "svhn_cropped"},
        labels_per_class=(5, 10, 20, 50, 100), train_per_class=None, test_size=None,
        epochs=10, batch_size=64),
    "lite": Profile(
        name="lite", image_size=96, backbone="mobilenet_025",
        datasets={"classification": "fashion_mnist"},
        labels_per_class=(5, 10, 20, 50, 100), train_per_class=1000, test_size=2000,
        epochs=10, batch_size=64),
    "smoke": Profile(
        name="smoke", image_size=96, backbone="mobilenet_025",
        datasets={"classification": "fashion_mnist"},
        labels_per_class=(2, 5), train_per_class=20, test_size=200,
        epochs=1, batch_size=32),
}


def gpu_available() -> bool:
    """True when the active Keras backend sees a GPU.

    Example:
        >>> isinstance(gpu_available(), bool)
        True
    """
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf
            return bool(tf.config.list_physical_devices("GPU"))
        if backend == "jax":
            import jax
            return any(d.platform == "gpu" for d in jax.devices())
        if backend == "torch":
            import torch
            return bool(torch.cuda.is_available())
    except Exception:  # a broken driver is "no GPU", not a crash
        return False
    return False


def resolve_track(profile: str | None = "auto") -> str:
    """Turn ``"auto"`` / ``None`` / ``TL_PROFILE`` into ``full``, ``lite`` or ``smoke``.

    An explicit ``profile`` wins; ``"auto"`` defers to ``TL_PROFILE``, then to the hardware.

    Example:
        >>> resolve_track("smoke")
        'smoke'
    """
    name = (profile or "auto").strip().lower()
    if name == "auto":
        name = os.environ.get("TL_PROFILE", "auto").strip().lower() or "auto"
    if name == "auto":
        return "full" if gpu_available() else "lite"
    if name not in PROFILES:
        raise ValueError(f"Unknown profile {profile!r} (TL_PROFILE={os.environ.get('TL_PROFILE')!r}). "
                         f"Choose one of: auto, {', '.join(TRACKS)}.")
    return name


def resolve_seed(seed: int | None = None) -> int:
    """The seed to use: ``TL_SEED`` when set, else ``seed`` (default 0).

    The environment wins so that a whole course run can be re-seeded without
    editing notebooks.

    Example:
        >>> resolve_seed(3) if "TL_SEED" not in os.environ else 3
        3
    """
    env = os.environ.get("TL_SEED")
    if env not in (None, ""):
        try:
            return int(env)
        except ValueError:
            raise ValueError(f"TL_SEED={env!r} is not an integer; set e.g. TL_SEED=0.") from None
    return 0 if seed is None else int(seed)


def get_profile(profile: str | None = "auto", seed: int | None = None) -> Profile:
    """The :class:`Profile` for a track name (no side effects; see :func:`setup`).

    Example:
        >>> get_profile("lite", seed=1).seed
        1
    """
    return replace(PROFILES[resolve_track(profile)], seed=resolve_seed(seed))


def grading() -> str:
    """The nbgrader step executing this kernel (``"autograde"``, ``"validate"``), else ``""``.

    nbgrader sets ``NBGRADER_EXECUTION`` in the environment of the kernels it starts.

    Example:
        >>> grading() if "NBGRADER_EXECUTION" not in os.environ else ""
        ''
    """
    return os.environ.get("NBGRADER_EXECUTION", "").strip()


def grader_track() -> tuple[str, str]:
    """Under nbgrader: the track the grader chose (``TL_PROFILE``, else ``smoke``) and a note saying so.

    Example:
        >>> os.environ["TL_PROFILE"] = "smoke"
        >>> grader_track()
        ('smoke', 'track chosen by the grader (TL_PROFILE=smoke)')
        >>> del os.environ["TL_PROFILE"]
    """
    env = os.environ.get("TL_PROFILE", "").strip()
    if env:
        return env, f"track chosen by the grader (TL_PROFILE={env})"
    return GRADING_TRACK, f"track chosen by the grader (TL_PROFILE not set: {GRADING_TRACK}, the grading default)"


def mock_mode() -> int:
    """``TL_MOCK_DATA=N`` (tests only): N examples per split from ``tfds.testing.mock_data``.

    In mock mode a track keeps its datasets and backbone (so the full track's code
    path runs offline) but its sizes and :meth:`Profile.pick` values become the smoke
    track's, its images 96 px (MobileNetV2's smallest ImageNet size: a third of the
    compute of 160 px, the same code) and backbones get random weights.

    Example:
        >>> mock_mode() if "TL_MOCK_DATA" not in os.environ else 0
        0
    """
    value = os.environ.get("TL_MOCK_DATA", "")
    return int(value) if value.strip() not in ("", "0") else 0


_mock_context: list[Any] = []
#: image size of mock runs (tests): the full track's code path at a third of 160 px's compute.
MOCK_IMAGE_SIZE = 96


def _enter_mock(P: Profile) -> Profile:
    import tensorflow_datasets as tfds

    if not _mock_context:  # stays active for the rest of the process (a notebook kernel)
        ctx = tfds.testing.mock_data(num_examples=mock_mode())
        ctx.__enter__()
        _mock_context.append(ctx)
    s = PROFILES["smoke"]
    return replace(P, mock=True, labels_per_class=s.labels_per_class, train_per_class=s.train_per_class,
                   test_size=s.test_size, epochs=s.epochs, batch_size=s.batch_size,
                   image_size=min(P.image_size, MOCK_IMAGE_SIZE))


def leave_mock() -> None:
    """Undo the TFDS mock that :func:`setup` entered under ``TL_MOCK_DATA`` (for tests).

    Example:
        >>> leave_mock()
    """
    while _mock_context:
        _mock_context.pop().__exit__(None, None, None)


def _configure_gpu(use_mixed_precision: bool) -> bool:
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf
        for gpu in tf.config.list_physical_devices("GPU"):
            try:
                tf.config.experimental.set_memory_growth(gpu, True)
            except RuntimeError:  # already initialised: growth must be set first
                pass
    if use_mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
        return True
    return False


def report(P: Profile) -> str:
    """A short environment report: versions, device, track.

    Example:
        >>> "track" in report(get_profile("smoke"))
        True
    """
    import keras

    from . import BACKEND_NOTE

    lines = [f"python      {platform.python_version()} on {platform.system()} {platform.machine()}",
             f"keras       {keras.__version__} (backend: {keras.backend.backend()}"
             + (f"; {BACKEND_NOTE})" if BACKEND_NOTE else ")")]
    for mod in ("tensorflow", "tensorflow_datasets", "jax", "torch"):
        m = sys.modules.get(mod)
        if m is not None:
            lines.append(f"{mod:<11} {getattr(m, '__version__', '?')}")
    lines += [f"device      {'GPU' if P.gpu else 'CPU'} ({os.cpu_count()} CPU cores)"
              + (", mixed precision" if P.mixed_precision else ""),
              f"track       {P.name}: {P.dataset} + {P.backbone} at {P.image_size} px, "
              f"{P.epochs} epochs, batch {P.batch_size}, seed {P.seed}"
              + (" [MOCK DATA, random weights: a test run]" if P.mock else "")]
    if P.chosen_by:
        lines.append(f"            {P.chosen_by}")
    for fix in (jax_cpu.note(), tf_trace.note()):
        if fix:
            lines.append(f"speed-up    {fix}")
    return "\n".join(lines)


def setup(profile: str | None = "auto", seed: int | None = None, notebook: str | None = None,
          verbose: bool = True) -> Profile:
    """Resolve the track, seed everything, configure the device, print a report.

    ``notebook`` names the notebook whose numbers :func:`tl_helpers.results.record`
    will store. On a GPU, memory growth and mixed precision are switched on; on a
    CPU, neither. While nbgrader grades (``NBGRADER_EXECUTION`` is set), ``profile``
    and ``seed`` - the student's ``parameters`` cell - are ignored: the grader's
    ``TL_PROFILE`` (default ``smoke``) and ``TL_SEED`` (default 0) decide, and the
    report says so.

    Example:
        >>> P = setup("smoke", seed=0, notebook="doc", verbose=False)
        >>> P.name
        'smoke'
    """
    import keras

    from . import results

    chosen_by = ""
    if grading():
        (profile, chosen_by), seed = grader_track(), None
    P = replace(get_profile(profile, seed), chosen_by=chosen_by)
    keras.utils.set_random_seed(P.seed)
    gpu = gpu_available()
    mixed = _configure_gpu(use_mixed_precision=gpu) if gpu else False
    if not gpu:
        keras.mixed_precision.set_global_policy("float32")
    if P.name == "smoke":  # a few steps per model: the bigger graph compiles longer than it saves
        jax_cpu.disable()
    else:
        jax_cpu.enable()
    tf_trace.enable()
    P = replace(P, gpu=gpu, mixed_precision=mixed)
    if mock_mode():
        P = _enter_mock(P)
    results.start(notebook, P)
    if verbose:
        print(report(P))
    return P
