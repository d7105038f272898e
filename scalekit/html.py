"""The course's offline HTML edition: ``python -m scalekit.html`` (``make html``).

Builds ``build/html/``: ``index.html`` (the contents) and one page per notebook, linked to
each other by ``.html``. Pages carry no scripts and load nothing from the network: mermaid
diagrams become inline SVG and math becomes MathJax SVG at build time, in Debian's headless
Chromium, with mermaid and MathJax taken from the npm registry (``npm pack``) into
``build/js/``. Solutions sit in closed ``<details>``; a widget's place shows the output of
its static twin, the compared cell that follows it.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import nbformat

from scalekit import course

BUILD = course.ROOT / "build"
JS_DIR = BUILD / "js"
MERMAID = ("mermaid", "11.16.1", "package/dist/mermaid.min.js")
MATHJAX = ("mathjax", "3.2.2", "package/es5/tex-svg-full.js")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MATHJAX_CONFIG = {
    "tex": {"inlineMath": [["$", "$"], ["\\(", "\\)"]], "processEscapes": True},
    "svg": {"fontCache": "none"},
    "startup": {"typeset": False},
}
SOLUTION_SUMMARY = "Solution: try the exercise first"
WIDGET_NOTE = (
    "In JupyterLab this cell draws the live control panel described above. This page runs no "
    "code, so it shows instead the output of the widget's static twin, the next cell, which runs "
    "the same function with fixed values:"
)

# Runs in the page: renders mermaid and math, folds solutions, links pages, drops every script.
FINISH_PAGE = """async ({summary}) => {
  mermaid.initialize({startOnLoad: false, securityLevel: "strict", theme: "default", htmlLabels: false,
    flowchart: {htmlLabels: false}});
  let n = 0;
  for (const pre of [...document.querySelectorAll(".jp-Mermaid > pre.mermaid")]) {
    const holder = pre.parentNode;
    const source = pre.cloneNode(true);
    source.querySelectorAll("br").forEach(br => br.replaceWith("<br/>"));
    const {svg} = await mermaid.render(`diagram-${n++}`, source.textContent.trim());
    const figure = document.createElement("figure");
    figure.className = "course-diagram";
    figure.innerHTML = svg;
    holder.replaceChildren(figure);
    holder.classList.add("jp-RenderedMermaid");
  }
  await MathJax.startup.promise;
  await MathJax.typesetPromise([...document.querySelectorAll(".jp-MarkdownOutput")]);
  for (const cell of [...document.querySelectorAll(".jp-Cell.celltag_solution")]) {
    const details = document.createElement("details");
    details.className = "course-solution";
    const label = document.createElement("summary");
    label.textContent = summary;
    cell.replaceWith(details);
    details.append(label, cell);
  }
  for (const cell of [...document.querySelectorAll(".jp-OutputArea-output table :is(td, th)")]) {
    const text = cell.textContent.trim();
    if (text.length > 20 && /[A-Za-z]{3}/.test(text)) cell.classList.add("course-prose");
  }
  for (const link of [...document.querySelectorAll("a[href]")]) {
    const href = link.getAttribute("href");
    const match = href.match(/^(\\d\\d_[a-z0-9_]+)\\.ipynb(#.*)?$/);
    if (match) link.setAttribute("href", `${match[1]}.html${match[2] || ""}`);
  }
  document.querySelectorAll("script, link[rel=preload], link[href^=http]").forEach(e => e.remove());
  return "<!DOCTYPE html>\\n" + document.documentElement.outerHTML;
}"""

PAGE_STYLE = """<style>
details.course-solution { margin: 0.5em 0 0.5em 64px; padding: 0.3em 0.6em;
  border-left: 3px solid #1976d2; background: #f5f8fc; }
details.course-solution > summary { cursor: pointer; font-family: monospace; color: #555; }
.jp-RenderedMermaid { display: block; width: 100%; }
figure.course-diagram { display: block; width: 100%; margin: 1em 0; text-align: center; }
figure.course-diagram svg { height: auto; }
.course-widget-note { font-style: italic; color: #555; }
.jp-OutputArea-output pre { word-break: normal; overflow-wrap: anywhere; }
.jp-RenderedHTMLCommon :is(td, th).course-prose { text-align: left; }
</style>"""


def fetch_js(directory: Path = JS_DIR) -> dict[str, Path]:
    """Mermaid's and MathJax's browser bundles, from the npm registry (once) into ``directory``."""
    paths = {}
    for name, version, member in (MERMAID, MATHJAX):
        target = directory / f"{name}-{version}.js"
        if not target.exists():
            directory.mkdir(parents=True, exist_ok=True)
            npm = shutil.which("npm")
            if npm is None:
                raise RuntimeError("make html needs npm to fetch mermaid and MathJax: apt-get install npm")
            with tempfile.TemporaryDirectory() as tmp:
                subprocess.run(
                    [npm, "pack", f"{name}@{version}", "--silent", "--pack-destination", tmp],
                    check=True,
                    stdout=subprocess.DEVNULL,
                )
                with tarfile.open(next(Path(tmp).glob("*.tgz"))) as archive:
                    source = archive.extractfile(member)
                    if source is None:
                        raise RuntimeError(f"{name}@{version} has no {member}")
                    target.write_bytes(source.read())
        paths[name] = target
    return paths


def static_notebook(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy where each widget's output is its static twin's, with a sentence saying so.

    Cells that open with ``# Solution`` are tagged ``solution`` so that they fold away.
    """
    notebook = copy.deepcopy(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for cell in code:  # a solution folds away even if its tag was forgotten
        tags = cell.metadata.get("tags", [])
        if cell.source.lstrip().lower().startswith("# solution") and "solution" not in tags:
            cell.metadata["tags"] = [*tags, "solution"]
    for index, cell in enumerate(code):
        if "what_if(" in cell.source and index + 1 < len(code):
            note = nbformat.v4.new_output(
                "display_data",
                data={
                    "text/html": f'<p class="course-widget-note">{WIDGET_NOTE}</p>',
                    "text/plain": WIDGET_NOTE,
                },
            )
            cell.outputs = [note, *copy.deepcopy(code[index + 1].outputs)]
    notebook.metadata.pop("widgets", None)
    return notebook


def index_notebook(paths: list[Path]) -> nbformat.NotebookNode:
    """The edition's front page: what the course is and its contents."""
    _, promise = course.title_and_promise(paths[0])
    text = "\n".join(
        [
            "# Scalability Patterns",
            "",
            "A course on scalability patterns that you can run: every number in it is computed by the",
            "code beside it. This is the offline, read-only edition; to run and change the code, open",
            "the notebooks in JupyterLab (`make lab` in the repository).",
            "",
            "## Contents",
            "",
            course.contents_table(paths),
            "",
            f"Start with [{course.title_and_promise(paths[0])[0]}]({paths[0].name}): {promise.lower()}",
        ]
    )
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell(text)]
    notebook.metadata.kernelspec = {
        "name": course.KERNEL_NAME,
        "display_name": "Python 3",
        "language": "python",
    }
    return notebook


def export(notebook: nbformat.NotebookNode, title: str) -> str:
    """nbconvert's JupyterLab-look HTML, before the browser pass."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    exporter.mathjax_url = ""
    exporter.require_js_url = ""
    exporter.jquery_url = ""
    exporter.mermaid_js_url = ""
    exporter.mermaid_layout_elk_js_url = ""
    body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": title}})
    return body.replace("</head>", PAGE_STYLE + "\n</head>", 1)


def build(output: Path = BUILD / "html", paths: list[Path] | None = None) -> list[Path]:
    """Write the edition into ``output``; return the pages written."""
    from playwright.sync_api import Error as BrowserError
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(
            f"make html draws diagrams in Debian's chromium; none at {CHROMIUM}: apt-get install chromium"
        )
    paths = paths or course.notebook_paths()
    js = fetch_js()
    output.mkdir(parents=True, exist_ok=True)
    pages = [(output / "index.html", index_notebook(paths), "Scalability Patterns")]
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        pages.append(
            (output / f"{path.stem}.html", static_notebook(notebook), course.title_and_promise(path)[0])
        )
    for page_path, notebook, title in pages:
        page_path.write_text(export(notebook, title), encoding="utf-8")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for page_path, _, _ in pages:
                page = browser.new_page()
                page.route("**/*", _local_only)
                page.goto(page_path.as_uri(), wait_until="load")
                page.evaluate(f"window.MathJax = {json.dumps(MATHJAX_CONFIG)}")
                page.add_script_tag(path=str(js["mermaid"]))
                page.add_script_tag(path=str(js["mathjax"]))
                try:
                    html = page.evaluate(FINISH_PAGE, {"summary": SOLUTION_SUMMARY})
                except BrowserError as error:  # mermaid's parse errors name the line, not the page
                    raise RuntimeError(f"{page_path.stem}.ipynb: {error.message}") from None
                page_path.write_text(html, encoding="utf-8")
                page.close()
        finally:
            browser.close()
    return [page_path for page_path, _, _ in pages]


def _local_only(route) -> None:
    if route.request.url.startswith(("file:", "data:")):
        route.continue_()
    else:
        route.abort()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scalekit.html", description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=BUILD / "html")
    args = parser.parse_args(argv)
    for page in build(args.output.resolve()):
        print(f"wrote {page.relative_to(course.ROOT) if page.is_relative_to(course.ROOT) else page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
