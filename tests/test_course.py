"""scalekit.course writes notebooks the way JupyterLab saves them."""

from __future__ import annotations

import json

import nbformat

from scalekit import course


def _notebook_with_widget_state() -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata.widgets = {
        "application/vnd.jupyter.widget-state+json": {
            "state": {"m": {"state": {"value": 1.0, "min": 0.0, "step": 0.5, "max": 20.0, "n": 3}}},
            "version_major": 2,
            "version_minor": 0,
        }
    }
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"application/json": {"a": [2.0, 2.5]}})]
    notebook.cells.append(cell)
    return notebook


def test_kernelspec_gets_the_display_name_jupyterlab_writes():
    saved = course.as_jupyterlab_saves(_notebook_with_widget_state())
    assert saved.metadata.kernelspec.name == "python3"
    assert saved.metadata.kernelspec.display_name == course.kernel_display_name()
    assert course.kernel_display_name() == "Python 3 (ipykernel)"


def test_whole_floats_are_written_as_javascript_writes_them():
    saved = course.as_jupyterlab_saves(_notebook_with_widget_state())
    state = saved.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]["m"]["state"]
    text = json.dumps(state, sort_keys=True)
    assert text == '{"max": 20, "min": 0, "n": 3, "step": 0.5, "value": 1}'
    assert saved.cells[0].outputs[0].data["application/json"] == {"a": [2, 2.5]}
    nbformat.validate(saved)


def test_a_saved_notebook_is_unchanged_by_a_second_pass(tmp_path):
    path = tmp_path / "n.ipynb"
    nbformat.write(course.as_jupyterlab_saves(_notebook_with_widget_state()), path)
    before = path.read_text()
    nbformat.write(course.as_jupyterlab_saves(nbformat.read(path, as_version=4)), path)
    assert path.read_text() == before
    assert '"max": 20,' in before and "20.0" not in before


def test_hidden_outputs_are_also_marked_collapsed():
    notebook = nbformat.v4.new_notebook()
    hidden = nbformat.v4.new_code_cell("1", metadata={"jupyter": {"outputs_hidden": True}})
    shown = nbformat.v4.new_code_cell("2")
    notebook.cells = [hidden, shown]
    saved = course.as_jupyterlab_saves(notebook)
    assert saved.cells[0].metadata["collapsed"] is True
    assert "collapsed" not in saved.cells[1].metadata


def test_consecutive_pieces_of_one_stream_are_saved_as_one_output():
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(1); print(2)")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="1\n"),
        nbformat.v4.new_output("stream", name="stdout", text="2\n"),
        nbformat.v4.new_output("stream", name="stderr", text="warn\n"),
        nbformat.v4.new_output("stream", name="stdout", text="3\n"),
    ]
    notebook.cells.append(cell)
    saved = course.as_jupyterlab_saves(notebook).cells[0].outputs
    assert [(output.name, output.text) for output in saved] == [
        ("stdout", "1\n2\n"),
        ("stderr", "warn\n"),
        ("stdout", "3\n"),
    ]
