import gzip
import time

import numpy as np
import pytest

from tl_helpers import data, offline


def test_per_class_indices_is_stratified_and_deterministic():
    y = np.repeat(np.arange(4), 30)
    a = data.per_class_indices(y, 5, seed=1)
    assert np.bincount(y[a]).tolist() == [5, 5, 5, 5]
    assert np.array_equal(a, data.per_class_indices(y, 5, seed=1))
    assert not np.array_equal(a, data.per_class_indices(y, 5, seed=2))


def test_per_class_indices_names_the_limit():
    y = np.array([0] * 10 + [1] * 3)
    with pytest.raises(ValueError, match="class 1 has only 3"):
        data.per_class_indices(y, 4)


def test_stratified_split_keeps_class_balance_and_disjoint():
    y = np.repeat(np.arange(3), 20)
    rest, held = data.stratified_split(y, 0.25, seed=0)
    assert np.bincount(y[held]).tolist() == [5, 5, 5]
    assert len(np.intersect1d(rest, held)) == 0 and len(rest) + len(held) == 60
    with pytest.raises(ValueError):
        data.stratified_split(y, 1.5)


def test_make_dataset_resizes_to_rgb_and_preprocesses(tiny_images):
    x, y = tiny_images
    ds = data.make_dataset(x, y, 32, preprocess=lambda t: t / 255.0, batch_size=16, shuffle=True)
    xb, yb = next(iter(ds))
    assert tuple(xb.shape) == (16, 32, 32, 3) and float(np.max(xb)) <= 1.0
    xb = np.asarray(xb)
    assert np.allclose(xb[..., 0], xb[..., 2])  # gray copied to 3 channels
    all_y = np.concatenate([np.asarray(b[1]) for b in ds])
    assert sorted(all_y.tolist()) == sorted(y.tolist())
    with pytest.raises(ValueError, match="must match"):
        data.make_dataset(x, y[:5], 32)


def test_prepare_images_matches_pipeline(tiny_images):
    x, _ = tiny_images
    arr = data.prepare_images(x[:5], 24)
    assert arr.shape == (5, 24, 24, 3) and arr.dtype == np.float32
    assert abs(arr.mean() - x[:5].mean()) < 3


def _write_fake_fmnist(folder, n=6):
    folder.mkdir(parents=True)
    imgs = (np.arange(n * 28 * 28) % 251).astype("uint8")
    labels = (np.arange(n) % 10).astype("uint8")
    for prefix in ("train", "t10k"):
        with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
            f.write(b"\0" * 16 + imgs.tobytes())
        with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(b"\0" * 8 + labels.tobytes())


def test_fashion_mnist_prefers_tl_data_dir(monkeypatch, tmp_path):
    _write_fake_fmnist(tmp_path / "fashion-mnist")
    monkeypatch.setenv("TL_DATA_DIR", str(tmp_path))
    assert data.fashion_mnist_locations()[0] == tmp_path / "fashion-mnist"
    (xtr, ytr), (xte, yte) = data.load_fashion_mnist()
    assert xtr.shape == (6, 28, 28) and ytr.tolist() == [0, 1, 2, 3, 4, 5] and xte.shape == (6, 28, 28)


def test_fashion_mnist_missing_offline_fails_fast(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "fashion_mnist_locations", lambda: [tmp_path / "nowhere"])
    monkeypatch.setenv("TL_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(offline.MissingResourceError) as err:
        data.load_fashion_mnist()
    assert time.monotonic() - start < 10
    assert "dataset-fashion-mnist" in str(err.value) and str(tmp_path / "nowhere") in str(err.value)


def test_tfds_missing_offline_fails_fast_with_lite_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("TL_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(offline.MissingResourceError) as err:
        data.load_tfds("tf_flowers", "train", data_dir=str(tmp_path))
    assert time.monotonic() - start < 10
    assert "tf_flowers" in str(err.value) and "lite" in str(err.value)


def test_full_track_data_path_under_mock_data():
    import tensorflow_datasets as tfds
    from dataclasses import replace
    from tl_helpers import config

    P = replace(config.get_profile("full"), labels_per_class=(2,), train_per_class=3, test_size=10, image_size=40)
    with tfds.testing.mock_data(num_examples=40):
        d = data.load_image_classification(P)
        assert d.x_train.shape[1:] == (40, 40, 3) and d.x_train.dtype == np.uint8
        assert d.class_names == ["dandelion", "daisy", "tulips", "sunflowers", "roses"]
        assert len(d.y_test) <= 10 and np.bincount(d.y_train).max() <= 3
        ds, info = data.load_tfds("oxford_iiit_pet", "train", with_info=True)
        assert "segmentation_mask" in next(iter(ds))
