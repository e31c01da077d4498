"""Every notebook has the course's shape (read, not executed: milliseconds per notebook).

Stored without outputs; a Colab badge with its own file name and the Colab-only
install cell pinned to this version; a ``parameters`` cell; ``config.setup(...,
notebook="<stem>")``; the standard sections in order.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

from tl_helpers import course, home

COURSE = ["00", "01", "02", "03", "04", "05", "06", "07"]
REPO = home.REPO  # the course home; tests/test_home.py checks every link and install cell against it
SECTIONS = ["## Learning objectives", "## Summary", "## Exercises", "## Further reading"]


def badge(name: str) -> str:
    """The start of the notebook's Colab badge (repository and ref: tests/test_home.py)."""
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/github/{REPO}/blob/")


def numbers() -> list[str]:
    return sorted(set(COURSE) | {p.stem[:2] for p in course.notebooks()})


@pytest.fixture(params=numbers())
def notebook(request):
    found = [p for p in course.notebooks() if p.stem.startswith(request.param + "_")]
    if not found:
        pytest.skip(f"notebook {request.param}_*.ipynb is not written yet")
    assert len(found) == 1, f"two notebooks numbered {request.param}: {[p.name for p in found]}"
    return found[0], nbformat.read(found[0], as_version=4)


def test_valid_and_stored_without_outputs(notebook):
    path, nb = notebook
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", f"{path.name}: kernelspec python3 missing"
    ran = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not ran, f"{path.name}: cells {ran} have outputs; store notebooks cleared (clear outputs before committing)"


def test_title_badge_and_install_cell(notebook):
    path, nb = notebook
    first = nb.cells[0]
    assert first.cell_type == "markdown" and re.match(rf"# {path.stem[:2]} · \S", first.source), \
        f"{path.name}: the first cell must start with '# {path.stem[:2]} · Title'"
    assert badge(path.name) in first.source and f"/notebooks/{path.name})" in first.source, \
        f"{path.name}: the first cell needs the Colab badge for {path.name}"
    assert nb.cells[1].cell_type == "code" and home.is_install_cell(nb.cells[1].source), \
        f"{path.name}: the second cell must be the install cell (python3 -m tl_helpers.course retarget writes it)"


def test_parameters_cell_and_setup(notebook):
    path, nb = notebook
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: needs exactly one cell tagged 'parameters', found {len(tagged)}"
    assigned = {t.id: n.value for n in ast.parse(nb.cells[tagged[0]].source).body
                if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    assert isinstance(assigned.get("profile"), ast.Constant) and assigned["profile"].value == "auto", \
        f"{path.name}: the parameters cell must set profile = \"auto\""
    assert isinstance(assigned.get("seed"), ast.Constant) and isinstance(assigned["seed"].value, int), \
        f"{path.name}: the parameters cell must set seed = <int>"
    setup = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and re.search(
        rf"config\.setup\([^)]*notebook\s*=\s*[\"']{re.escape(path.stem)}[\"']", c.source)]
    assert setup, f'{path.name}: call config.setup(profile, seed, notebook="{path.stem}")'
    assert setup[0] > tagged[0], f"{path.name}: config.setup must come after the parameters cell"


def test_sections_in_order(notebook):
    path, nb = notebook
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    where = [m.start() if (m := re.search(rf"^{re.escape(s)}\s*$", text, re.M)) else -1 for s in SECTIONS]
    missing = [s for s, w in zip(SECTIONS, where) if w < 0]
    assert not missing, f"{path.name}: missing {missing}"
    assert where == sorted(where), f"{path.name}: sections must come in the order {SECTIONS}"
    reading = text[where[-1]:]
    assert re.search(r"^\s*[-*\d]", reading, re.M), f"{path.name}: '## Further reading' needs references (a list)"


def test_readme_links_every_notebook_to_colab(notebook):
    path, _ = notebook
    readme = course.NOTEBOOK_DIR.parent / "README.md"
    if not readme.exists():
        pytest.skip("README.md is not written yet")
    url = home.colab_url(path.name)  # the ref is checked by tests/test_home.py
    assert any(link.kind == "colab" and link.path == f"notebooks/{path.name}"
               for link in home.find_links(readme.read_text(encoding="utf-8"))), \
        f"README.md: add an 'Open in Colab' badge linking {url}"


MAX_CELL_LINES = 25


def _fit_calls(src: str):
    """The argument text of every ``.fit(`` call in ``src`` (balanced parentheses)."""
    for m in re.finditer(r"\.fit\(", src):
        depth, j = 1, m.end()
        while j < len(src) and depth:
            depth += {"(": 1, ")": -1}.get(src[j], 0)
            j += 1
        yield src[m.end():j - 1]


def test_code_cells_are_short(notebook):
    """A learner can follow and copy: no code cell over 25 lines, blank lines included (most under 10)."""
    path, nb = notebook
    long = [(i, n) for i, c in enumerate(nb.cells) if c.cell_type == "code"
            and (n := len(c.source.splitlines())) > MAX_CELL_LINES]
    assert not long, f"{path.name}: code cells over {MAX_CELL_LINES} lines (cell index, lines): {long}"


def test_no_silent_fit(notebook):
    """Progress you can see: a ``fit`` with ``verbose=0`` passes a callback that prints (e.g. EpochLine),
    or sits in a cell that prints a line per run (short fits in a loop)."""
    path, nb = notebook
    silent = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
              for args in _fit_calls(c.source)
              if re.search(r"verbose\s*=\s*0\b", args) and "callbacks" not in args
              and not re.search(r"\bprint\(|\.compare\(", c.source)]
    assert not silent, f"{path.name}: cells {silent} call fit(..., verbose=0) without a progress callback"


def test_fit_call_parser_rejects_silence():
    """The checker above can fail: it finds a silent fit and accepts one with a callback."""
    assert [a for a in _fit_calls("m.fit(x, y, verbose=0)")] == ["x, y, verbose=0"]
    assert "callbacks" in next(_fit_calls("m.fit(f(x), verbose=0, callbacks=[EpochLine()])"))


def _tool(name):
    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "tools" / f"{name}.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def _defined_names(sources):
    """Every name a list of cell sources assigns or defines."""
    names = set()
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return names


def test_scratch_lr_sweep_runs_notebook_01s_cells():
    """tools/sweep_scratch_lr.py runs notebook 01's cells by id (so it trains the notebook's own model);
    they must still define what the tool reads, or it fails here rather than mid-sweep."""
    sweep = _tool("sweep_scratch_lr")
    missing = [n for n in sweep.NEEDED if n not in _defined_names(sweep.cell_sources(sweep.SETUP_CELLS))]
    missing += [n for n in sweep.NEEDED_BY_SCRATCH_CELL
                if n not in _defined_names(sweep.cell_sources([sweep.SCRATCH_CELL]))]
    assert not missing, f"notebook 01's cells no longer define {missing}: update tools/sweep_scratch_lr.py"
    # the tool sets the global `scratch_lr` per rate: scratch_network() must read it when called
    [fn] = [node for source in sweep.cell_sources(sweep.SETUP_CELLS) for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.FunctionDef) and node.name == "scratch_network"]
    assert any(isinstance(n, ast.Name) and n.id == "scratch_lr" for n in ast.walk(fn)), \
        "scratch_network() no longer reads the global scratch_lr: update tools/sweep_scratch_lr.py"


def test_validate_04_tasks_runs_notebook_04s_setup_cells():
    """tools/validate_04_tasks.py runs notebook 04's setup cells by id; they must still define what it uses."""
    tool = _tool("validate_04_tasks")
    missing = [name for name in tool.NEEDED if name not in _defined_names(tool.setup_sources())]
    assert not missing, f"notebook 04's cells {tool.SETUP_CELLS} no longer define {missing}: update the tool"
