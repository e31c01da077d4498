"""The full track's code path (TFDS datasets, MobileNetV2) executed offline.

Every notebook runs on profile "full" under ``TL_MOCK_DATA``: TFDS is replaced by
``tfds.testing.mock_data`` (random images and labels), backbones get random
weights, sizes shrink to the smoke track's and images to 96 px (``config.MOCK_IMAGE_SIZE``). The numbers mean nothing; the
point is that the full track's code cannot rot unseen.
"""

import pytest

from tl_helpers import course


KNOWN_FAILURES = {  # issue 15, open: say why here, fix, then delete the entry
    "07_scaling_out": "MirroredStrategy on TF fails on the mock data's tiny, unevenly split batches "
                      "(AddN shape mismatch [7,...] vs [6,...]); trimming to multiples of N leaves an empty test set",
}


@pytest.mark.parametrize("nb", [pytest.param(p, marks=pytest.mark.xfail(reason=KNOWN_FAILURES[p.stem], strict=False))
                                if p.stem in KNOWN_FAILURES else p for p in course.notebooks()],
                         ids=lambda p: p.stem)
def test_notebook_runs_on_full_track_with_mock_data(nb, tmp_path):
    row = course.run_one(nb, tmp_path, {"profile": "full", "seed": 0}, timeout=600,
                         env={"TL_MOCK_DATA": "64", "TL_PROFILE": "full"})
    assert row["status"] == "ok", row.get("error")
    assert len(row) > 2, "the notebook recorded no numbers"
