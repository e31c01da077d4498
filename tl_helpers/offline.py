"""Failing fast, and helpfully, when a dataset or weights file cannot be had.

TFDS left alone retries a dead network for minutes; Keras raises a bare
"URL fetch failure". We check reachability once (a few seconds at most) and
raise :class:`MissingResourceError` naming what is missing, where we looked,
and how to fix it.

Example:
    >>> isinstance(online("localhost", port=9, timeout=0.2), bool)
    True
"""

from __future__ import annotations

import os
import socket
import time

#: the hosts Keras weights and TFDS data come from.
WEIGHTS_HOST = "storage.googleapis.com"
_cache: dict[tuple[str, int], tuple[float, bool]] = {}


class MissingResourceError(RuntimeError):
    """A dataset or weights file is absent and cannot be downloaded now.

    Example:
        >>> str(MissingResourceError("x.h5", ["/a"], ["set KERAS_HOME"])).splitlines()[0]
        'Missing: x.h5'
    """

    def __init__(self, what: str, looked_in: list[str], fixes: list[str], cause: str = ""):
        self.what, self.looked_in, self.fixes = what, looked_in, fixes
        lines = [f"Missing: {what}"]
        if cause:
            lines.append(f"Why: {cause}")
        if looked_in:
            lines.append("Looked in: " + ", ".join(str(p) for p in looked_in))
        lines.append("Fix (any one):")
        lines += [f"  - {fix}" for fix in fixes]
        super().__init__("\n".join(lines))


def online(host: str = WEIGHTS_HOST, port: int = 443, timeout: float = 3.0) -> bool:
    """True when a TCP connection to ``host:port`` opens within ``timeout`` seconds.

    ``TL_OFFLINE=1`` forces False (to rehearse the offline path). The answer is
    cached for a minute so repeated loads do not pay the timeout again.

    Example:
        >>> os.environ["TL_OFFLINE"] = "1"; online()
        False
        >>> del os.environ["TL_OFFLINE"]
    """
    if os.environ.get("TL_OFFLINE", "") not in ("", "0"):
        return False
    key = (host, port)
    now = time.monotonic()
    if key in _cache and now - _cache[key][0] < 60:
        return _cache[key][1]
    try:
        with socket.create_connection((host, port), timeout=timeout):
            ok = True
    except OSError:
        ok = False
    _cache[key] = (now, ok)
    return ok


LITE_FIX = ("switch to the offline lite track: profile = \"lite\" in the parameters cell, "
            "or TL_PROFILE=lite, or `python -m tl_helpers.course run --profile lite`")
