"""Scanning, converting and splitting a folder of images (tl_helpers.data.folders), on tiny temporary folders."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tl_helpers.data import demo_images, folders

RNG = np.random.default_rng(0)


def _photo(size=(20, 16)) -> Image.Image:
    return Image.fromarray(RNG.integers(0, 256, (size[1], size[0], 3), dtype="uint8"))


def _good(folder: Path, n: int, prefix: str = "g") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        _photo().save(folder / f"{prefix}{i}.{'png' if i % 2 else 'jpg'}")


@pytest.fixture()
def messy(tmp_path: Path) -> Path:
    """cats/ and dogs/ with good PNG/JPEG files plus every kind of troublemaker."""
    root = tmp_path / "photos"
    _good(root / "cats", 6)
    _good(root / "dogs", 6)
    jpeg = root / "cats" / "truncated.jpg"
    _photo((64, 64)).save(jpeg, quality=95)
    jpeg.write_bytes(jpeg.read_bytes()[: jpeg.stat().st_size * 2 // 3])
    (root / "cats" / "empty.png").write_bytes(b"")
    (root / "dogs" / "notes.jpg").write_text("shopping list: milk, eggs\n")
    _photo().convert("CMYK").save(root / "dogs" / "cmyk.jpg")
    Image.fromarray(np.full((10, 12), 40000, "uint16")).save(root / "cats" / "deep.png")
    rgba = Image.new("RGBA", (8, 8), (255, 0, 0, 0))  # fully transparent red
    rgba.save(root / "dogs" / "alpha.png")
    (root / "dogs" / ".DS_Store").write_bytes(b"\x00\x01junk")
    (root / "README.md").write_text("my photos")
    return root


def _tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        h.update(str(p.relative_to(root)).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def test_scan_reports_each_file(messy: Path) -> None:
    scan = folders.scan_folder(messy)
    verdict = {f.path.name: (f.status, f.reason) for f in scan.files}
    assert verdict["truncated.jpg"][0] == "skip" and "truncated" in verdict["truncated.jpg"][1]
    assert verdict["empty.png"] == ("skip", "empty file (0 bytes)")
    assert verdict["notes.jpg"][0] == "skip" and "text file" in verdict["notes.jpg"][1]
    assert verdict["cmyk.jpg"] == ("convert", "CMYK -> RGB")
    assert verdict["deep.png"][0] == "convert" and "16-bit" in verdict["deep.png"][1]
    assert verdict["alpha.png"][0] == "convert" and "RGBA" in verdict["alpha.png"][1]
    assert all(verdict[f"g{i}.{'png' if i % 2 else 'jpg'}"] == ("ok", "") for i in range(6))
    assert ".DS_Store" not in verdict  # hidden: not an image, not a problem
    assert scan.n_skipped == 3 and scan.n_converted == 3
    assert scan.n_images == 12 + 3
    assert scan.counts() == {"cats": 7, "dogs": 8}
    assert [p.name for p in scan.ignored] == ["README.md"]
    text = scan.summary()
    for name in ("truncated.jpg", "empty.png", "notes.jpg", "cmyk.jpg", "deep.png", "alpha.png", "README.md"):
        assert name in text


def test_unsupported_and_unknown_formats(tmp_path: Path) -> None:
    (tmp_path / "d.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (tmp_path / "e.bin").write_bytes(bytes(range(256)))
    Image.new("RGB", (4, 4)).save(tmp_path / "f.ico")
    Image.new("RGB", (4, 4)).save(tmp_path / "g.tif")
    assert folders.inspect_image(tmp_path / "d.svg")[1].startswith("unsupported format (.svg)")
    assert folders.inspect_image(tmp_path / "e.bin") == ("skip", "not an image: unrecognised content")
    assert folders.inspect_image(tmp_path / "f.ico")[1].startswith("unsupported format (ICO)")
    assert folders.inspect_image(tmp_path / "g.tif") == ("convert", "TIFF (.tif) -> PNG")


def test_conversions_give_8bit_rgb(tmp_path: Path) -> None:
    Image.fromarray(np.full((3, 5), 65535, "uint16")).save(tmp_path / "white16.png")
    Image.new("RGBA", (4, 4), (255, 0, 0, 0)).save(tmp_path / "clear.png")
    Image.new("LA", (4, 4), (0, 255)).save(tmp_path / "la.png")
    Image.new("CMYK", (4, 4), (0, 255, 255, 0)).save(tmp_path / "red.jpg", quality=100)
    white = folders.load_rgb(tmp_path / "white16.png")
    assert white.dtype == np.uint8 and white.shape == (3, 5, 3) and (white == 255).all()
    assert (folders.load_rgb(tmp_path / "clear.png") == 255).all()  # transparent -> white, not red
    assert (folders.load_rgb(tmp_path / "la.png") == 0).all()  # opaque black stays black
    red = folders.load_rgb(tmp_path / "red.jpg").reshape(-1, 3).mean(0)
    assert red[0] > 200 and red[1] < 60 and red[2] < 60


def test_exif_rotation_is_converted(tmp_path: Path) -> None:
    img = Image.new("RGB", (6, 2))
    exif = img.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    img.save(tmp_path / "phone.jpg", exif=exif)
    status, reason = folders.inspect_image(tmp_path / "phone.jpg")
    assert status == "convert" and "EXIF" in reason
    assert folders.load_rgb(tmp_path / "phone.jpg").shape == (6, 2, 3)


@pytest.mark.parametrize("case, message", [
    ("missing", "does not exist"), ("flat", "No class sub-folders"), ("nothing", "No usable images"),
    ("empty_class", "hold no usable image"), ("one_class", "Only one class")])
def test_clear_errors(tmp_path: Path, case: str, message: str) -> None:
    root = tmp_path / "imgs"
    if case != "missing":
        root.mkdir()
    if case == "flat":
        _photo().save(root / "a.png")
    if case == "nothing":
        (root / "a").mkdir()
        (root / "b").mkdir()
        (root / "b" / "x.jpg").write_bytes(b"")
    if case == "empty_class":
        _good(root / "a", 3)
        (root / "b").mkdir()
    if case == "one_class":
        _good(root / "a", 3)
    with pytest.raises((ValueError, FileNotFoundError), match=message) as err:
        folders.scan_folder(root)
    if case == "empty_class":
        assert "'b'" in str(err.value) and "'a': 3 usable" in str(err.value)


def test_split_is_stratified_seeded_and_disjoint() -> None:
    y = np.repeat([0, 1, 2], [40, 20, 10])
    a = folders.split_indices(y, 0.2, 0.1, seed=3)
    b = folders.split_indices(y, 0.2, 0.1, seed=3)
    c = folders.split_indices(y, 0.2, 0.1, seed=4)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["test"], c["test"])
    everything = np.concatenate(list(a.values()))
    assert len(everything) == len(y) == len(np.unique(everything))
    assert np.bincount(y[a["val"]]).tolist() == [8, 4, 2]
    assert np.bincount(y[a["test"]]).tolist() == [4, 2, 1]
    with pytest.raises(ValueError, match="only 2 usable"):
        folders.split_indices(np.array([0, 0, 0, 1, 1]), class_names=["cat", "dog"])


def test_balance_report_warns_on_imbalance() -> None:
    assert "Imbalanced" not in folders.balance_report({"train": {"a": 10, "b": 5}})
    assert "'a' than 'b'" in folders.balance_report({"train": {"a": 40, "b": 5}})


def test_from_directory_leaves_folder_untouched(messy: Path, tmp_path: Path) -> None:
    before = _tree_digest(messy)
    d = folders.from_directory(messy, image_size=24, batch_size=4, seed=0, val_fraction=0.2,
                               test_fraction=0.2, labels_per_class_cap=3, cache_dir=tmp_path / "cache")
    assert _tree_digest(messy) == before
    assert d.class_names == ["cats", "dogs"]
    assert {s: sum(c.values()) for s, c in d.counts.items()} == {"train": 6, "val": 3, "test": 3}
    x, y = d.arrays("test")
    assert x.shape == (3, 24, 24, 3) and x.dtype == np.uint8
    assert y.tolist() == [0] * d.counts["test"]["cats"] + [1] * d.counts["test"]["dogs"]
    names = d.files["train"] + d.files["val"] + d.files["test"]
    assert all(n.parent.parent == messy for n in names) and len(set(names)) == 12
    for split in ("train", "val", "test"):  # labels follow the class folder, in the split's order
        _, labels = d.arrays(split)
        assert [d.class_names[k] for k in labels] == [f.parent.name for f in d.files[split]]
    # the split folders for other readers: converted files as RGB PNG copies, the others as links to yours
    written = [p for p in d.split_dir.rglob("*") if p.is_symlink() or (p.is_file() and p.name != ".complete")]
    copies = [p for p in written if not p.is_symlink()]
    assert sorted(p.name.split(".")[0] for p in copies) == ["alpha", "cmyk", "deep"]
    assert all(p.suffix == ".png" and Image.open(p).mode == "RGB" for p in copies)
    assert {p.resolve() for p in written if p.is_symlink()} == {f.resolve() for f in names if f.name.startswith("g")}
    # the batches hold the scan's conversion: the fully transparent red PNG is white, not red
    (split, i), = [(s, i) for s in d.files for i, f in enumerate(d.files[s]) if f.name == "alpha.png"]
    assert (d.arrays(split)[0][i] == 255).all()
    again = folders.from_directory(messy, image_size=24, batch_size=4, seed=0, val_fraction=0.2,
                                   test_fraction=0.2, labels_per_class_cap=3, cache_dir=tmp_path / "cache")
    assert again.split_dir == d.split_dir and again.files == d.files
    with pytest.raises(ValueError, match="labels_per_class_cap"):
        folders.from_directory(messy, labels_per_class_cap=0, cache_dir=tmp_path / "cache")


def test_messy_writer_matches_scan(tmp_path: Path) -> None:
    for c in ("a", "b", "c"):
        _good(tmp_path / c, 3)
    planted = demo_images.write_messy_files(tmp_path)
    scan = folders.scan_folder(tmp_path)
    got = {f.path.name: f.status for f in scan.files if f.path.name in planted}
    assert got == planted
    assert scan.n_skipped == sum(v == "skip" for v in planted.values())


def test_generated_folders_live_in_the_course_cache(messy: Path, tmp_path: Path, monkeypatch) -> None:
    """Splits, converted copies and demo folders go under paths.cache_dir(), never into the checkout."""
    from tl_helpers import paths

    monkeypatch.setenv("TL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TL_DATA_DIR", str(tmp_path / "data"))
    assert folders.data_root() == tmp_path / "data"
    d = folders.from_directory(messy, image_size=16, batch_size=4, seed=0, val_fraction=0.2, test_fraction=0.2)
    assert d.split_dir.parent == paths.cache_dir("folders")
    assert "Scanned photos/:" in d.scan.summary() and str(tmp_path) not in d.scan.summary()
    repo = Path(folders.__file__).resolve().parents[1]
    assert repo not in d.split_dir.resolve().parents
