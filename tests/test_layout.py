"""The layout the architecture promises, checked on the source: the domain core imports no
Dagster and starts no threads or processes (the execution layer does), only the settings
module reads the environment, no Dagster internals, no import cycles (imports inside
functions included)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
PACKAGES = ("pipeline", "assets")


def _modules() -> dict[str, Path]:
    return {f"{pkg}.{f.stem}": f for pkg in PACKAGES for f in sorted((PROJECT / pkg).glob("*.py"))}


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return out


def test_the_domain_core_imports_no_dagster():
    for name, path in _modules().items():
        if name.startswith("pipeline."):
            assert not {m for m in _imports(path) if m.split(".")[0] == "dagster"}, name


def test_only_the_settings_module_reads_the_environment_and_no_module_uses_dagster_internals():
    for name, path in _modules().items():
        text = path.read_text(encoding="utf-8")
        if name != "pipeline.settings":
            assert not re.search(r"os\.environ|os\.getenv", text), f"{name} reads the environment"
        code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
        internals = {m for m in _imports(path) if m.startswith("dagster._")}
        assert not internals, f"{name} imports {sorted(internals)}"
        assert "_shutdown" not in code and "_run_exitfuncs" not in code, name


def test_no_import_cycles():
    modules = _modules()
    graph = {name: {m for m in _imports(path) if m in modules} for name, path in modules.items()}
    cycles = set()

    def visit(node: str, path: list[str]) -> None:
        for dep in graph[node]:
            if dep in path:
                cycles.add(tuple(sorted(path[path.index(dep):])))
            elif len(path) < 15:
                visit(dep, path + [dep])

    for name in graph:
        visit(name, [name])
    assert not cycles, sorted(cycles)


# The execution layer: worker pools, the GX process, the warm servers; threads and processes
# are started here and nowhere else in `pipeline/`.
EXECUTION_MODULES = {"pipeline.distributed", "pipeline.gx_process", "pipeline.warm", "pipeline.lifeline"}
CONCURRENCY = {"threading", "multiprocessing", "concurrent", "subprocess"}


def test_the_domain_core_starts_no_threads_or_processes():
    modules = _modules()
    assert EXECUTION_MODULES <= set(modules)
    for name, path in modules.items():
        if not name.startswith("pipeline.") or name in EXECUTION_MODULES:
            continue
        found = {m for m in _imports(path) if m.split(".")[0] in CONCURRENCY}
        assert not found, f"{name} imports {sorted(found)}: concurrency belongs to the execution layer"
