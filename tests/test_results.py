import json

import pytest

from tl_helpers import results


def test_record_writes_at_once_and_load_reads(monkeypatch, tmp_path):
    monkeypatch.setenv("TL_RESULTS_DIR", str(tmp_path))
    results.start("nbx", None)
    assert results.record("acc", 0.75) == 0.75
    import numpy as np
    results.record("n", np.int64(3))
    on_disk = json.loads((tmp_path / "nbx.json").read_text())
    assert on_disk["acc"] == 0.75 and on_disk["n"] == 3
    assert results.load("nbx") == {"acc": 0.75, "n": 3}
    results.start("nbx", None)  # a re-run starts clean
    assert results.load("nbx") == {}


def test_record_rejects_nan_and_objects(monkeypatch, tmp_path):
    monkeypatch.setenv("TL_RESULTS_DIR", str(tmp_path))
    results.start("nby", None)
    with pytest.raises(ValueError, match="diverged"):
        results.record("loss", float("nan"))
    with pytest.raises(TypeError, match="number or a string"):
        results.record("x", [1, 2])
    assert results.load("nby") == {}


def test_noise_verdict_words_follow_the_sign_and_the_noise():
    one = results.Runs.of
    assert "is ahead of" in results.noise_verdict(one([0.801]), one([0.8]), "a", "b")
    assert "is behind" in results.noise_verdict(one([0.799]), one([0.8]), "a", "b")
    level = results.noise_verdict(one([0.963 - 1e-8]), one([0.963]), "a", "b")
    assert "level" in level and "behind" not in level and "-0.000" not in level
    assert "within noise" in results.noise_verdict(one([0.80, 0.83]), one([0.81, 0.79]), "a", "b")
    assert "more than two standard errors" in results.noise_verdict(one([0.80, 0.81]), one([0.70, 0.71]), "a", "b")


def test_paired_verdict_weighs_the_per_seed_differences(monkeypatch, tmp_path):
    """Each seed's draw moves both sides together: A beats B by 0.010 to 0.014 on every seed, while the seeds
    themselves spread by 0.1. Unpaired, that is noise; paired, it is a clear lead. A lead that flips sign
    between seeds stays noise when paired."""
    monkeypatch.setenv("TL_RESULTS_DIR", str(tmp_path))
    results.start("nbp", None)
    b = [0.60, 0.70, 0.80, 0.65]
    a = [x + d for x, d in zip(b, [0.010, 0.012, 0.014, 0.011])]
    assert "within noise" in results.compare("a", a, "b", b, show=False)
    paired = results.compare("a", a, "b", b, show=False, paired=True)
    assert paired.startswith("a is ahead of b by +0.012 (paired by seed"), paired
    recorded = results.load("nbp")
    assert recorded["a_minus_b"] == pytest.approx(0.01175) and recorded["a_minus_b_sd"] > 0
    flip = [x + d for x, d in zip(b, [0.03, -0.02, 0.025, -0.03])]
    assert "within noise (paired by seed" in results.compare("f", flip, "b", b, show=False, paired=True)
    worse = [x - 0.01 for x in b]
    assert results.compare("w", worse, "b", b, show=False, paired=True).startswith("w is behind b by -0.010")


def test_paired_needs_one_value_per_seed_and_records_nothing_otherwise(monkeypatch, tmp_path):
    monkeypatch.setenv("TL_RESULTS_DIR", str(tmp_path))
    results.start("nbq", None)
    with pytest.raises(ValueError, match="one value per seed"):
        results.compare("a", [0.8, 0.9, 0.7], "b", [0.8, 0.9], show=False, paired=True)
    assert results.load("nbq") == {}


def test_runs_of_equal_values_has_sd_exactly_zero():
    """(0.1 + 0.1 + 0.1) / 3 != 0.1 in floats: the plain formula gives sd 1.7e-17, not 0."""
    r = results.Runs.of([0.1, 0.1, 0.1])
    assert r.mean == 0.1 and r.sd == 0.0 and r.n == 3
    spread = results.Runs.of([0.1, 0.2, 0.3])
    assert abs(spread.mean - 0.2) < 1e-12 and abs(spread.sd - 0.1) < 1e-12
