import json
import sys

import pytest

from tl_helpers import course, doctor


def test_notebook_selection():
    names = [p.stem for p in course.notebooks()]
    assert names[0] == "00_setup" and names == sorted(names)
    assert [p.stem for p in course.notebooks(["00"])] == ["00_setup"]
    with pytest.raises(SystemExit, match="Unknown notebook"):
        course.notebooks(["99_nothing"])


def test_parse_param():
    assert course.parse_param("epochs=3") == ("epochs", 3)
    assert course.parse_param("image_dir=/x/y") == ("image_dir", "/x/y")
    assert course.parse_param("flag=None") == ("flag", None)
    with pytest.raises(SystemExit, match="key=value"):
        course.parse_param("oops")


def test_run_records_results_and_reports_failures(tmp_path, capsys):
    good = tmp_path / "nb" / "00_good.ipynb"
    good.parent.mkdir()
    bad = tmp_path / "nb" / "01_bad.ipynb"
    import nbformat
    for path, body in ((good, "from tl_helpers import results, config\n"
                               "config.setup(profile, seed, notebook='00_good', verbose=False)\n"
                               "results.record('answer', extra * 2)"),
                       (bad, "raise RuntimeError('boom')")):
        nb = nbformat.v4.new_notebook()
        params = nbformat.v4.new_code_cell("profile = 'auto'\nseed = 0\nextra = 1")
        params.metadata["tags"] = ["parameters"]
        nb.cells = [params, nbformat.v4.new_code_cell(body)]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, path)
    out = tmp_path / "out"
    row = course.run_one(good, out, {"profile": "smoke", "seed": 0, "extra": 21})
    assert row["status"] == "ok" and row["answer"] == 42 and row["runtime_s"] > 0
    row = course.run_one(bad, out, {"profile": "smoke", "seed": 0})
    assert row["status"] == "failed" and "boom" in row["error"]
    assert (out / "executed" / "01_bad.ipynb").exists()
    table = course.results_table({"00_good": {"answer": 42, "runtime_s": 1.0, "status": "ok"}})
    assert "| 00_good | ok | 1.0 | answer=42 |" in table


def test_doctor_reports_every_track(capsys):
    code = doctor.main(["--profile", "smoke"])
    out = capsys.readouterr().out
    assert "[full]" in out and "[lite]" in out and "[smoke]" in out
    assert code == (0 if "Track 'smoke' (smoke) can run" in out else 1)
