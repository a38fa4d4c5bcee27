"""The documentation site, built once per test session and shared by the tests that read it.

tests/test_docs.py checks the build (warnings are errors) and what the HTML holds;
tests/test_site.py opens it in a headless browser. Both use the ``built_docs`` fixture, so the
site (and the notebooks it executes) is built once, into docs/_build/html, where a reader
building by hand would find it and where CI keeps the browser's screenshots beside it.
"""
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
BUILD = DOCS / "_build"
HTML = BUILD / "html"
DOCS_PACKAGES = ("sphinx", "myst-nb", "furo", "sphinx-mathjax-offline")


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

    def require(self):
        """The HTML folder; fails the calling test, with the build's warnings, if it failed."""
        if self.returncode != 0:
            pytest.fail("the docs build failed, so there is no site to check:\n"
                        + "\n".join(self.problems or [self.output[-3000:]]))
        return self.html


def build_docs():
    """Build the site from scratch, so each warning shows again and no page is left over.

    The HTML folder is emptied first: Sphinx rewrites only the pages it thinks changed (the
    source listings under _modules kept an older build's stylesheet links). Executed notebooks
    come from the cache in docs/_build/.jupyter_cache, so only the notebooks that changed run.
    """
    start = time.perf_counter()
    shutil.rmtree(HTML, ignore_errors=True)
    done = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                           str(DOCS), str(HTML)], cwd=ROOT, capture_output=True, text=True, timeout=1200)
    output = done.stdout + done.stderr
    problems = [line for line in output.splitlines()
                if ("WARNING" in line or "ERROR" in line) and "IPKernelApp" not in line]
    return Build(HTML, done.returncode, output, time.perf_counter() - start, problems)


@pytest.fixture(scope="session")
def built_docs(request):
    """The docs built once for the whole session (skipped locally without the docs extra)."""
    missing = _missing_docs_packages()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must build the docs, but {missing} are not installed")
        pytest.skip(f"{missing} not installed: pip install '.[docs]' to build the docs")
    build = build_docs()
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # shown even though output is captured
            reporter.write_line(f"\ndocs built in {build.seconds:.0f} s into {build.html}")
    return build
