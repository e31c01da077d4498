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


def test_batches_resize_to_rgb_and_preprocess(tiny_images):
    x, y = tiny_images
    b = data.Batches(x, y, batch_size=16, shuffle=True, image_size=32, preprocess=lambda t: t / 255.0)
    xb, yb = b[0]
    assert xb.shape == (16, 32, 32, 3) and xb.dtype == np.float32 and float(xb.max()) <= 1.0
    assert np.allclose(xb[..., 0], xb[..., 2])  # gray copied to 3 channels
    all_y = np.concatenate([b[i][1] for i in range(len(b))])
    assert sorted(all_y.tolist()) == sorted(y.tolist())
    with pytest.raises(ValueError, match="must match"):
        data.Batches(x, y[:5], image_size=32)


def test_batches_reshuffle_every_epoch_from_the_seed(tiny_images):
    x, y = tiny_images
    def epochs(seed):
        b = data.Batches(x, y, batch_size=8, shuffle=True, seed=seed, image_size=16)
        out = []
        for _ in range(2):
            out.append(np.concatenate([b[i][1] for i in range(len(b))]))
            b.on_epoch_end()
        return out
    a, again, other = epochs(0), epochs(0), epochs(1)
    assert all(np.array_equal(u, v) for u, v in zip(a, again))        # same seed, same batches
    assert not np.array_equal(a[0], a[1])                              # a new order every epoch
    assert not np.array_equal(a[0], other[0])                          # the seed matters
    assert sorted(a[1].tolist()) == sorted(y.tolist())                 # every example once per epoch


def test_batches_set_epoch_depends_on_seed_and_epoch_only():
    """What a resumed run needs (notebook 07): epoch k's order, whatever ran before in this process."""
    x, y = np.arange(50.0)[:, None], np.arange(50)
    order = lambda b: [b[i][1].tolist() for i in range(len(b))]
    a, b = (data.Batches(x, y, batch_size=8, shuffle=True, seed=3) for _ in range(2))
    assert len(a) == 7 and len(a[6][0]) == 2
    np.random.seed(123)                                   # the global generator plays no part
    a.on_epoch_end(); a.on_epoch_end()                   # fit's epochs 0 and 1 went by
    b.set_epoch(2)                                        # a new process, resumed at epoch 2
    assert order(a) == order(b)
    a.set_epoch(1); b.set_epoch(0); b.on_epoch_end()      # back to an earlier epoch, either way
    assert order(a) == order(b)
    seen = np.concatenate(order(a))
    assert sorted(seen.tolist()) == list(range(50)) and seen.tolist() != list(range(50))
    b.set_epoch(3)
    assert order(b) != order(a)                           # another epoch, another order
    np.testing.assert_array_equal(a[0][0][:, 0], a[0][1])  # rows stay paired
    with pytest.raises(ValueError, match="epoch must be 0 or more"):
        a.set_epoch(-1)
    plain = data.Batches(x, y, batch_size=8)
    plain.set_epoch(5)
    assert np.concatenate(order(plain)).tolist() == list(range(50))   # no shuffle: always in order


def test_batches_cached_and_uncached_agree_and_keep_dict_labels(tiny_images):
    x, y = tiny_images
    kw = dict(batch_size=7, shuffle=True, seed=3, image_size=20, preprocess=lambda t: t / 127.5 - 1)
    cached = data.Batches(x, {"a": y, "b": 2 * y}, cache=True, **kw)
    fresh = data.Batches(x, {"a": y, "b": 2 * y}, cache=False, **kw)
    for i in range(len(cached)):
        (xa, ya), (xb, yb) = cached[i], fresh[i]
        np.testing.assert_allclose(xa, xb, rtol=0, atol=1e-6)
        assert np.array_equal(ya["b"], 2 * ya["a"]) and np.array_equal(ya["a"], yb["a"])


def test_batches_train_a_model_on_this_backend(tiny_images):
    import keras

    x, y = tiny_images
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(int(y.max()) + 1, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(data.Batches(x, y, batch_size=8, shuffle=True, image_size=16), epochs=2, verbose=0)
    assert model.predict(data.Batches(x, image_size=16, batch_size=8), verbose=0).shape == (len(x), int(y.max()) + 1)


def test_resize_matches_tensorflow_on_tensorflow(tiny_images):
    tf = pytest.importorskip("tensorflow")
    x, _ = tiny_images
    ours = data.to_rgb_resized(x[:4], 40)
    theirs = tf.image.grayscale_to_rgb(tf.image.resize(tf.cast(x[:4, ..., None], tf.float32), (40, 40))).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-3)


def test_prepare_images_matches_pipeline(tiny_images):
    x, _ = tiny_images
    arr = data.prepare_images(x[:5], 24)
    assert arr.shape == (5, 24, 24, 3) and arr.dtype == np.float32
    assert abs(arr.mean() - x[:5].mean()) < 3


@pytest.mark.parametrize("name", ["mobilenet", "resnet50", "shift_one_channel"])
def test_grey_batches_equal_three_channel_preprocessing_bit_for_bit(tiny_images, name):
    """The grey shortcut (preprocess one channel, then copy it) must give exactly what preprocessing
    three copies gives, and must not be taken for a preprocess that treats channels differently."""
    import keras

    from tl_helpers.data import pipeline

    def shift_one_channel(x):  # treats channel 0 alone: the shortcut would be wrong
        x = np.array(x, "float32")
        x[..., 0] += 1.0
        return x

    pre = shift_one_channel if name == "shift_one_channel" else getattr(keras.applications, name).preprocess_input
    x, _ = tiny_images
    reference = np.asarray(keras.ops.convert_to_numpy(pre(data.to_rgb_resized(x[:6], 40))), "float32")
    np.testing.assert_array_equal(data.prepare_images(x[:6], 40, pre), reference)
    np.testing.assert_array_equal(data.Batches(x[:6], image_size=40, preprocess=pre, cache=False)[0], reference)
    assert pipeline.treats_channels_alike(pre) == (name == "mobilenet")


@pytest.mark.parametrize("alike", [True, False])
def test_unhashable_preprocess_is_probed_not_cached(tiny_images, alike):
    """A callable object that cannot be hashed (``__hash__ = None``) still works, shortcut and all."""
    from tl_helpers.data import pipeline

    class Scale:
        __hash__ = None  # unhashable, as any class that defines __eq__ without __hash__

        def __call__(self, x):
            x = np.array(x, "float32") / 127.5 - 1.0
            if not alike:
                x[..., 1] *= 2.0
            return x

    pre = Scale()
    x, _ = tiny_images
    assert pipeline.treats_channels_alike(pre) is alike
    np.testing.assert_array_equal(data.prepare_images(x[:3], 32, pre), pre(data.to_rgb_resized(x[:3], 32)))


def test_predict_prepares_each_batch_once(tiny_images, monkeypatch):
    """TensorFlow's predict reads the first batches twice (to learn their shapes); they are not prepared twice."""
    import keras

    from tl_helpers.data import pipeline

    calls = []
    real = pipeline._prepare
    monkeypatch.setattr(pipeline, "_prepare", lambda *a: calls.append(len(a[0])) or real(*a))
    model = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.GlobalAveragePooling2D()])
    x, _ = tiny_images
    batches = data.Batches(x[:40], batch_size=8, image_size=16, cache=False)
    first = model.predict(batches, verbose=0)
    assert sum(calls) == 40, f"prepared {sum(calls)} images for 40 in {len(calls)} calls"
    calls.clear()                              # again: the kept first batches are still this order's
    np.testing.assert_array_equal(model.predict(batches, verbose=0), first)
    assert sum(calls) == 40 - 2 * 8


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
    assert data.fashion_mnist.fashion_mnist_locations()[0] == tmp_path / "fashion-mnist"
    (xtr, ytr), (xte, yte) = data.load_fashion_mnist()
    assert xtr.shape == (6, 28, 28) and ytr.tolist() == [0, 1, 2, 3, 4, 5] and xte.shape == (6, 28, 28)


def test_fashion_mnist_missing_offline_fails_fast(monkeypatch, tmp_path):
    monkeypatch.setattr(data.fashion_mnist, "fashion_mnist_locations", lambda: [tmp_path / "nowhere"])
    monkeypatch.setenv("TL_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(offline.MissingResourceError) as err:
        data.load_fashion_mnist()
    assert time.monotonic() - start < 10
    assert "dataset-fashion-mnist" in str(err.value) and str(tmp_path / "nowhere") in str(err.value)


def test_tfds_missing_offline_fails_fast_with_lite_fix(monkeypatch, tmp_path):
    pytest.importorskip("tensorflow_datasets")
    monkeypatch.setenv("TL_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(offline.MissingResourceError) as err:
        data.tfds.load_tfds("tf_flowers", "train", data_dir=str(tmp_path))
    assert time.monotonic() - start < 10
    assert "tf_flowers" in str(err.value) and "lite" in str(err.value)


def test_full_track_data_path_under_mock_data():
    tfds = pytest.importorskip("tensorflow_datasets")
    from dataclasses import replace
    from tl_helpers import config

    P = replace(config.get_profile("full"), labels_per_class=(2,), train_per_class=3, test_size=10, image_size=40)
    with tfds.testing.mock_data(num_examples=40):
        d = data.load_image_classification(P)
        assert d.x_train.shape[1:] == (40, 40, 3) and d.x_train.dtype == np.uint8
        assert d.class_names == ["dandelion", "daisy", "tulips", "sunflowers", "roses"]
        assert len(d.y_test) <= 10 and np.bincount(d.y_train).max() <= 3
        ds, info = data.tfds.load_tfds("oxford_iiit_pet", "train", with_info=True)
        assert "segmentation_mask" in next(iter(ds))
