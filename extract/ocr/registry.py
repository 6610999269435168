"""The one registry of OCR engines: `--ocr NAME`, `Options.ocr_engine` and the
image path all look engines up here, so an engine is known in one place.

An engine is created once per process and per `EngineOptions` (models load
once per worker). A factory takes the options, or nothing. Tests register
engines of their own (one that crashes, one that runs out of memory, one
that hangs) the way OCRmyPDF's test plugins do:

    registry.register("crash", lambda: CrashingEngine())
"""

from __future__ import annotations

import inspect
import threading
from typing import Callable

from ..settings import EngineOptions

_FACTORIES: dict[str, tuple[Callable[..., object], str]] = {}
_INSTANCES: dict[tuple[str, EngineOptions], object] = {}
_LOCK = threading.Lock()


def register(name: str, factory: Callable[..., object], description: str = "") -> None:
    """Make an engine available under name (replacing one of that name).
    factory(options: EngineOptions) or factory() makes the engine."""
    key = name.lower()
    with _LOCK:
        _FACTORIES[key] = (factory, description)
        for k in [k for k in _INSTANCES if k[0] == key]:
            _INSTANCES.pop(k, None)


def names() -> list[str]:
    """The engines --ocr accepts, the default first."""
    return list(_FACTORIES)


def describe() -> str:
    return " | ".join(names())


def _takes_options(factory: Callable[..., object]) -> bool:
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params)


def get(name: str, options: EngineOptions | None = None):
    """The process-wide engine called name, built with options."""
    key = name.lower().removeprefix("ocr:")
    options = options or EngineOptions()
    with _LOCK:
        eng = _INSTANCES.get((key, options))
        if eng is None:
            if key not in _FACTORIES:
                raise ValueError(f"unknown OCR engine {name!r} ({describe()})")
            factory = _FACTORIES[key][0]
            eng = factory(options) if _takes_options(factory) else factory()
            _INSTANCES[(key, options)] = eng
        return eng


def _rapidocr(options: EngineOptions):
    from .rapidocr import RapidOcrEngine

    return RapidOcrEngine(options)


def _tesseract(options: EngineOptions):
    from .tesseract import TesseractEngine

    return TesseractEngine(options)


register("rapidocr", _rapidocr, "RapidOCR (PP-OCR models on onnxruntime, bundled with the package)")
register("tesseract", _tesseract, "tesseract 5 with chi_sim (Debian tesseract-ocr)")
