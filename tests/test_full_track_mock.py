"""The full track's code path (TFDS datasets, MobileNetV2 at 160 px) executed offline.

Every notebook runs on profile "full" under ``TL_MOCK_DATA``: TFDS is replaced by
``tfds.testing.mock_data`` (random images and labels), backbones get random
weights and sizes shrink to the smoke track's. The numbers mean nothing; the
point is that the full track's code cannot rot unseen.
"""

import pytest

from tl_helpers import course


@pytest.mark.parametrize("nb", course.notebooks(), ids=lambda p: p.stem)
def test_notebook_runs_on_full_track_with_mock_data(nb, tmp_path):
    row = course.run_one(nb, tmp_path, {"profile": "full", "seed": 0}, timeout=600,
                         env={"TL_MOCK_DATA": "64", "TL_PROFILE": "full"})
    assert row["status"] == "ok", row.get("error")
    assert len(row) > 2, "the notebook recorded no numbers"
