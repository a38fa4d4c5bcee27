"""The notebooks' exercises are checked, and the checks are checked both ways.

A notebook's exercises start at its "## Exercises" heading and run on their own (their first
cell imports what they use). An answer cell starts with ``# Exercise N.M``; the next code cell
calls a ``check_...`` helper as its last line. notebooks/solutions/<notebook>.py holds a worked
answer for each exercise, notebooks/solutions/wrong/<notebook>.py wrong ones, each section
headed ``# %% Exercise N.M | <text the check must say>``. Here, in-process and quickly:
- as shipped, no check passes (the notebook gives nothing away, and the check can fail);
- with the worked answers, every check passes;
- with each wrong answer, its check says "wrong" and names the mistake (<text>).
The notebooks themselves, with their exercises not attempted, run in test_notebooks.py.
"""
import ast
import json
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = ROOT / "notebooks" / "solutions"
ANSWER = re.compile(r"#\s*Exercise\s+(\d+\.\d+)\b")
SECTION = re.compile(r"^# %% Exercise (\d+\.\d+)(?: \| (.+))?$", re.M)

pytest.importorskip("hypothesis")


def exercise_cells(path):
    """The code cells from the notebook's "## Exercises" heading on, as (exercise id or None,
    is_check, source); None if it has no exercises."""
    cells = json.loads(path.read_text())["cells"]
    start = next((i for i, c in enumerate(cells) if c["cell_type"] == "markdown"
                  and "".join(c["source"]).lstrip().startswith("## Exercises")), None)
    if start is None:
        return None
    found, current = [], None
    for c in cells[start:]:
        if c["cell_type"] != "code":
            continue
        src = "".join(c["source"])
        first = src.lstrip().splitlines()[0] if src.strip() else ""
        m = ANSWER.match(first)
        if m:
            current = m.group(1)
            found.append((current, False, src))
        elif current is not None and found[-1][0] == current and not found[-1][1]:
            found.append((current, True, src))  # the check cell right after an answer
        else:
            found.append((None, False, src))
    return found


def sections(path):
    """{exercise id: [(expected text or None, source)]} from a solutions file."""
    if not path.exists():
        return {}
    text = path.read_text()
    heads = list(SECTION.finditer(text))
    out = {}
    for h, nxt in zip(heads, heads[1:] + [None]):
        body = text[h.end():nxt.start() if nxt else len(text)]
        out.setdefault(h.group(1), []).append((h.group(2), body))
    return out


def run(path, replace=None, only=None):
    """Execute the exercise cells of ``path`` in a fresh namespace, from the notebooks folder,
    with answer cells replaced by ``replace`` ({id: source}); returns {id: CheckResult}. With
    ``only``, the checks of other exercises are skipped."""
    results, namespace = {}, {"__name__": "__exercises__"}
    cwd = os.getcwd()
    os.chdir(path.parent)
    try:
        for ex, is_check, src in exercise_cells(path):
            if ex is not None and not is_check and replace and ex in replace:
                src = replace[ex]
            if is_check and only is not None and ex != only:
                continue
            tree = ast.parse(src, filename=f"<{path.stem} exercise {ex}>")
            last = tree.body.pop() if is_check and tree.body and isinstance(tree.body[-1], ast.Expr) else None
            exec(compile(tree, f"<{path.stem} exercise {ex}>", "exec"), namespace)
            if is_check:
                assert last is not None, f"{path.name}: the check cell of exercise {ex} must end with the check call"
                results[ex] = eval(compile(ast.Expression(last.value), "<check>", "eval"), namespace)
    finally:
        os.chdir(cwd)
    return results


WITH_EXERCISES = [p for p in NOTEBOOKS if exercise_cells(p)]


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=[p.stem[:2] for p in WITH_EXERCISES])
def test_layout(path):
    cells = exercise_cells(path)
    ids = [ex for ex, is_check, _ in cells if ex is not None and not is_check]
    checks = [ex for ex, is_check, _ in cells if is_check]
    assert ids, f"{path.name}: an Exercises section with no '# Exercise N.M' answer cell"
    assert len(set(ids)) == len(ids), f"{path.name}: an exercise id is used twice: {ids}"
    assert checks == ids, f"{path.name}: each answer cell must be followed by its check cell; answers {ids}, checks {checks}"
    number = str(int(path.name[:2]))
    assert all(ex.split(".")[0] == number for ex in ids), f"{path.name}: exercises must be numbered {number}.M: {ids}"
    solved = sections(SOLUTIONS / f"{path.stem}.py")
    wrong = sections(SOLUTIONS / "wrong" / f"{path.stem}.py")
    assert sorted(solved) == sorted(ids), f"{path.name}: worked answers for {sorted(solved)}, exercises {ids}"
    assert all(len(v) == 1 for v in solved.values()), f"{path.name}: one worked answer per exercise"
    assert sorted(wrong) == sorted(ids), f"{path.name}: wrong answers for {sorted(wrong)}, exercises {ids}"
    assert all(text for v in wrong.values() for text, _ in v), \
        f"{path.name}: every wrong answer's heading says what its check must report ('| text')"


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=[p.stem[:2] for p in WITH_EXERCISES])
def test_as_shipped_no_check_passes(path):
    results = run(path)
    passed = [ex for ex, r in results.items() if r]
    assert not passed, f"{path.name}: exercises {passed} pass before the student wrote anything"
    for ex, r in results.items():
        assert r.message, f"{path.name}: exercise {ex} reports {r.status} with no message"


@pytest.mark.parametrize("path", WITH_EXERCISES, ids=[p.stem[:2] for p in WITH_EXERCISES])
def test_worked_answers_pass(path):
    solved = {ex: v[0][1] for ex, v in sections(SOLUTIONS / f"{path.stem}.py").items()}
    results = run(path, solved)
    failed = {ex: repr(r) for ex, r in results.items() if not r}
    assert not failed, f"{path.name}: worked answers fail their checks:\n" + "\n".join(failed.values())


def _wrong_cases():
    for path in WITH_EXERCISES:
        for ex, answers in sorted(sections(SOLUTIONS / "wrong" / f"{path.stem}.py").items()):
            for k, (text, source) in enumerate(answers):
                yield pytest.param(path, ex, text, source, id=f"{ex}-{k}")


@pytest.mark.parametrize("path, ex, text, source", list(_wrong_cases()))
def test_wrong_answers_fail_and_say_why(path, ex, text, source):
    result = run(path, {ex: source}, only=ex)[ex]
    assert result.status == "wrong", f"{path.name}: a wrong answer to {ex} reports {result.status}:\n{result!r}"
    assert text in result.message, f"{path.name}: the check of {ex} should say {text!r}; it said:\n{result.message}"
