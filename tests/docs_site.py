"""The documentation site, built once per test session and shared by the tests that read it.

tests/test_docs.py checks the build (warnings are errors) and what the HTML holds;
tests/test_site.py opens it in a headless browser. Both use the ``built_docs`` fixture, so the
site (and the notebooks it executes) is built once, into docs/_build/html, where a reader
building by hand would find it and where CI keeps the browser's screenshots beside it.

Each translation (docs/locales/<language>) is built after it by ``built_docs_zh`` into
docs/_build/html/<language>, from the same sources and the same executed notebooks;
tests/test_translations.py checks it.
"""
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
BUILD = DOCS / "_build"
HTML = BUILD / "html"
LOCALES = DOCS / "locales"
DOCS_PACKAGES = ("sphinx", "myst-nb", "furo", "sphinx-mathjax-offline")


def translated_pages():
    """(language, page, catalogue) for each page a translation shows translated: the pages
    with a catalogue docs/locales/<language>/LC_MESSAGES/<page>.po."""
    found = []
    for po in sorted(LOCALES.glob("*/LC_MESSAGES/**/*.po")):
        language, _, *parts = po.relative_to(LOCALES).with_suffix("").parts
        found.append((language, "/".join(parts), po))
    return found


def _missing_docs_packages():
    from importlib.metadata import PackageNotFoundError, distribution

    missing = []
    for dist in DOCS_PACKAGES:
        try:
            distribution(dist)
        except PackageNotFoundError:
            missing.append(dist)
    return missing


@dataclass
class Build:
    html: Path
    returncode: int
    output: str
    seconds: float
    problems: list = field(default_factory=list)
    started: datetime = None  # in UTC without a time zone, as jupyter-cache writes its times

    def require(self):
        """The HTML folder; fails the calling test, with the build's warnings, if it failed."""
        if self.returncode != 0:
            pytest.fail("the docs build failed, so there is no site to check:\n"
                        + "\n".join(self.problems or [self.output[-3000:]]))
        return self.html


def build_docs(language=None):
    """Build the site from scratch, so each warning shows again and no page is left over.

    The HTML folder is emptied first: Sphinx rewrites only the pages it thinks changed (the
    source listings under _modules kept an older build's stylesheet links). Executed notebooks
    come from the cache in docs/_build/.jupyter_cache, so only the notebooks that changed run.

    A ``language`` (``"zh_CN"``) builds that translation into HTML/<language>, where the
    English pages' language links point; Sphinx compiles its catalogues itself. Build the
    English site first: emptying HTML empties the translations too.
    """
    started = datetime.now(timezone.utc).replace(tzinfo=None)
    start = time.perf_counter()
    out = HTML / language if language else HTML
    shutil.rmtree(out, ignore_errors=True)
    options = ["-D", f"language={language}"] if language else []
    done = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                           *options, str(DOCS), str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=1200)
    output = done.stdout + done.stderr
    problems = [line for line in output.splitlines()
                if ("WARNING" in line or "ERROR" in line) and "IPKernelApp" not in line]
    return Build(out, done.returncode, output, time.perf_counter() - start, problems, started)


def require_docs_packages():
    """Skip the calling test locally without the docs extra; under CI, fail it."""
    missing = _missing_docs_packages()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must build the docs, but {missing} are not installed")
        pytest.skip(f"{missing} not installed: pip install '.[docs]' to build the docs")


def _report(request, build):
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # shown even though output is captured
            reporter.write_line(f"\ndocs built in {build.seconds:.0f} s into {build.html}")


@pytest.fixture(scope="session")
def built_docs(request):
    """The docs built once for the whole session (skipped locally without the docs extra)."""
    require_docs_packages()
    build = build_docs()
    _report(request, build)
    return build


@pytest.fixture(scope="session")
def built_docs_zh(request, built_docs):
    """The Chinese site, built once after the English one (whose build empties its folder)."""
    build = build_docs("zh_CN")
    _report(request, build)
    return build
