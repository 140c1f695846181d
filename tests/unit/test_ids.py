"""Every check id the toolkit raises is in the catalogue (shipyard.ids),
and is raised only where the catalogue says, for the meaning it gives.

The scan reads the package's source: every id written in code (a string
like "SY904", an ``ids.GIT_FAILED`` constant, a module constant such as
``git.FAILED`` or ``load.INVALID_YAML`` imported elsewhere), outside
docstrings and outside the built-in waivers (which name ids, but raise
none). Each occurrence is attributed to the module it is in. A module that
starts raising an id must be added to that id's ``raised_in``, which makes
whoever does it read the id's meaning first: that is how "git failed" stops
being raised for a kustomize error.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from shipyard import ids

PACKAGE = Path(ids.__file__).resolve().parent
ID = re.compile(r"^SY\d{3}$")


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _module_name(path: Path) -> str:
    return path.relative_to(PACKAGE).with_suffix("").as_posix().replace("/", ".").removesuffix(".__init__")


def _trees() -> dict[str, ast.Module]:
    return {_module_name(p): ast.parse(p.read_text(encoding="utf-8")) for p in sorted(PACKAGE.rglob("*.py"))}


def _constants(trees: dict[str, ast.Module]) -> dict[tuple[str, str], str]:
    """(module, NAME) -> id for module-level constants that hold an id."""
    table: dict[tuple[str, str], str] = {("ids", n): v for n, v in vars(ids).items()
                                         if n.isupper() and isinstance(v, str) and ID.match(v)}
    for _ in range(3):  # constants defined from other constants
        for module, tree in trees.items():
            imports = _imports(tree)
            for node in tree.body:
                target = value = None
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    target, value = node.targets[0].id, node.value
                elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                    target, value = node.target.id, node.value
                if target is None or not target.isupper():
                    continue
                resolved = _resolve(value, module, imports, table)
                if resolved:
                    table[(module, target)] = resolved
    return table


def _imports(tree: ast.Module) -> dict[str, tuple[str, str | None]]:
    """Local name -> (module, name in it), or (module, None) for a module alias."""
    found: dict[str, tuple[str, str | None]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("shipyard"):
            base = node.module.removeprefix("shipyard").lstrip(".")
            for alias in node.names:
                local = alias.asname or alias.name
                if base == "":
                    found[local] = (alias.name, None)
                else:
                    found[local] = (base, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("shipyard.") and alias.asname:
                    found[alias.asname] = (alias.name.removeprefix("shipyard."), None)
    return found


def _resolve(node: ast.AST, module: str, imports: dict[str, tuple[str, str | None]],
             table: dict[tuple[str, str], str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and ID.match(node.value):
        return node.value
    if isinstance(node, ast.Name):
        if (module, node.id) in table:
            return table[(module, node.id)]
        source = imports.get(node.id)
        if source and source[1] is not None:
            return table.get((source[0], source[1]))
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        source = imports.get(node.value.id)
        if source and source[1] is None:
            return table.get((source[0], node.attr))
    return None


def raised_ids() -> dict[str, dict[str, list[int]]]:
    """id -> module -> lines where the code writes that id."""
    trees = _trees()
    table = _constants(trees)
    found: dict[str, dict[str, list[int]]] = {}
    for module, tree in trees.items():
        if module == "ids":
            continue
        imports = _imports(tree)
        skip = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Waiver":
                skip.update(id(n) for n in ast.walk(node))  # a built-in waiver names ids it excuses
        for node in ast.walk(tree):
            if id(node) in skip or isinstance(node, (ast.Name, ast.Attribute)) and isinstance(getattr(node, "ctx", None), ast.Store):
                continue
            if isinstance(node, ast.Constant) and not (isinstance(node.value, str) and ID.match(node.value)):
                continue
            if not isinstance(node, (ast.Constant, ast.Name, ast.Attribute)):
                continue
            value = _resolve(node, module, imports, table)
            if value:
                found.setdefault(value, {}).setdefault(module, []).append(node.lineno)
    return found


RAISED = raised_ids()


def test_the_scan_finds_what_it_must() -> None:
    """Guards the scan itself: ids written each way are found where they are."""
    assert "git" in RAISED["SY904"]  # FAILED = ids.GIT_FAILED
    assert "diff" in RAISED["SY904"]  # git.FAILED, a constant of another module
    assert "lifecycle.yaml_edit" in RAISED["SY910"]  # ids.INVALID_YAML
    assert "checks.seldon" in RAISED["SY201"]  # a plain "SY201"
    assert "waivers" in RAISED["SY390"]  # INVALID_WAIVER imported from shipyard.ids
    assert "waivers" not in RAISED.get("SY302", {})  # a built-in waiver raises nothing


@pytest.mark.parametrize("check_id", sorted(RAISED))
def test_every_raised_id_is_catalogued(check_id: str) -> None:
    assert check_id in ids.CATALOGUE, f"{check_id} is raised in {sorted(RAISED[check_id])} but not in shipyard/ids.py"


@pytest.mark.parametrize("check_id", sorted(ids.CATALOGUE))
def test_each_id_is_raised_only_where_its_meaning_is(check_id: str) -> None:
    info = ids.CATALOGUE[check_id]
    where = RAISED.get(check_id, {})
    strays = {module: lines for module, lines in where.items() if module not in info.raised_in}
    assert not strays, (f"{check_id} ({info.title}) is raised in {strays}; its catalogue entry says it is raised "
                        f"in {list(info.raised_in)}. Use the id that means what happened there, or add the module "
                        "to raised_in if it is that.")
    unused = [module for module in info.raised_in if module not in where]
    assert not unused, f"{check_id}: raised_in lists {unused}, which never raise it"


def test_catalogue_and_type_agree() -> None:
    assert sorted(ids.ALL_IDS) == sorted(ids.CATALOGUE)
    for info in ids.CATALOGUE.values():
        assert info.id.startswith(info.family.prefix)
        assert info.title and info.rationale and info.hint
