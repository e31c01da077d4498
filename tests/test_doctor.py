"""The doctor checks what the course loads, and the README lists the same datasets."""

from __future__ import annotations

import re

from tl_helpers import config, doctor, home


def _readme_datasets(track: str) -> list[str]:
    """The datasets the README's "Tracks" table lists for ``track``."""
    text = (home.ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Tracks", 1)[1].split("\n## ", 1)[0]
    row = re.search(rf"^\| `{track}` \| ([^|]*)\|", section, re.M)
    assert row, f"README.md's Tracks table has no `{track}` row"
    cell = row.group(1).split(":", 1)[-1]
    return [n.strip() for n in cell.split(",") if n.strip()]


def test_readme_lists_the_datasets_the_full_track_loads():
    loaded = sorted(set(doctor.datasets_loaded("full").values()))
    assert sorted(_readme_datasets("full")) == loaded, (
        f"README.md's Tracks table lists {_readme_datasets('full')} for `full`; the notebooks load {loaded}")


def test_a_dataset_no_code_loads_is_not_required(monkeypatch):
    doctor._course_strings.cache_clear()
    monkeypatch.setattr(doctor, "_course_strings", lambda: frozenset({"digits", "print"}))
    loaded = doctor.datasets_loaded("full")
    assert set(loaded) == {"classification", "digits"}  # the main dataset always counts
    monkeypatch.setattr(doctor, "online", lambda *a, **k: False)
    monkeypatch.setattr(doctor, "tfds_installed", lambda: True)  # one item per dataset (without TFDS: one for all)
    items = doctor.requirements("full")
    names = [i.name for i in items]
    full = config.PROFILES["full"].datasets
    assert f"TFDS {full['digits']}" in names and f"TFDS {full['classification']}" in names
    assert f"TFDS {full['digits_target']}" not in names
    (note,) = [i for i in items if i.name == "not needed"]
    assert full["digits_target"] in note.found and note.ok


def test_code_strings_skip_docstrings_and_comments():
    src = '"""svhn_cropped in a docstring"""\n# "mnist" in a comment\nx = load("oxford_iiit_pet")\n'
    assert doctor._code_strings(src) == {"oxford_iiit_pet"}
    assert doctor._code_strings("def (") == set()


def test_lite_needs_only_fashion_mnist():
    assert set(doctor.datasets_loaded("lite").values()) == {"fashion_mnist"}
    assert _readme_datasets("lite") == ["Fashion-MNIST"]


def test_packages_follow_the_backend_and_track():
    lite_jax = doctor.needed_packages("lite", "jax")
    assert "jax" in lite_jax and not {"tensorflow", "tensorflow_datasets", "torch"} & set(lite_jax)
    assert {"tensorflow", "tensorflow_datasets"} <= set(doctor.needed_packages("full", "torch"))
    assert "tensorflow_datasets" not in doctor.needed_packages("lite", "tensorflow")
    assert doctor.install_command("torch") == 'pip install -e ".[torch,course]"'


def test_missing_tensorflow_is_reported_only_where_needed(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name.startswith("tensorflow") else real(name, *a))
    import keras

    backend = keras.backend.backend()
    lite = doctor._packages("lite", backend)
    assert lite.ok == (backend != "tensorflow")
    full = doctor._packages("full", backend)
    assert not full.ok and "tensorflow_datasets" in full.found
    assert ('".[tf]"' in full.fix) == (backend != "tensorflow")
    assert not doctor.tfds_installed()
    monkeypatch.setattr(doctor, "online", lambda *a, **k: False)
    tfds_items = [i for i in doctor.requirements("full") if i.name.startswith("TFDS")]
    assert len(tfds_items) == 1 and "not installed" in tfds_items[0].found
