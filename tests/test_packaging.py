"""pyproject.toml's runtime dependencies are exactly what the installed package imports."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Imports that may only appear inside ``try: ... except ImportError`` and the extra they need.
OPTIONAL = {"distributed": "cluster"}


def _requirement_names(requirements: list[str]) -> set[str]:
    names = set()
    for requirement in requirements:
        name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower()  # type: ignore[union-attr]
        extras = re.search(r"\[([^]]+)\]", requirement)
        names.add(name)
        if extras:  # dask[distributed] brings distributed along
            names.update(e.strip().lower() for e in extras.group(1).split(","))
    return names


def _third_party_imports() -> set[str]:
    found = set()
    for path in (ROOT / "greenscreen").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"greenscreen", "__future__"}


def test_runtime_dependencies_are_exactly_the_imported_packages() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = _requirement_names(project["dependencies"])
    distributions = packages_distributions()
    imported = {
        module: {d.lower() for d in distributions.get(module, [module])}
        for module in _third_party_imports()
    }
    required = set()
    for module, dists in imported.items():
        if module in OPTIONAL:
            extra = _requirement_names(project["optional-dependencies"][OPTIONAL[module]])
            assert dists & extra, f"{module} is not in the [{OPTIONAL[module]}] extra"
        else:
            assert dists & runtime, f"greenscreen imports {module} but pyproject does not require it"
            required |= dists & runtime
    assert runtime == required, f"required but never imported: {sorted(runtime - required)}"


def test_every_subpackage_and_its_data_is_installed() -> None:
    # pyproject lists the packages by hand: one left out works in a checkout and is missing
    # after "pip install .".
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(tool["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "greenscreen").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert found <= listed, f"not in pyproject's packages: {sorted(found - listed)}"
    data = tool["package-data"]
    assert "*.ttf" in data["greenscreen.fonts"] and "LICENSE" in data["greenscreen.fonts"]


def test_a_plain_render_does_not_import_pillow() -> None:
    """Pillow draws text only: a render without cards, lower thirds or burned captions must not
    pay for importing it at every start (it once came in through a warning's helper)."""
    code = (
        "import sys\n"
        "from greenscreen.pipeline import undrawable_text_warning\n"
        "from greenscreen.config import RenderSettings\n"
        "assert undrawable_text_warning(RenderSettings(), [], [], False, False) == []\n"
        "import greenscreen.cli.render\n"
        "print(sorted(m for m in sys.modules if m == 'PIL' or m.startswith('PIL.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
