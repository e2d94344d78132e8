"""The package tree is layered: no import cycle, and the import-linter contract holds and can fail.

The cycle check counts every import the source names: module level, inside functions (deferred) and
under `if TYPE_CHECKING:` alike, because each is a dependency a reader has to follow.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO
import viper_tui

PACKAGE = Path(viper_tui.__file__).resolve().parent  # the checkout's, or the installed one (nix flake check)


def module_names(root: Path) -> dict[str, Path]:
    """Every module under the package at `root`, by dotted name (a package by its own name)."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports, wherever in the file the import statement is."""
    modules = module_names(root)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                # `from P import m` imports the module P.m when there is one, else names from P.
                targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in modules else source
                           for a in node.names]
            for target in targets:
                while target and target not in modules:  # `import a.b.c` of a package's module
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_counting_deferred_and_type_only_imports():
    graph = import_graph(PACKAGE)
    assert len(graph) > 30  # the walk found the package
    assert cycles(graph) == []


def _copy_package(tmp_path: Path) -> Path:
    shutil.copytree(PACKAGE, tmp_path / "viper_tui", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path / "viper_tui"


def test_cycle_check_finds_a_deferred_cycle(tmp_path):
    root = _copy_package(tmp_path)
    facts = root / "protocol" / "facts.py"
    facts.write_text(facts.read_text(encoding="utf-8")
                     + "\n\ndef _wrong():\n    from ..commands import record  # noqa\n", encoding="utf-8")
    found = cycles(import_graph(root))
    assert any("viper_tui.protocol.facts" in c and "viper_tui.commands.record" in c for c in found), found


def test_cycle_check_finds_a_type_only_cycle(tmp_path):
    root = _copy_package(tmp_path)
    transport = root / "link" / "transport.py"
    transport.write_text(transport.read_text(encoding="utf-8")
                         + "\nif TYPE_CHECKING:\n    from .client import GaugeClient  # noqa\n", encoding="utf-8")
    assert any("viper_tui.link.transport" in c for c in cycles(import_graph(root)))


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.skip("lint-imports is not installed (pip install -e '.[test]')")
    return subprocess.run([str(lint), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(cwd)})


def test_import_contract_holds():
    result = _lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("module, line, contract", [
    ("protocol/facts.py", "from ..link import transport", "Layers"),  # a layer importing one above it
    ("simulator/model.py", "from ..readings import Status", "The simulator"),  # beyond the protocol
    ("files/recorded.py", "import textual", "textual is imported only under ui/"),
])
def test_import_contract_can_fail(tmp_path, module, line, contract):
    root = _copy_package(tmp_path)
    path = root / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n\ndef _wrong():\n    {line}  # noqa\n",
                    encoding="utf-8")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0, result.stdout + result.stderr
    broken = [text for text in result.stdout.splitlines() if text.endswith(" BROKEN")]
    assert any(text.startswith(contract) for text in broken), result.stdout


def test_the_simulator_imports_only_the_protocol_layer():
    graph = import_graph(PACKAGE)
    outside = {(m, t) for m, targets in graph.items() if m.startswith("viper_tui.simulator")
               for t in targets if not t.startswith(("viper_tui.simulator", "viper_tui.protocol"))}
    assert outside <= {(m, "viper_tui") for m, _ in outside}  # viper_tui itself: only __version__


def test_every_module_has_a_layer_in_the_contract():
    import tomllib

    contracts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = {name.strip() for layer in contracts[0]["layers"] for name in layer.split("|")}
    children = {".".join(m.split(".")[:2]) for m in module_names(PACKAGE)} - {"viper_tui"}
    assert children - layers == {"viper_tui.__main__", "viper_tui.simulator"}
