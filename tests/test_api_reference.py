"""The API reference: every public name has a docstring, and the built reference lists it.

Public means: what a package's ``__all__`` exports, and the classes and functions defined in
a module whose dotted name has no part starting with ``_``; for a class, its members whose
names do not start with ``_``. An op's ``Function`` class is checked for its own docstring
(the formulas), not for ``forward``/``backward``, which that docstring describes. A member
that overrides a documented one inherits its docstring, as Sphinx shows it.

A missing docstring fails the first test without a docs build; the second reads the built
site's ``objects.inv`` (the index of what the reference documents), because autodoc silently
leaves out a member without a docstring.
"""
import importlib
import inspect
import pkgutil
import re
import zlib

import minigrad
from minigrad.autograd import Function

# Modules that are importable but are not a library API, with the reason.
NOT_API = {
    "minigrad.__main__": "runs the command line",
    "minigrad.cli": "the command line, documented by its --help and docs/getting-started.md",
    "minigrad.distributed.gpu": "the GPU transport behind minigrad.distributed's collectives, "
                                "which are the API",
}


def public_modules():
    yield minigrad
    for info in pkgutil.walk_packages(minigrad.__path__, "minigrad."):
        if info.name in NOT_API or any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        yield importlib.import_module(info.name)


def _members(cls):
    """The public methods and properties that ``cls`` itself defines, by name."""
    for name, member in vars(cls).items():
        if not name.startswith("_") and (inspect.isfunction(member)
                                         or isinstance(member, (property, staticmethod, classmethod))):
            yield name, member


def _doc(cls, name):
    """The member's docstring, inherited from the first base that defines it with one."""
    for klass in cls.__mro__:
        if name in vars(klass):
            member = vars(klass)[name]
            doc = inspect.getdoc(member.__func__ if isinstance(member, (staticmethod, classmethod)) else member)
            if doc:
                return doc
    return None


def public_api():
    """(dotted name, object, owning class or None) for every public class, function and member."""
    seen = set()
    for module in public_modules():
        names = getattr(module, "__all__", None)
        if names is None:
            names = [n for n, o in vars(module).items() if not n.startswith("_")
                     and (inspect.isclass(o) or inspect.isfunction(o)) and o.__module__ == module.__name__]
        for name in names:
            obj = getattr(module, name)
            if (not (inspect.isclass(obj) or inspect.isfunction(obj)) or id(obj) in seen
                    or not obj.__module__.startswith("minigrad")):  # dtypes are NumPy's, assume hypothesis's
                continue
            seen.add(id(obj))
            yield f"{module.__name__}.{name}", obj, None
            if inspect.isclass(obj) and not issubclass(obj, Function):
                for member_name, _ in _members(obj):
                    yield f"{module.__name__}.{name}.{member_name}", member_name, obj


def test_every_public_name_has_a_docstring():
    missing, checked = [], 0
    for dotted, obj, owner in public_api():
        checked += 1
        doc = _doc(owner, obj) if owner is not None else inspect.getdoc(obj)
        if not doc:
            missing.append(dotted)
    assert checked > 250  # the walk found the API
    assert not missing, (f"{len(missing)} public names have no docstring, so the API reference "
                         "leaves them out; write one for each:\n  " + "\n  ".join(missing))


def test_no_property_docstring_reads_as_a_type():
    """Napoleon takes a property docstring's first line ``X: Y`` as "type X, description Y":
    the reference then showed "Type: Where the data lives" under Tensor.device."""
    misread = []
    for dotted, name, owner in public_api():
        member = vars(owner).get(name) if owner is not None else None
        if isinstance(member, property) and member.__doc__:
            first = re.sub(r"``.*?``", "", member.__doc__.strip().splitlines()[0])
            if re.match(r"^[^:]+: ", first):
                misread.append(f"{dotted}: {member.__doc__.strip().splitlines()[0]!r}")
    assert not misread, ("property docstrings whose first line reads as 'type: description'; "
                         "use a comma or a semicolon:\n  " + "\n  ".join(misread))


def read_inventory(path):
    """The object names in a Sphinx objects.inv: four header lines, then zlib-compressed lines
    ``name domain:role priority uri display-name``."""
    raw = path.read_bytes()
    header_end = 0
    for _ in range(4):
        header_end = raw.index(b"\n", header_end) + 1
    lines = zlib.decompress(raw[header_end:]).decode().splitlines()
    return {line.split(" ", 2)[0]: line.split(" ", 2)[1] for line in lines if line.strip()}


def _from_modules(parts, i):
    """``parts[i]`` in the module ``parts[:i]``, or the module ``parts[:i + 1]``, or None."""
    try:
        return getattr(importlib.import_module(".".join(parts[:i])), parts[i])
    except (ImportError, AttributeError):
        pass
    try:
        return importlib.import_module(".".join(parts[:i + 1]))
    except ImportError:
        return None


def _resolve(dotted):
    """The object a documented name refers to: (object, None), or (member name, defining class).

    Attributes first, modules second: ``minigrad.tensor`` is the function, and
    ``minigrad.tensor.RemovableHandle`` is in the module of that name.
    """
    parts = dotted.split(".")
    obj, owner = importlib.import_module(parts[0]), None
    for i, part in enumerate(parts[1:], start=1):
        owner = obj
        if inspect.isclass(obj):
            obj = inspect.getattr_static(obj, part, None)
        elif hasattr(obj, part):
            obj = getattr(obj, part)
        else:
            obj = _from_modules(parts, i)
        if obj is None:
            return None
    if inspect.isclass(owner) and not inspect.isclass(obj):
        return parts[-1], next(k for k in owner.__mro__ if parts[-1] in vars(k))
    return obj, None


def test_the_built_reference_lists_every_public_name(built_docs):
    html = built_docs.require()
    documented = read_inventory(html / "objects.inv")
    found = set()
    for dotted, role in documented.items():
        if role.startswith("py:") and role != "py:module":
            resolved = _resolve(dotted)
            if resolved is not None:
                obj, owner = resolved
                found.add((obj, owner) if owner is not None else id(obj))
    unlisted = []
    for dotted, obj, owner in public_api():
        if owner is None:
            listed = id(obj) in found
        else:
            defining = next(k for k in owner.__mro__ if obj in vars(k))
            listed = (obj, defining) in found
        if not listed:
            unlisted.append(dotted)
    assert not unlisted, (f"{len(unlisted)} public names are missing from the API reference "
                          "(docs/api.md: add their module or class):\n  " + "\n  ".join(unlisted))
