"""Your own images: scan a one-sub-folder-per-class tree, split it by seed, load it on any backend.

:func:`scan_folder` decodes every file once (with Pillow) and sorts it into *usable as is*,
*usable after conversion* (CMYK, 16-bit, alpha, grayscale, palette, EXIF-rotated, TIFF/WebP/GIF)
and *skipped* (empty, truncated/corrupt, not an image, unsupported format), with the reason.
:func:`from_directory` splits the usable files (stratified, by seed) into ``train/ val/ test/``
folders in the course's cache folder (``paths.cache_dir("folders")``) - links to your files,
converted copies where needed, so **your folder is never modified**, and Keras's own
``keras.utils.image_dataset_from_directory`` can read them too (TensorFlow) - and loads each split
as batches of resized RGB images (:class:`tl_helpers.data.Batches`), with no TensorFlow.

Example:
    >>> import tempfile
    >>> from PIL import Image
    >>> root = Path(tempfile.mkdtemp())
    >>> for c in ("cat", "dog"):
    ...     (root / c).mkdir()
    ...     for i in range(3):
    ...         Image.new("RGB", (8, 8)).save(root / c / f"{i}.png")
    >>> _ = (root / "dog" / "notes.jpg").write_text("not an image")
    >>> scan = scan_folder(root)
    >>> scan.n_images, scan.n_skipped, scan.skipped[0].reason
    (6, 1, 'not an image: a text file named .jpg')
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .. import paths
from .pipeline import Batches, to_rgb_resized

#: what ``image_dataset_from_directory`` reads itself; anything else needs a converted copy.
KERAS_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
#: formats we decode (with Pillow) and accept; others are "unsupported".
READABLE_FORMATS = ("JPEG", "PNG", "BMP", "GIF", "TIFF", "WEBP", "MPO", "PPM")
#: image formats Pillow cannot decode here: skipped as "unsupported format".
UNSUPPORTED_EXTENSIONS = (".heic", ".heif", ".avif", ".svg", ".jxl", ".raw", ".cr2", ".nef", ".arw", ".dng")
IGNORED_NAMES = ("Thumbs.db", "desktop.ini", "__MACOSX")


def data_root() -> Path:
    """Where optional local data lives: ``paths.data_dir()`` (``$TL_DATA_DIR`` or ``./data``).

    Generated folders (demo images, splits, converted copies, saved models) do not go here but
    into the course's cache folder (:func:`tl_helpers.paths.cache_dir`), never into the checkout
    or ``site-packages``.

    Example:
        >>> data_root() == paths.data_dir()
        True
    """
    return paths.data_dir()


@dataclass
class FileReport:
    """One scanned file: ``status`` is "ok", "convert" or "skip"; ``reason`` says why.

    Example:
        >>> FileReport(Path("a/cat/1.png"), "cat", "skip", "empty file (0 bytes)").usable
        False
    """

    path: Path
    label: str
    status: str
    reason: str = ""

    @property
    def usable(self) -> bool:
        return self.status != "skip"


@dataclass
class ScanReport:
    """What :func:`scan_folder` found: every file with its verdict, per class.

    Example:
        >>> r = ScanReport(Path("x"), ["a"], [FileReport(Path("x/a/1.png"), "a", "ok")])
        >>> r.counts()
        {'a': 1}
    """

    root: Path
    class_names: list[str]
    files: list[FileReport]
    ignored: list[Path] = field(default_factory=list)

    usable = property(lambda self: [f for f in self.files if f.usable])
    skipped = property(lambda self: [f for f in self.files if f.status == "skip"])
    converted = property(lambda self: [f for f in self.files if f.status == "convert"])
    n_images = property(lambda self: len(self.usable))
    n_skipped = property(lambda self: len(self.skipped))
    n_converted = property(lambda self: len(self.converted))

    def counts(self) -> dict[str, int]:
        """Usable images per class folder."""
        return {c: sum(f.label == c for f in self.usable) for c in self.class_names}

    def summary(self, max_lines: int = 30) -> str:
        """A readable report: totals, then every skipped and converted file with its reason.

        Names the folder, not its full path (no machine paths in a shared notebook or feedback).
        """
        lines = [f"Scanned {self.root.name}/: {len(self.files)} files in {len(self.class_names)} class folders -> "
                 f"{self.n_images} usable ({self.n_converted} after conversion), {self.n_skipped} skipped."]
        for title, group in (("Skipped", self.skipped), ("Converted (a copy; your file is untouched)",
                                                         self.converted)):
            if group:
                lines.append(f"{title}:")
                lines += [f"  {f.path.relative_to(self.root)}: {f.reason}" for f in group[:max_lines]]
                lines += [f"  ... and {len(group) - max_lines} more"] if len(group) > max_lines else []
        if self.ignored:
            lines.append(f"Ignored (not inside a class folder): "
                         f"{', '.join(str(p.relative_to(self.root)) for p in self.ignored[:10])}")
        return "\n".join(lines)


def _looks_like_text(path: Path) -> bool:
    head = path.read_bytes()[:512]
    return bool(head) and b"\x00" not in head and sum(32 <= b < 127 or b in b"\r\n\t" for b in head) > 0.9 * len(head)


def inspect_image(path: Path) -> tuple[str, str]:
    """Decode one file fully and return ``(status, reason)`` (see :class:`FileReport`).

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "x.png"
        >>> Image.new("RGBA", (4, 4)).save(p)
        >>> inspect_image(p)
        ('convert', 'RGBA -> RGB (transparency on white)')
    """
    ext = path.suffix.lower()
    if path.stat().st_size == 0:
        return "skip", "empty file (0 bytes)"
    fmt = ext.lstrip(".").upper() or "?"
    try:
        with Image.open(path) as img:
            fmt, mode = img.format, img.mode
            if fmt not in READABLE_FORMATS:
                return "skip", f"unsupported format ({fmt}): save it as JPEG or PNG"
            img.load()  # the full decode: truncated or corrupt data fails here
            rotated = img.getexif().get(0x0112, 1) not in (1, None)
    except UnidentifiedImageError:
        if ext in UNSUPPORTED_EXTENSIONS:
            return "skip", f"unsupported format ({ext}): save it as JPEG or PNG"
        if _looks_like_text(path):
            return "skip", f"not an image: a text file named {ext or path.name}"
        return "skip", "not an image: unrecognised content"
    except Image.DecompressionBombError as err:
        return "skip", f"too large to decode safely: {err}"
    except (OSError, SyntaxError, ValueError) as err:
        return "skip", f"corrupt or truncated {fmt} image: {err}"
    notes = []
    if mode == "CMYK":
        notes.append("CMYK -> RGB")
    elif mode.startswith("I") or mode == "F":
        notes.append(f"{'16-bit' if mode.startswith('I;16') else mode + '-mode'} -> 8-bit RGB")
    elif mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        notes.append(f"{mode} -> RGB (transparency on white)")
    elif mode in ("L", "1"):
        notes.append("grayscale -> RGB")
    elif mode != "RGB":
        notes.append(f"{mode} -> RGB")
    if rotated:
        notes.append("EXIF rotation applied")
    if fmt not in ("JPEG", "PNG", "BMP") or ext not in KERAS_EXTENSIONS:
        notes.append(f"{fmt} ({ext or 'no extension'}) -> PNG")
    return ("convert", ", ".join(notes)) if notes else ("ok", "")


def to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow image -> 8-bit RGB: EXIF rotation, 16-bit scaled, alpha composited on white.

    Example:
        >>> to_rgb(Image.new("I;16", (2, 2), 65535)).getpixel((0, 0))
        (255, 255, 255)
    """
    img = ImageOps.exif_transpose(img)
    if img.mode.startswith("I") or img.mode == "F":
        a = np.asarray(img, dtype="float64")
        scale = 255.0 if a.max() <= 255 else (65535.0 if a.max() <= 65535 else a.max())
        img = Image.fromarray(np.clip(a / scale * 255.0, 0, 255).round().astype("uint8"))
    if img.mode == "P" and "transparency" in img.info or img.mode == "PA":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA"):
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return img.convert("RGB")


def load_rgb(path: str | Path) -> np.ndarray:
    """An image file as a uint8 ``(h, w, 3)`` array, whatever its mode (see :func:`to_rgb`).

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "g.png"
        >>> Image.new("L", (5, 4)).save(p)
        >>> load_rgb(p).shape
        (4, 5, 3)
    """
    with Image.open(path) as img:
        return np.asarray(to_rgb(img))


def scan_folder(image_dir: str | Path, workers: int | None = None) -> ScanReport:
    """Scan ``image_dir/<class>/...`` (read only); raise a clear error when it cannot train a classifier.

    Errors: the folder is missing, has no class sub-folders, a class folder has no
    usable image, only one class has images, or nothing is usable at all.

    Example:
        >>> scan_folder("/no/such/folder")
        Traceback (most recent call last):
        ...
        FileNotFoundError: Image folder /no/such/folder does not exist. Set image_dir to a folder with one sub-folder per class.
    """
    root = Path(image_dir).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"Image folder {root} does not exist. "
                                "Set image_dir to a folder with one sub-folder per class.")
    hidden = lambda p: p.name.startswith(".") or p.name in IGNORED_NAMES  # noqa: E731
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not hidden(p))
    ignored = sorted(p for p in root.iterdir() if p.is_file() and not hidden(p))
    todo: list[tuple[Path, str]] = []
    for c in classes:
        for dirpath, dirnames, filenames in os.walk(root / c):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                p = Path(dirpath) / name
                if not hidden(p):
                    todo.append((p, c))
    with ThreadPoolExecutor(workers or min(8, os.cpu_count() or 1)) as pool:  # Pillow decodes without the GIL
        verdicts = list(pool.map(lambda t: inspect_image(t[0]), todo))
    report = ScanReport(root, classes, [FileReport(p, c, *v) for (p, c), v in zip(todo, verdicts)], ignored)
    _validate(report)
    return report


def _validate(r: ScanReport) -> None:
    counts = r.counts()
    found = f"Found in {r.root}: " + (", ".join(f"{c!r}: {n} usable" for c, n in counts.items()) or "no sub-folders")
    found += f"; {len(r.files)} files in class folders, {r.n_skipped} unusable, {len(r.ignored)} ignored."
    layout = " Expected layout: image_dir/<class name>/<image files>, e.g. photos/cat/1.jpg, photos/dog/2.jpg."
    if not r.class_names:
        raise ValueError(f"No class sub-folders in {r.root}. {found}{layout}")
    if r.n_images == 0:
        raise ValueError(f"No usable images in {r.root}. {found}\n{r.summary()}")
    empty = [c for c, n in counts.items() if n == 0]
    if empty:
        raise ValueError(f"Class folder(s) {empty} hold no usable image. {found} "
                         "Add images there, or move the empty folder(s) out of image_dir.")
    if len(counts) < 2:
        raise ValueError(f"Only one class ({r.class_names[0]!r}): a classifier needs at least two. {found}{layout}")


def split_indices(labels: np.ndarray, val_fraction: float = 0.15, test_fraction: float = 0.15,
                  seed: int = 0, class_names: list[str] | None = None) -> dict[str, np.ndarray]:
    """Stratified, seeded train/val/test indices (at least one of every class in each split).

    Each class is shuffled by its own seed (from ``seed`` and its name), so adding a class does not reshuffle the others.

    Example:
        >>> s = split_indices(np.repeat([0, 1], 10), 0.2, 0.2, seed=0)
        >>> [len(s[k]) for k in ("train", "val", "test")]
        [12, 4, 4]
    """
    labels = np.asarray(labels)
    out: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        name = class_names[c] if class_names else str(c)
        if len(idx) < 3:
            raise ValueError(f"Class {name!r} has only {len(idx)} usable image(s); a train/val/test split "
                             "needs at least 3 per class (better 20+). Add images to that folder.")
        idx = np.random.default_rng([seed, zlib.crc32(name.encode())]).permutation(idx)
        n_test = max(1, round(test_fraction * len(idx)))
        n_val = min(max(1, round(val_fraction * len(idx))), len(idx) - n_test - 1)
        out["test"].append(idx[:n_test]), out["val"].append(idx[n_test:n_test + n_val])
        out["train"].append(idx[n_test + n_val:])
    return {k: np.sort(np.concatenate(v)) for k, v in out.items()}


def balance_report(counts: dict[str, dict[str, int]]) -> str:
    """A per-class table of split sizes, with a warning when classes are imbalanced (max/min > 3).

    Example:
        >>> print(balance_report({"train": {"a": 8, "b": 2}, "test": {"a": 2, "b": 1}}))
        class    train  test
        a            8     2
        b            2     1
        total       10     3
        Imbalanced: train has 4.0x more 'a' than 'b'. Look at per-class accuracy, not only the mean (or use class_weight).
    """
    splits = list(counts)
    names = list(next(iter(counts.values())))
    w = max(8, *(len(n) + 1 for n in names))
    lines = [f"{'class':<{w}}" + "".join(f"{s:>6}" for s in splits)]
    lines += [f"{n:<{w}}" + "".join(f"{counts[s][n]:>6}" for s in splits) for n in names]
    lines.append(f"{'total':<{w}}" + "".join(f"{sum(counts[s].values()):>6}" for s in splits))
    tr = counts[splits[0]]
    hi, lo = max(tr, key=tr.get), min(tr, key=tr.get)
    if tr[hi] > 3 * max(tr[lo], 1):
        lines.append(f"Imbalanced: {splits[0]} has {tr[hi] / max(tr[lo], 1):.1f}x more {hi!r} than {lo!r}. "
                     "Look at per-class accuracy, not only the mean (or use class_weight).")
    return "\n".join(lines)


@dataclass
class FolderData:
    """Three splits as :class:`~tl_helpers.data.Batches` (float32 RGB, pixels 0-255), and what they came from.

    Example:
        >>> FolderData(None, None, None, ["a", "b"], {}, None, Path(".")).num_classes
        2
    """

    train: Any
    val: Any
    test: Any
    class_names: list[str]
    counts: dict[str, dict[str, int]]
    scan: ScanReport | None
    split_dir: Path
    #: split -> your original files, in the order of that split's images.
    files: dict[str, list[Path]] = field(default_factory=dict)

    num_classes = property(lambda self: len(self.class_names))

    def report(self) -> str:
        """The class balance table of the three splits."""
        return balance_report(self.counts)

    def arrays(self, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
        """One split as ``(uint8 images, int labels)`` numpy arrays, in file order."""
        b = getattr(self, split)
        return b.x.round().clip(0, 255).astype("uint8"), b.y


def _load_split(files: list[FileReport], image_size: int) -> np.ndarray:
    """Decode (any mode -> RGB) and resize every file: float32 ``(n, size, size, 3)``, pixels 0-255."""
    if not files:
        return np.zeros((0, image_size, image_size, 3), "float32")
    return np.concatenate([to_rgb_resized(load_rgb(f.path)[None], image_size) for f in files])


def _link_or_convert(f: FileReport, dst: Path) -> None:
    if f.status == "ok":
        try:
            os.symlink(f.path.resolve(), dst)
        except OSError:  # e.g. Windows without symlink rights: a copy
            shutil.copy2(f.path, dst)
    else:
        with Image.open(f.path) as img:
            to_rgb(img).save(dst)


def from_directory(image_dir: str | Path, image_size: int = 96, batch_size: int = 32, seed: int = 0,
                   val_fraction: float = 0.15, test_fraction: float = 0.15,
                   labels_per_class_cap: int | None = None, scan: ScanReport | None = None,
                   cache_dir: str | Path | None = None) -> FolderData:
    """Scan, split (stratified, by seed) and load a class-per-folder tree: three :class:`Batches`.

    The split lives in ``cache_dir/<folder>-<key>/{train,val,test}/<class>/`` (default
    ``paths.cache_dir("folders")``): links to usable files, RGB PNG copies of converted ones.
    ``labels_per_class_cap`` caps the *training* images per class; val/test stay whole.

    Example:
        >>> d = from_directory("photos", image_size=96, seed=0)  # doctest: +SKIP
        >>> print(d.report())  # doctest: +SKIP
    """
    scan = scan or scan_folder(image_dir)
    files, names = scan.usable, scan.class_names
    labels = np.array([names.index(f.label) for f in files])
    parts = split_indices(labels, val_fraction, test_fraction, seed, names)
    if labels_per_class_cap is not None:
        if labels_per_class_cap < 1:
            raise ValueError(f"labels_per_class_cap must be >= 1 or None; got {labels_per_class_cap}.")
        parts["train"] = np.sort(np.concatenate([parts["train"][labels[parts["train"]] == c][:labels_per_class_cap]
                                                 for c in range(len(names))]))
    sig = [str(scan.root.resolve()), seed, val_fraction, test_fraction, labels_per_class_cap,
           [(str(f.path), f.status, f.path.stat().st_size, f.path.stat().st_mtime_ns) for f in files]]
    key = hashlib.sha1(json.dumps(sig).encode()).hexdigest()[:12]
    out = Path(cache_dir or paths.cache_dir("folders")) / f"{scan.root.name}-{key}"
    dest = {}  # split-relative path -> file: links keep their name, converted copies get ".png"
    for split, idx in parts.items():
        for i in idx:
            f = files[i]
            flat = "__".join(f.path.relative_to(scan.root / f.label).parts)
            dest[os.path.join(split, f.label, flat if f.status == "ok" else flat + ".png")] = f
    if not (out / ".complete").exists():
        tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        for split in parts:
            for c in names:
                (tmp / split / c).mkdir(parents=True)
        for rel, f in dest.items():
            _link_or_convert(f, tmp / rel)
        (tmp / ".complete").write_text(json.dumps(sig[:5]))
        shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp, out)
    order = {s: [files[i] for i in idx] for s, idx in parts.items()}
    sets = {s: Batches(_load_split(order[s], image_size), labels[parts[s]], batch_size=batch_size,
                       shuffle=(s == "train"), seed=seed) if order[s] else None for s in parts}
    counts = {s: {c: int((labels[idx] == k).sum()) for k, c in enumerate(names)} for s, idx in parts.items()}
    return FolderData(sets["train"], sets["val"], sets["test"], names, counts, scan, out,
                      {s: [f.path for f in fs] for s, fs in order.items()})


# ------------------------------------------------------------------ demo folder
#: the lite demo's Fashion-MNIST classes (label -> folder name).
