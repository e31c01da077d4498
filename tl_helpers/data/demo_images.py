"""Demo image folders for notebook 06: a few Fashion-MNIST (lite) or tf_flowers (full) classes
written as PNG/JPEG files, plus planted "messy" files (truncated, empty, fake, CMYK, 16-bit, RGBA) so
the folder scan always has something to show.

Example:
    >>> sorted(DEMO_FMNIST.values())[:2]
    ['bag', 'pullover']
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from ..paths import cache_dir
from . import tfds
from .fashion_mnist import load_fashion_mnist
from .folders import KERAS_EXTENSIONS, to_rgb

if TYPE_CHECKING:
    from ..config import Profile

DEMO_FMNIST = {0: "tshirt_top", 1: "trouser", 2: "pullover", 5: "sandal", 7: "sneaker", 8: "bag"}


def write_messy_files(folder: str | Path) -> dict[str, str]:
    """Plant the usual troublemakers into the first class folders of ``folder``; return name -> expected status.

    Converted ones (CMYK, 16-bit, RGBA, grayscale) are made from a real image of their class.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> for c in ("a", "b"):
        ...     (root / c).mkdir(); Image.new("RGB", (8, 8), "red").save(root / c / "0.png")
        >>> sorted(write_messy_files(root).values()).count("skip")
        4
    """
    root = Path(folder)
    classes = sorted(p for p in root.iterdir() if p.is_dir())
    c = lambda i: classes[i % len(classes)]  # noqa: E731
    base = [to_rgb(Image.open(next(p for p in sorted(k.iterdir()) if p.suffix in KERAS_EXTENSIONS))) for k in classes]
    b = lambda i: base[i % len(base)]  # noqa: E731
    planted = {}
    jpeg = c(0) / "zz_truncated.jpg"
    b(0).resize((128, 128)).save(jpeg, quality=95)
    jpeg.write_bytes(jpeg.read_bytes()[: jpeg.stat().st_size * 2 // 3])
    (c(0) / "zz_empty.jpg").write_bytes(b"")
    (c(1) / "zz_notes.jpg").write_text("These are my notes, not a photo.\n")
    (c(1) / "zz_drawing.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><circle r="4"/></svg>')
    b(2).convert("CMYK").save(c(2) / "zz_cmyk.jpg")
    Image.fromarray((np.asarray(b(3).convert("L"), "uint16") * 257)).save(c(3) / "zz_16bit.png")
    alpha = np.zeros((b(4).height, b(4).width), "uint8")
    alpha[2:-2, 2:-2] = 255  # a transparent frame: white after conversion
    Image.fromarray(np.dstack([np.asarray(b(4)), alpha]), "RGBA").save(c(4) / "zz_rgba.png")
    b(5).convert("L").save(c(5) / "zz_grayscale.jpg")
    for name in ("zz_truncated.jpg", "zz_empty.jpg", "zz_notes.jpg", "zz_drawing.svg"):
        planted[name] = "skip"
    for name in ("zz_cmyk.jpg", "zz_16bit.png", "zz_rgba.png", "zz_grayscale.jpg"):
        planted[name] = "convert"
    (root / "README.txt").write_text("Planted: " + ", ".join(planted) + "\n")  # outside class folders: ignored
    return planted


def write_demo_folder(P: Profile, per_class: int, out: str | Path | None = None, messy: bool = True) -> Path:
    """Write a demo image folder (PNG/JPEG, one sub-folder per class) for ``P``'s track; reuse it if present.

    lite/smoke: six Fashion-MNIST classes (28 px, half PNG, half JPEG); full: ``tf_flowers``
    photos (JPEG). ``messy`` plants the files of :func:`write_messy_files`. The pick of
    images is fixed (not ``P.seed``): the folder plays *your* data; the seed drives the split.

    Example:
        >>> from tl_helpers.config import get_profile
        >>> write_demo_folder(get_profile("smoke"), per_class=10)  # doctest: +SKIP
        PosixPath('.../tl-course/demo_images/fashion_mnist-10-messy')
    """
    tag = f"{P.dataset}{'-mock' if P.mock else ''}-{per_class}{'-messy' if messy else ''}"
    out = Path(out or cache_dir("demo_images") / tag)
    if (out / ".complete").exists():
        return out
    shutil.rmtree(out, ignore_errors=True)
    if P.dataset == "fashion_mnist":
        (x, y), _ = load_fashion_mnist()
        names = DEMO_FMNIST
        picks = {k: np.flatnonzero(y == k)[:per_class] for k in names}
        items = [(names[k], i, np.stack([x[i]] * 3, -1)) for k in names for i in picks[k]]
    else:
        found, label_names = tfds.first_per_class(P.dataset, per_class)
        items = [(label_names[lab], i, img) for i, (lab, img) in enumerate(found)]
    for name, i, img in items:
        (out / name).mkdir(parents=True, exist_ok=True)
        as_png = P.dataset == "fashion_mnist" and i % 2 == 0
        Image.fromarray(np.asarray(img, "uint8")).save(out / name / f"{i:06d}.{'png' if as_png else 'jpg'}",
                                                        quality=95)
    if messy:
        write_messy_files(out)
    (out / ".complete").write_text(tag)
    return out
