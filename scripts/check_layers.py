"""Check linkgate's import graph: no cycle, and no edge from a lower layer to a higher one.

The layers, lowest first: elf <- data <- profiles <- rules <- policy <- scan <- cli. A module may
import its own layer and the ones below it. Every import counts, function-local and
TYPE_CHECKING ones included: a lazy import is still a dependency.

    python scripts/check_layers.py          # exit 1 and list the offending edges
    python scripts/check_layers.py --graph  # print the module graph
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "linkgate"

# Module name prefixes -> layer, most specific first.
LAYERS: tuple[tuple[str, int], ...] = (
    ("linkgate.elf", 0),
    ("linkgate.records", 0),  # the value-record decorator every layer uses; imports nothing of linkgate
    ("linkgate.digest", 0),  # SHA-256 without OpenSSL's start-up cost; imports nothing of linkgate
    ("linkgate.findings", 1),
    ("linkgate.site", 1),
    ("linkgate.exitcodes", 1),
    ("linkgate.yamlsource", 1),
    ("linkgate.sourcefile", 1),
    ("linkgate.archives", 1),  # reading archives in place: bytes and members, no policy
    ("linkgate.profiles", 2),
    ("linkgate.rules", 3),
    ("linkgate.policy", 4),
    ("linkgate.cli", 6),
    ("linkgate.__main__", 6),
    ("linkgate.commands", 6),
    ("linkgate", 5),  # the scan/evaluate/format edge: discover, scan, evaluate, formats, ci, inspect
)
NAMES = {0: "elf", 1: "data", 2: "profiles", 3: "rules", 4: "policy", 5: "scan", 6: "cli"}


def layer(module: str) -> int:
    if module == "linkgate":
        return 0  # the package itself only carries the version
    return next(level for prefix, level in LAYERS if module == prefix or module.startswith(prefix + "."))


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, module: str, known: set[str]) -> set[str]:
    """linkgate modules imported by `path` (from-imports of a package count as its submodules)."""
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import submodule` depends on the submodule, not on everything pkg exports.
            submodules = {f"{base}.{alias.name}" for alias in node.names}
            found.update(submodules & known)
            if submodules - known:
                found.add(base)
    return {name for name in found if name.startswith("linkgate")}


def graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    known = set(modules)
    return {name: {m for m in imports(path, name, known) if m in known and m != name} for name, path in modules.items()}


def upward_edges(edges: dict[str, set[str]]) -> list[str]:
    return [
        f"{a} ({NAMES[layer(a)]}) imports {b} ({NAMES[layer(b)]})"
        for a, targets in sorted(edges.items())
        for b in sorted(targets)
        if layer(b) > layer(a)
    ]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def main(argv: list[str]) -> int:
    edges = graph()
    if "--graph" in argv:
        for name in sorted(edges):
            print(f"{name} [{NAMES[layer(name)]}] -> {', '.join(sorted(edges[name])) or '-'}")
    problems = upward_edges(edges) + [" <-> ".join(c) for c in cycles(edges)]
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"check_layers: {len(edges)} modules, {len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
