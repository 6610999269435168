"""Fault-injection OCR engines, in the way of OCRmyPDF's test plugins: loaded
with `--plugin tests/faults.py` (in the driver and in every worker process),
they register themselves in the one engine registry, and `--ocr fault-…`
picks one:

    fault-crash      the worker process dies (SIGKILL, as the OOM killer does it)
    fault-memory     MemoryError
    fault-badalloc   onnxruntime's std::bad_alloc, wrapped in a traceback the way
                     rapidocr wraps every onnxruntime error
    fault-onnx       another onnxruntime error, wrapped the same way
    fault-hang       never returns
    fault-blank      reads nothing (a page without text)

The fault hits every page the engine is asked to read, or only page N when
SHENBAO_FAULT_PAGE=N (the engine learns the page from extract.document's page
hook). Every other page reads as blank.
"""

from __future__ import annotations

import os
import signal
import time

from extract import document
from extract.ocr import registry
from extract.ocr.base import Read

PAGE_ENV = "SHENBAO_FAULT_PAGE"
_page = {"number": None}


def _on_page(event: str, number: int, total: int) -> None:
    if event == "start":
        _page["number"] = number


document.add_page_hook(_on_page)


class ONNXRuntimeError(Exception):
    """What rapidocr raises: the whole traceback.format_exc() as its message."""


def _wrapped(message: str) -> ONNXRuntimeError:
    return ONNXRuntimeError(
        "Traceback (most recent call last):\n"
        '  File "/venv/lib/python3.11/site-packages/rapidocr/inference_engine/onnxruntime/main.py", '
        "line 90, in __call__\n"
        "    return self.session.run(self.get_output_names(), input_dict)[0]\n"
        f"onnxruntime.capi.onnxruntime_pybind11_state.RuntimeException: {message}\n")


def crash():
    os.kill(os.getpid(), signal.SIGKILL)


def memory():
    raise MemoryError()


def badalloc():
    raise _wrapped("[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Non-zero status code returned while "
                   "running Conv node. Name:'Conv.0' Status Message: std::bad_alloc")


def onnx():
    raise _wrapped("[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : Got invalid dimensions for input: x")


def hang():
    while True:
        time.sleep(60)


def blank():
    return None


class FaultEngine:
    """An engine of the one OCR interface (extract/ocr/base.py: detect,
    recognize, judge orientation) whose page detection fails as told."""

    def __init__(self, name: str, fault):
        self.name, self.fault = name, fault

    def _hit(self) -> bool:
        want = os.environ.get(PAGE_ENV)
        return not want or str(_page["number"]) == want

    def version(self) -> str:
        return f"{self.name} 1"

    def upside_down(self, crops):
        return [0.0 for _ in crops]

    def detect(self, img, dpi=None):
        if self._hit():
            self.fault()
        return []

    def recognize(self, crops, charset=None):
        return [Read("", 0.0) for _ in crops]


FAULTS = {"crash": crash, "memory": memory, "badalloc": badalloc, "onnx": onnx, "hang": hang, "blank": blank}
for _name, _fault in FAULTS.items():
    registry.register(f"fault-{_name}", lambda n=_name, f=_fault: FaultEngine(f"fault-{n}", f),
                      f"test fault: {_name}")
