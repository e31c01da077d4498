"""One course home: every badge and install cell agrees with tl_helpers.home; retarget rewrites them all."""

from __future__ import annotations

import shutil
import subprocess
import sys
import types

import nbformat
import pytest

from tl_helpers import course, home

ROOT = home.ROOT
FORK = "someone/fork" if home.REPO != "someone/fork" else "someone/other-fork"  # a home that is not the current one


def test_every_link_agrees_with_the_home():
    """Colab/Kaggle badges, install cells and pyproject name tl_helpers.home's REPO and REF.

    After a fork or a release: python3 -m tl_helpers.course retarget OWNER/NAME --ref REF
    """
    problems = home.link_problems(ROOT)
    assert not problems, ("links disagree with the course home; run `python3 -m tl_helpers.course retarget "
                          f"{home.REPO} --ref {home.REF}`:\n" + "\n".join(problems))


@pytest.fixture()
def course_copy(tmp_path):
    """A copy of the course's files that retarget touches (README, notebooks, home, pyproject)."""
    root = tmp_path / "course"
    shutil.copytree(ROOT / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    (root / "tl_helpers").mkdir()
    shutil.copy(ROOT / "tl_helpers" / "home.py", root / "tl_helpers" / "home.py")
    for name in ("README.md", "pyproject.toml"):
        shutil.copy(ROOT / name, root / name)
    (root / "data").mkdir()
    shutil.copy(ROOT / "data" / "README.md", root / "data" / "README.md")
    return root


def test_retarget_rewrites_every_badge_and_install_cell(course_copy, capsys):
    root = course_copy
    # a notebook that lost its install cell gets one back
    nb_path = sorted((root / "notebooks").glob("0*.ipynb"))[-1]
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells = [c for c in nb.cells if not (c.cell_type == "code" and home.is_install_cell(c.source))]
    nbformat.write(nb, nb_path)
    readme_before = (root / "README.md").read_text()

    def other_projects():
        texts = [p.read_text() for p in [root / "README.md", *(root / "notebooks").glob("*.ipynb")]]
        return sorted(l.repo for t in texts for l in home.find_links(t)
                      if l.kind == "github" and l.repo not in (home.REPO, FORK))
    others = other_projects()

    assert course.main(["retarget", FORK, "--ref", "main", "--root", str(root)]) == 0
    assert f"{FORK} @ main" in capsys.readouterr().out
    assert home.link_problems(root, FORK, "main") == []
    assert other_projects() == others  # links to other projects (keras-team/keras#20285) stay
    text = (root / "tl_helpers" / "home.py").read_text()
    assert f'REPO = "{FORK}"' in text and 'REF = "main"' in text
    assert f'Homepage = "https://github.com/{FORK}"' in (root / "pyproject.toml").read_text()
    readme = (root / "README.md").read_text()
    assert home.REPO not in readme and readme.count(FORK) >= 7
    # only the links changed: same text once the home's name is put back
    assert len(readme.splitlines()) == len(readme_before.splitlines())
    for path in (root / "notebooks").glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        first_code = next(c for c in nb.cells if c.cell_type == "code")
        assert first_code.source == home.install_cell_source(FORK, "main"), path.name
        assert home.colab_url(path.name, FORK, "main") in nb.cells[0].source
        assert sum(home.is_install_cell(c.source) for c in nb.cells if c.cell_type == "code") == 1
        nbformat.validate(nb)
    # idempotent, and the original home comes back
    assert course.retarget(FORK, "main", root) == []
    course.retarget(home.REPO, home.REF, root)
    assert home.link_problems(root) == []
    assert (root / "tl_helpers" / "home.py").read_text() == (ROOT / "tl_helpers" / "home.py").read_text()


def test_retarget_keeps_the_ref_by_default_and_rejects_nonsense(course_copy):
    course.retarget("me/course", None, course_copy)
    assert home.link_problems(course_copy, "me/course", home.REF) == []
    with pytest.raises(SystemExit, match="OWNER/NAME"):
        course.main(["retarget", "not a repo", "--root", str(course_copy)])
    with pytest.raises(SystemExit, match="ref"):
        course.main(["retarget", "me/course", "--ref", "a b", "--root", str(course_copy)])


def test_links_are_found_and_rewritten():
    text = ("[c](https://colab.research.google.com/github/a/b/blob/main/notebooks/00_x.ipynb) "
            "[k](https://kaggle.com/kernels/welcome?src=https://github.com/a/b/blob/main/notebooks/00_x.ipynb) "
            '"tl-helpers @ git+https://github.com/a/b.git@v1"')
    assert [(l.kind, l.repo, l.ref) for l in home.find_links(text)] == [
        ("colab", "a/b", "main"), ("kaggle", "a/b", "main"), ("pip", "a/b", "v1")]
    new = home.rewrite_links(text, "c/d", "v2")
    assert {(l.repo, l.ref) for l in home.find_links(new)} == {("c/d", "v2")}
    assert "notebooks/00_x.ipynb" in new and ".git@v2" in new


def _run_install_cell(monkeypatch, tmp_path, *, colab=False, kaggle=False, source=None):
    """Execute the install cell with pip replaced by a recorder; return the pip commands it ran."""
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append(cmd))
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.delenv("KAGGLE_KERNEL_RUN_TYPE", raising=False)
    monkeypatch.delenv("TL_INSTALL_SOURCE", raising=False)
    if colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    if kaggle:
        monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")
    if source:
        monkeypatch.setenv("TL_INSTALL_SOURCE", source)
    exec(compile(home.install_cell_source("me/course", "v9"), "install-cell", "exec"), {})
    return calls


@pytest.mark.skipif(__import__("os").path.isdir("/kaggle/input"), reason="this machine looks like Kaggle")
def test_install_cell_installs_only_on_colab_and_kaggle(monkeypatch, tmp_path):
    assert _run_install_cell(monkeypatch, tmp_path) == []  # elsewhere: nothing
    pinned = "tl-helpers @ git+https://github.com/me/course@v9"
    for where in ({"colab": True}, {"kaggle": True}):
        (cmd,) = _run_install_cell(monkeypatch, tmp_path, **where)
        assert cmd[0] == sys.executable and cmd[1:4] == ["-m", "pip", "install"] and cmd[-1] == pinned
        assert "-e" not in cmd and "--editable" not in cmd
    (cmd,) = _run_install_cell(monkeypatch, tmp_path, colab=True, source="/tmp/clone")
    assert cmd[-1] == "/tmp/clone"


def test_install_cell_is_short_and_readable():
    src = home.install_cell_source()
    assert len(src.splitlines()) <= 10 and max(len(l) for l in src.splitlines()) <= 130
    assert home.is_install_cell(src) and src.startswith(home.INSTALL_MARKER)
    compile(src, "install-cell", "exec")


def test_a_release_tag_matches_the_package_version():
    import re as _re

    import tl_helpers
    if _re.fullmatch(r"v\d+(\.\d+)*", home.REF):
        assert home.REF == f"v{tl_helpers.__version__}", (
            f"the course home pins {home.REF} but tl_helpers is {tl_helpers.__version__}: after tagging, run "
            f"`python3 -m tl_helpers.course retarget {home.REPO} --ref v{tl_helpers.__version__}`")
