"""Notebook hygiene: every notebook follows the course template and was executed cleanly.

nbval checks that stored outputs still match; these tests check what nbval does not:
structure, navigation, execution order, tags, paths and size, hidden solutions, widget
notes, prices that would typeset as math, and files stored as JupyterLab saves them.
What the browser shows is checked by tests/browser (``make browser-test``).
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
SOLUTION_FIRST_LINE = "# Solution: try the exercise first"
DOLLAR_PRICE = re.compile(r"\\?\$\s*\d")
CODE_SPANS = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)
CUT_TABLE_CELL = re.compile(r"<t[dh][^>]*>[^<]*\.\.\.</t[dh]>")
ASSIGNED_ANSWER = re.compile(r"^(?:answer|choice)\s*=\s*(?:([\"'])(.+?)\1|(-?\d[\d_.]*))\s*(?:#.*)?$", re.M)


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


def _exercises(cells) -> list[int]:
    return [
        i for i, c in enumerate(cells) if c.cell_type == "markdown" and c.source.startswith("### Exercise")
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exercises_have_checks_and_hidden_solutions(path):
    cells = _load(path).cells
    exercises = _exercises(cells)
    assert len(exercises) >= 2, f"{path.name} needs at least two exercises"
    for i in exercises:
        title = cells[i].source.splitlines()[0]
        attempt, solution = cells[i + 1], cells[i + 2]
        assert attempt.cell_type == "code" and "check" in attempt.source, title
        assert "Not yet" in _text(attempt), f"{title}: the learner's cell should show the check's 'Not yet'"
        assert solution.cell_type == "code" and "solution" in solution.metadata.get("tags", []), title
        assert "Correct" in _text(solution), f"{title}: the solution cell must pass its own check"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_solution_cells_hide_their_answer_and_output(path):
    cells = _load(path).cells
    solutions = [
        c
        for c in _code_cells(_load(path))
        if "solution" in c.metadata.get("tags", []) or c.source.lstrip().lower().startswith("# solution")
    ]
    assert solutions, f"{path.name} has no solution cells"
    for cell in solutions:
        where = f"{path.name} solution cell {cells.index(cell)}"
        first = cell.source.splitlines()[0] if cell.source else ""
        assert first == SOLUTION_FIRST_LINE, f"{where}: its first line (shown when collapsed) is {first!r}"
        hidden = cell.metadata.get("jupyter", {})
        assert hidden.get("source_hidden") is True, f"{where}: needs jupyter.source_hidden"
        assert hidden.get("outputs_hidden") is True, f"{where}: needs jupyter.outputs_hidden"
        assert "solution" in cell.metadata.get("tags", []), f"{where}: needs the 'solution' tag"
        verdicts = [line for line in _text(cell).splitlines() if line.startswith("Correct")]
        for match in ASSIGNED_ANSWER.finditer(cell.source):
            answer = match[2] or match[3]
            for verdict in verdicts:
                restated = re.search(
                    rf"(?<![\w.]){re.escape(answer)}(?![\w]|\.\d)", verdict[len("Correct") :]
                )
                assert not restated, f"{where}: the 'Correct' message restates the answer {answer!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_build_it_exercise_from_01_on(path):
    if path.name.startswith("00"):
        pytest.skip("00 introduces the tools; building starts in 01")
    cells = _load(path).cells
    stubs = [
        i
        for i in _exercises(cells)
        if re.search(r"^(def|class) \w+", cells[i + 1].source, re.M)
        and cells[i + 1].source.rstrip().count("...") >= 1
    ]
    assert stubs, f"{path.name}: no exercise has the learner write a function or class (a stub to complete)"


def test_exercise_titles_are_distinct_across_the_course():
    seen: dict[str, str] = {}
    for path in NOTEBOOKS:
        cells = _load(path).cells
        for i in _exercises(cells):
            title = re.sub(r"^### Exercise \d+:\s*", "", cells[i].source.splitlines()[0]).strip().lower()
            assert title not in seen, f"exercise '{title}' is in both {seen.get(title)} and {path.name}"
            seen[title] = path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_markdown_has_no_dollar_prices(path):
    for index, cell in enumerate(_load(path).cells):
        if cell.cell_type != "markdown":
            continue
        prose = CODE_SPANS.sub("", cell.source)
        match = DOLLAR_PRICE.search(prose)
        assert not match, (
            f"{path.name} cell {index}: {match[0]!r} typesets as math in JupyterLab; "
            "write 'USD 100' or a code span"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_widgets_say_when_they_come_alive(path):
    cells = _load(path).cells
    for index, cell in enumerate(cells):
        if cell.cell_type == "code" and "what_if(" in cell.source:
            before = cells[index - 1]
            assert before.cell_type == "markdown" and "comes alive" in before.source.lower(), (
                f"{path.name} cell {index}: say just before the widget that it comes alive once "
                "the cells above have run, and that the next cell shows the same computation"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_tables_show_their_text_in_full(path):
    notebook = _load(path)
    assert "viz.use_course_style()" in notebook.cells[1].source, "the setup cell applies the course style"
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html", "")
            match = CUT_TABLE_CELL.search(html)
            assert not match, f"{path.name} cell {index}: a table cuts its text: {match[0]!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_as_jupyterlab_saves_it(path):
    """Opening and saving an untouched notebook in JupyterLab must not change it."""
    notebook = _load(path)
    assert notebook.metadata.kernelspec.get("display_name") == course.kernel_display_name(), (
        f"{path.name}: kernelspec display_name should be {course.kernel_display_name()!r} "
        "(re-execute with `python -m scalekit.course execute`)"
    )
    expected = nbformat.writes(course.as_jupyterlab_saves(_load(path))) + "\n"
    assert path.read_text() == expected, f"{path.name}: JupyterLab would rewrite it on save"


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
