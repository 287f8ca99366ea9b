"""Check linkgate's import graph: no cycle, and no edge from a lower layer to a higher one.

The layers, lowest first: core <- read (elf, archives) <- profiles <- rules <- policy <- diff
rules <- render (formats) <- check <- cli (commands). Each folder of linkgate/ belongs to one layer,
and a module outside every folder of LAYERS fails the check. A module may import its own layer
and the ones below it. Every import counts, function-local and
TYPE_CHECKING ones included: a lazy import is still a dependency.

    python scripts/check_layers.py          # exit 1 and list the offending edges
    python scripts/check_layers.py --graph  # print the module graph
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "linkgate"

# One prefix per folder of linkgate/, lowest layer first. A module under none of them fails the
# check: a new folder or top-level module must be given its layer here, never guessed.
LAYERS: tuple[tuple[str, int], ...] = (
    ("linkgate.core", 0),  # records, digests, findings, sites, exit codes, source files: imports nothing above
    ("linkgate.elf", 1),  # the only code that knows ELF byte layouts
    ("linkgate.archives", 1),  # reading archives in place: bytes and members, no policy
    ("linkgate.profiles", 2),
    ("linkgate.rules", 3),
    ("linkgate.policy", 4),
    ("linkgate.diff", 5),  # the diff rules: what got worse between two facts of one artifact
    ("linkgate.formats", 6),  # renderers: pure functions of a report
    ("linkgate.check", 7),  # discover, read, judge: scan, evaluate, archives, wheels, workers, build vs build
    ("linkgate.commands", 8),
    ("linkgate.cli", 8),
    ("linkgate.__main__", 8),
)
NAMES = {
    0: "core",
    1: "read",
    2: "profiles",
    3: "rules",
    4: "policy",
    5: "diff rules",
    6: "render",
    7: "check",
    8: "cli",
}


class UnknownModuleError(Exception):
    """A module under no prefix of LAYERS."""


def layer(module: str) -> int:
    if module == "linkgate":
        return 0  # the package itself only carries the version
    for prefix, level in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            return level
    raise UnknownModuleError(module)


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


def unknown_modules(edges: dict[str, set[str]]) -> list[str]:
    unknown = []
    for name in sorted(edges):
        try:
            layer(name)
        except UnknownModuleError:
            unknown.append(f"{name} is in no layer: add its folder to LAYERS in scripts/check_layers.py")
    return unknown


def main(argv: list[str]) -> int:
    edges = graph()
    unknown = unknown_modules(edges)
    if unknown:
        print("\n".join(unknown), file=sys.stderr)
        return 1
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
