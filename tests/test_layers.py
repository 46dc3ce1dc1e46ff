"""The house's layers (README, "Layout"): import-linter's contracts hold in the test run, they would catch an
upward import, every package is in a layer, and nothing imports inside a function to dodge a cycle."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
ROOT_PACKAGES: list[str] = CONFIG["root_packages"]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
MAX_MODULE_LINES = 650  # STYLE.md: no module that grows past what one reading holds (~600 lines)


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def app_modules() -> list[Path]:
    """Every module of the app's packages (not tests, tooling or migrations)."""
    return sorted(path for package in ROOT_PACKAGES for path in (ROOT / package).rglob("*.py"))


def layer_entries() -> set[str]:
    entries: set[str] = set()
    for contract in CONFIG["contracts"]:
        for layer in contract.get("layers", []):
            entries.update(name.strip() for name in layer.replace(":", "|").split("|"))
    return entries


def test_the_import_contracts_are_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_import_that_runs_up_a_layer_breaks_the_contracts(tmp_path):
    """The check can fail: the same packages with core importing the agents' app are refused."""
    for name in [*ROOT_PACKAGES, "pyproject.toml"]:
        source = ROOT / name
        if source.is_dir():
            skip = shutil.ignore_patterns("__pycache__", "static", "templates")
            shutil.copytree(source, tmp_path / name, ignore=skip)
        else:
            shutil.copy(source, tmp_path / name)
    clock = tmp_path / "core" / "clock.py"
    clock.write_text(clock.read_text() + "\nimport agents.field.pages  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "core is not allowed to import agents.field" in result.stdout.replace("\n", " ")


def test_every_package_has_its_place_in_a_layer():
    """A new capability folder cannot slip past the contracts: each is named in a layer, and collection/,
    payments/ and agents/ hold only capability folders."""
    entries = layer_entries()
    unplaced = []
    for package in ROOT_PACKAGES:
        if package in entries:
            continue
        for child in sorted((ROOT / package).iterdir()):
            if child.name in ("__init__.py", "__pycache__"):
                continue
            dotted = f"{package}.{child.stem}"
            if child.suffix == ".py" or (child / "__init__.py").exists():
                if dotted not in entries:
                    unplaced.append(dotted)
    assert unplaced == []
    for namespace in ("collection", "payments", "agents"):
        modules = [p.name for p in (ROOT / namespace).glob("*.py") if p.name != "__init__.py"]
        assert modules == [], f"{namespace}/ holds only capability folders, not {modules}"


def test_no_project_module_is_imported_inside_a_function():
    """Every import of the project stands at the top of its module, where the contracts and a reader see it."""
    inside = []
    for path in [*app_modules(), ROOT / "app.py"]:
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom) and node.level == 0:
                    names = [node.module or ""]
                elif isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                else:
                    continue
                if any(name.split(".")[0] in [*ROOT_PACKAGES, "app", "bench"] for name in names):
                    inside.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    # app.py adds the benchmark endpoints only when asked: bench/ is tooling, not part of the app
    assert inside == ["app.py:" + str(_bench_import_line())]


def _bench_import_line() -> int:
    for number, line in enumerate((ROOT / "app.py").read_text().splitlines(), 1):
        if "from bench.endpoints import" in line:
            return number
    raise AssertionError("app.py no longer imports bench.endpoints: drop the exception above")


def test_no_module_grows_past_one_reading():
    lines = {str(path.relative_to(ROOT)): len(path.read_text().splitlines()) for path in app_modules()}
    assert {name: count for name, count in lines.items() if count > MAX_MODULE_LINES} == {}
