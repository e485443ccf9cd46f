"""The import direction of the layers, and tools that are wiring only.

common imports no project package; pretrain, transfer and gather import only common (stages
never import each other); pipeline composes them. Imports inside functions count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("common", "pretrain", "transfer", "gather", "pipeline")
ALLOWED = {
    "common": set(),
    "pretrain": {"common"},
    "transfer": {"common"},
    "gather": {"common"},
    "pipeline": {"common", "pretrain", "transfer", "gather"},
}


def project_imports(path: Path) -> set[str]:
    """The project packages a module imports (absolute imports, anywhere in the file)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & set(PACKAGES)
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_a_package_imports_only_the_layers_below_it(package):
    wrong = {}
    for path in sorted((REPO / package).rglob("*.py")):
        bad = project_imports(path) - ALLOWED[package] - {package}
        if bad:
            wrong[str(path.relative_to(REPO))] = sorted(bad)
    assert not wrong, f"{package} may import only {sorted(ALLOWED[package])}: {wrong}"


def test_the_checker_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import os\n\ndef f():\n    from transfer.run import run_transfer\n    import gather.tables\n")
    assert project_imports(module) == {"transfer", "gather"}


def test_tools_leave_the_import_path_to_one_module():
    tools = sorted((REPO / "tools").glob("*.py"))
    mentions = [p.name for p in tools if "sys.path" in p.read_text()]
    assert mentions == ["_bootstrap.py"]
    assert not [p.name for p in tools if "E402" in p.read_text()]
    for path in tools:
        if path.name != "_bootstrap.py":
            assert "import _bootstrap" in path.read_text(), f"{path.name} does not import _bootstrap first"
