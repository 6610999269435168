"""The one registry of OCR engines: `--ocr NAME`, `Options.ocr_engine` and the
image path all look engines up here, so an engine is known in one place.

An engine is created once per process (models load once per worker). Tests
register engines of their own (one that crashes, one that runs out of memory,
one that hangs) the way OCRmyPDF's test plugins do:

    registry.register("crash", lambda: CrashingEngine())
"""

from __future__ import annotations

import threading
from typing import Callable

_FACTORIES: dict[str, tuple[Callable[[], object], str]] = {}
_INSTANCES: dict[str, object] = {}
_LOCK = threading.Lock()


def register(name: str, factory: Callable[[], object], description: str = "") -> None:
    """Make an engine available under name (replacing one of that name)."""
    key = name.lower()
    with _LOCK:
        _FACTORIES[key] = (factory, description)
        _INSTANCES.pop(key, None)


def names() -> list[str]:
    """The engines --ocr accepts, the default first."""
    return list(_FACTORIES)


def describe() -> str:
    return " | ".join(names())


def get(name: str):
    """The process-wide engine called name."""
    key = name.lower().removeprefix("ocr:")
    with _LOCK:
        eng = _INSTANCES.get(key)
        if eng is None:
            if key not in _FACTORIES:
                raise ValueError(f"unknown OCR engine {name!r} ({describe()})")
            eng = _FACTORIES[key][0]()
            _INSTANCES[key] = eng
        return eng


def _rapidocr():
    from .rapidocr import RapidOcrEngine

    return RapidOcrEngine()


def _tesseract():
    from .tesseract import TesseractEngine

    return TesseractEngine()


register("rapidocr", _rapidocr, "RapidOCR (PP-OCR models on onnxruntime, bundled with the package)")
register("tesseract", _tesseract, "tesseract 5 with chi_sim (Debian tesseract-ocr)")
