"""The structure docs/architecture.md describes stays true: imports point down the layers (the
import-linter contracts in pyproject.toml) and no function grows past cyclomatic complexity 25."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from radon.complexity import cc_visit
from radon.visitors import Function

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("agent", "tools", "evals", "incidents", "cli", "prompts", "service", "benchmarks")
LIMIT = 25


def test_import_layer_contracts_hold() -> None:
    proc = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
                           "lint_imports_command()"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    # lint-imports exits 1 when any contract is broken and prints the offending import chains.
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def _functions() -> list[tuple[str, Function]]:
    out = []
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")) if (ROOT / pkg).is_dir() else []:
            if "migrations" in path.parts:
                continue
            for block in cc_visit(path.read_text(encoding="utf-8")):
                items = [block] + list(getattr(block, "methods", []))
                out += [(str(path.relative_to(ROOT)), b) for b in items if isinstance(b, Function)]
    return out


def test_no_function_above_complexity_limit() -> None:
    over = [f"{where}:{f.lineno} {f.fullname} ({f.complexity})" for where, f in _functions()
            if f.complexity > LIMIT]
    assert not over, "split these along their outputs:\n" + "\n".join(over)
