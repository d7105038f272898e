"""The HTML edition's notebook transforms (the browser pass is checked by tests/browser)."""

from __future__ import annotations

import nbformat

from scalekit import course, html


def _widget_notebook() -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    widget = nbformat.v4.new_code_cell("viz.what_if(f, x=(0, 10, 1))")
    widget.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={
                "application/vnd.jupyter.widget-view+json": {"model_id": "m"},
                "text/plain": "interactive(...)",
            },
        )
    ]
    twin = nbformat.v4.new_code_cell("f(3)")
    twin.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x = 3\n")]
    notebook.cells = [widget, twin]
    notebook.metadata.widgets = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return notebook


def test_a_widget_shows_its_static_twins_output_and_says_so():
    original = _widget_notebook()
    static = html.static_notebook(original)
    outputs = static.cells[0].outputs
    assert html.WIDGET_NOTE in outputs[0].data["text/plain"]
    assert outputs[1].text == "x = 3\n"
    assert all("application/vnd.jupyter.widget-view+json" not in o.get("data", {}) for o in outputs)
    assert static.cells[1].outputs == original.cells[1].outputs
    assert "widgets" not in static.metadata
    assert "widgets" in original.metadata, "the notebook itself is left alone"


def test_index_lists_every_notebook_in_order():
    paths = course.notebook_paths()
    source = html.index_notebook(paths).cells[0].source
    positions = [source.index(f"]({path.name})") for path in paths]
    assert positions == sorted(positions)
    assert source.startswith("# Scalability Patterns")


def test_a_solution_without_its_tag_still_folds_away():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("# Solution: try the exercise first\nanswer = 3"),
        nbformat.v4.new_code_cell("answer = ..."),
    ]
    static = html.static_notebook(notebook)
    assert static.cells[0].metadata["tags"] == ["solution"]
    assert "solution" not in static.cells[1].metadata.get("tags", [])
    assert "tags" not in notebook.cells[0].metadata, "the notebook itself is left alone"
