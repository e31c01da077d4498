"""Instant checks for the exercises: a clear pass, or a hint and an exception.

Each notebook's exercise is an nbgrader solution cell followed by a check cell
that calls ``tl_helpers.checks.<name>(...)``. A right answer prints a pass; a
wrong one raises :class:`CheckFailed` with a hint (never the answer), so a
grader sees the failure. The checks of each notebook live in ``checks/nbNN.py``
and are gathered here.

Example:
    >>> expect(1 + 1 == 2, hint="add again", success="1 + 1 is 2")
    ✅ Correct: 1 + 1 is 2
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any


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


# Gather every notebook's checks (checks/nb01.py, ...) into this namespace.
for _info in pkgutil.iter_modules(__path__):
    _mod = importlib.import_module(f"{__name__}.{_info.name}")
    for _name in getattr(_mod, "__all__", []):
        globals()[_name] = getattr(_mod, _name)
