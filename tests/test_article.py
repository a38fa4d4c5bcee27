"""docs/article.md, the page that maps the article minigrad grew from onto the code, stays true.

The page names source files, the classes and functions in them, notebooks, docs pages, public
names and measured figures. Each is checked here against the tree, so that a rename or a new
measurement that leaves the page behind fails a test instead of sending a reader nowhere.
"""
import importlib
import re
from pathlib import Path

import pytest

import minigrad

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGE = DOCS / "article.md"
TEXT = PAGE.read_text() if PAGE.exists() else ""

# `minigrad/ops/linear.py` or `minigrad/quantization/`, optionally followed by the names it
# defines: `minigrad/ops/linear.py` (`Linear`, `linear`)
SOURCE = re.compile(r"`((?:minigrad|tests|benchmarks)/[\w/.]*)`(?: \(((?:`[\w.]+`(?:, )?)+)\))?")
DOC = re.compile(r"\{doc\}`(?:[^`<]*<)?([^`>]+)>?`")
PUBLIC = re.compile(r"`((?:minigrad|nn|optim)\.[\w.]+)`")


def test_the_page_exists_and_follows_getting_started_in_the_toctree():
    assert PAGE.exists(), "docs/article.md is missing"
    index = (DOCS / "index.md").read_text()
    start = re.search(r"```\{toctree\}\n(?:.*\n)*?:caption: Start\n\n((?:.+\n)+?)```", index)
    assert start, "docs/index.md has no toctree captioned Start"
    assert start.group(1).split() == ["getting-started", "article"], start.group(1)


def test_readmes_and_getting_started_link_the_page():
    for name in ("README.md", "README.zh-CN.md"):
        assert "(docs/article.md)" in (ROOT / name).read_text(), f"{name} does not link docs/article.md"
    assert "{doc}`article`" in (DOCS / "getting-started.md").read_text()


def _defines(files, name):
    pattern = re.compile(rf"^(?:class|def) {re.escape(name)}\b|^{re.escape(name)} *=", re.M)
    return any(pattern.search(f.read_text()) for f in files)


def test_every_source_path_exists_and_defines_the_names_given_with_it():
    found = SOURCE.findall(TEXT)
    assert len(found) >= 15, "the page names fewer source paths than it did: is the pattern stale?"
    for path, names in found:
        target = ROOT / path
        assert target.exists(), f"docs/article.md names {path}, which does not exist"
        files = sorted(target.rglob("*.py")) if target.is_dir() else [target]
        for name in re.findall(r"`([\w.]+)`", names):
            top = name.split(".")[0]
            assert _defines(files, top), f"docs/article.md says {path} defines {name}; it does not"


def test_every_docs_page_and_notebook_it_links_exists():
    targets = DOC.findall(TEXT)
    assert {"getting-started", "ops/linear", "ops/binary-cross-entropy", "compression"} <= set(targets)
    notebooks = {t for t in targets if t.startswith("notebooks/")}
    assert {t[len("notebooks/"):][:2] for t in notebooks} >= {"03", "04", "05", "08", "11"}
    for target in targets:
        candidates = [DOCS / f"{target}.md", DOCS / f"{target}.ipynb"]
        assert any(c.exists() for c in candidates), f"docs/article.md links {target}, which does not exist"
    for page, anchor in re.findall(r"\]\(([\w/-]+\.md)#([\w-]+)\)", TEXT):
        assert (DOCS / page).exists(), f"docs/article.md links {page}, which does not exist"


@pytest.mark.parametrize("name", sorted(set(PUBLIC.findall(TEXT))))
def test_every_public_name_it_gives_resolves(name):
    parts = name.split(".")
    if parts[0] != "minigrad":
        parts = ["minigrad", *parts]
    obj = minigrad
    for i, part in enumerate(parts[1:], start=2):
        if not hasattr(obj, part):  # a submodule that is not imported by its package
            importlib.import_module(".".join(parts[:i]))
        obj = getattr(obj, part)


def test_the_article_preset_is_what_the_page_says():
    from minigrad.cli import PRESETS

    assert "python -m minigrad train --preset article" in TEXT
    assert PRESETS["article"] == {"optimizer": "sgd", "lr": 0.01, "momentum": 0.0}


def test_every_figure_on_the_page_is_the_readmes():
    """The accuracies are measured once, for the README; the page quotes them, never its own."""
    readme = (ROOT / "README.md").read_text()
    figures = re.findall(r"\d+\.\d+%|\d+\.\d+-\d+\.\d+%", TEXT)
    assert {"82.6%", "94.9%"} <= set(figures)
    for figure in figures:
        assert figure in readme, f"docs/article.md quotes {figure}, which README.md does not"
