"""Recording a notebook's key numbers so the course runner and tests can read them.

Each notebook calls :func:`tl_helpers.config.setup` (which calls :func:`start`)
and then ``record("fe_acc@20", 0.81)`` for every number its prose relies on.
The numbers land in ``$TL_RESULTS_DIR/<notebook>.json`` (default ``results/``
beside the notebooks), which the course runner merges into ``results.json``.

Example:
    >>> import tempfile, os
    >>> os.environ["TL_RESULTS_DIR"] = tempfile.mkdtemp()
    >>> start("demo", None)
    >>> record("acc", 0.5)
    0.5
    >>> load("demo")["acc"]
    0.5
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Sequence

from .paths import cache_dir

_state: dict[str, Any] = {"notebook": None, "meta": {}}


def results_dir() -> Path:
    """Where per-notebook result files go: ``$TL_RESULTS_DIR``, else ``results/`` in the course cache.

    Never beside the notebooks: a graded or read-only checkout stays clean (see :mod:`tl_helpers.paths`).

    Example:
        >>> isinstance(results_dir(), Path)
        True
    """
    env = os.environ.get("TL_RESULTS_DIR")
    return Path(env) if env else cache_dir("results")


def backend() -> str:
    """The Keras backend this process runs on (``tensorflow``, ``jax``, ``torch``), without importing Keras.

    Recorded in every notebook's ``_meta`` so that result files from different backends
    can be told apart (and compared, see ``tools/results_to_readme.py``).

    Example:
        >>> backend() in ("tensorflow", "jax", "torch", "numpy")
        True
    """
    keras = sys.modules.get("keras")
    if keras is not None:
        return keras.backend.backend()
    return os.environ.get("KERAS_BACKEND", "tensorflow")


def meta(notebook: str | None = None) -> dict[str, Any]:
    """The ``_meta`` a notebook's record carries: its track, seed and Keras backend ({} when none).

    Example:
        >>> meta("no_such_notebook")
        {}
    """
    path = _path(notebook or _state["notebook"] or "interactive")
    if not path.exists():
        return {}
    return dict(json.loads(path.read_text()).get("_meta", {}))


def _path(notebook: str) -> Path:
    return results_dir() / f"{notebook}.json"


def start(notebook: str | None, profile: Any) -> None:
    """Begin a notebook's record (called by ``config.setup``); clears its old numbers.

    Example:
        >>> start("demo", None)
    """
    name = notebook or os.environ.get("TL_NOTEBOOK") or "interactive"
    meta = {}
    if profile is not None:
        meta = {"profile": profile.name, "seed": profile.seed, "backend": backend()}
    _state.update(notebook=name, meta=meta)
    path = _path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"_meta": meta}, indent=2))


def record(key: str, value: float | int | str) -> float | int | str:
    """Store one key number of the current notebook and return it.

    Numbers are written to disk at once, so a notebook that fails later still
    leaves what it measured.

    Example:
        >>> record("runtime_demo", 1.25)
        1.25
    """
    if _state["notebook"] is None:
        start(None, None)
    if hasattr(value, "item"):  # numpy / backend scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"record({key!r}, {value}): the value is not finite; "
                         "a NaN or inf usually means training diverged - lower the learning rate.")
    if not isinstance(value, (int, float, str)):
        raise TypeError(f"record({key!r}, ...) takes a number or a string, got {type(value).__name__}.")
    path = _path(_state["notebook"])
    data = json.loads(path.read_text()) if path.exists() else {"_meta": _state["meta"]}
    data[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    return value


def load(notebook: str | None = None) -> dict[str, Any]:
    """The numbers a notebook recorded (without the ``_meta`` entry).

    Example:
        >>> "acc" in load("demo")
        True
    """
    path = _path(notebook or _state["notebook"] or "interactive")
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    data.pop("_meta", None)
    return data


# ------------------------------------------------------------ several seeds
@dataclass(frozen=True)
class Runs:
    """The mean and sample standard deviation of one metric over ``n`` runs (seeds).

    Example:
        >>> r = Runs.of([0.80, 0.82, 0.84])
        >>> round(r.mean, 3), round(r.sd, 3), r.n, str(r)
        (0.82, 0.02, 3, '0.820 ± 0.020 (3 seeds)')
    """

    mean: float
    sd: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> "Runs":
        v = [float(x) for x in values]
        if not v:
            raise ValueError("Runs.of() needs at least one value; got an empty list.")
        if min(v) == max(v):  # equal values: exactly their value, sd 0 (the sum can round: 4.5e-17)
            return cls(v[0], 0.0, len(v))
        mean = sum(v) / len(v)
        return cls(mean, math.sqrt(sum((x - mean) ** 2 for x in v) / (len(v) - 1)), len(v))

    @property
    def se(self) -> float:
        """Standard error of the mean (0 for a single run)."""
        return self.sd / math.sqrt(self.n)

    def __str__(self) -> str:
        if self.n == 1:
            return f"{self.mean:.3f} (one run)"
        return f"{self.mean:.3f} ± {self.sd:.3f} ({self.n} seeds)"


def record_runs(key: str, values: Sequence[float]) -> Runs:
    """Record the mean of several runs as ``key`` and their standard deviation as ``key_sd``.

    Example:
        >>> record_runs("demo_acc", [0.7, 0.9]).mean
        0.8
        >>> round(load("demo")["demo_acc_sd"], 4)
        0.1414
    """
    runs = Runs.of(values)
    record(key, runs.mean)
    if runs.n > 1:
        record(f"{key}_sd", runs.sd)
    return runs


def _track() -> str | None:
    return _state["meta"].get("profile")


def smoke_note() -> str:
    """A warning line on the smoke track (tiny data, one epoch), else ``""``.

    Example:
        >>> isinstance(smoke_note(), str)
        True
    """
    if _track() == "smoke":
        return ("(smoke track: tiny data and one epoch, so these numbers are not meaningful; "
                "run the lite or full track for real ones)")
    return ""


def noise_verdict(a: Runs, b: Runs, name_a: str, name_b: str, diffs: Runs | None = None) -> str:
    """One sentence comparing two metrics (higher is better), honest about noise.

    A difference smaller than two standard errors of the difference is called
    noise; with a single run on either side the sentence says so. ``diffs``, the
    per-seed differences ``a_i - b_i`` of a *paired* comparison (both sides ran on
    the same seeds: the same labels, the same initial weights), replaces the two
    sides' spreads with the spread of those differences: what the seed's draw
    does to both sides cancels out.

    Example:
        >>> noise_verdict(Runs.of([.80, .81, .82]), Runs.of([.70, .71, .72]), "A", "B")
        'A is ahead of B by +0.100 (more than two standard errors, 0.016).'
        >>> noise_verdict(Runs.of([.80, .83]), Runs.of([.81, .79]), "A", "B")
        'A vs B: +0.015, within noise (two standard errors: 0.036).'
        >>> noise_verdict(Runs.of([.9630001]), Runs.of([.963]), "A", "B")
        'A and B are level (to three decimals) in one run (no noise estimate).'
        >>> noise_verdict(Runs.of([.71, .81, .61]), Runs.of([.70, .80, .60]), "A", "B", Runs.of([.01, .01, .01]))
        'A is ahead of B by +0.010 (paired by seed: more than two standard errors of the per-seed differences, 0.000).'
    """
    diff = a.mean - b.mean
    if a.n == 1 or b.n == 1 or (diffs is not None and diffs.n == 1):
        if abs(diff) < 5e-4:  # rounds to 0.000: neither ahead nor behind
            return f"{name_a} and {name_b} are level (to three decimals) in one run (no noise estimate)."
        word = "ahead of" if diff > 0 else "behind"
        return f"{name_a} is {word} {name_b} by {diff:+.3f} in one run (no noise estimate)."
    if diffs is not None:
        two_se, within, beyond = (2 * diffs.se, "paired by seed; two standard errors of the per-seed differences: ",
                                  "paired by seed: more than two standard errors of the per-seed differences, ")
    else:
        two_se, within, beyond = (2 * math.sqrt(a.se ** 2 + b.se ** 2), "two standard errors: ",
                                  "more than two standard errors, ")
    if abs(diff) < two_se or diff == 0:
        return f"{name_a} vs {name_b}: {diff:+.3f}, within noise ({within}{two_se:.3f})."
    word = "ahead of" if diff > 0 else "behind"
    return f"{name_a} is {word} {name_b} by {diff:+.3f} ({beyond}{two_se:.3f})."


def compare(key_a: str, values_a: Sequence[float], key_b: str, values_b: Sequence[float],
            name_a: str | None = None, name_b: str | None = None, show: bool = True, paired: bool = False) -> str:
    """Record two multi-seed metrics (mean and ``_sd``) and print both with a noise-aware verdict.

    One call replaces the record-and-f-string bookkeeping of a comparison cell; it
    returns the verdict so prose can reuse it. On the smoke track the verdict says
    the numbers are not meaningful. ``paired=True`` says ``values_a[i]`` and
    ``values_b[i]`` ran on the same seed: the verdict then weighs the per-seed
    differences (see :func:`noise_verdict`), recorded as ``<key_a>_minus_<key_b>`` (and ``_sd``).

    Example:
        >>> v = compare("demo_a", [.80, .81, .82], "demo_b", [.70, .71, .72], show=False)
        >>> v.startswith("demo_a is ahead of demo_b")
        True
        >>> compare("demo_a", [.71, .81, .61], "demo_b", [.70, .80, .60], show=False, paired=True)[:45]
        'demo_a is ahead of demo_b by +0.010 (paired b'
    """
    if paired and len(values_a) != len(values_b):
        raise ValueError(f"paired=True needs one value per seed on both sides; got {len(values_a)} for {key_a!r} "
                         f"and {len(values_b)} for {key_b!r}. Pass the runs seed by seed, or paired=False.")
    a, b = record_runs(key_a, values_a), record_runs(key_b, values_b)
    diffs = record_runs(f"{key_a}_minus_{key_b}", [x - y for x, y in zip(values_a, values_b)]) if paired else None
    name_a, name_b = name_a or key_a, name_b or key_b
    verdict = noise_verdict(a, b, name_a, name_b, diffs)
    if show:
        width = max(len(name_a), len(name_b))
        print(f"{name_a:<{width}}  {a}")
        print(f"{name_b:<{width}}  {b}")
        print(verdict, smoke_note()) if smoke_note() else print(verdict)
    return verdict
