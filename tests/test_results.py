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


def test_runs_of_equal_values_has_sd_exactly_zero():
    """(0.1 + 0.1 + 0.1) / 3 != 0.1 in floats: the plain formula gives sd 1.7e-17, not 0."""
    r = results.Runs.of([0.1, 0.1, 0.1])
    assert r.mean == 0.1 and r.sd == 0.0 and r.n == 3
    spread = results.Runs.of([0.1, 0.2, 0.3])
    assert abs(spread.mean - 0.2) < 1e-12 and abs(spread.sd - 0.1) < 1e-12
