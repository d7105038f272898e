"""The offline HTML edition (``make html``), read in Chromium with the network blocked.

Every page loads with no request leaving the machine, shows each mermaid diagram as an
SVG and each formula typeset, keeps solutions in closed ``<details>``, puts a static
twin's output where a widget was, and links only to pages and anchors that exist.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

from scalekit import course

NOTEBOOKS = course.notebook_paths()
MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$", re.DOTALL)
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)


def _offline(page) -> list[str]:
    """Abort every request that is not a local file; return the list of aborted URLs."""
    blocked: list[str] = []

    def handle(route):
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", handle)
    return blocked


def _expected(notebook) -> dict[str, int]:
    markdown = [c.source for c in notebook.cells if c.cell_type == "markdown"]
    return {
        "diagrams": sum(s.count("```mermaid") for s in markdown),
        "math": sum(len(MATH.findall(CODE.sub("", s))) for s in markdown),
        "solutions": sum(_is_solution(c) for c in notebook.cells),
        "widgets": sum(c.cell_type == "code" and "what_if(" in c.source for c in notebook.cells),
    }


def _is_solution(cell) -> bool:
    """Tagged, or opening like one, or showing a 'Correct' verdict: each must sit in a closed <details>."""
    if cell.cell_type != "code":
        return False
    shown = "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.outputs)
    return (
        "solution" in cell.metadata.get("tags", [])
        or cell.source.lstrip().lower().startswith("# solution")
        or any(line.startswith("Correct") for line in shown.splitlines())
    )


def _check_links(page, here: Path) -> None:
    for href in page.locator("a[href]").evaluate_all("links => links.map(a => a.getAttribute('href'))"):
        if href.startswith(("http:", "https:", "mailto:")):
            continue
        parts = urlsplit(href)
        assert not parts.path.endswith(".ipynb"), f"{here.name}: a link still points at a notebook: {href}"
        target = (here.parent / unquote(parts.path)).resolve() if parts.path else here
        assert target.exists(), f"{here.name}: broken link {href}"
        if parts.fragment and target.suffix == ".html":
            ids = set(re.findall(r'\sid="([^"]+)"', target.read_text(encoding="utf-8")))
            found = parts.fragment in ids or unquote(parts.fragment) in ids
            assert found, f"{here.name}: link {href} names a missing anchor"


def test_index_lists_every_notebook(page, html_edition):
    blocked = _offline(page)
    index = html_edition / "index.html"
    page.goto(index.as_uri())
    hrefs = page.locator("table a[href]").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert hrefs == [f"{path.stem}.html" for path in NOTEBOOKS]
    _check_links(page, index)
    assert page.locator("script").count() == 0
    assert blocked == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_page_reads_well_offline(page, html_edition, path):
    blocked = _offline(page)
    here = html_edition / f"{path.stem}.html"
    assert here.exists(), f"{here.name} is missing: run `make html`"
    page.goto(here.as_uri())
    expected = _expected(nbformat.read(path, as_version=4))

    assert page.locator("figure.course-diagram > svg").count() == expected["diagrams"]
    assert page.locator("pre.mermaid, .jp-mod-warning").count() == 0, "a diagram was left unrendered"
    for box in page.locator("figure.course-diagram > svg").all():
        size = box.bounding_box()
        assert size and size["width"] > 100 and size["height"] > 20, "a diagram is drawn too small to read"

    typeset = page.locator("mjx-container > svg").count()
    assert typeset == expected["math"], f"{expected['math']} formulas in the notebook, {typeset} typeset"
    assert page.locator("mjx-merror, [data-mjx-error]").count() == 0, "a formula failed to typeset"

    details = page.locator("details.course-solution")
    assert expected["solutions"] >= 2, "every notebook has exercises with solutions"
    assert details.count() == expected["solutions"], "a solution is not folded into a <details>"
    assert page.locator("details.course-solution[open]").count() == 0
    for solution in details.all():
        assert solution.locator("summary").inner_text().strip() == "Solution: try the exercise first"
        assert not solution.locator(".jp-Cell").is_visible(), "a solution is open"

    text = page.locator("body").inner_text()
    assert "interactive(children=" not in text
    assert page.locator(".course-widget-note").count() == expected["widgets"]

    _check_links(page, here)
    assert page.locator("script").count() == 0
    assert blocked == [], f"the page asked the network for {blocked}"
