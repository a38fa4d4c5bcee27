"""README.zh-CN.md says what README.md says: the same sections, commands, files and figures.

The Chinese README once lacked three rows of the file table, the docs section's contents and
the measured figures, and promised notebooks "under two minutes" where the English said one.
"""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGLISH = (ROOT / "README.md").read_text()
CHINESE = (ROOT / "README.zh-CN.md").read_text()


def _code_blocks(text):
    """Each fenced block, without its comments (translated) and trailing spaces."""
    blocks = re.findall(r"^```\w*\n(.*?)^```", text, flags=re.S | re.M)
    return [[re.sub(r"\s+#.*$", "", line).rstrip() for line in block.splitlines()] for block in blocks]


def _table_first_column(text):
    """The code names in each table row's first cell (the separators are translated)."""
    return [re.findall(r"`[^`]+`", cell) for cell in re.findall(r"^\| (`[^|]+`) \|", text, flags=re.M)]


def _figures(text):
    """Percentages, durations and ratios quoted in the text."""
    return sorted(re.findall(r"\d+(?:\.\d+)?%|\b\d+\.\d+\b", re.sub(r"^```.*?^```", "", text,
                                                                      flags=re.S | re.M)))


def test_same_sections():
    count = lambda text: len(re.findall(r"^## ", text, flags=re.M))  # noqa: E731
    assert count(CHINESE) == count(ENGLISH)


def test_same_commands():
    assert _code_blocks(CHINESE) == _code_blocks(ENGLISH)


def test_same_tables():
    assert _table_first_column(CHINESE) == _table_first_column(ENGLISH)


def test_same_figures():
    assert _figures(CHINESE) == _figures(ENGLISH)
