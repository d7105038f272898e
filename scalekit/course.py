"""The course as a whole: its notebooks, their navigation lines and contents table.

``python -m scalekit.course refresh`` rewrites every notebook's navigation line and
the contents tables (in ``00_start_here`` and the README); ``python -m scalekit.course
run [NOTEBOOK ...]`` refreshes, then re-executes notebooks in place in a fresh kernel,
top to bottom (``execute`` does the same without refreshing the others). ``make
notebooks`` calls ``run``.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import Any

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
README = ROOT / "README.md"
NAV_MARK = "<!-- nav -->"
CONTENTS_START = "<!-- contents:start -->"
CONTENTS_END = "<!-- contents:end -->"
_NAME = re.compile(r"^\d\d_[a-z0-9_]+\.ipynb$")
KERNEL_NAME = "python3"


def notebook_paths(directory: Path = NOTEBOOK_DIR) -> list[Path]:
    """The course's notebooks (``NN_topic.ipynb``), in order."""
    return sorted(p for p in directory.glob("*.ipynb") if _NAME.match(p.name))


def title_and_promise(path: Path) -> tuple[str, str]:
    """The notebook's title (its first ``#`` heading) and one-line promise (the next line of prose)."""
    first = nbformat.read(path, as_version=4).cells[0]
    if first.cell_type != "markdown":
        raise ValueError(f"{path.name}: the first cell must be the markdown title cell")
    lines = [line.strip() for line in first.source.splitlines() if line.strip()]
    titles = [line[2:].strip() for line in lines if line.startswith("# ")]
    if not titles:
        raise ValueError(f"{path.name}: the title cell has no '# ' heading")
    after = lines[lines.index("# " + titles[0]) + 1 :]
    promise = next((line for line in after if not line.startswith(("#", "<!--", "-", "|"))), "")
    return titles[0], promise.strip("*_ ")


def navigation_line(paths: list[Path], index: int) -> str:
    """``← previous | contents | next →`` for ``paths[index]``, as relative links."""
    parts = []
    if index > 0:
        parts.append(f"[← {_short(paths[index - 1])}]({paths[index - 1].name})")
    parts.append(f"[contents]({paths[0].name}#Contents)")
    if index + 1 < len(paths):
        parts.append(f"[{_short(paths[index + 1])} →]({paths[index + 1].name})")
    return " | ".join(parts) + " " + NAV_MARK  # a comment that opens a line would hide the links


def contents_table(paths: list[Path], link_dir: str = "") -> str:
    """A markdown table of the notebooks: number, linked title, promise."""
    rows = ["| # | Notebook | What you will be able to do |", "|---|---|---|"]
    for path in paths:
        title, promise = title_and_promise(path)
        rows.append(f"| {path.name[:2]} | [{title}]({link_dir}{path.name}) | {promise} |")
    return "\n".join(rows)


def refresh(directory: Path = NOTEBOOK_DIR, readme: Path | None = README) -> list[Path]:
    """Rewrite navigation lines and contents tables; return the files that changed."""
    paths = notebook_paths(directory)
    changed = []
    for index, path in enumerate(paths):
        before = path.read_text()
        notebook = nbformat.read(path, as_version=4)
        title_cell = notebook.cells[0]
        lines = [line for line in title_cell.source.splitlines() if NAV_MARK not in line]
        while lines and not lines[-1].strip():
            lines.pop()
        title_cell.source = "\n".join([*lines, "", navigation_line(paths, index)])
        if index == 0:
            table = contents_table(paths)
            for cell in notebook.cells:
                cell.source = _replace_block(cell.source, table)
        nbformat.write(notebook, path)
        if path.read_text() != before:
            changed.append(path)
    if readme is not None and readme.exists():
        text = readme.read_text()
        new = _replace_block(text, contents_table(paths, link_dir=f"{directory.name}/"))
        if new != text:
            readme.write_text(new)
            changed.append(readme)
    return changed


def execute(path: Path, timeout: int = 120) -> float:
    """Run ``path`` top to bottom in a fresh ``python3`` kernel, save outputs in place; return seconds.

    ``timeout`` bounds each cell and also nbclient's wait for the kernel's first reply,
    which is occasionally lost at start-up: the run then goes on after the timeout, so
    keep it short (every cell of the course runs in seconds).
    """
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name=KERNEL_NAME,
        record_timing=False,  # timestamps would make every run rewrite every cell
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(as_jupyterlab_saves(notebook), path)
    return time.perf_counter() - started


def kernel_display_name(name: str = KERNEL_NAME) -> str:
    """The display name of the installed kernel ``name``, which JupyterLab writes into notebooks."""
    from jupyter_client.kernelspec import KernelSpecManager

    return KernelSpecManager().get_kernel_spec(name).display_name


def as_jupyterlab_saves(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``notebook`` as JupyterLab would save it, so opening and saving it changes nothing.

    JupyterLab writes the kernel's own display name (``Python 3 (ipykernel)``), marks a code
    cell with hidden outputs ``collapsed`` too (the older key for the same thing), merges
    consecutive outputs of one stream (a kernel may send one print in several pieces), and its
    JSON round trip turns whole floats into integers (the widget state's ``1.0`` becomes ``1``).
    """
    notebook.metadata.setdefault("kernelspec", {})
    notebook.metadata.kernelspec.update(
        name=KERNEL_NAME, display_name=kernel_display_name(), language="python"
    )
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.metadata.get("jupyter", {}).get("outputs_hidden"):
            cell.metadata["collapsed"] = True
        cell.metadata = _whole_floats_as_int(cell.metadata)
        if "outputs" in cell:
            cell.outputs = _merged_streams(cell.outputs)
        for output in cell.get("outputs", []):
            for key in ("data", "metadata"):
                if key in output:
                    output[key] = _whole_floats_as_int(output[key])
    notebook.metadata = _whole_floats_as_int(notebook.metadata)
    return notebook


def _merged_streams(outputs: list) -> list:
    """Consecutive ``stream`` outputs of the same name joined into one, as JupyterLab shows them."""
    merged: list = []
    for output in outputs:
        last = merged[-1] if merged else None
        if (
            last is not None
            and output.get("output_type") == "stream"
            and last.get("output_type") == "stream"
            and output.get("name") == last.get("name")
        ):
            last["text"] = "".join(last["text"]) + "".join(output["text"])
        else:
            merged.append(output)
    return merged


def _whole_floats_as_int(value: Any) -> Any:
    """JavaScript's JSON: a float with no fraction is written as an integer."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return type(value)((key, _whole_floats_as_int(item)) for key, item in value.items())
    if isinstance(value, list):
        return [_whole_floats_as_int(item) for item in value]
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scalekit.course", description=__doc__)
    parser.add_argument("command", choices=["refresh", "run", "execute"])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook")
    args = parser.parse_args(argv)
    if args.command != "execute":
        for path in refresh():
            print(f"refreshed {path.relative_to(ROOT)}")
    if args.command in ("run", "execute"):
        for path in args.notebooks or notebook_paths():
            seconds = execute(path.resolve())
            print(f"executed {path.name} in {seconds:.1f} s")
    return 0


def _short(path: Path) -> str:
    return path.stem[:2] + " " + path.stem[3:].replace("_", " ")


def _replace_block(text: str, table: str) -> str:
    if CONTENTS_START not in text or CONTENTS_END not in text:
        return text
    head, rest = text.split(CONTENTS_START, 1)
    _, tail = rest.split(CONTENTS_END, 1)
    return f"{head}{CONTENTS_START}\n{table}\n{CONTENTS_END}{tail}"


if __name__ == "__main__":
    sys.exit(main())
