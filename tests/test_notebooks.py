"""Notebook hygiene: every notebook follows the course template and was executed cleanly.

nbval checks that stored outputs still match; these tests check what nbval does not:
structure, navigation, execution order, tags, paths and size.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest

from scalekit import course

NOTEBOOKS = course.notebook_paths()
MAX_BYTES = 1_500_000
ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])(/(home|root|tmp|work|Users|usr|opt|var)/[\w.-]+|[A-Z]:\\\\\w)")
IGNORED = "nbval-ignore-output"


def _load(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def _headings(notebook) -> list[str]:
    return [
        line.strip()
        for cell in notebook.cells
        if cell.cell_type == "markdown"
        for line in cell.source.splitlines()
        if line.startswith("#")
    ]


def test_course_has_its_first_notebooks():
    names = [path.name for path in NOTEBOOKS]
    assert names[:2] == ["00_start_here.ipynb", "01_what_is_scalability.ipynb"]
    assert len(set(name[:2] for name in names)) == len(names), "two notebooks share a number"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_title_cell_has_title_promise_goals_and_navigation(path):
    notebook = _load(path)
    title, promise = course.title_and_promise(path)
    assert title.startswith(path.name[:2] + " ")
    assert promise, "the title cell needs a one-line promise under the title"
    source = notebook.cells[0].source
    assert "**You will learn to**" in source and "\n- " in source
    index = NOTEBOOKS.index(path)
    assert source.rstrip().endswith(course.navigation_line(NOTEBOOKS, index)), "run `make notebooks`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_template_sections_in_order(path):
    headings = _headings(_load(path))
    for required in ("## What we measured", "## Exercises", "## Summary"):
        assert required in headings, f"{path.name} lacks a '{required}' section"
    positions = [headings.index(h) for h in ("## What we measured", "## Exercises", "## Summary")]
    assert positions == sorted(positions)
    assert _load(path).cells[1].cell_type == "code", "the second cell is the setup cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exercises_have_checks_and_hidden_solutions(path):
    cells = _load(path).cells
    exercises = [
        i for i, c in enumerate(cells) if c.cell_type == "markdown" and c.source.startswith("### Exercise")
    ]
    assert len(exercises) >= 2, f"{path.name} needs at least two exercises"
    for i in exercises:
        attempt, solution = cells[i + 1], cells[i + 2]
        assert attempt.cell_type == "code" and "check" in attempt.source
        assert "Not yet" in _text(attempt), "the learner's cell should show the check's 'Not yet' feedback"
        assert solution.cell_type == "code" and "solution" in solution.metadata.get("tags", [])
        assert solution.metadata.get("jupyter", {}).get("source_hidden") is True
        assert "Correct" in _text(solution), "the solution cell must pass its own check"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_executed_top_to_bottom_without_errors(path):
    notebook = _load(path)
    assert notebook.metadata.kernelspec.name == "python3"
    code = [cell for cell in _code_cells(notebook) if cell.source.strip()]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    for cell in code:
        for output in cell.outputs:
            assert output.output_type != "error", f"stored error in {path.name}: {output.get('ename')}"
            assert output.get("name") != "stderr" or not output.text.strip().startswith("Traceback")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_few_uncompared_cells_and_widgets_have_static_twins(path):
    code = _code_cells(_load(path))
    ignored = [c for c in code if IGNORED in c.metadata.get("tags", [])]
    assert len(ignored) <= len(code) // 4, "more than a quarter of the cells are not compared"
    for index, cell in enumerate(code):
        if "what_if(" in cell.source:
            assert IGNORED in cell.metadata.get("tags", [])
            twin = code[index + 1]
            assert IGNORED not in twin.metadata.get("tags", []), "a widget needs a compared static twin"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_absolute_paths_and_small_files(path):
    assert path.stat().st_size < MAX_BYTES, f"{path.name} is over {MAX_BYTES} bytes"
    for cell in _load(path).cells:
        text = cell.source + (_text(cell) if cell.cell_type == "code" else "")
        assert not ABSOLUTE_PATH.search(text), (
            f"absolute path in {path.name}: {ABSOLUTE_PATH.search(text)[0]}"
        )


def test_navigation_and_contents_are_current(tmp_path):
    copy = tmp_path / "notebooks"
    shutil.copytree(course.NOTEBOOK_DIR, copy)
    assert course.refresh(copy, readme=None) == [], "navigation is stale: run `make notebooks`"
    readme = course.README.read_text()
    assert course.contents_table(NOTEBOOKS, link_dir="notebooks/") in readme


def _text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if "text" in output:
            parts.append(output.text)
        parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)
