"""Instant checks for the exercises: a clear pass, or a hint and an exception.

Each notebook's exercise is an nbgrader solution cell followed by a check cell
that calls ``tl_helpers.checks.<name>(...)``. A right answer prints a pass; a
wrong one raises :class:`CheckFailed` with a hint (never the answer), so a
grader sees the failure. The checks of each notebook live in ``checks/nbNN.py``
and are gathered here, each wrapped in :func:`quiet`: nbgrader gives 0 points to a
graded cell that writes anything to stderr, so a check's library noise (TensorFlow's
"retracing" warnings, Keras ``UserWarning`` s, C++ log lines) is dropped, while its
``✅`` line (stdout) and its :class:`CheckFailed` still come through.

Example:
    >>> expect(1 + 1 == 2, hint="add again", success="1 + 1 is 2")
    ✅ Correct: 1 + 1 is 2
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import logging
import os
import pkgutil
import sys
import tempfile
import warnings
from typing import Any, Callable, Iterator


class CheckFailed(AssertionError):
    """A wrong (or missing) exercise answer; the message is a hint.

    Example:
        >>> str(CheckFailed("try again"))
        'try again'
    """


def expect(condition: bool, hint: str, success: str = "") -> None:
    """Print a pass when ``condition`` holds, else raise :class:`CheckFailed` with ``hint``.

    Example:
        >>> try:
        ...     expect(False, hint="look at trainable_weights")
        ... except CheckFailed as e:
        ...     print(e)
        ❌ Not yet: look at trainable_weights
    """
    if not condition:
        raise CheckFailed(f"❌ Not yet: {hint}")
    print(f"✅ Correct{': ' + success if success else '!'}")


def answered(value: Any, name: str = "your answer") -> Any:
    """Raise a friendly :class:`CheckFailed` when an exercise was left as a stub.

    Example:
        >>> answered(3)
        3
    """
    if value is None or value is Ellipsis:
        raise CheckFailed(f"❌ Not yet: {name} is still empty - fill in the exercise cell above and run it.")
    return value


@contextlib.contextmanager
def _fd_to_sink(fd: int) -> Iterator[None]:
    """Point the OS-level file descriptor ``fd`` at a throw-away file (C/C++ log lines), then back."""
    try:
        saved = os.dup(fd)
    except OSError:  # no real descriptor (an embedded interpreter): nothing to redirect
        yield
        return
    with tempfile.TemporaryFile() as sink:
        try:
            os.dup2(sink.fileno(), fd)
            yield
        finally:
            os.dup2(saved, fd)
            os.close(saved)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Drop Python warnings, log records and stderr output (Python and C level) inside the block.

    Exceptions pass through untouched; stdout is kept.

    Example:
        >>> import warnings
        >>> with quiet():
        ...     warnings.warn("retracing")
        ...     print("kept")
        kept
    """
    previous_disable = logging.root.manager.disable
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.CRITICAL)
        try:
            with contextlib.redirect_stderr(io.StringIO()), _fd_to_sink(2):
                yield
        finally:
            logging.disable(previous_disable)
            with contextlib.suppress(Exception):
                sys.stderr.flush()


def silenced(check: Callable[..., Any]) -> Callable[..., Any]:
    """``check`` run inside :func:`quiet` (what every gathered check is).

    Example:
        >>> import warnings
        >>> silenced(lambda: warnings.warn("noise") or print("✅ Correct!"))()
        ✅ Correct!
    """
    @functools.wraps(check)
    def run_quietly(*args: Any, **kwargs: Any) -> Any:
        with quiet():
            return check(*args, **kwargs)

    return run_quietly


# Gather every notebook's checks (checks/nb01.py, ...) into this namespace, each silenced.
for _info in pkgutil.iter_modules(__path__):
    _mod = importlib.import_module(f"{__name__}.{_info.name}")
    for _name in getattr(_mod, "__all__", []):
        _obj = getattr(_mod, _name)
        globals()[_name] = silenced(_obj) if callable(_obj) and not isinstance(_obj, type) else _obj
