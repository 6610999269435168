"""`--plugin MODULE|FILE.py`: Python code loaded before any document is read,
in the driver and in every worker process, in the way of OCRmyPDF's plugins.
A plugin registers OCR engines with `extract.ocr.registry.register(name,
factory)`; `--ocr name` then uses them. tests/faults.py is one: engines that
crash, hang or run out of memory on a chosen page."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from extract import errors

_LOADED: dict[str, object] = {}


def load_plugins(specs) -> None:
    for spec in specs:
        load_plugin(spec)


def load_plugin(spec: str):
    if spec in _LOADED:
        return _LOADED[spec]
    try:
        if spec.endswith(".py") or "/" in spec:
            path = Path(spec).resolve()
            if not path.is_file():
                raise errors.UsageError(f"--plugin {spec}: no such file")
            name = f"shenbao_plugin_{path.stem}"
            mod_spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(mod_spec)
            sys.modules[name] = module
            mod_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(spec)
    except errors.ShenbaoError:
        raise
    except Exception as exc:  # the plugin's own error: say which plugin
        raise errors.UsageError(f"--plugin {spec} cannot be loaded: {errors.one_line(exc)}") from exc
    _LOADED[spec] = module
    return module
