"""The course's home: where the course lives, in one place, and every link built from it.

:data:`REPO` (``OWNER/NAME`` on GitHub) and :data:`REF` (the pinned branch or tag) are
the only place the course names its repository. The Colab and Kaggle badges, each
notebook's install cell and ``pyproject.toml``'s ``[project.urls]`` are generated from
them, and ``python -m tl_helpers.course retarget OWNER/NAME [--ref REF]`` rewrites all of
them (README, notebooks, this file) for a fork or a new release; ``tests/test_home.py``
checks that every link agrees with the home.

Example:
    >>> colab_url("00_setup.ipynb", repo="me/course", ref="main")
    'https://colab.research.google.com/github/me/course/blob/main/notebooks/00_setup.ipynb'
    >>> print(install_cell_source(repo="me/course", ref="v1").splitlines()[0])
    # Colab or Kaggle only: install the course helpers (tl_helpers), pinned to this version of the course.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

#: the course's GitHub repository, ``OWNER/NAME`` (rewritten by ``course retarget``).
REPO = "tl-course/keras-transfer-learning"
#: the branch or tag the badges open and the install cell installs (rewritten by ``course retarget``).
REF = "v0.1.0"

#: the first line of every install cell (how ``retarget`` recognises one).
INSTALL_MARKER = "# Colab or Kaggle only: install the course helpers"
#: the first lines of install cells written before this module existed (also recognised).
_OLD_INSTALL_MARKERS = ("# On Colab only: install the course helpers",)

INSTALL_TEMPLATE = '''\
{marker} (tl_helpers), pinned to this version of the course.
# Elsewhere it does nothing. To install from a clone, a wheel, a mirror or a fork, set TL_INSTALL_SOURCE.
import os, subprocess, sys
if "google.colab" in sys.modules or "KAGGLE_KERNEL_RUN_TYPE" in os.environ or os.path.isdir("/kaggle/input"):
    source = os.environ.get("TL_INSTALL_SOURCE") or "{requirement}"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", source], check=True)'''

COLAB_BADGE_IMG = "https://colab.research.google.com/assets/colab-badge.svg"
KAGGLE_BADGE_IMG = "https://kaggle.com/static/images/open-in-kaggle.svg"

_SEG = r"[A-Za-z0-9_.\-]+"
#: every kind of course link: (kind, pattern with groups owner, name, ref[, rest]).
LINK_PATTERNS = {
    "colab": re.compile(rf"https://colab\.research\.google\.com/github/(?P<owner>{_SEG})/(?P<name>{_SEG})"
                        rf"/blob/(?P<ref>{_SEG})/(?P<path>notebooks/{_SEG}\.ipynb)"),
    "kaggle": re.compile(rf"https://(?:www\.)?kaggle\.com/kernels/welcome\?src=https://github\.com/(?P<owner>{_SEG})"
                         rf"/(?P<name>{_SEG})/blob/(?P<ref>{_SEG})/(?P<path>notebooks/{_SEG}\.ipynb)"),
    "codespaces": re.compile(rf"https://codespaces\.new/(?P<owner>{_SEG})/(?P<name>{_SEG}?)\?ref=(?P<ref>{_SEG})"),
    "pip": re.compile(rf"git\+https://github\.com/(?P<owner>{_SEG})/(?P<name>{_SEG}?)(?:\.git)?@(?P<ref>{_SEG})"),
    # any other link to a repository (clone instructions, issues): no ref; only the home's own are rewritten
    "github": re.compile(rf"(?<!git\+)(?<!src=)https://github\.com/(?P<owner>{_SEG})/"
                         r"(?P<name>[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*?)(?:\.git)?(?![A-Za-z0-9_\-]|\.[A-Za-z0-9_\-])"),
}


@dataclass(frozen=True)
class Link:
    """One course link found in a file: its kind, repository, ref and (for badges) notebook path.

    Example:
        >>> find_links("see https://colab.research.google.com/github/a/b/blob/v1/notebooks/x.ipynb")
        [Link(kind='colab', repo='a/b', ref='v1', path='notebooks/x.ipynb')]
    """

    kind: str
    repo: str
    ref: str
    path: str = ""


def github_url(repo: str | None = None) -> str:
    """The repository's GitHub page.

    Example:
        >>> github_url("me/course")
        'https://github.com/me/course'
    """
    return f"https://github.com/{repo or REPO}"


def colab_url(notebook: str, repo: str | None = None, ref: str | None = None) -> str:
    """The link that opens ``notebooks/<notebook>`` of the course in Colab.

    Example:
        >>> colab_url("01_feature_extraction.ipynb").startswith("https://colab.research.google.com/github/")
        True
    """
    return f"https://colab.research.google.com/github/{repo or REPO}/blob/{ref or REF}/notebooks/{notebook}"


def kaggle_url(notebook: str, repo: str | None = None, ref: str | None = None) -> str:
    """The link that imports ``notebooks/<notebook>`` into a new Kaggle notebook.

    Example:
        >>> kaggle_url("00_setup.ipynb", "me/c", "main")
        'https://kaggle.com/kernels/welcome?src=https://github.com/me/c/blob/main/notebooks/00_setup.ipynb'
    """
    return f"https://kaggle.com/kernels/welcome?src={github_url(repo)}/blob/{ref or REF}/notebooks/{notebook}"


def codespaces_url(repo: str | None = None, ref: str | None = None) -> str:
    """The link that opens the course's devcontainer (lite track) in GitHub Codespaces.

    Example:
        >>> codespaces_url("me/c", "main")
        'https://codespaces.new/me/c?ref=main'
    """
    return f"https://codespaces.new/{repo or REPO}?ref={ref or REF}"


def colab_badge(notebook: str, repo: str | None = None, ref: str | None = None) -> str:
    """The Markdown "Open In Colab" badge for one notebook.

    Example:
        >>> colab_badge("00_setup.ipynb", "me/c", "main")[:40]
        '[![Open In Colab](https://colab.research'
    """
    return f"[![Open In Colab]({COLAB_BADGE_IMG})]({colab_url(notebook, repo, ref)})"


def pip_requirement(repo: str | None = None, ref: str | None = None) -> str:
    """What the install cell installs by default: the course helpers at the pinned ref, from GitHub.

    No ``[tf]`` extra: Colab and Kaggle ship TensorFlow and TFDS, and reinstalling
    TensorFlow there would take minutes and could break its GPU setup.

    Example:
        >>> pip_requirement("me/c", "v2")
        'tl-helpers @ git+https://github.com/me/c@v2'
    """
    return f"tl-helpers @ git+{github_url(repo)}@{ref or REF}"


def install_cell_source(repo: str | None = None, ref: str | None = None) -> str:
    """The source of every notebook's install cell (its first code cell).

    On Colab (``google.colab`` is loaded) or Kaggle (``KAGGLE_KERNEL_RUN_TYPE`` is set, or
    ``/kaggle/input`` exists) it pip-installs :func:`pip_requirement`, non-editable, or
    ``$TL_INSTALL_SOURCE`` when set (anything ``pip install`` takes: a folder, a wheel, a
    ``git+https://`` URL of a fork or mirror). Anywhere else it does nothing.

    Example:
        >>> src = install_cell_source("me/c", "v2")
        >>> "tl-helpers @ git+https://github.com/me/c@v2" in src, len(src.splitlines())
        (True, 6)
    """
    return INSTALL_TEMPLATE.format(marker=INSTALL_MARKER, requirement=pip_requirement(repo, ref))


def is_install_cell(source: str) -> bool:
    """True for an install cell, this version's or an older one.

    Example:
        >>> is_install_cell(install_cell_source()), is_install_cell("import keras")
        (True, False)
    """
    first = source.lstrip().split("\n", 1)[0]
    return any(first.startswith(m) for m in (INSTALL_MARKER, *_OLD_INSTALL_MARKERS))


def find_links(text: str) -> list[Link]:
    """Every Colab, Kaggle and ``git+https://github.com`` link in ``text``.

    Example:
        >>> [l.kind for l in find_links(install_cell_source())]
        ['pip']
    """
    found = []
    for kind, pattern in LINK_PATTERNS.items():
        for m in pattern.finditer(text):
            d = m.groupdict()
            found.append(Link(kind, f"{d['owner']}/{d['name']}", d.get("ref") or "", d.get("path") or ""))
    return found


def rewrite_links(text: str, repo: str, ref: str, old_repo: str | None = None) -> str:
    """``text`` with every course link pointing at ``repo`` and ``ref`` (notebook paths kept).

    Badges and ``git+`` links are course links whatever repository they name; a plain
    ``https://github.com/...`` link is rewritten only when it names ``old_repo`` (default:
    :data:`REPO`), so links to other projects stay.

    Example:
        >>> rewrite_links("[x](https://colab.research.google.com/github/a/b/blob/main/notebooks/n.ipynb)", "c/d", "v9")
        '[x](https://colab.research.google.com/github/c/d/blob/v9/notebooks/n.ipynb)'
        >>> rewrite_links("https://github.com/a/b and https://github.com/keras-team/keras", "c/d", "v9", "a/b")
        'https://github.com/c/d and https://github.com/keras-team/keras'
    """
    owner, name = check_repo(repo).split("/")
    old_repo = old_repo or REPO

    def sub(m: re.Match) -> str:
        start, end = m.span()
        if "ref" not in m.re.groupindex and f"{m.group('owner')}/{m.group('name')}" != old_repo:
            return m.group(0)
        out, last = [], start
        for group, value in (("owner", owner), ("name", name), ("ref", ref)):
            if group not in m.re.groupindex:
                continue
            s, e = m.span(group)
            out += [m.string[last:s], value]
            last = e
        return "".join(out) + m.string[last:end]

    for pattern in LINK_PATTERNS.values():
        text = pattern.sub(sub, text)
    return text


def check_repo(repo: str) -> str:
    """``repo`` if it reads ``OWNER/NAME``, else a clear error.

    Example:
        >>> check_repo("me/course")
        'me/course'
    """
    if not re.fullmatch(rf"{_SEG}/{_SEG}", repo or ""):
        raise ValueError(f"A course home is a GitHub repository OWNER/NAME (e.g. me/keras-transfer-learning); "
                         f"got {repo!r}.")
    return repo


def check_ref(ref: str) -> str:
    """``ref`` if it is a plain branch or tag name.

    Example:
        >>> check_ref("v0.2.0")
        'v0.2.0'
    """
    if not re.fullmatch(_SEG, ref or ""):
        raise ValueError(f"A ref is a branch or tag name such as main or v0.2.0; got {ref!r}.")
    return ref


def set_home_in_source(text: str, repo: str, ref: str) -> str:
    """This module's source with :data:`REPO` and :data:`REF` replaced.

    Example:
        >>> 'REF = "v3"' in set_home_in_source('REPO = "a/b"\\nREF = "v1"\\n', "c/d", "v3")
        True
    """
    text = re.sub(r'^REPO = "[^"]*"', f'REPO = "{check_repo(repo)}"', text, count=1, flags=re.M)
    return re.sub(r'^REF = "[^"]*"', f'REF = "{check_ref(ref)}"', text, count=1, flags=re.M)


def set_urls_in_pyproject(text: str, repo: str) -> str:
    """``pyproject.toml`` text whose ``[project.urls]`` Homepage and Source name ``repo``.

    Example:
        >>> t = '[project.urls]\\nHomepage = "https://github.com/a/b"\\n'
        >>> set_urls_in_pyproject(t, "c/d")
        '[project.urls]\\nHomepage = "https://github.com/c/d"\\n'
    """
    return re.sub(r'^((?:Homepage|Source|Repository)\s*=\s*")https://github\.com/[^"]*(")',
                  lambda m: m.group(1) + github_url(repo) + m.group(2), text, flags=re.M)


#: the checkout this package was imported from (only meaningful for an editable install or a clone).
ROOT = Path(__file__).resolve().parents[1]


def notebook_dir() -> Path:
    """The course notebooks: ``notebooks/`` of this checkout, else ``./notebooks`` (an installed copy has none).

    Example:
        >>> notebook_dir().name
        'notebooks'
    """
    here = ROOT / "notebooks"
    return here if here.is_dir() else Path.cwd() / "notebooks"


def link_problems(root: Path | None = None, repo: str | None = None, ref: str | None = None) -> list[str]:
    """Every place under ``root`` whose course links disagree with the home (``[]`` when all agree).

    Checks each Colab/Kaggle/``git+`` link in ``*.md`` files and notebooks (repository and
    ref, and that the notebook it opens exists), that every notebook's first cell has its
    own Colab badge and its first code cell is :func:`install_cell_source`, that the README
    has a Colab badge per notebook, and ``pyproject.toml``'s ``[project.urls]``.

    Example:
        >>> link_problems(Path("/nonexistent"))
        []
    """
    import nbformat

    root = Path(root or ROOT)
    repo, ref = repo or REPO, ref or REF
    problems: list[str] = []

    def check_text(where: str, text: str) -> None:
        for link in find_links(text):
            if link.kind == "github":  # links to other projects are fine
                continue
            if (link.repo, link.ref) != (repo, ref):
                problems.append(f"{where}: {link.kind} link to {link.repo}@{link.ref}, the home is {repo}@{ref}")
            if link.path and not (root / link.path).is_file():
                problems.append(f"{where}: {link.kind} link to {link.path}, which does not exist")

    for path in sorted({*root.glob("*.md"), *root.glob("*/*.md")}):
        check_text(str(path.relative_to(root)), path.read_text(encoding="utf-8"))
    notebooks = sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    readme = root / "README.md"
    for path in notebooks:
        where = f"notebooks/{path.name}"
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            check_text(where, cell.source)
        if not nb.cells or colab_badge(path.name, repo, ref) not in nb.cells[0].source:
            problems.append(f"{where}: the first cell lacks its Colab badge ({colab_url(path.name, repo, ref)})")
        code = [c for c in nb.cells if c.cell_type == "code"]
        if not code or code[0].source.strip() != install_cell_source(repo, ref):
            problems.append(f"{where}: the first code cell is not the install cell of {repo}@{ref}")
        if readme.is_file() and colab_url(path.name, repo, ref) not in readme.read_text(encoding="utf-8"):
            problems.append(f"README.md: no Colab badge for {path.name}")
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        for m in re.finditer(r'^(?:Homepage|Source|Repository)\s*=\s*"([^"]*)"', pyproject.read_text(), re.M):
            if m.group(1) != github_url(repo):
                problems.append(f"pyproject.toml: [project.urls] names {m.group(1)}, the home is {github_url(repo)}")
    return problems
