"""Where the course writes: caches, run records and data, never inside an installed package.

* :func:`cache_dir` - ``$TL_CACHE_DIR``, else the per-user cache folder
  (``$XDG_CACHE_HOME/tl-course``, ``~/.cache/tl-course``; ``~/Library/Caches/tl-course``
  on macOS; ``%LOCALAPPDATA%\\tl-course`` on Windows). Features, activations and run
  records (``results/``) go here.
* :func:`data_dir` - ``$TL_DATA_DIR``, else ``data/`` in the working folder: optional
  local datasets and the demo image folders.

Example:
    >>> import os, tempfile
    >>> os.environ["TL_CACHE_DIR"] = tempfile.mkdtemp()
    >>> cache_dir("features").name
    'features'
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def user_cache_root() -> Path:
    """The platform's per-user cache folder for the course (``tl-course``).

    Example:
        >>> user_cache_root().name
        'tl-course'
    """
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    elif os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "tl-course"


def cache_dir(*parts: str) -> Path:
    """The course's cache folder (created), or a sub-folder of it.

    ``$TL_CACHE_DIR`` wins; otherwise the per-user cache folder, so nothing is ever
    written into the checkout or into ``site-packages``.

    Example:
        >>> cache_dir().is_dir()
        True
    """
    root = Path(os.environ.get("TL_CACHE_DIR") or user_cache_root()).expanduser()
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir(*parts: str) -> Path:
    """``$TL_DATA_DIR`` or ``./data`` (the working folder's), optionally a sub-folder; not created.

    Example:
        >>> data_dir("demo").name
        'demo'
    """
    root = Path(os.environ.get("TL_DATA_DIR") or Path.cwd() / "data").expanduser()
    return root.joinpath(*parts)
