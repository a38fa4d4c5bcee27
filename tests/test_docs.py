"""The documentation: it builds with warnings as errors, its gradient table is complete, and
the built pages hold what they should: the notebooks' figures, titles without raw LaTeX."""
import html as html_lib
import inspect
import json
import re
from pathlib import Path

import pytest

import minigrad
import importlib
import pkgutil

from op_cases import CASES, make_tensors

from minigrad import ops
from minigrad.autograd import Function

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def op_functions():
    """Every Function class defined in a module of minigrad/ops, by name."""
    found = {}
    for info in pkgutil.iter_modules(ops.__path__):
        module = importlib.import_module(f"{ops.__name__}.{info.name}")
        found.update({name: obj for name, obj in vars(module).items()
                      if inspect.isclass(obj) and issubclass(obj, Function) and obj is not Function
                      and obj.__module__ == module.__name__})
    return found


def test_every_op_is_reached_by_a_case_of_the_registry():
    """Each op's tests come from tests/op_cases.py: an op no case reaches is untested."""
    reached = set()
    for case in CASES:
        tensors = make_tensors(case.host_inputs(), "cpu", minigrad.float64)
        nodes = minigrad.autograd.topological_order(case.fn(*tensors))
        reached.update(n.fn.__name__ for n in nodes if isinstance(n, minigrad.autograd.Context))
    missing = set(op_functions()) - reached
    assert not missing, f"ops that no case in tests/op_cases.py reaches: {sorted(missing)}"


def test_gradient_table_lists_every_op():
    table = (DOCS / "gradients.md").read_text()
    listed = set(re.findall(r"^\| `(\w+)` \|", table, flags=re.M))
    functions = set(op_functions())
    assert functions - listed == set(), f"ops missing from docs/gradients.md: {sorted(functions - listed)}"
    assert listed - functions == set(), f"docs/gradients.md lists ops that do not exist: {sorted(listed - functions)}"
    assert ops.__doc__  # the package docstring names the families the table follows


def test_docs_build_without_warnings(built_docs):
    html = built_docs.require()
    assert built_docs.problems == [], "the docs build warned:\n" + "\n".join(built_docs.problems)
    assert (html / "index.html").exists()
    assert minigrad.__version__ in (html / "index.html").read_text()


def _text(fragment):
    return html_lib.unescape(re.sub(r"<[^>]+>", "", fragment))


def _html_cells(page):
    """The code cells of a notebook page, in order: (input text, output HTML) each."""
    chunks = page.split('<div class="cell docutils container">')[1:]
    cells = []
    for chunk in chunks:
        source, _, output = chunk.partition('<div class="cell_output docutils container">')
        cells.append((_text(source), output.split('<div class="cell docutils container">')[0]))
    return cells


def _shows_a_graph(source):
    """A cell ending in ``draw_graph(...)``, or in a name it assigned one to: Jupyter shows it."""
    last = source.strip().splitlines()[-1]
    return last.startswith("draw_graph(") or re.search(rf"^{re.escape(last)} = draw_graph\(", source, re.M)


NOTEBOOK_PAGES = sorted((DOCS / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOK_PAGES, ids=[p.stem for p in NOTEBOOK_PAGES])
def test_each_figure_a_notebook_draws_is_in_its_page(built_docs, path):
    """Every cell that shows a figure has it as an image in the built page, the file present.

    A non-interactive matplotlib backend in the kernels (Agg) once left every notebook page of
    the site without a single figure while the build passed.
    """
    html = built_docs.require()
    code = [c["source"] if isinstance(c["source"], str) else "".join(c["source"])
            for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    page_path = html / "notebooks" / f"{path.stem}.html"
    cells = _html_cells(page_path.read_text())
    assert len(cells) == len(code), f"{page_path.name}: {len(cells)} code cells in the page, {len(code)} in the notebook"
    drawing = [i for i, source in enumerate(code) if "plt.show()" in source or _shows_a_graph(source)]
    if not drawing:
        pytest.skip(f"{path.name} draws no figure")
    for i in drawing:
        images = re.findall(r'<img [^>]*src="([^"]+)"', cells[i][1])
        expected = max(1, code[i].count("plt.show()"))
        assert len(images) >= expected, (f"{page_path.name}, code cell {i + 1}: {len(images)} figures shown, "
                                         f"{expected} drawn (outputs cached by an older build lack them: "
                                         f"rm -r docs/_build/.jupyter_cache):\n{code[i][:300]}")
        for src in images:
            image = (page_path.parent / src).resolve()
            assert image.is_file() and image.stat().st_size > 1000, f"{page_path.name}: {src} is missing or empty"


def test_no_latex_in_page_titles_or_navigation(built_docs):
    """A title or a table of contents shows TeX as typed: headings are written without maths."""
    html = built_docs.require()
    for page in sorted(html.rglob("*.html")):
        text = page.read_text()
        titles = re.findall(r"<title>(.*?)</title>", text, flags=re.S)
        navigation = re.findall(r'<a class="reference internal" href="[^"]*">(.*?)</a>', text, flags=re.S)
        for label in titles + navigation:
            shown = _text(label)
            assert not re.search(r"\\[(\[]|\$|\\[a-zA-Z]+", shown), (
                f"{page.relative_to(html)}: a title or navigation link shows raw LaTeX: {shown!r}; "
                "write that heading without maths")
