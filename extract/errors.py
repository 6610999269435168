"""Errors a user can act on. Each has a stable code that scripts can match
(printed on stderr and written to the batch manifest). docs/errors.md lists
them with what to do; keep the two in step (tests/test_errors.py checks)."""

from __future__ import annotations


class ShenbaoError(Exception):
    code = "E_INTERNAL"
    hint = "report a bug with the file attached"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def _error(name: str, code: str, hint: str) -> type[ShenbaoError]:
    return type(name, (ShenbaoError,), {"code": code, "hint": hint})


EmptyFile = _error("EmptyFile", "E_EMPTY", "the file has 0 bytes: rescan or recopy it")
UnsupportedFile = _error("UnsupportedFile", "E_UNSUPPORTED",
                         "not a PDF, TIFF, PNG or JPEG (check what the file really is)")
CorruptFile = _error("CorruptFile", "E_CORRUPT", "the file is damaged or truncated: recopy it")
EncryptedFile = _error("EncryptedFile", "E_ENCRYPTED",
                       "give the password with --password (a wrong password gives this error too)")
NoPages = _error("NoPages", "E_NO_PAGES", "the document has no pages")
TooLarge = _error("TooLarge", "E_TOO_LARGE", "raise --max-pages / --max-pixels if the file is genuine")
NotDeclaration = _error("NotDeclaration", "E_NOT_DECLARATION",
                        "the file is not a 财政项目支出绩效目标申报表; check the file")
InvalidRecord = _error("InvalidRecord", "E_INVALID_RECORD",
                       "the record broke the schema: report a bug with the file attached")
OutputError = _error("OutputError", "E_OUTPUT", "check that OUTDIR is writable and the disk has space")
Timeout = _error("Timeout", "E_TIMEOUT", "raise --timeout if the document is genuinely large")
OutOfMemory = _error("OutOfMemory", "E_MEMORY", "raise --max-memory or split the file")
TemplateError = _error("TemplateError", "E_TEMPLATE",
                       "fix the template file and key the message names (shenbao templates check DIR)")
UsageError = _error("UsageError", "E_USAGE",
                    "check the command's arguments (shenbao COMMAND --help)")
MissingDependency = _error("MissingDependency", "E_MISSING_DEPENDENCY",
                           "install the Debian package the message names, or run ./setup.sh")
NoRecords = _error("NoRecords", "E_NO_RECORDS",
                   "the folder holds no record to export: give the OUTDIR that extract or batch wrote")
WorkerDied = _error("WorkerDied", "E_WORKER_DIED",
                    "the worker process was killed (out of memory, or a crash in a native library): "
                    "lower --jobs, raise --max-memory, or report a bug with the file attached")
Locked = _error("Locked", "E_LOCKED",
                "another shenbao run is writing into this OUTDIR: wait for it (--wait SECONDS) "
                "or give another -o")
ClusterError = _error("ClusterError", "E_CLUSTER",
                      "the Ray cluster could not be reached or could not start its workers: start one "
                      "(ray start --head), give --ray HOST:PORT, or use --ray local")


def all_errors() -> list[type[ShenbaoError]]:
    """Every error class, ShenbaoError itself (E_INTERNAL) first."""
    return [ShenbaoError, *ShenbaoError.__subclasses__()]


CODES = {cls.code: cls for cls in all_errors()}


# ------------------------------------------------------------------ foreign exceptions

_TRACEBACK = "Traceback (most recent call last)"
_OUT_OF_MEMORY = ("bad_alloc", "Failed to allocate memory", "Cannot allocate memory",
                  "failed to map segment from shared object", "out of memory")


def is_memory_error(exc: BaseException) -> bool:
    """MemoryError, or a native library's way of saying the same (onnxruntime's
    std::bad_alloc and arena failures, a shared library that cannot be mapped
    under the address-space limit)."""
    if isinstance(exc, MemoryError):
        return True
    text = str(exc)
    return any(s.lower() in text.lower() for s in _OUT_OF_MEMORY)


def one_line(exc: BaseException, limit: int = 300) -> str:
    """`Type: message` on one line, without the Python traceback some libraries
    put inside their messages (rapidocr wraps onnxruntime's errors in a
    traceback.format_exc() string), cut to `limit` characters."""
    text = str(exc).strip()
    if _TRACEBACK in text:  # keep the last line, the one that says what went wrong
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        text = lines[-1] if lines else ""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    name = type(exc).__name__
    return f"{name}: {text}" if text and not text.startswith(name) else (text or name)


def from_exception(exc: BaseException, what: str = "") -> ShenbaoError:
    """A ShenbaoError for any exception: itself when it is one, E_MEMORY for
    the ways of running out of memory, else E_INTERNAL with a one-line message."""
    if isinstance(exc, ShenbaoError):
        return exc
    prefix = f"{what}: " if what else ""
    if is_memory_error(exc):
        return OutOfMemory(f"{prefix}out of memory ({one_line(exc)}); raise --max-memory or lower --jobs")
    return ShenbaoError(f"{prefix}{one_line(exc)}")
