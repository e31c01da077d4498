"""Rehearsal of the Colab launch path: a fresh environment, the install cell, notebook 00 top to bottom.

What a learner who clicks the Colab badge gets, rehearsed here (about a minute):

* a fresh virtual environment with Jupyter, TensorFlow and Keras (reused from this
  machine's site-packages through a ``.pth`` line, so its ``.pth`` hooks, among them an
  editable ``tl_helpers``, do not apply) but without ``tl_helpers``;
* a stand-in ``google.colab`` module loaded in the kernel (an IPython start-up file),
  as on Colab;
* ``TL_INSTALL_SOURCE`` pointing at a local clone of this repository (Colab would
  install the pinned ref from GitHub);
* notebook 00 of the clone, its install cell built from :mod:`tl_helpers.home` (so the
  test holds before and after ``course retarget``), executed with papermill on the
  smoke track from a working folder outside any checkout, with the default cache and
  data folders.

It checks that the install cell installs ``tl_helpers`` non-editable into the
environment, that the kernel imports that copy, that the notebook runs to the end, and
that the run writes no file under site-packages (a snapshot taken right after the
install is compared with one taken at the end).
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import nbformat
import pytest

from tl_helpers import home

ROOT = home.ROOT
NOTEBOOK = "00_setup.ipynb"

PROBE = '''# rehearsal probe (not part of the course): which tl_helpers, and site-packages right after the install
import json, os, sys, importlib.metadata, tl_helpers
site_dir = os.environ["REHEARSAL_SITE"]
files = {os.path.relpath(os.path.join(d, f), site_dir): os.stat(os.path.join(d, f)).st_mtime_ns
         for d, _, fs in os.walk(site_dir) for f in fs}
direct = importlib.metadata.distribution("tl-helpers").read_text("direct_url.json") or "{}"
json.dump({"file": tl_helpers.__file__, "executable": sys.executable, "files": files,
           "direct_url": json.loads(direct)}, open(os.environ["REHEARSAL_SNAPSHOT"], "w"))'''


def _snapshot(site_dir: Path) -> dict[str, int]:
    return {str(p.relative_to(site_dir)): p.stat().st_mtime_ns for p in site_dir.rglob("*") if p.is_file()}


def _clone(dest: Path) -> Path:
    """A clone of this repository's committed state (or a plain copy when it is not a git checkout)."""
    if (ROOT / ".git").exists() and shutil.which("git"):
        subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(dest)], check=True)
    else:
        shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(".git", "__pycache__", "*.egg-info", "data",
                                                                  "course_out", "build"))
    return dest


def _fresh_venv(dest: Path) -> tuple[Path, Path]:
    """A virtual environment that sees this interpreter's packages but not its ``.pth`` hooks; (python, site)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(dest)], check=True)
    python = dest / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    venv_site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                    check=True, capture_output=True, text=True).stdout.strip())
    shared = [p for p in dict.fromkeys([*site.getsitepackages(), sysconfig.get_paths()["purelib"],
                                        sysconfig.get_paths()["platlib"]]) if Path(p).is_dir()]
    # plain path lines: the directories join sys.path, but their own .pth files (an editable
    # tl_helpers among them) are not processed
    (venv_site / "_rehearsal_system_packages.pth").write_text("\n".join(shared) + "\n")
    return python, venv_site


def test_colab_path_installs_and_runs_notebook_00(tmp_path):
    start = time.perf_counter()
    clone = _clone(tmp_path / "clone")
    python, venv_site = _fresh_venv(tmp_path / "venv")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TL_", "PYTEST", "JUPYTER", "IPYTHON", "PYTHON", "KAGGLE", "PIP_", "VIRTUAL_ENV"))}
    work = tmp_path / "work"  # the learner's working folder, outside any checkout
    work.mkdir()
    before = subprocess.run([str(python), "-c", "import importlib.util as u; print(u.find_spec('tl_helpers'))"],
                            cwd=work, env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert before == "None", f"the fresh environment must not see tl_helpers yet; it finds {before}"

    # the stand-in for Colab: google.colab is loaded in every kernel
    startup = tmp_path / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-colab-standin.py").write_text(
        "import sys, types\nsys.modules.setdefault('google.colab', types.ModuleType('google.colab'))\n")
    nb = nbformat.read(clone / "notebooks" / NOTEBOOK, as_version=4)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    install = home.install_cell_source()
    if home.is_install_cell(nb.cells[code[0]].source):
        nb.cells[code[0]].source = install
    else:
        nb.cells.insert(code[0], nbformat.v4.new_code_cell(install))
    nb.cells.insert(code[0] + 1, nbformat.v4.new_code_cell(PROBE))
    nb_in, nb_out, snap = work / NOTEBOOK, tmp_path / "executed.ipynb", tmp_path / "after_install.json"
    nbformat.write(nb, nb_in)
    env.update(
        TL_INSTALL_SOURCE=str(clone), IPYTHONDIR=str(tmp_path / "ipython"), XDG_CACHE_HOME=str(tmp_path / "cache"),
        REHEARSAL_SITE=str(venv_site), REHEARSAL_SNAPSHOT=str(snap), MPLBACKEND="Agg", TF_CPP_MIN_LOG_LEVEL="2",
        PIP_NO_BUILD_ISOLATION="0", PIP_DISABLE_PIP_VERSION_CHECK="1",  # build with this machine's setuptools
    )
    run = subprocess.run([str(python), "-m", "papermill", str(nb_in), str(nb_out), "-p", "profile", "smoke",
                          "-p", "seed", "0", "-k", "python3", "--cwd", str(work), "--no-progress-bar"],
                         cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"notebook 00 failed on the rehearsed Colab path:\n{run.stderr[-4000:]}"

    probe = json.loads(snap.read_text())
    assert Path(probe["executable"]).parent == python.parent, "the kernel must run the fresh environment's Python"
    assert Path(probe["file"]).resolve().is_relative_to(venv_site.resolve()), \
        f"the kernel imported tl_helpers from {probe['file']}, not from the fresh environment"
    assert not probe["direct_url"].get("dir_info", {}).get("editable"), "tl_helpers was installed editable"
    assert any(p.startswith("tl_helpers/") for p in probe["files"]), "the install cell installed nothing"
    after = _snapshot(venv_site)
    new = sorted(set(after) - set(probe["files"]))
    changed = sorted(p for p in probe["files"] if p in after and after[p] != probe["files"][p])
    assert not new and not changed, f"the run wrote into site-packages: new {new[:10]}, changed {changed[:10]}"
    assert not (venv_site / "data").exists() and not (clone / "data" / "cache").exists()
    assert (tmp_path / "cache" / "tl-course").is_dir(), "caches belong in the per-user cache folder"
    executed = nbformat.read(nb_out, as_version=4)
    assert all(c.get("execution_count") for c in executed.cells if c.cell_type == "code")
    print(f"Colab rehearsal: {time.perf_counter() - start:.0f} s")


# modules allowed to use their own location, and why (none of them writes there)
OWN_PATH_READERS = {
    "home.py": "ROOT: the checkout `course retarget` rewrites on request, and its notebooks/",
    "fashion_mnist.py": "a checkout's data/fashion-mnist is read when the helpers run from a checkout",
    "doctor.py": "reads the helpers' own code to see which datasets they load",
}


def test_no_helper_writes_beside_its_own_files():
    """Caches go under paths.cache_dir(), data under paths.data_dir(): no module builds paths from __file__."""
    pkg = ROOT / "tl_helpers"
    offenders = sorted(str(p.relative_to(pkg)) for p in pkg.rglob("*.py")
                       if "__file__" in p.read_text(encoding="utf-8") and p.name not in OWN_PATH_READERS)
    assert not offenders, f"these modules locate files from __file__ (use tl_helpers.paths): {offenders}"
    uses = [p.name for p in pkg.rglob("*.py") if "REPO_DATA" in p.read_text(encoding="utf-8")]
    assert uses in ([], ["fashion_mnist.py"]), f"REPO_DATA (the checkout's data/) is for reading Fashion-MNIST only: {uses}"
