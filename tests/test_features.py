"""Unit tests for notebook 01's helpers: feature caching, label subsets, baselines, checks (tiny data)."""

from __future__ import annotations

from types import SimpleNamespace

import keras
import numpy as np
import pytest

from tl_helpers import backbones, baselines, data, features
from tl_helpers.checks import CheckFailed
from tl_helpers.checks import nb01


def tiny_base(size: int = 8, seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((size, size, 3)), keras.layers.Conv2D(4, 3),
                             keras.layers.GlobalAveragePooling2D()])


def identity(x):
    return x / 255.0


@pytest.fixture(autouse=True)
def _fresh_memory():
    features.clear_memory_cache()
    yield
    features.clear_memory_cache()


# ------------------------------------------------------------------ caching
def test_cached_features_memory_then_disk(tmp_path, monkeypatch):
    base = tiny_base()
    x = np.random.default_rng(0).integers(0, 255, (6, 5, 5), dtype="uint8")
    f1 = features.cached_features(base, x, 8, identity, directory=tmp_path, verbose=False)
    files = list(tmp_path.glob("*.npy"))
    assert f1.shape == (6, 4) and len(files) == 1 and files[0].name.startswith("6x8px-")

    def boom(*a, **k):
        raise AssertionError("should have come from a cache")

    monkeypatch.setattr(features, "extract_features", boom)
    f2 = features.cached_features(base, x, 8, identity, directory=tmp_path, verbose=False)
    assert f2 is f1  # memory
    features.clear_memory_cache()
    f3 = features.cached_features(base, x, 8, identity, directory=tmp_path, verbose=False)
    np.testing.assert_array_equal(f3, f1)  # disk


def test_cache_key_changes_with_images_weights_cut_and_preprocessing(tmp_path):
    x = np.zeros((3, 5, 5), "uint8")
    run = lambda m, imgs, prep=identity: features.cached_features(m, imgs, 8, prep, directory=tmp_path,
                                                                  verbose=False)
    run(tiny_base(seed=0), x)
    run(tiny_base(seed=0), x[:2])                       # other images
    run(tiny_base(seed=1), x)                           # other (random) weights: never the cached ones
    run(tiny_base(seed=0), x, lambda t: t / 127.5 - 1)  # other preprocessing, also a lambda
    mean = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.GlobalAveragePooling2D()])
    peak = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.GlobalMaxPooling2D()])
    run(mean, x + 7), run(peak, x + 7)                  # no weights at all: told apart by their layers
    assert len(list(tmp_path.glob("*.npy"))) == 6
    assert not np.array_equal(run(tiny_base(seed=0), x + 50), run(tiny_base(seed=1), x + 50))


def test_float16_storage_gives_the_same_float32_on_first_and_cached_runs(tmp_path):
    x = np.random.default_rng(2).integers(0, 255, (4, 8, 8), dtype="uint8")
    first = features.cached_features(tiny_base(), x, 8, identity, dtype="float16", directory=tmp_path, verbose=False)
    features.clear_memory_cache()
    again = features.cached_features(tiny_base(), x, 8, identity, dtype="float16", directory=tmp_path, verbose=False)
    assert first.dtype == again.dtype == np.float32 and np.array_equal(first, again)
    assert np.load(next(tmp_path.glob("*.npy"))).dtype == np.float16
    with pytest.raises(ValueError, match="dtype"):
        features.cached_features(tiny_base(), x, 8, dtype="int8")


def test_cache_lives_in_the_course_cache_not_the_checkout(tmp_path, monkeypatch, capsys):
    """Issue 16: nothing is written beside the notebooks, and no machine path is printed."""
    monkeypatch.setenv("TL_CACHE_DIR", str(tmp_path / "course-cache"))
    assert features.cache_dir() == tmp_path / "course-cache" / "features"
    x = np.zeros((3, 5, 5), "uint8")
    features.cached_features(tiny_base(), x, 8, identity)
    features.clear_memory_cache()
    features.cached_features(tiny_base(), x, 8, identity)
    assert len(list((tmp_path / "course-cache" / "features").glob("*.npy"))) == 1
    out = capsys.readouterr().out
    assert "extracted" in out and "disk cache" in out and str(tmp_path) not in out


def test_extract_features_matches_direct_call():
    base = tiny_base()
    x = np.random.default_rng(1).integers(0, 255, (5, 8, 8, 3), dtype="uint8")
    got = features.extract_features(base, x, 8, identity, batch_size=2)
    want = keras.ops.convert_to_numpy(base(x.astype("float32") / 255.0, training=False))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_extract_features_rejects_wrong_size_and_empty():
    with pytest.raises(ValueError, match="built for 8 px.*image_size=16"):
        features.extract_features(tiny_base(8), np.zeros((2, 5, 5), "uint8"), 16)
    with pytest.raises(ValueError, match="empty"):
        features.extract_features(tiny_base(8), np.zeros((0, 5, 5), "uint8"), 8)


def test_backbone_needing_bigger_input_is_a_clear_error():
    with pytest.raises(ValueError, match="at least 32 px; got 16"):
        backbones.build_backbone("mobilenet_025", 16, weights=None)


def test_fingerprint_sensitive_to_dtype_and_content():
    a = np.zeros(4, "uint8")
    assert features.fingerprint(a) != features.fingerprint(a.astype("int64"))
    assert features.fingerprint(a) != features.fingerprint(np.array([0, 0, 0, 1], "uint8"))


# ------------------------------------------------------------- label subsets
def test_nested_label_subsets_are_nested_and_balanced():
    y = np.repeat(np.arange(4), 12)
    s = data.nested_label_subsets(y, [1, 3, 10, "all"], seed=3)
    for k in (1, 3, 10):
        assert np.bincount(y[s[k]]).tolist() == [k] * 4
    assert set(s[1]) <= set(s[3]) <= set(s[10])
    assert len(s["all"]) == len(y)
    assert list(s) == [1, 3, 10, "all"]


def test_nested_label_subsets_too_many_labels_names_the_limit():
    y = np.array([0] * 10 + [1] * 4)
    with pytest.raises(ValueError, match="only 4 examples.*k <= 4"):
        data.nested_label_subsets(y, [5], seed=0)
    with pytest.raises(ValueError, match="positive integers"):
        data.nested_label_subsets(y, [0], seed=0)


def test_fitting_ks_drops_only_what_does_not_fit(capsys):
    assert data.fitting_ks(np.array([0, 0, 0, 1, 1, 1]), [2, 3, 4, "all"]) == [2, 3, "all"]
    assert "4 skipped" in capsys.readouterr().out


def test_epoch_timer_needs_epochs_and_skips_the_first():
    with pytest.raises(ValueError, match="no epoch"):
        features.EpochTimer().per_epoch()
    timer = features.EpochTimer()
    timer.times = [9.0, 3.0, 1.0, 2.0]
    assert timer.per_epoch() == 1.0 and timer.per_epoch("median") == 2.0
    with pytest.raises(ValueError, match="stat"):
        timer.per_epoch("mean")


# ----------------------------------------------------------------- baselines
def test_fit_steps_runs_exactly_the_step_budget():
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    baselines.fit_steps(m, np.zeros((5, 3)), np.zeros(5, "int64"), steps=11, batch_size=4, verbose=0)
    assert int(keras.ops.convert_to_numpy(m.optimizer.iterations)) == 11
    with pytest.raises(ValueError, match="must match"):
        baselines.fit_steps(m, np.zeros((5, 3)), np.zeros(4), steps=1)


def test_epochs_for_gives_the_step_budget():
    assert baselines.epochs_for(10, 32, 100) == 100
    with pytest.raises(ValueError):
        baselines.epochs_for(0, 32, 100)


# -------------------------------------------------------------------- checks
def _frozen_model(freeze: bool = True):
    keras.utils.set_random_seed(0)
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    inner.trainable = not freeze
    inp = keras.Input((4,))
    return keras.Model(inp, keras.layers.Dense(2, activation="softmax")(inner(inp, training=False)))


def test_check_frozen_head():
    nb01.nb01_frozen_head(_frozen_model(), 8, 2)
    with pytest.raises(CheckFailed, match="trainable"):
        nb01.nb01_frozen_head(_frozen_model(freeze=False), 23, 2)
    with pytest.raises(CheckFailed, match="count"):
        nb01.nb01_frozen_head(_frozen_model(), 23, 2)
    with pytest.raises(CheckFailed, match="still empty"):
        nb01.nb01_frozen_head(_frozen_model(), None, 2)


def test_check_nearest_centroid():
    rng = np.random.default_rng(0)
    f_lab = np.concatenate([rng.normal(0, 1, (5, 3)), rng.normal(4, 1, (5, 3))])
    y_lab = np.repeat([0, 1], 5)
    f_test = np.concatenate([rng.normal(0, 1, (20, 3)), rng.normal(4, 1, (20, 3))])
    y_test = np.repeat([0, 1], 20)
    means = np.stack([f_lab[y_lab == c].mean(0) for c in (0, 1)])
    pred = ((f_test[:, None] - means[None]) ** 2).sum(-1).argmin(1)
    nb01.nb01_nearest_centroid(pred, float((pred == y_test).mean()), f_lab, y_lab, f_test, y_test)
    with pytest.raises(CheckFailed, match="match a nearest"):
        nb01.nb01_nearest_centroid(1 - pred, 0.0, f_lab, y_lab, f_test, y_test)
    with pytest.raises(CheckFailed, match="fraction"):
        nb01.nb01_nearest_centroid(pred, 0.123, f_lab, y_lab, f_test, y_test)
