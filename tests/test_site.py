"""The built documentation, opened in a real headless browser, as a reader would see it.

Every page of the site built by the ``built_docs`` fixture (tests/docs_site.py), and the
translated pages of the Chinese site built into its zh_CN folder, is loaded in Chromium, served from 127.0.0.1 with every other address refused, so the site must work
offline. On each page: no console error and no failed request, every image loaded, every
formula typeset by MathJax and no TeX left as typed, no code listing of at most 100 columns
scrolling sideways in a 1280-pixel window, and every link within the site (fragments too)
leads to something. A few screenshots are saved under docs/_build/screenshots, which CI keeps.

Needs Playwright (pip install '.[browser]') and Debian's Chromium (apt-get install chromium);
without them the test is skipped locally and fails under CI.
"""
import functools
import os
import shutil
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

from docs_site import BUILD, translated_pages

SCREENSHOTS = BUILD / "screenshots"
# One page of each kind: the home page, a derivation, a notebook with figures, the API, a
# translated page and a translated notebook.
SCREENSHOT_PAGES = ("index.html", "ops/softmax-cross-entropy.html", "notebooks/05_mnist.html",
                    "notebooks/02_inside_the_engine.html", "api.html", "zh_CN/concepts.html",
                    "zh_CN/notebooks/04_losses.html")
# Flags for a root user on a machine with no network: no sandbox (root), and none of the
# background connections (updates, sync, field trials) that would only be refused.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# Runs in the page once MathJax is done: what a reader would see that is wrong.
PAGE_REPORT_JS = r"""
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const visible = (el) => el.getClientRects().length > 0;
  const maths = [...document.querySelectorAll('span.math, div.math')];
  const untypeset = maths.filter((el) => !el.querySelector('mjx-container'))
                         .map((el) => el.textContent.trim().slice(0, 80));
  // Text a reader sees outside code and typeset maths: no TeX may be left in it.
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (node.parentElement.closest('pre, code, script, style, mjx-container, textarea, .highlight')) continue;
    texts.push(node.textContent);
  }
  const text = texts.join(' ');
  const rawTex = [...text.matchAll(/\$[^$\s][^$]*?\$|\\[(\[]|\\(frac|partial|sum|mathbf|top|text)\b/g)]
                   .map((m) => text.slice(Math.max(0, m.index - 30), m.index + 50));
  const images = [...document.images].map((img) => ({src: img.currentSrc || img.src,
      loaded: img.complete && img.naturalWidth > 0}));
  // The code is written to 100 columns and the site's CSS makes 100 columns fit: a listing
  // that still scrolls sideways hides the end of its lines. (Longer lines may scroll.)
  const width = document.documentElement.clientWidth;
  const overflowing = [...document.querySelectorAll('pre')].filter(visible).filter((pre) => {
    const longest = Math.max(...pre.textContent.split('\n').map((line) => line.length));
    return pre.getBoundingClientRect().right > width + 1
        || (pre.scrollWidth > pre.clientWidth + 1 && longest <= 100);
  }).map((pre) => pre.textContent.trim().split('\n')[0].slice(0, 80));
  const links = [...document.querySelectorAll('a[href]')].map((a) => a.href);
  const ids = [...document.querySelectorAll('[id], a[name]')].map((el) => el.id || el.name);
  return {typeset: maths.length - untypeset.length, untypeset, rawTex, images, overflowing,
          pageWidth: document.documentElement.scrollWidth, width, links, ids};
}
"""


def _chromium():
    for name in (os.environ.get("MINIGRAD_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _require_browser():
    reason = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright, reason = None, "Playwright is not installed: pip install '.[browser]'"
    if reason is None and _chromium() is None:
        reason = "Chromium is not installed: apt-get install chromium (or set MINIGRAD_CHROMIUM)"
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must open the docs in a browser, but {reason}")
        pytest.skip(reason)
    return sync_playwright


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(built_docs, built_docs_zh):
    """The built site served on 127.0.0.1 at an unused port: (base URL, HTML folder).

    The Chinese site lies in its zh_CN folder, where each English page's language link points.
    """
    html = built_docs.require()
    built_docs_zh.require()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(html)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", html
    finally:
        server.shutdown()
        server.server_close()


def _pages(html):
    """Every English page, and the translated pages of each translation (its other pages are
    the English ones again)."""
    translated = {f"{language}/{page}.html" for language, page, _ in translated_pages()}
    languages = tuple({f"{language}/" for language, _, _ in translated_pages()})
    return sorted(name for name in (p.relative_to(html).as_posix() for p in html.rglob("*.html"))
                  if not name.startswith(("_static/", "_sources/"))
                  and (not name.startswith(languages) or name in translated))


def _visit(page, url):
    """Load one page; what went wrong on it, and what the page reports."""
    problems = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} ({r.failure})"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    page.goto(url, wait_until="load")
    return problems, page.evaluate(PAGE_REPORT_JS)


def test_every_page_in_a_headless_browser(site, request):
    sync_playwright = _require_browser()
    base, html = site
    pages = _pages(html)
    failures, links, ids, outside = {}, [], {}, []
    counts = {"pages": 0, "formulas": 0, "images": 0, "links": 0}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})

        def only_this_site(route):
            if route.request.url.startswith(base):
                return route.continue_()
            outside.append(route.request.url)
            return route.abort()

        context.route("**/*", only_this_site)
        for name in pages:
            page = context.new_page()
            problems, report = _visit(page, base + name)
            counts["pages"] += 1
            counts["formulas"] += report["typeset"]
            counts["images"] += len(report["images"])
            problems += [f"formula not typeset: {t!r}" for t in report["untypeset"]]
            problems += [f"TeX shown as typed: {t!r}" for t in report["rawTex"]]
            problems += [f"image did not load: {i['src']}" for i in report["images"] if not i["loaded"]]
            problems += [f"code listing scrolls sideways at 1280 px: {t!r}" for t in report["overflowing"]]
            if report["pageWidth"] > report["width"] + 1:
                problems.append(f"the page scrolls sideways: {report['pageWidth']} px wide in a "
                                f"{report['width']} px window")
            if name in SCREENSHOT_PAGES:
                target = page.locator("img, mjx-container").first
                if target.count():
                    target.scroll_into_view_if_needed()
                page.screenshot(path=str(SCREENSHOTS / (name.replace("/", "_")[:-5] + ".png")))
            page.close()
            ids[name] = set(report["ids"])
            links += [(name, link) for link in report["links"]]
            if problems:
                failures[name] = problems
        browser.close()
    seconds = time.perf_counter() - start

    for name, link in links:
        if not link.startswith(base):
            continue  # a link out of the site: not fetched, the site must work offline
        counts["links"] += 1
        address, fragment = urldefrag(link)
        target = unquote(urlsplit(address).path).lstrip("/") or "index.html"
        if target.endswith("/"):
            target += "index.html"
        if not (html / target).is_file():
            failures.setdefault(name, []).append(f"broken link: {link} ({target} does not exist)")
        elif fragment and target in ids and unquote(fragment) not in ids[target]:
            failures.setdefault(name, []).append(f"broken link: {link} (no #{fragment} in {target})")
    if outside:
        failures.setdefault("(any page)", []).append(f"requests outside the site: {sorted(set(outside))[:10]}")

    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # shown even though output is captured
            reporter.write_line(f"\nbrowser: {counts['pages']} pages, {counts['formulas']} formulas, "
                                f"{counts['images']} images, {counts['links']} internal links in "
                                f"{seconds:.0f} s; screenshots in {SCREENSHOTS}")
    assert not failures, "what a reader would see go wrong:\n" + "\n".join(
        f"{name}:\n  " + "\n  ".join(sorted(set(problems))[:15]) for name, problems in sorted(failures.items()))
    assert counts["formulas"] > 100 and counts["images"] > 5, counts  # the check saw a real site
