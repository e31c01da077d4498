"""The course installs and runs without TensorFlow: every tl_helpers module imports with it absent.

Each check runs in a fresh interpreter. Where JAX or PyTorch is installed (the course's
``[jax]``/``[torch]`` installs), TensorFlow is hidden from the import system (``import
tensorflow`` fails and ``find_spec`` says it is absent, as if it were not installed) and Keras
runs on that backend. In the TensorFlow environment (no other backend to run Keras on), Keras
may load TensorFlow but any ``import tensorflow*`` made by a tl_helpers module fails. Only
``tl_helpers/data/tfds.py``, the full track's TFDS loader, may need TensorFlow, and only when
it is called.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tl_helpers

PACKAGE = Path(tl_helpers.__file__).parent
#: modules allowed to need TensorFlow at import time (none today: tfds.py imports it when called).
MAY_NEED_TENSORFLOW = {"tl_helpers.data.tfds"}

HIDE = '''
import sys

class HideTensorFlow:
    """Wraps a meta-path finder: ``tensorflow*`` is not found, as if it were not installed."""
    def __init__(self, finder):
        self.finder = finder
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0].startswith("tensorflow"):
            return None
        find = getattr(self.finder, "find_spec", None)
        return find(name, path, target) if find else None
    def __getattr__(self, attr):  # find_distributions (importlib.metadata), invalidate_caches, ...
        return getattr(self.finder, attr)

sys.meta_path[:] = [HideTensorFlow(f) for f in sys.meta_path]
'''

REFUSE_IN_TL_HELPERS = '''
import builtins

_real_import = builtins.__import__

def _import(name, globals=None, locals=None, fromlist=(), level=0):
    importer = (globals or {}).get("__name__") or ""
    if level == 0 and name.split(".")[0].startswith("tensorflow") and importer.split(".")[0] == "tl_helpers":
        raise ModuleNotFoundError(f"No module named {name!r} ({importer} imports it; refused by the test)",
                                  name=name)
    return _real_import(name, globals, locals, fromlist, level)

builtins.__import__ = _import
'''

IMPORT_ALL = '''
import importlib, json, sys, traceback
failures = {}
for name in json.loads(sys.argv[1]):
    try:
        importlib.import_module(name)
    except Exception as err:
        failures[name] = "".join(traceback.format_exception_only(type(err), err)).strip()
import keras
print(json.dumps({"failures": failures, "backend": keras.backend.backend(),
                  "tensorflow_loaded": sorted(m for m in sys.modules if m.split(".")[0].startswith("tensorflow"))}))
'''


def _modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _backend_without_tensorflow() -> str:
    for name in ("jax", "torch"):
        if importlib.util.find_spec(name) is not None:
            return name
    return "tensorflow"


def _run(code: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=600,
                          env=env, cwd=str(PACKAGE.parent))


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["PYTHONPATH"] = os.pathsep.join([str(PACKAGE.parent), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return {**env, **extra}


def test_module_list_is_complete():
    names = _modules()
    assert "tl_helpers" in names and "tl_helpers.config" in names and "tl_helpers.data.tfds" in names
    assert len(names) >= 30, names


def test_every_module_imports_without_tensorflow():
    names = _modules()
    backend = _backend_without_tensorflow()
    if backend == "tensorflow":  # Keras itself needs TensorFlow here: refuse it to tl_helpers only
        code, env = REFUSE_IN_TL_HELPERS + IMPORT_ALL, _env(KERAS_BACKEND="tensorflow")
    else:
        code, env = HIDE + IMPORT_ALL, _env(KERAS_BACKEND=backend)
    proc = _run(code, json.dumps(names), env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    needs_tf = {n: e for n, e in report["failures"].items() if n not in MAY_NEED_TENSORFLOW}
    assert not needs_tf, "these modules need TensorFlow at import time (import it inside the function " \
                         "that needs it, or use keras.ops):\n" + "\n".join(f"  {n}: {e}" for n, e in needs_tf.items())
    assert report["backend"] == backend
    if backend != "tensorflow":
        assert report["tensorflow_loaded"] == []


def test_the_blockers_block():
    """The check above can fail: hidden, TensorFlow is absent; refused, a tl_helpers module cannot import it."""
    code = HIDE + "import importlib.util\nassert importlib.util.find_spec('tensorflow') is None\nimport tensorflow\n"
    proc = _run(code, env=_env())
    assert proc.returncode != 0 and "No module named 'tensorflow'" in proc.stderr, proc.stderr[-2000:]
    code = REFUSE_IN_TL_HELPERS + "exec('import tensorflow_datasets as tfds', {'__name__': 'tl_helpers.x'})\n"
    proc = _run(code, env=_env())
    assert proc.returncode != 0 and "refused by the test" in proc.stderr, proc.stderr[-2000:]
    code = REFUSE_IN_TL_HELPERS + "exec('import json', {'__name__': 'tl_helpers.x'})\n"
    assert _run(code, env=_env()).returncode == 0


@pytest.mark.skipif(_backend_without_tensorflow() == "tensorflow", reason="neither JAX nor PyTorch is installed")
def test_tl_helpers_picks_an_installed_backend_when_tensorflow_is_absent(tmp_path):
    """Keras's default backend is TensorFlow: without it, ``import tl_helpers`` (first in every notebook)
    chooses JAX or PyTorch, unless the learner chose a backend (``KERAS_BACKEND`` or ``keras.json``)."""
    code = HIDE + ("import os, tl_helpers\n"
                   "print(os.environ.get('KERAS_BACKEND'), '|', tl_helpers.BACKEND_NOTE)\n")

    def run(**env: str) -> list[str]:
        proc = _run(code, env=_env(KERAS_HOME=str(tmp_path), **env))
        assert proc.returncode == 0, proc.stderr[-3000:]
        return [part.strip() for part in proc.stdout.strip().splitlines()[-1].split("|")]

    backend, note = run()
    assert backend == _backend_without_tensorflow() and "TensorFlow is not installed" in note
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "tensorflow"}))  # what Keras writes by default
    assert run()[0] == _backend_without_tensorflow()
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "numpy"}))  # the learner's own choice wins
    assert run() == ["None", ""]
    assert run(KERAS_BACKEND="numpy") == ["numpy", ""]
