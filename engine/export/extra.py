"""The optional `export` extra (safetensors, onnx, onnxscript, onnxruntime): imported when an
export needs it, with an install hint instead of a traceback when it is missing."""
from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import ExportError

INSTALL_HINT = "pip install 'trainer[export]' (safetensors, onnx, onnxscript, onnxruntime)"


def require(module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ExportError(f"this needs the Python package '{module.split('.')[0]}': "
                          f"{INSTALL_HINT}") from None
