"""Sphinx configuration: MyST Markdown pages, the course notebooks through myst-nb, furo.

Build (from the repository root, warnings as errors):
    python -m sphinx -W --keep-going -b html docs docs/_build/html

The notebooks (docs/notebooks links to ../notebooks) are committed without outputs and are
executed while the docs build, so every figure in the HTML comes from the code as it is now.
Executed notebooks are cached in docs/_build/.jupyter_cache and run again only when they
change; MINIGRAD_DOCS_EXECUTE=off skips execution (code without outputs) for a quick build.

The site works offline: MathJax is served from the build's _static (copied from the
sphinx-mathjax-offline package, which the docs extra installs), never from a CDN.

The Chinese site is the same sources with Sphinx's gettext catalogues applied
(docs/locales/zh_CN/LC_MESSAGES/<page>.po; see docs/translating.md), built into a folder of
the English site so that each page can link to its translation with a relative link:
    python -m sphinx -W --keep-going -b html -D language=zh_CN docs docs/_build/html/zh_CN
"""
import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# Document (and execute the notebooks against) this source tree, not an installed minigrad.
sys.path.insert(0, str(ROOT))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
# The notebooks' kernels inherit this. Jupyter's inline backend turns each plt.show() into an
# image output, which myst-nb writes into the page; Agg (or any non-interactive backend set in
# the caller's environment) would draw into nothing and leave the pages without figures.
os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
# The notebooks' kernels inherit this: one BLAS thread, as tests/test_notebooks.py runs them
# (OpenBLAS's spinning threads are many times slower on a small shared machine).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import minigrad  # noqa: E402

project = "minigrad"
author = "the minigrad developers"
copyright = "the minigrad developers"
release = version = minigrad.__version__

extensions = [
    "myst_nb",  # Markdown pages (MyST) and Jupyter notebooks
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",  # Google-style docstrings
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**/.ipynb_checkpoints", "requirements*"]

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
myst_dmath_double_inline = True

nb_execution_mode = os.environ.get("MINIGRAD_DOCS_EXECUTE", "cache")
nb_execution_cache_path = str(DOCS / "_build" / ".jupyter_cache")
nb_execution_timeout = 300
nb_execution_raise_on_error = True  # a notebook that errors fails the build
nb_execution_show_tb = True
nb_merge_streams = True

napoleon_google_docstring = True
napoleon_numpy_docstring = False
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_typehints = "signature"
autodoc_mock_imports = ["cupy", "cupyx", "mpi4py"]

# Translations: one catalogue per page (gettext_compact off), so a page's translation lives in
# one file named after it. No source locations in the catalogues: a line added above a
# paragraph would otherwise change every entry below it. Sphinx compiles the .po files to .mo
# itself when it builds with a language set (gettext_auto_build).
language = "en"
locale_dirs = ["locales/"]
gettext_compact = False
gettext_location = False
# Each translation is built into <English site>/<language>/; name: the link's label.
TRANSLATIONS = {"zh_CN": "中文"}

html_theme = "furo"
html_title = f"minigrad {release}"
html_static_path = ["_static"]
html_css_files = ["minigrad.css"]  # code listings fit the page, notebook output wraps
templates_path = ["_templates"]
# Furo's sidebar, with the link to the other languages under the project's name.
html_sidebars = {"**": ["sidebar/brand.html", "sidebar/languages.html", "sidebar/search.html",
                        "sidebar/scroll-start.html", "sidebar/navigation.html",
                        "sidebar/ethical-ads.html", "sidebar/scroll-end.html",
                        "sidebar/variant-selector.html"]}


def _offline_mathjax():
    """The folder holding MathJax 3 (``mathjax/tex-svg.js`` and the parts it loads on demand)."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        folder = Path(distribution("sphinx-mathjax-offline").locate_file("sphinx-mathjax-offline/static"))
    except PackageNotFoundError:
        folder = None
    if folder is None or not (folder / "mathjax" / "tex-svg.js").is_file():
        raise RuntimeError("docs: MathJax is served from the built site, not a CDN, and comes from "
                           "the sphinx-mathjax-offline package, which is not installed; "
                           "pip install '.[docs]'")
    return folder


# Copied to _static/mathjax. SVG output draws its glyphs itself, so no web font is fetched;
# TeX's AMS environments are part of tex-svg.js.
html_static_path.append(str(_offline_mathjax()))
mathjax_path = "mathjax/tex-svg.js"
mathjax3_config = {"svg": {"fontCache": "global"}}

# Pages that no toctree of index.md names (gpu, benchmarks, distributed, ...) join the last
# one when their file exists at build time, so the docs build with and without them. A page
# named in another toctree stays out of it (a fixed list of the other pages once fell behind,
# and article, autograd, convolution and exercises showed twice in the navigation).
PLATFORM_ORDER = ["gpu", "benchmarks", "distributed"]
PLATFORM_MARKER = "%% platform pages: filled in by conf.py %%"


def _pages_in_index():
    blocks = re.findall(r"```\{toctree\}\n(.*?)```", (DOCS / "index.md").read_text(), flags=re.S)
    return {"index"} | {line.strip() for block in blocks for line in block.splitlines()
                        if line.strip() and not line.startswith((":", "%"))}


def platform_pages():
    found = {p.stem for p in DOCS.glob("*.md")} - _pages_in_index()
    return [p for p in PLATFORM_ORDER if p in found] + sorted(found - set(PLATFORM_ORDER))


def _fill_platform_toctree(app, docname, source):
    if docname == "index":
        source[0] = source[0].replace(PLATFORM_MARKER, "\n".join(platform_pages()))


def _literal_formula_blocks(app, what, name, obj, options, lines):
    """Show an indented formula block in a docstring as code, not as reST.

    The ops' docstrings are plain text for reading in the source: formulas such as
    ``dW = X.T @ G`` indented under a sentence and aligned by hand. reST would read such a
    block as a quotation or a misplaced indent; here each one becomes a literal block, so it
    renders exactly as it reads in the source. Field lists (napoleon's ``:param x:``),
    directives, doctests and bullet lists keep their own indentation rules.
    """
    out, in_block = [], False
    for line in lines:
        indent = len(line) - len(line.lstrip())
        if in_block:
            if not line.strip() or indent > 0:
                out.append(line)
                continue
            in_block = False
            if out[-1].strip():
                out.append("")
        if line.strip() and indent > 0:
            prev = next((p for p in reversed(out) if p.strip()), "")
            if prev and not prev[0].isspace():
                if prev.rstrip().endswith("::"):
                    in_block = True
                elif not prev.startswith((":", "..", ">>>", "...", "- ", "* ")):
                    if out and out[-1].strip():
                        out.append("")
                    out += ["::", ""]
                    in_block = True
        out.append(line if in_block or line.lstrip().startswith((">>>", "...")) else _escape(line))
    lines[:] = out


def _escape(line):
    """Plain-text formulas hold ``|x|`` and ``(*, in)``, which reST reads as markup."""
    parts = line.split("``")
    for i in range(0, len(parts), 2):  # outside inline literals only
        text = parts[i].replace("|", "\\|")
        parts[i] = re.sub(r"(?<![\w*])\*(?![\w*])", r"\\*", text)
    return "``".join(parts)


def _viewcode_backlinks(app):
    """Point each source page's "[docs]" links at names the reference documents.

    viewcode keeps one prefix a module, that of the first description it meets:
    ``minigrad.abs`` (listed under "Functions on tensors") made every function of
    ``minigrad.ops.elementwise`` link to ``api.html#minigrad.<name>``, which exists only for
    the few that ``minigrad`` re-exports. The module's own name is used instead wherever every
    linked name is documented under it.
    """
    modules = getattr(app.env, "_viewcode_modules", {})
    documented = app.env.get_domain("py").objects
    for modname, entry in modules.items():
        if not entry:
            continue
        code, tags, used, refname = entry
        if any(f"{refname}.{name}" not in documented for name in used) \
                and all(f"{modname}.{name}" in documented for name in used):
            modules[modname] = (code, tags, used, modname)
    return []


def _language_links(app, pagename, templatename, context, doctree):
    """The same page in the other languages, as relative links (the site works from files).

    The English site holds each translation in a folder named after its language, so from
    English ``ops/linear`` the Chinese page is ``../zh_CN/ops/linear.html`` and back.
    """
    page = app.builder.get_target_uri(pagename)
    up = "../" * pagename.count("/")
    language = app.config.language
    if language in TRANSLATIONS:
        english_root = up + "../"
        links = [("English", "en", english_root + page)]
        links += [(name, code, f"{english_root}{code}/{page}")
                  for code, name in TRANSLATIONS.items() if code != language]
    else:
        links = [(name, code, f"{up}{code}/{page}") for code, name in TRANSLATIONS.items()]
    context["language_links"] = [(name, code.replace("_", "-"), url) for name, code, url in links]


def _shared_notebook_outputs(app):
    """Write the executed notebooks' images to docs/_build/jupyter_execute for every language.

    myst-nb puts them in a folder beside the output folder, which for a translation built
    into docs/_build/html/<language> would be a folder inside the English site.
    """
    config = getattr(app.env, "mystnb_config", None)
    if config is not None:
        app.env.mystnb_config = config.copy(output_folder=str(DOCS / "_build" / "jupyter_execute"))


def setup(app):
    app.connect("builder-inited", _shared_notebook_outputs, priority=900)  # after myst-nb's
    app.connect("html-page-context", _language_links)
    app.connect("source-read", _fill_platform_toctree)
    app.connect("html-collect-pages", _viewcode_backlinks, priority=400)  # before viewcode's (500)
    app.connect("autodoc-process-docstring", _literal_formula_blocks)
