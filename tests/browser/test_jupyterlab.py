"""Every notebook as a learner sees it in JupyterLab, in headless Chromium.

For each notebook: it opens without JupyterLab's news popup; every mermaid block renders
as an SVG; no output is an error; solution cells show neither their answer nor their
output; no table cell is cut short; saved widget state renders as widgets; the notebook
is not marked unsaved, and saving it untouched leaves the file byte for byte the same.
For 00, Run All finishes and moving a slider changes the widget's output.
"""

from __future__ import annotations

import re
import time

import nbformat
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from scalekit import course

NOTEBOOKS = course.notebook_paths()
SOLUTION_FIRST_LINE = "# Solution: try the exercise first"
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
MERMAID_SVG = ".jp-RenderedMermaid img[src^='data:image/svg+xml']"


def _mermaid_blocks(notebook) -> int:
    return sum(c.source.count("```mermaid") for c in notebook.cells if c.cell_type == "markdown")


def _is_solution(cell) -> bool:
    """A solution by its tag, its first line, or a stored verdict of 'Correct' (which gives it away)."""
    if cell.cell_type != "code":
        return False
    first = cell.source.lstrip().lower()
    verdicts = [o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.outputs]
    return (
        "solution" in cell.metadata.get("tags", [])
        or first.startswith("# solution")
        or any(line.startswith("Correct") for text in verdicts for line in text.splitlines())
    )


def _stored_table_cells(notebook) -> int:
    """How many table cells the stored HTML outputs hold: the page must show at least these."""
    return sum(
        len(re.findall(r"<t[dh][\s>]", output.get("data", {}).get("text/html", "")))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )


def open_notebook(page, lab, name: str, cells: int):
    """Open ``name`` in a fresh workspace; wait for its cells and an idle kernel."""
    page.goto(lab.notebook_url(name))
    page.wait_for_function(
        f"() => document.querySelectorAll('{PANEL} .jp-Notebook .jp-Cell').length === {cells}",
        timeout=120_000,
    )
    page.wait_for_selector(f"{PANEL} .jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
    return page.locator(f"{PANEL} .jp-Notebook .jp-Cell")


def shown_text(cell) -> str:
    """The text a learner sees in ``cell`` (JupyterLab skips painting cells out of view)."""
    cell.scroll_into_view_if_needed()
    deadline = time.monotonic() + 10
    while not (text := cell.inner_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return text


def error_outputs(page) -> list[str]:
    texts = page.locator(
        f"{PANEL} .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'],"
        f" {PANEL} .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']"
    ).all_text_contents()
    errors = [t for t in texts if re.search(r"Traceback|Error\b|Exception\b|Warning\b", t)]
    errors += [
        t
        for t in page.locator(f"{PANEL} .jp-OutputArea-output").all_text_contents()
        if "Error displaying widget" in t
    ]
    return errors


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_reads_well(page, lab, fresh_kernels, path):
    notebook = nbformat.reads(lab.originals[path.name], as_version=4)
    cells = open_notebook(page, lab, path.name, len(notebook.cells))

    expected = _mermaid_blocks(notebook)
    settled = f"{PANEL} {MERMAID_SVG}, {PANEL} .jp-RenderedMermaid.jp-mod-warning"
    page.wait_for_function(  # drawn or failed: JupyterLab marks a diagram it cannot draw jp-mod-warning
        f'() => document.querySelectorAll("{settled}").length >= {expected}',
        timeout=120_000,
    )
    failed = page.locator(f"{PANEL} .jp-RenderedMermaid.jp-mod-warning").all_inner_texts()
    assert failed == [], f"a mermaid block did not render: {failed}"
    assert page.locator(f"{PANEL} .jp-RenderedMermaid").count() == expected
    assert page.locator(f"{PANEL} {MERMAID_SVG}").count() == expected, "a mermaid block did not render"

    assert error_outputs(page) == []

    solutions = [index for index, cell in enumerate(notebook.cells) if _is_solution(cell)]
    assert len(solutions) >= 2, f"{path.name}: expected a solution cell per exercise, found {solutions}"
    for index in solutions:
        shown = shown_text(cells.nth(index))
        assert shown == SOLUTION_FIRST_LINE, f"cell {index} shows more than its first line: {shown!r}"

    table_cells = page.locator(f"{PANEL} .jp-RenderedHTMLCommon :is(td, th)").all_text_contents()
    assert len(table_cells) >= _stored_table_cells(notebook), "some stored tables are not on the page"
    cut = [text for text in table_cells if text.rstrip().endswith(("...", "…"))]
    assert cut == [], f"table cells cut short: {cut}"

    for index, source in enumerate(notebook.cells):
        if source.cell_type == "code" and "what_if(" in source.source:
            cell = cells.nth(index)
            cell.scroll_into_view_if_needed()
            try:
                cell.locator(".widget-interact").wait_for(timeout=30_000)
            except PlaywrightTimeout:
                pytest.fail(f"cell {index}: the saved widget is not drawn")
            assert cell.locator(".widget-interact").count() == 1
            assert "interactive(children=" not in cell.inner_text()

    assert "official Jupyter news" not in page.content(), "JupyterLab's news popup is showing"
    time.sleep(1)  # a late metadata change (kernel info, widget state) would mark the tab now
    tab = page.locator(".lm-TabBar-tab.jp-mod-current")
    assert "jp-mod-dirty" not in (tab.get_attribute("class") or ""), "opening the notebook marked it unsaved"

    served = lab.root / "notebooks" / path.name
    before = served.stat().st_mtime_ns
    page.locator(f"{PANEL} .jp-Notebook").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 15
    while served.stat().st_mtime_ns == before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert served.stat().st_mtime_ns != before, "Ctrl+S did not save the notebook"
    assert served.read_text() == lab.originals[path.name], "saving the untouched notebook changed the file"


def test_start_here_runs_all_and_its_widget_responds(page, lab, fresh_kernels):
    path = NOTEBOOKS[0]
    notebook = nbformat.reads(lab.originals[path.name], as_version=4)
    cells = open_notebook(page, lab, path.name, len(notebook.cells))
    code = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code"]

    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    page.wait_for_function(
        """([selector, last]) => {
            const prompts = [...document.querySelectorAll(selector)].map(p => p.textContent.trim());
            return prompts.includes(last) && !prompts.some(p => p.includes('*'));
        }""",
        arg=[f"{PANEL} .jp-CodeCell :is(.jp-InputPrompt, .jp-OutputPrompt)", f"[{len(code)}]:"],
        timeout=120_000,
    )
    assert error_outputs(page) == []

    widget_index = next(i for i, c in enumerate(notebook.cells) if "what_if(" in c.source)
    widget = cells.nth(widget_index).locator(".widget-interact")
    widget.scroll_into_view_if_needed()
    output = widget.locator(".jp-OutputArea-output")
    output.wait_for()
    before = output.inner_text()
    assert before.startswith("Zipf s = 1.00"), before
    handle = widget.locator(".widget-slider .noUi-handle").first
    handle.focus()
    handle.press("ArrowRight")
    deadline = time.monotonic() + 60
    while output.inner_text() == before and time.monotonic() < deadline:
        time.sleep(0.2)
    after = output.inner_text()
    assert after.startswith("Zipf s = 1.10"), f"the widget's output after moving the slider: {after!r}"
    share = re.compile(r"get ([\d.]+%) of requests")
    assert share.search(after)[1] != share.search(before)[1], (
        f"the share did not move: {before!r} -> {after!r}"
    )
    assert cells.nth(widget_index).locator(".jupyter-widgets-disconnected").count() == 0
