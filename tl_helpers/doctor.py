"""``python -m tl_helpers.doctor [--profile P]``: what each track needs, what is here, how to fix the rest.

Exits 0 when the chosen track (default: ``auto``) can run, 1 otherwise. Packages are
checked for the Keras backend in use (``KERAS_BACKEND``): the backend's own package, and
TensorFlow + TFDS only on the TensorFlow backend or for the full track. A track's
datasets are checked only when the course loads them: :func:`datasets_loaded` reads
the helpers' code and the notebooks' code cells (a dataset the track names but no
code loads, such as SVHN on the full track today, is listed as not needed).

Example:
    >>> items = requirements("lite")
    >>> [i.name.split(" (")[0] for i in items][:2]
    ['packages', 'Fashion-MNIST']
"""

from __future__ import annotations

import argparse
import ast
import functools
import importlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from . import backbones, config, data, home
from .offline import online


@dataclass
class Item:
    """One requirement of a track: whether it is met, what was found, how to fix it.

    Example:
        >>> Item("x", True, "found").line()
        '  ✓ x: found'
    """

    name: str
    ok: bool
    found: str
    fix: str = ""
    required: bool = True

    def line(self) -> str:
        mark = "✓" if self.ok else ("✗" if self.required else "·")
        text = f"  {mark} {self.name}: {self.found}"
        if not self.ok and self.fix:
            text += f"\n      fix: {self.fix}"
        return text


#: import name -> (distribution name, what needs it); the backend's own package is added per backend.
_BASE_PACKAGES = {"keras": "keras", "sklearn": "scikit-learn", "matplotlib": "matplotlib", "papermill": "papermill"}
_BACKEND_PACKAGES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
#: what the full track loads its datasets with (TFDS needs TensorFlow, whatever Keras's backend).
_TFDS_PACKAGES = {"tensorflow": "tensorflow", "tensorflow_datasets": "tensorflow-datasets"}


def install_command(backend: str) -> str:
    """The pip command that installs the course for a Keras backend (from a clone of the course).

    Example:
        >>> install_command("jax")
        'pip install -e ".[jax,course]"'
        >>> install_command("tensorflow")
        'pip install -r requirements.txt'
    """
    return "pip install -r requirements.txt" if backend == "tensorflow" else f'pip install -e ".[{backend},course]"'


def needed_packages(track: str, backend: str) -> dict[str, str]:
    """Import name -> distribution of what ``track`` needs on Keras ``backend``.

    The backend's own package always; TensorFlow and TFDS only on the TensorFlow backend
    or for the full track (its datasets come through TFDS).

    Example:
        >>> sorted(needed_packages("lite", "jax"))
        ['jax', 'keras', 'matplotlib', 'papermill', 'sklearn']
        >>> "tensorflow_datasets" in needed_packages("full", "torch")
        True
    """
    needed = {"keras": "keras", backend: _BACKEND_PACKAGES.get(backend, backend), **_BASE_PACKAGES}
    if track == "full":
        needed.update(_TFDS_PACKAGES)
    return needed


def _packages(track: str, backend: str) -> Item:
    from importlib import metadata
    from importlib.util import find_spec

    versions, missing = [], []
    for mod, dist in needed_packages(track, backend).items():
        try:
            if find_spec(mod) is None:
                raise ImportError(mod)
            versions.append(f"{mod} {metadata.version(dist)}")
        except (ImportError, ValueError, metadata.PackageNotFoundError):
            missing.append(mod)
    if not missing:
        return Item(f"packages (Keras backend: {backend})", True, ", ".join(versions))
    fixes = []
    if set(missing) - set(_TFDS_PACKAGES) or (backend == "tensorflow" and missing):
        fixes.append(install_command(backend))
    if track == "full" and set(missing) & set(_TFDS_PACKAGES) and backend != "tensorflow":
        fixes.append('pip install -e ".[tf]" (TensorFlow + TFDS, only to load the full track\'s datasets), '
                     "or use the lite track")
    return Item(f"packages (Keras backend: {backend})", False, "missing " + ", ".join(missing), "; ".join(fixes))


def _weights(name: str, size: int, include_top: bool, net: bool, why: str) -> Item:
    fname = backbones.get_spec(name).weights_file(size, include_top)
    path = backbones.find_weights(name, size, include_top)
    if path:
        return Item(f"{name} weights ({why})", True, str(path))
    dirs = " or ".join(str(d) for d in backbones.keras_cache_dirs())
    return Item(f"{name} weights ({why})", net, f"{fname} not cached in {dirs}"
                + ("; will download on first use" if net else " and the network is unreachable"),
                f"put {fname} into $KERAS_HOME/models (or go online once)")


def _class_index(net: bool) -> Item:
    for d in backbones.keras_cache_dirs():
        if (d / "imagenet_class_index.json").is_file():
            return Item("ImageNet class names (decode_predictions)", True, str(d / "imagenet_class_index.json"))
    return Item("ImageNet class names (decode_predictions)", net,
                "imagenet_class_index.json not cached" + ("; will download" if net else ", offline"),
                "put imagenet_class_index.json into $KERAS_HOME/models (or go online once)")


def _fashion_mnist(net: bool) -> Item:
    for folder in data.fashion_mnist.fashion_mnist_locations():
        if all((folder / f).is_file() for f in data.fashion_mnist._FMNIST_FILES):
            return Item("Fashion-MNIST", True, str(folder))
    return Item("Fashion-MNIST", net, "not found offline" + ("; will download" if net else ", network unreachable"),
                "sudo apt-get install dataset-fashion-mnist (or put the 4 .gz files in data/fashion-mnist/)")


def tfds_installed() -> bool:
    """Whether TensorFlow Datasets (and TensorFlow, which it needs) can be imported.

    Example:
        >>> isinstance(tfds_installed(), bool)
        True
    """
    from importlib.util import find_spec

    try:
        return find_spec("tensorflow_datasets") is not None and find_spec("tensorflow") is not None
    except (ImportError, ValueError):
        return False


def _tfds(name: str, net: bool) -> Item:
    if not tfds_installed():
        return Item(f"TFDS {name}", False, "cannot check: TensorFlow Datasets is not installed",
                    'pip install -e ".[tf]" (the full track loads its datasets through TFDS), or use the lite track')
    try:
        import tensorflow_datasets as tfds
        builder = tfds.builder(name)
        if builder.is_prepared():
            return Item(f"TFDS {name}", True, str(builder.data_dir))
        where = str(Path(builder.data_dir).parent.parent)
    except Exception as err:  # pragma: no cover - a broken TFDS install
        return Item(f"TFDS {name}", False, f"cannot check ({err})", "pip install -r requirements.txt")
    return Item(f"TFDS {name}", net, f"not prepared in {where}" + ("; will download" if net else ", offline"),
                f"go online once (tfds.load('{name}')), or use the lite track")


def _code_strings(source: str) -> set[str]:
    """The string constants of Python ``source`` (docstrings left out); empty when it does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    docs = {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and id(n) not in docs}


@functools.lru_cache(maxsize=1)
def _course_strings() -> frozenset[str]:
    """String constants in the helpers' code (not config's track table, not this module) and the notebooks' code."""
    pkg = Path(__file__).parent
    found: set[str] = set()
    for path in pkg.rglob("*.py"):
        if path.name not in ("config.py", "doctor.py"):
            found |= _code_strings(path.read_text(encoding="utf-8"))
    for path in home.notebook_dir().glob("[0-9][0-9]_*.ipynb"):
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        for cell in cells:
            if cell.get("cell_type") == "code":
                src = "".join(cell.get("source", []))
                found |= _code_strings("\n".join(l for l in src.splitlines() if not l.lstrip().startswith(("%", "!"))))
    return frozenset(found)


def datasets_loaded(track: str) -> dict[str, str]:
    """The track's datasets (role -> name) that some helper or notebook code loads.

    The ``classification`` dataset always counts (every notebook loads it); any other
    counts when its role or its name appears in the helpers' or notebooks' code.

    Example:
        >>> sorted(datasets_loaded("lite").values())
        ['fashion_mnist']
    """
    strings = _course_strings()
    return {role: name for role, name in config.PROFILES[track].datasets.items()
            if role == "classification" or role in strings or name in strings}


def requirements(track: str) -> list[Item]:
    """The checks for one track (``full``, ``lite`` or ``smoke``).

    Example:
        >>> all(isinstance(i, Item) for i in requirements("smoke"))
        True
    """
    import keras

    net = online()
    P = config.PROFILES[track]
    items = [_packages(track, keras.backend.backend())]
    if P.dataset == "fashion_mnist":
        items.append(_fashion_mnist(net))
    loaded = datasets_loaded(track)
    tfds_names = [name for name in dict.fromkeys(loaded.values()) if name != "fashion_mnist"]
    items += [_tfds(name, net) for name in tfds_names] if tfds_installed() else \
        [_tfds(", ".join(tfds_names), net)] if tfds_names else []
    unused = [name for role, name in P.datasets.items() if role not in loaded and name not in loaded.values()]
    if unused:
        items.append(Item("not needed", True, ", ".join(unused) + " (named by the track, loaded by no notebook)",
                          required=False))
    items.append(_weights(P.backbone, P.image_size, False, net, "feature extraction"))
    top_size = 224 if track == "full" else 128
    items.append(_weights(P.backbone, top_size, True, net, "notebook 00's ImageNet classifier"))
    items.append(_class_index(net))
    if track == "full":
        gpu = config.gpu_available()
        items.append(Item("GPU", gpu, "found" if gpu else "none: the full track will be slow on a CPU",
                          "use a GPU machine or Colab, or the lite track", required=False))
    return items


def main(argv: list[str] | None = None) -> int:
    """Print the report for every track; exit 0 when the chosen one can run.

    Example:
        >>> import contextlib, io
        >>> with contextlib.redirect_stdout(io.StringIO()) as out:
        ...     code = main(["--profile", "lite", "--quiet"])
        >>> code == (0 if "can run" in out.getvalue() else 1)
        True
    """
    ap = argparse.ArgumentParser(prog="python -m tl_helpers.doctor", description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="auto", help="the track to judge: auto (default), full, lite, smoke")
    ap.add_argument("--quiet", action="store_true", help="only the verdict")
    a = ap.parse_args(argv)
    chosen = config.resolve_track(a.profile)
    verdicts = {}
    for track in config.TRACKS:
        items = requirements(track)
        verdicts[track] = all(i.ok for i in items if i.required)
        if not a.quiet:
            state = "ready" if verdicts[track] else "NOT ready"
            print(f"\n[{track}] {state}" + ("  <- chosen" if track == chosen else ""))
            print("\n".join(i.line() for i in items))
    ok = verdicts[chosen]
    print(f"\nTrack {chosen!r} ({a.profile}) {'can run' if ok else 'cannot run yet: see the fixes above'}.")
    if not ok and chosen == "full" and verdicts["lite"]:
        print("The lite track can run offline: --profile lite, or TL_PROFILE=lite.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
