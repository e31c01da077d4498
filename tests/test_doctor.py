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
