"""The distribution: its name is minigrad-course (minigrad, minigrad-framework and
minigrad-python are other projects on PyPI; the import name stays ``minigrad``), every
install hint names it, and the wheel carries the bundled data and the ``minigrad`` command.

.ci/run goes further: it builds the sdist and, from it, the wheel, installs the wheel in a
clean virtual environment and runs the main job from there.
"""
import configparser
import re
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP = {".git", "_build", "build", "dist", "runs", ".hypothesis", "__pycache__"}


def distribution_name():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return config["metadata"]["name"]


def _text_files():
    for path in ROOT.rglob("*"):
        if (path.suffix in {".py", ".md", ".cfg", ".toml", ".ipynb", ".txt"} or path.name == "run") \
                and not SKIP & set(path.relative_to(ROOT).parts) and path.is_file() \
                and ".egg-info" not in str(path):
            yield path


def test_every_install_hint_names_this_distribution():
    name = distribution_name()
    assert name == "minigrad-course"
    # Those would install someone else's project (this file spells them out, so it is skipped).
    wrong = re.compile(r"""(?<![\w-])minigrad\[|pip install (?:-U |--upgrade )?["']?minigrad(?![\w-])""")
    found = [f"{path.relative_to(ROOT)}:{i}: {line.strip()}"
             for path in _text_files() if path != Path(__file__)
             for i, line in enumerate(path.read_text(errors="replace").splitlines(), start=1)
             if wrong.search(line)]
    assert not found, (f"install hints that name 'minigrad', which is another project on PyPI; "
                       f"write {name}[...]:\n  " + "\n  ".join(found))


def test_the_wheel_holds_the_package_its_data_and_the_command(tmp_path):
    # Built offline from this tree with the installed setuptools (no isolated build env).
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                           "-q", "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = tmp_path.glob("*.whl")
    assert wheel.name.startswith("minigrad_course-")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = z.read(info).decode()
        entry_points = z.read(info.replace("METADATA", "entry_points.txt")).decode()
    for data in ("mnist_5k.npz", "SOURCE.md", "tinyshakespeare.txt.gz", "SOURCE-tinyshakespeare.md"):
        assert f"minigrad/datasets/_data/{data}" in names, f"{data} is missing from the wheel"
    assert "minigrad/__init__.py" in names and "minigrad/cli.py" in names
    assert not [n for n in names if n.startswith(("tests/", "docs/", "notebooks/", "benchmarks/"))]
    assert re.search(r"^Name: minigrad-course$", metadata, flags=re.M)
    assert "minigrad = minigrad.cli:main" in entry_points
