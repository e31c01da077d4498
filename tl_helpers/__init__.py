"""tl_helpers: the chores behind the transfer-learning course notebooks.

Loading, caching, splitting, plotting and checking live here; the lessons
themselves (freezing a base, ``training=False``, a gradient reversal layer,
loss weights) stay visible in the notebooks.

Example:
    >>> from tl_helpers import config
    >>> P = config.setup(profile="smoke", seed=0, notebook="00_setup")  # doctest: +SKIP
"""

from __future__ import annotations

import os

# Quieten TensorFlow's C++ start-up chatter before anything imports it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
