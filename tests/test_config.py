import os

import pytest

from tl_helpers import config


def test_tracks_define_everything():
    for name in config.TRACKS:
        P = config.get_profile(name)
        assert P.name == name and P.image_size >= 32 and P.epochs >= 1 and P.batch_size >= 1
        assert P.dataset and P.backbone and P.labels_per_class
    assert config.get_profile("smoke").epochs == 1
    assert config.get_profile("lite").dataset == "fashion_mnist"
    assert config.get_profile("full").dataset == "tf_flowers"


def test_auto_resolves_by_env_then_hardware(monkeypatch):
    monkeypatch.setenv("TL_PROFILE", "smoke")
    assert config.resolve_track("auto") == "smoke"
    assert config.resolve_track("lite") == "lite"  # an explicit choice wins over the environment
    monkeypatch.delenv("TL_PROFILE")
    monkeypatch.setattr(config, "gpu_available", lambda: False)
    assert config.resolve_track("auto") == "lite"
    monkeypatch.setattr(config, "gpu_available", lambda: True)
    assert config.resolve_track(None) == "full"


def test_unknown_profile_names_the_choices(monkeypatch):
    with pytest.raises(ValueError, match="auto, full, lite, smoke"):
        config.resolve_track("medium")
    monkeypatch.setenv("TL_SEED", "abc")
    with pytest.raises(ValueError, match="TL_SEED"):
        config.resolve_seed(0)


def test_seed_from_env(monkeypatch):
    monkeypatch.setenv("TL_SEED", "7")
    assert config.get_profile("lite", seed=0).seed == 7
    monkeypatch.delenv("TL_SEED")
    assert config.get_profile("lite", seed=3).seed == 3


def test_pick_needs_every_track_and_follows_mock():
    P = config.get_profile("full")
    assert P.pick(full=1, lite=2, smoke=3) == 1
    with pytest.raises(ValueError, match="missing"):
        P.pick(full=1, lite=2)
    from dataclasses import replace
    assert replace(P, mock=True).pick(full=1, lite=2, smoke=3) == 3


def test_setup_seeds_and_records(monkeypatch, tmp_path, capsys):
    import numpy as np
    import keras

    monkeypatch.setenv("TL_RESULTS_DIR", str(tmp_path))
    monkeypatch.delenv("TL_SEED", raising=False)
    P = config.setup("smoke", seed=5, notebook="t_setup")
    out = capsys.readouterr().out
    assert "track       smoke" in out and "seed 5" in out and "keras" in out
    a = keras.random.uniform((3,))
    config.setup("smoke", seed=5, notebook="t_setup", verbose=False)
    b = keras.random.uniform((3,))
    np.testing.assert_allclose(np.asarray(a), np.asarray(b))
    assert (tmp_path / "t_setup.json").exists()
    assert P.gpu == config.gpu_available() and P.mixed_precision == P.gpu  # mixed precision on a GPU only
    assert keras.mixed_precision.global_policy().name == ("mixed_float16" if P.gpu else "float32")


def test_mock_mode_shrinks_but_keeps_the_full_path(monkeypatch, tmp_path):
    pytest.importorskip("tensorflow_datasets")  # the mock is TFDS's: full track only, needs TensorFlow
    monkeypatch.setenv("TL_RESULTS_DIR", str(tmp_path))
    monkeypatch.setenv("TL_MOCK_DATA", "16")
    try:
        P = config.setup("full", notebook="t_mock", verbose=False)
        assert P.mock and P.dataset == "tf_flowers" and P.backbone == "mobilenet_v2"
        assert P.image_size == config.MOCK_IMAGE_SIZE < config.PROFILES["full"].image_size
        assert P.epochs == 1 and P.labels_per_class == config.PROFILES["smoke"].labels_per_class
        from tl_helpers import data
        d = data.load_image_classification(P)
        assert d.x_train.shape[1:] == (P.image_size, P.image_size, 3) and d.num_classes == 5
    finally:
        config.leave_mock()


def test_under_nbgrader_the_grader_chooses_the_track(monkeypatch, tmp_path, capsys):
    """A student's `profile = "lite"` / `seed = 3` in the parameters cell is ignored while nbgrader grades."""
    monkeypatch.setenv("TL_RESULTS_DIR", str(tmp_path))
    monkeypatch.delenv("TL_SEED", raising=False)
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.setenv("TL_PROFILE", "smoke")
    P = config.setup("lite", seed=3, notebook="t_grader")
    out = capsys.readouterr().out
    assert (P.name, P.seed) == ("smoke", 0)
    assert "track chosen by the grader (TL_PROFILE=smoke)" in out and "seed 0" in out
    monkeypatch.setenv("TL_SEED", "2")
    assert config.setup("full", seed=3, notebook="t_grader", verbose=False).seed == 2
    monkeypatch.delenv("TL_PROFILE")  # the instructor chose nothing: the grading default, said so
    P = config.setup("lite", notebook="t_grader")
    assert P.name == config.GRADING_TRACK == "smoke"
    assert "TL_PROFILE not set: smoke, the grading default" in capsys.readouterr().out
    monkeypatch.delenv("NBGRADER_EXECUTION")  # outside nbgrader the notebook's choice wins again
    P = config.setup("smoke", seed=3, notebook="t_grader", verbose=False)
    assert P.seed == 2 and not P.chosen_by and "grader" not in config.report(P)
