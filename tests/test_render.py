"""The rendered course: a page per executed notebook, a shared stylesheet, an index with the numbers."""

from __future__ import annotations

import base64
import json

import nbformat
import pytest

from tl_helpers import course
from tl_helpers.render import index_page, notebook_title, render_course

# a 1x1 PNG
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc00000030101005a4d1ab00000000049454e44ae426082")).decode()


def executed_nb(title: str, printed: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("print('x')")
    cell.outputs = [nbformat.v4.new_output("stream", text=printed),
                    nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {title}\nIntro."), cell])
    nb.metadata["papermill"] = {"parameters": {"profile": "smoke", "seed": 0}}
    return nb


@pytest.fixture()
def executed(tmp_path):
    folder = tmp_path / "executed"
    folder.mkdir()
    nbformat.write(executed_nb("00 · Setup", "hello from 00\n"), folder / "00_setup.ipynb")
    nbformat.write(executed_nb("01 · Features", "acc 0.75\n"), folder / "01_features.ipynb")
    return folder


def test_pages_index_and_shared_css(executed, tmp_path):
    results = {"00_setup": {"top1": 0.123456, "runtime_s": 4.2, "status": "ok"},
               "01_features": {"fe_acc": 0.75, "runtime_s": 10.0, "status": "failed",
                               "error": "ValueError: <bad> shape"},
               "02_missing": {"runtime_s": 0.1, "status": "failed", "error": "NoSuchKernel"}}
    index = render_course(executed, results, tmp_path / "html")
    out = index.parent
    assert sorted(p.name for p in out.iterdir()) == ["00_setup.html", "01_features.html", "course.css", "index.html"]
    page = (out / "00_setup.html").read_text()
    assert "hello from 00" in page and f"data:image/png;base64,{PNG[:20]}" in page
    assert '<a href="index.html">' in page and "<title>00 · Setup</title>" in page
    assert '<link rel="stylesheet" href="course.css"/>' in page
    assert "<style" not in page.split("</head>")[0]  # the template's CSS lives once, in course.css
    assert ".jp-" in (out / "course.css").read_text()
    html = index.read_text()
    assert '<a href="00_setup.html">00 · Setup</a>' in html and '<a href="01_features.html">01 · Features</a>' in html
    assert "0.1235" in html and "fe_acc" in html and "4.2" in html
    assert "ValueError: &lt;bad&gt; shape" in html  # escaped, not injected
    assert "02_missing (not executed)" in html and 'href="02_missing.html"' not in html
    assert "profile=smoke, seed=0" in html
    assert html.index("00_setup") < html.index("01_features") < html.index("02_missing")


def test_executed_notebooks_missing_from_results_still_get_a_page(executed, tmp_path):
    index = render_course(executed, {"01_features": {"runtime_s": 1.0, "status": "ok"}}, tmp_path / "h")
    assert (index.parent / "00_setup.html").exists()
    assert index.read_text().count("<tr><td>") == 2
    assert 'class="unknown">?<' in index.read_text()  # no status recorded: neither ok nor failed


def test_missing_executed_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="course run"):
        render_course(tmp_path / "nope", {}, tmp_path / "html")


def test_title_and_index_helpers():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("# not a heading"),
                                         nbformat.v4.new_markdown_cell("text\n\n## Section")])
    assert notebook_title(nb, "fallback") == "fallback"
    page = index_page([], "not recorded")
    assert page.startswith("<!DOCTYPE html>") and "<tbody></tbody>" in page


def test_course_run_html_end_to_end(tmp_path, monkeypatch):
    """`course run --html DIR`: papermill executes, records land in the index, the page shows outputs."""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 98 · Tiny"),
        nbformat.v4.new_code_cell('profile = "auto"\nseed = 0', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("from tl_helpers import results\nresults.start('98_tiny', None)\n"
                                  "print('tiny says', results.record('answer', 42))")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src = tmp_path / "98_tiny.ipynb"
    nbformat.write(nb, src)
    monkeypatch.setattr(course, "notebooks", lambda only=None: [src])
    monkeypatch.setenv("TL_PROFILE", "smoke")
    monkeypatch.setenv("TL_RESULTS_DIR", str(tmp_path / "res"))
    monkeypatch.setenv("TL_NOTEBOOK", "")  # the runner sets these for its kernels; restore them afterwards
    monkeypatch.setenv("TL_SEED", "")
    rc = course.main(["run", "--profile", "smoke", "--out", str(tmp_path / "run"), "--html", str(tmp_path / "html")])
    assert rc == 0
    assert json.loads((tmp_path / "run" / "results.json").read_text())["98_tiny"]["answer"] == 42
    html = (tmp_path / "html" / "index.html").read_text()
    assert '<a href="98_tiny.html">98 · Tiny</a>' in html and "answer</code> = 42" in html
    assert "profile=smoke, seed=0" in html
    assert "tiny says 42" in (tmp_path / "html" / "98_tiny.html").read_text()
