"""Edit notebooks as text: convert between .ipynb and a percent-format .py, both ways.

    python tools/nbpercent.py to-py notebooks/01_feature_extraction.ipynb   # -> /tmp/... or --out
    python tools/nbpercent.py to-ipynb /tmp/01_feature_extraction.py --out notebooks/01_feature_extraction.ipynb

Cell headers: ``# %%`` (code) or ``# %% [markdown]``, optionally followed by the
cell's metadata as JSON, e.g. ``# %% {"tags": ["parameters"]}``. Markdown lines
are stored as comments (``# text``). The .ipynb in notebooks/ is the source of
truth and is written without outputs; the .py is a scratch copy for editing.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import nbformat

HEADER = re.compile(r"^# %%(?P<md> \[markdown\])?(?P<meta> \{.*\})?\s*$")


def py_to_nb(text: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    cells, cur = [], None
    for line in text.splitlines():
        m = HEADER.match(line)
        if m:
            cur = {"md": bool(m.group("md")), "meta": json.loads(m.group("meta")) if m.group("meta") else {},
                   "lines": []}
            cells.append(cur)
        elif cur is not None:
            cur["lines"].append(line)
    for i, c in enumerate(cells):
        lines = c["lines"]
        while lines and not lines[-1].strip():
            lines.pop()
        if c["md"]:
            src = "\n".join(re.sub(r"^# ?", "", l) for l in lines)
            cell = nbformat.v4.new_markdown_cell(src)
        else:
            cell = nbformat.v4.new_code_cell("\n".join(lines))
        cell.metadata.update(c["meta"])
        cell["id"] = f"cell-{i:03d}"  # stable ids keep diffs small
        nb.cells.append(cell)
    return nb


def nb_to_py(nb: nbformat.NotebookNode) -> str:
    out = []
    for cell in nb.cells:
        meta = {k: v for k, v in cell.metadata.items() if k not in ("execution", "collapsed", "scrolled")}
        head = "# %%" + (" [markdown]" if cell.cell_type == "markdown" else "")
        if meta:
            head += " " + json.dumps(meta)
        out.append(head)
        if cell.cell_type == "markdown":
            out += [("# " + l) if l else "#" for l in cell.source.splitlines()]
        else:
            out += cell.source.splitlines()
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("direction", choices=["to-py", "to-ipynb"])
    ap.add_argument("src", type=Path)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args(argv)
    if a.direction == "to-py":
        text = nb_to_py(nbformat.read(a.src, as_version=4))
        (a.out.write_text(text) if a.out else sys.stdout.write(text))
    else:
        nb = py_to_nb(a.src.read_text())
        out = a.out or a.src.with_suffix(".ipynb")
        nbformat.write(nb, out)
        print(f"wrote {out} ({len(nb.cells)} cells)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
