"""Notebook hygiene: every notebook follows the course template and was executed cleanly.

nbval checks that stored outputs still match; these tests check what nbval does not:
structure, navigation, execution order, tags, paths and size, hidden solutions, widget
notes, prices that would typeset as math, and files stored as JupyterLab saves them.
What the browser shows is checked by tests/browser (``make browser-test``).
"""

from __future__ import annotations

import ast
import operator
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
ANSWER_NAMES = ("answer", "choice", "choices")
ARITHMETIC = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}


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


def _is_solution(cell) -> bool:
    """A solution by its tag, its first line, or a stored 'Correct' verdict (which shows what passes)."""
    return cell.cell_type == "code" and (
        "solution" in cell.metadata.get("tags", [])
        or cell.source.lstrip().lower().startswith("# solution")
        or any(line.startswith("Correct") for line in _text(cell).splitlines())
    )


def _literal(node: ast.AST, known: dict[str, object]) -> object:
    """The value of a literal or arithmetic on literals and names bound to them; else raise ValueError."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id in known:
        return known[node.id]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [_literal(item, known) for item in node.elts]
    if isinstance(node, ast.Dict) and None not in node.keys:
        return {_literal(k, known): _literal(v, known) for k, v in zip(node.keys, node.values, strict=True)}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_literal(node.operand, known)
    if isinstance(node, ast.BinOp) and isinstance(node.op, tuple(ARITHMETIC)):
        return ARITHMETIC[type(node.op)](_literal(node.left, known), _literal(node.right, known))
    raise ValueError("not a literal")


def _answers(source: str) -> list[object]:
    """The answers a solution cell assigns (``answer``, ``choice``, ``choices``) when they are literals."""
    known: dict[str, object] = {}
    for statement in ast.parse(source).body:
        if not isinstance(statement, ast.Assign):
            continue
        for target in statement.targets:
            names = target.elts if isinstance(target, ast.Tuple) else [target]
            values = statement.value.elts if isinstance(target, ast.Tuple) else [statement.value]
            if not isinstance(statement.value, ast.Tuple) and isinstance(target, ast.Tuple):
                continue
            for name, value in zip(names, values, strict=False):
                if isinstance(name, ast.Name):
                    try:
                        known[name.id] = _literal(value, known)
                    except (ValueError, TypeError, ZeroDivisionError):
                        known.pop(name.id, None)
    return [known[name] for name in ANSWER_NAMES if name in known]


def _restates(verdict: str, answer: object) -> str | None:
    """The part of ``answer`` that ``verdict`` gives away, if any."""
    if isinstance(answer, dict):
        for key, value in answer.items():
            for a, b in ((key, value), (value, key)):
                first, second = (rf"(?<![\w-]){re.escape(str(x))}(?![\w-])" for x in (a, b))
                near = rf"(?i){first}.{{0,30}}{second}"
                if re.search(near, verdict):
                    return f"{key}: {value}"
        return None
    if isinstance(answer, (list, tuple)):
        return next((found for item in answer if (found := _restates(verdict, item))), None)
    if isinstance(answer, bool) or answer is None:
        return None
    if isinstance(answer, str):
        if len(answer.strip()) == 1:  # a choice letter: quoted, in brackets, or named as an option
            letter = re.escape(answer.strip())
            pattern = rf"(?i)[\"'(]\s*{letter}\s*[\"')]|\b(?:option|choice|answer|plan)\s+{letter}\b"
        else:
            pattern = rf"(?i)(?<![\w-]){re.escape(answer.strip())}(?![\w-])"
        return answer if re.search(pattern, verdict) else None
    if isinstance(answer, (int, float)) and abs(answer) not in (0, 1):
        shown = {f"{answer:g}", f"{answer:,.0f}", f"{answer:.1f}", f"{answer:.2f}", f"{answer:.3g}"}
        if abs(answer) < 1:
            shown |= {f"{answer:.0%}", f"{answer:.1%}", f"{answer:.2%}"}
        for text in shown:
            if re.search(rf"(?<![\w.]){re.escape(text)}(?![\w]|\.\d)", verdict):
                return text
    return None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_solution_cells_hide_their_answer_and_output(path):
    cells = _load(path).cells
    solutions = [i for i, cell in enumerate(cells) if _is_solution(cell)]
    assert len(solutions) >= max(1, len(_exercises(cells))), f"{path.name}: a solution cell per exercise"
    for index in solutions:
        cell = cells[index]
        where = f"{path.name} solution cell {index}"
        first = cell.source.splitlines()[0] if cell.source else ""
        assert first == SOLUTION_FIRST_LINE, f"{where}: its first line (shown when collapsed) is {first!r}"
        hidden = cell.metadata.get("jupyter", {})
        assert hidden.get("source_hidden") is True, f"{where}: needs jupyter.source_hidden"
        assert hidden.get("outputs_hidden") is True, f"{where}: needs jupyter.outputs_hidden"
        assert "solution" in cell.metadata.get("tags", []), f"{where}: needs the 'solution' tag"
        assert any(line.startswith("Correct") for line in _text(cell).splitlines()), (
            f"{where}: the solution must pass its own check (its stored output says 'Correct')"
        )
        verdicts = [line[len("Correct") :] for line in _text(cell).splitlines() if line.startswith("Correct")]
        for answer in _answers(cell.source):
            for verdict in verdicts:
                given_away = _restates(verdict, answer)
                assert given_away is None, (
                    f"{where}: the 'Correct' message restates the answer {given_away!r}"
                )


def test_the_restatement_check_catches_what_it_should():
    assert _answers('answer = "c"\ncheck(answer)') == ["c"]
    assert _answers("pool, hold = 64, 80 / 1000\nanswer = pool / hold") == [800.0]
    assert _answers("answer = compute(trace)") == []
    assert _restates(": you picked (c), the schedule", "c") == "c"
    assert _restates(": option C wins", "c") == "c"
    assert _restates(": a known peak is scaled for ahead of time", "a") is None
    assert _restates(": 800 requests/s", 800.0) == "800"
    assert _restates(": the pool carries 800.0 per second", 800.0) == "800.0"
    assert _restates(": 20% of users", 0.2) == "20%"
    assert _restates(": 1,200 ms", 1200) == "1,200"
    assert _restates(": a short message", 800.0) is None
    assert _restates(": the key conversation_id spreads", "conversation_id") == "conversation_id"
    assert _restates(": the login goes now", {"login": "now"}) == "login: now"
    assert _restates(": answer now what the user needs; queue the rest", {"login": "now"}) is None
    assert _restates(": both are in slot cart:{user:42}", ["cart:{user:42}", "x"]) == "cart:{user:42}"


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
            noise = output.get("name") == "stderr" and re.search(r"Traceback|Error\b|Warning\b", output.text)
            assert not noise, f"{path.name}: a learner would see this on stderr: {output.text[:200]!r}"


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
