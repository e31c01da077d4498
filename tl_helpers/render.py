"""The rendered course: one HTML page per executed notebook plus an index with the results table.

``python -m tl_helpers.course run --html DIR`` calls :func:`render_course`, so an
instructor can preview a whole term's material, outputs and numbers included,
in a browser without Jupyter. Pages use nbconvert's ``lab`` template with
images embedded; the template's stylesheet, identical on every page, is
written once to ``course.css`` instead of into each page.

Example:
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp())
    >>> nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 00 · Setup")]),
    ...                out / "00_setup.ipynb")
    >>> index = render_course(out, {"00_setup": {"acc": 0.5, "runtime_s": 3.0, "status": "ok"}}, out / "html")
    >>> sorted(p.name for p in index.parent.iterdir())
    ['00_setup.html', 'course.css', 'index.html']
"""

from __future__ import annotations

import datetime as _dt
import html
import re
from pathlib import Path
from typing import Any

import nbformat

from .home import notebook_dir

_STYLE = re.compile(r"<style[^>]*>.*?</style>\s*", re.S)
_INDEX_CSS = """body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:.35rem .6rem;text-align:left;
vertical-align:top}th{background:#f3f3f3}td.num{text-align:right}.failed{color:#b00020;font-weight:bold}
.ok{color:#1b7f3b}code{font-size:.9em}ul{margin:0;padding-left:1.1rem}"""
_NAV = ('<nav style="font-family:system-ui,sans-serif;padding:.5rem 1rem;border-bottom:1px solid #ddd">'
        '<a href="index.html">&larr; Course index</a> &middot; {title}</nav>')


def notebook_title(nb: nbformat.NotebookNode, default: str) -> str:
    """The notebook's first ``# heading`` (or ``default``).

    Example:
        >>> notebook_title(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 01 · Features\\nx")]), "?")
        '01 · Features'
    """
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, re.M)
            if m:
                return m.group(1).strip()
    return default


def render_notebook(nb_path: Path, out_path: Path, source_dir: Path | None = None) -> str:
    """Write ``nb_path`` as one HTML page (lab template, images embedded) with a link back to the index.

    ``source_dir`` is where relative image links in markdown are looked up
    (the executed copies live elsewhere than the originals). Returns the title.

    Example:
        >>> render_notebook  # doctest: +ELLIPSIS
        <function render_notebook at ...>
    """
    from nbconvert import HTMLExporter

    nb = nbformat.read(nb_path, as_version=4)
    title = notebook_title(nb, nb_path.stem)
    exporter = HTMLExporter(template_name="lab", embed_images=True)
    page, _ = exporter.from_notebook_node(
        nb, resources={"metadata": {"name": title, "path": str(source_dir or nb_path.parent)}})
    page = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + _NAV.format(title=html.escape(title)), page, count=1)
    out_path.write_text(page, encoding="utf-8")
    return title


def _share_css(pages: list[Path], out_dir: Path) -> None:
    """Move the <style> blocks every page shares into one ``course.css`` linked from each page."""
    texts = [p.read_text(encoding="utf-8") for p in pages]
    heads = [_STYLE.findall(t.split("</head>", 1)[0]) for t in texts]
    common = [b for b in heads[0] if all(b in h for h in heads[1:])]
    if not common:
        return
    css = "\n".join(re.sub(r"^<style[^>]*>|</style>\s*$", "", b.strip()) for b in common)
    (out_dir / "course.css").write_text(css, encoding="utf-8")
    for path, text in zip(pages, texts):
        head, body = text.split("</head>", 1)
        head = head.replace(common[0], '<link rel="stylesheet" href="course.css"/>\n', 1)
        for block in common[1:]:
            head = head.replace(block, "", 1)
        path.write_text(head + "</head>" + body, encoding="utf-8")


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _run_info(nb_paths: list[Path]) -> str:
    """'profile=..., seed=...' from papermill's record of the injected parameters."""
    seen = []
    for p in nb_paths:
        params = nbformat.read(p, as_version=4).metadata.get("papermill", {}).get("parameters", {})
        text = ", ".join(f"{k}={v}" for k, v in params.items())
        if text and text not in seen:
            seen.append(text)
    return "; ".join(seen) or "not recorded"


def index_page(rows: list[dict[str, Any]], run_info: str) -> str:
    """The index page's HTML: one table row per notebook (link, status, runtime, recorded numbers).

    Example:
        >>> page = index_page([{"name": "00_setup", "title": "00 · Setup", "href": "00_setup.html",
        ...                     "result": {"top5": 1, "runtime_s": 2.5, "status": "ok"}}], "profile=smoke")
        >>> '<a href="00_setup.html">00 · Setup</a>' in page and "top5" in page
        True
    """
    body = []
    total = 0.0
    for row in rows:
        res = row["result"]
        total += float(res.get("runtime_s") or 0)
        link = (f'<a href="{html.escape(row["href"])}">{html.escape(row["title"])}</a>' if row["href"]
                else html.escape(row["title"]) + " (not executed)")
        status = str(res.get("status", "?"))
        css = {"ok": "ok", "failed": "failed"}.get(status, "unknown")
        status_html = f'<span class="{css}">{html.escape(status)}</span>'
        if res.get("error"):
            status_html += f"<br><code>{html.escape(str(res['error']))}</code>"
        nums = [f"<li><code>{html.escape(k)}</code> = {html.escape(_fmt(v))}</li>" for k, v in res.items()
                if k not in ("runtime_s", "status", "error")]
        body.append(f"<tr><td>{link}<br><small>{html.escape(row['name'])}</small></td><td>{status_html}</td>"
                    f"<td class=\"num\">{html.escape(_fmt(res.get('runtime_s', '')))}</td>"
                    f"<td><ul>{''.join(nums)}</ul></td></tr>")
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"/>'
            f"<title>Transfer learning with Keras 3: rendered course</title><style>{_INDEX_CSS}</style></head>"
            f"<body><h1>Transfer learning with Keras 3: rendered course</h1>"
            f"<p>Run parameters: <code>{html.escape(run_info)}</code> &middot; rendered {stamp} &middot; "
            f"total runtime {total:.0f} s. Every number below was measured by this run; other tracks "
            f"and seeds give other numbers.</p>"
            f"<table><thead><tr><th>notebook</th><th>status</th><th>runtime (s)</th>"
            f"<th>recorded numbers</th></tr></thead><tbody>{''.join(body)}</tbody></table></body></html>\n")


def render_course(executed_dir: Path | str, results: dict[str, dict[str, Any]], out_dir: Path | str,
                  source_dir: Path | str | None = None) -> Path:
    """Render every executed notebook of a course run to ``out_dir`` and write ``index.html``; return its path.

    ``results`` is the runner's ``{notebook: {metric: value, "runtime_s": ..., "status": ...}}``.
    A notebook in ``results`` without an executed file gets an index row but no page.

    Example (see the module docstring for a run):
        >>> render_course  # doctest: +ELLIPSIS
        <function render_course at ...>
    """
    executed_dir, out_dir = Path(executed_dir), Path(out_dir)
    if not executed_dir.is_dir():
        raise FileNotFoundError(f"No executed notebooks at {executed_dir}; run "
                                f"`python -m tl_helpers.course run --out DIR` first and pass DIR/executed.")
    if source_dir is None:
        source_dir = notebook_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    names = list(results) + sorted(p.stem for p in executed_dir.glob("*.ipynb") if p.stem not in results)
    rows, pages = [], []
    for name in names:
        nb_path = executed_dir / f"{name}.ipynb"
        row = {"name": name, "title": name, "href": "", "result": results.get(name, {"status": "?"})}
        if nb_path.exists():
            page = out_dir / f"{name}.html"
            row["title"] = render_notebook(nb_path, page, Path(source_dir))
            row["href"] = page.name
            pages.append(page)
        rows.append(row)
    if pages:
        _share_css(pages, out_dir)
    index = out_dir / "index.html"
    index.write_text(index_page(rows, _run_info([executed_dir / f"{r['name']}.ipynb" for r in rows
                                                 if r["href"]])), encoding="utf-8")
    return index
