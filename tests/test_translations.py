"""The Chinese site: its catalogues are complete and in step with the English pages, it builds
with warnings as errors from the notebooks the English build executed, and each translated page
is Chinese prose around the English page's own code and formulas.

The catalogues are docs/locales/<language>/LC_MESSAGES/<page>.po, one a page (see
docs/translating.md); a page without one is shown in English on the Chinese site.
"""
import collections
import html as html_lib
import os
import re
import subprocess
import sys

import pytest

from docs_site import DOCS, ROOT, require_docs_packages, translated_pages

TRANSLATIONS = translated_pages()
IDS = [f"{language}/{page}" for language, page, _ in TRANSLATIONS]
# The pages the Chinese site must have in Chinese: the front page and the way in, the page on
# the article minigrad grew from (itself Chinese), the ideas, the derivations of the article's
# layer and losses, the exercises, and every course notebook, a new one included (their prose:
# code and outputs stay as they are).
REQUIRED = {"index", "getting-started", "article", "concepts", "ops/linear", "ops/softmax-cross-entropy",
            "ops/binary-cross-entropy", "exercises"} | {
    f"notebooks/{p.stem}" for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
UPDATE = ("MINIGRAD_DOCS_EXECUTE=off python -m sphinx -b gettext docs docs/_build/gettext && "
          "sphinx-intl update -p docs/_build/gettext -l {language} -d docs/locales")


def _read_catalogue(path):
    require_docs_packages()  # babel, which reads catalogues, comes with Sphinx
    from babel.messages.pofile import read_po

    with open(path, "rb") as f:
        return read_po(f)


def test_the_required_pages_have_a_chinese_catalogue():
    translated = {page for language, page, _ in TRANSLATIONS if language == "zh_CN"}
    assert REQUIRED <= translated, f"pages without a Chinese translation: {sorted(REQUIRED - translated)}"
    for page in translated:
        assert any((DOCS / f"{page}{suffix}").is_file() for suffix in (".md", ".ipynb")), \
            f"docs/locales/zh_CN holds a catalogue for {page}, which is no page"


@pytest.mark.parametrize("language, page, path", TRANSLATIONS, ids=IDS)
def test_every_message_is_translated(language, page, path):
    """No empty translation, none marked fuzzy (a guess by sphinx-intl that nobody checked)."""
    catalogue = _read_catalogue(path)
    messages = [m for m in catalogue if m.id]
    assert messages, f"{path.name} holds no message"
    empty = [m.id for m in messages if not m.string]
    fuzzy = [m.id for m in messages if "fuzzy" in m.flags]
    assert not empty and not fuzzy, (
        f"docs/{page}.md is not fully translated in {path.relative_to(ROOT)}: "
        f"{len(empty)} untranslated, {len(fuzzy)} fuzzy (check the translation and remove the "
        f"'#, fuzzy' line), first: {(empty + fuzzy)[0]!r}")
    assert not catalogue.obsolete, (f"{path.relative_to(ROOT)} keeps messages the English page no longer has "
                                    f"(#~ lines): delete them, e.g. {next(iter(catalogue.obsolete))!r}")


@pytest.fixture(scope="module")
def english_messages(tmp_path_factory):
    """The messages of every page as the English sources hold them now (a fresh gettext build).

    The notebooks are not executed: their outputs are not translated.
    """
    require_docs_packages()
    out = tmp_path_factory.mktemp("gettext")
    done = subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "gettext", "-d", str(out / ".doctrees"),
                           str(DOCS), str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "MINIGRAD_DOCS_EXECUTE": "off"})
    assert done.returncode == 0, done.stdout + done.stderr
    return out


@pytest.mark.parametrize("language, page, path", TRANSLATIONS, ids=IDS)
def test_each_catalogue_is_in_step_with_its_english_page(language, page, path, english_messages):
    """A catalogue made from an older English page leaves its changed paragraphs in English."""
    template = english_messages / f"{page}.pot"
    assert template.is_file(), f"{path.relative_to(ROOT)}: docs/{page}.md no longer exists"
    now = {m.id for m in _read_catalogue(template) if m.id}
    translated = {m.id for m in _read_catalogue(path) if m.id}
    new, gone = sorted(now - translated), sorted(translated - now)
    assert not new and not gone, (
        f"docs/{page}.md changed since {path.relative_to(ROOT)} was translated: "
        f"{len(new)} new or changed paragraphs, {len(gone)} gone. Update the catalogue with\n  "
        + UPDATE.format(language=language) + "\nthen translate its new entries and check its fuzzy ones. "
        f"New: {new[:3]}; gone: {gone[:3]}")


def test_the_chinese_site_builds_without_warnings(built_docs_zh):
    html = built_docs_zh.require()
    assert built_docs_zh.problems == [], "the Chinese docs build warned:\n" + "\n".join(built_docs_zh.problems)
    assert (html / "index.html").is_file()
    assert re.search(r"<html [^>]*lang=\"zh-CN\"", (html / "index.html").read_text())


def test_the_chinese_build_runs_no_notebook(built_docs_zh):
    """The notebooks' outputs come from the cache the English build filled: none runs twice."""
    built_docs_zh.require()
    from jupyter_cache import get_cache

    records = get_cache(str(DOCS / "_build" / ".jupyter_cache")).list_cache_records()
    executed = [r.uri for r in records if r.created >= built_docs_zh.started]
    reused = [r.uri for r in records if r.accessed >= built_docs_zh.started]
    notebooks = sorted((DOCS / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert not executed, f"the Chinese build executed notebooks again: {executed}"
    assert len(reused) >= len(notebooks), f"the Chinese build read {len(reused)} notebooks from the cache: {reused}"


TRANSLATED = [page for language, page, _ in TRANSLATIONS if language == "zh_CN"]


def _article(page):
    return page.split("<article", 1)[1].split("</article>", 1)[0]


def _prose(article):
    """The text of the paragraphs and headings, without code and formulas."""
    for pattern in (r"<pre.*?</pre>", r"<code.*?</code>", r'<(span|div) class="math.*?</\1>'):
        article = re.sub(pattern, " ", article, flags=re.S)
    blocks = re.findall(r"<(p|h[1-6])\b[^>]*>(.*?)</\1>", article, flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", " ".join(block for _, block in blocks)))


@pytest.mark.parametrize("page", TRANSLATED)
def test_each_translated_page_is_chinese(built_docs, built_docs_zh, page):
    """Chinese prose, no Markdown left as typed, and every formula and code literal of the
    English page still there (a translation may repeat one, not drop one)."""
    english = _article((built_docs.require() / f"{page}.html").read_text())
    chinese = _article((built_docs_zh.require() / f"{page}.html").read_text())
    prose = _prose(chinese)
    cjk, latin = len(re.findall(r"[\u4e00-\u9fff]", prose)), len(re.findall(r"[A-Za-z]", prose))
    assert cjk > 2 * latin, (f"zh_CN/{page}.html: {cjk} Chinese characters and {latin} Latin letters in its "
                             f"prose; is docs/locales/zh_CN/LC_MESSAGES/{page}.po compiled and complete?")
    typed = re.findall(r".{0,20}(?:\*\*|`|\{doc\}|\$).{0,20}", prose)
    assert not typed, (f"zh_CN/{page}.html shows Markdown as typed (put a space between Chinese text and "
                       f"`code`, **bold** or $maths$ in the translation): {typed[:5]}")
    for what, pattern in (("formula", r'class="math notranslate[^"]*">(.*?)</(?:span|div)>'),
                          ("code literal", r'<code class="docutils literal[^>]*>(.*?)</code>'),
                          ("link", r'<a class="reference internal" href="([^"#]*)')):
        found_english, found = re.findall(pattern, english, re.S), re.findall(pattern, chinese, re.S)
        # Words in a formula's \text{} are prose, translated with the rest.
        missing = [item for item in collections.Counter(found_english) - collections.Counter(found)
                   if "\\text{" not in item or len(found) < len(found_english)]
        assert not missing, f"zh_CN/{page}.html lacks the English page's {what}s: {missing[:5]}"


def _headings(article):
    """Each heading's text as a reader sees it, without its "¶" link."""
    return [re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", heading))).replace("¶", "").strip()
            for _, heading in re.findall(r"<(h[1-6])\b[^>]*>(.*?)</\1>", article, flags=re.S)]


@pytest.mark.parametrize("page", TRANSLATED)
def test_each_heading_is_translated(built_docs, built_docs_zh, page):
    """Sphinx drops, without a warning, a translation that Markdown reads as something other
    than the English (``1. The record`` translated as ``1. 记录`` is a list item, not a
    heading: it is written ``1\\. 记录``), and the English stays on the Chinese page. A heading
    may read as the English only where its catalogue keeps it unchanged (a name, a formula)."""
    english = _headings(_article((built_docs.require() / f"{page}.html").read_text()))
    chinese = _headings(_article((built_docs_zh.require() / f"{page}.html").read_text()))
    assert len(chinese) == len(english), f"zh_CN/{page}.html has {len(chinese)} headings, the English {len(english)}"
    path = next(path for _, name, path in TRANSLATIONS if name == page)
    kept = {re.sub(r"\s+", " ", m.id.replace("`", "")).strip() for m in _read_catalogue(path) if m.id == m.string}
    untranslated = [heading for heading, theirs in zip(chinese, english) if heading == theirs and heading not in kept]
    assert not untranslated, (f"zh_CN/{page}.html shows these headings in English although "
                              f"{path.relative_to(ROOT)} translates them (does the translation read as a "
                              f"list, e.g. '1. ...'? write '1\\. ...'): {untranslated}")


def test_maths_on_the_chinese_site_comes_from_its_own_static_folder(built_docs_zh):
    html = built_docs_zh.require()
    page = (html / "ops" / "linear.html").read_text()
    scripts = re.findall(r'<script [^>]*src="([^"?]*mathjax[^"?]*)', page)
    assert scripts == ["../_static/mathjax/tex-svg.js"], scripts
    assert (html / "_static" / "mathjax" / "tex-svg.js").is_file()


def test_each_page_links_to_itself_in_the_other_language(built_docs, built_docs_zh):
    """The sidebar's language link, on every page of both sites, leads to the same page."""
    english, chinese = built_docs.require(), built_docs_zh.require()
    checked = 0
    for root, other_root, label in ((english, chinese, "中文"), (chinese, english, "English")):
        for page in sorted(root.rglob("*.html")):
            name = page.relative_to(root)
            if root == english and name.parts[0] == chinese.name:
                continue
            links = re.findall(r'<a class="sidebar-language" href="([^"]+)"[^>]*>([^<]+)</a>', page.read_text())
            if not links and name.parts[0] == "_static":
                continue
            assert [text for _, text in links] == [label], f"{root.name}/{name}: language links {links}"
            target = (page.parent / links[0][0]).resolve()
            assert target == (other_root / name).resolve() and target.is_file(), \
                f"{root.name}/{name}: the {label} link leads to {links[0][0]}"
            checked += 1
    assert checked > 50, checked
