"""The optional packages of ONNX export and the onnxruntime backend (setup.py's `export` extra).

Checked where they are first needed (the backend, the exporter), so every caller - the node, the
evaluator, the benchmarks, the export command - reports the install command instead of a bare
ModuleNotFoundError.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence

EXPORT_MODULES = ("onnx", "onnxruntime")
EXPORT_INSTALL_HINT = "pip install 'rssi_ros[export]'"


class ExportDependencyError(RuntimeError):
    """onnx / onnxruntime is not installed (the `export` extra)."""


def _importable(module: str) -> bool:
    if module in sys.modules:  # imported already, or blocked (None) as in an environment without it
        return sys.modules[module] is not None
    return importlib.util.find_spec(module) is not None


def missing_export_modules(modules: Sequence[str] = EXPORT_MODULES) -> list[str]:
    """The ones of `modules` that cannot be imported."""
    return [m for m in modules if not _importable(m)]


def require_export_dependencies(modules: Sequence[str] = EXPORT_MODULES, what: str = "ONNX export") -> None:
    """Fail with the install command, not a ModuleNotFoundError traceback, when the extra is missing."""
    missing = missing_export_modules(modules)
    if missing:
        raise ExportDependencyError(
            f"{what} needs {' and '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not "
            f"installed: {EXPORT_INSTALL_HINT}"
        )
