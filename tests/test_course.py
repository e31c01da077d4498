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
    import keras
    assert row["backend"] == keras.backend.backend()  # what the kernel ran on, so backends can be told apart
    assert course.run_meta({"00_good": row}, "smoke")["backend"] == keras.backend.backend()
    assert course.run_meta({"a": {"backend": "jax"}, "b": {"backend": "torch"}}, "smoke")["backend"] == \
        "mixed: jax, torch"
    row = course.run_one(bad, out, {"profile": "smoke", "seed": 0})
    assert row["status"] == "failed" and "boom" in row["error"]
    assert (out / "executed" / "01_bad.ipynb").exists()
    table = course.results_table({"00_good": {"answer": 42, "runtime_s": 1.0, "status": "ok", "backend": "jax"},
                                  "_meta": {"backend": "jax"}})
    assert "| 00_good | ok | 1.0 | answer=42 |" in table and "_meta" not in table


def test_doctor_reports_every_track(capsys):
    code = doctor.main(["--profile", "smoke"])
    out = capsys.readouterr().out
    assert "[full]" in out and "[lite]" in out and "[smoke]" in out
    assert code == (0 if "Track 'smoke' (smoke) can run" in out else 1)


def _tiny_notebook(path, body):
    import nbformat
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("profile = 'auto'\nseed = 0")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


NOISY = ("import os\nos.write(2, b'I0000 cuda_platform.cc:52] FAKE TF C++ LINE\\n')\n"
         "from tl_helpers import results\nresults.start('{name}', None)\n"
         "results.record('answer', 2 * seed + 1)\nresults.record('acc', 0.5 + seed / 10)\n"
         "print('cell output')\n{extra}")


def test_quiet_run_with_seeds_logs_stderr_and_aggregates(tmp_path, monkeypatch, capfd):
    nb = _tiny_notebook(tmp_path / "97_noisy.ipynb", NOISY.format(name="97_noisy", extra=""))
    monkeypatch.setattr(course, "notebooks", lambda only=None: [nb])
    for var in ("TL_RESULTS_DIR", "TL_NOTEBOOK", "TL_SEED"):
        monkeypatch.setenv(var, "")
    out = tmp_path / "run"
    assert course.main(["run", "--profile", "smoke", "--seeds", "0", "1", "--out", str(out)]) == 0
    shown = capfd.readouterr()
    assert "FAKE TF C++ LINE" not in shown.out + shown.err and "cell output" not in shown.out
    progress = [l for l in shown.out.splitlines() if "97_noisy" in l and "▶" in l]
    assert len(progress) == 2 and all("✓" in l for l in progress)  # one line per notebook and seed
    for seed in (0, 1):
        assert "FAKE TF C++ LINE" in (out / f"seed_{seed}" / "logs" / "97_noisy.log").read_text()
        seed_row = json.loads((out / f"seed_{seed}" / "results.json").read_text())["97_noisy"]
        assert seed_row["answer"] == 2 * seed + 1
    row = json.loads((out / "results.json").read_text())["97_noisy"]
    assert row["answer"] == 2 and abs(row["answer±"] - 1.41421) < 1e-4 and row["seeds"] == [0, 1]
    assert abs(row["acc"] - 0.55) < 1e-9 and row["status"] == "ok"
    assert "answer=2.000 ± 1.414" in shown.out and "ok (2 seeds)" in shown.out


def test_failure_shows_the_log_tail_and_verbose_shows_everything(tmp_path, monkeypatch, capfd):
    nb = _tiny_notebook(tmp_path / "96_bad.ipynb",
                        NOISY.format(name="96_bad", extra="raise RuntimeError('boom')"))
    monkeypatch.setattr(course, "notebooks", lambda only=None: [nb])
    for var in ("TL_RESULTS_DIR", "TL_NOTEBOOK", "TL_SEED"):
        monkeypatch.setenv(var, "")
    assert course.main(["run", "--profile", "smoke", "--out", str(tmp_path / "q")]) == 1
    shown = capfd.readouterr().out
    assert "boom" in shown and "FAKE TF C++ LINE" in shown and "96_bad.log" in shown  # the tail, on failure
    assert course.main(["run", "--profile", "smoke", "--verbose", "--out", str(tmp_path / "v")]) == 1
    shown = capfd.readouterr()
    assert "FAKE TF C++ LINE" in shown.err and not (tmp_path / "v" / "logs").exists()


def test_results_to_readme_renders_mean_and_sd(tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location("r2r", course.NOTEBOOK_DIR.parent / "tools" / "results_to_readme.py")
    r2r = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(r2r)
    row = course.aggregate({s: {"acc": 0.8 + s / 100, "runtime_s": 10.0 + s, "status": "ok"} for s in (0, 1, 2)})
    (tmp_path / "results.json").write_text(json.dumps({"01_x": row}))
    readme = tmp_path / "README.md"
    readme.write_text("# T\n<!-- results:start -->\nold\n<!-- results:end -->\ntail\n")
    r2r.main(str(tmp_path / "results.json"), str(readme))
    text = readme.read_text()
    assert "old" not in text and text.endswith("<!-- results:end -->\ntail\n")
    assert "| 01_x | ok (3 seeds) | 11.0 ± 1.0 | acc=0.810 ± 0.010 |" in text


def test_results_to_readme_per_backend_table(tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location("r2r", course.NOTEBOOK_DIR.parent / "tools" / "results_to_readme.py")
    r2r = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(r2r)
    paths = []
    for backend, acc, t in (("torch", 0.70, 900.0), ("jax", 0.75, 600.0)):
        results = {"01_feature_extraction": {"fe_acc@20": acc, "runtime_s": t, "status": "ok", "backend": backend},
                   "05_pitfalls": {"shortcut_acc_watermarked": 0.9, "shortcut_acc_clean": 0.1, "runtime_s": 1.0},
                   "07_scaling_out": {"dp_loss_diff": 5.5e-05 if backend == "jax" else 0.0, "resume_matches": 1}}
        results["_meta"] = course.run_meta(results, "lite")
        (tmp_path / backend).mkdir()
        (tmp_path / backend / "results.json").write_text(json.dumps(results))
        paths.append(str(tmp_path / backend / "results.json"))
    readme = tmp_path / "README.md"
    readme.write_text("# T\n<!-- backends:start -->\nold\n<!-- backends:end -->\ntail\n")
    r2r.main_backends(paths, str(readme))
    lines = readme.read_text().splitlines()
    assert lines[2] == "| lite track, seed 0 | JAX | PyTorch |"  # fixed order, whatever the arguments' order
    assert "| 01 feature extraction @20/class | 0.750 | 0.700 |" in lines
    assert "| 05 shortcut: stamped minus clean accuracy | 0.800 | 0.800 |" in lines
    assert "| 07 1 vs N devices: largest loss difference, all epochs | 5.5e-05 | 0.000 |" in lines
    assert "| 07 killed and resumed run matches | 1 | 1 |" in lines
    assert "| lite course time (notebooks, s) | 601 | 901 |" in lines and lines[-1] == "tail"
    with pytest.raises(SystemExit, match="two result files for the jax backend"):
        r2r.main_backends([paths[1], paths[1]])
