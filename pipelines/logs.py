"""Logging for the command line: `-v` / `-q` on stderr, `--log-file FILE`.

Levels: -q only errors; default warnings (a page lost, an engine's complaint);
-v what each document did (INFO); -vv everything (DEBUG, with the Python
traceback of an internal error). The log file gets INFO and above whatever
-q says (DEBUG with -vv), from the driver and from every worker process.
Third-party loggers (Ray, RapidOCR, pdfminer) are held at WARNING on stderr
unless -vv: their chatter is not the user's business.
"""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"
NOISY = ("ray", "RapidOCR", "pdfminer", "pdfplumber", "PIL", "urllib3", "filelock")


def level_for(verbose: int, quiet: bool) -> int:
    if quiet:
        return logging.ERROR
    return {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)


def configure(level: int = logging.WARNING, log_file: str | None = None, worker: bool = False) -> None:
    """Handlers for this process (the driver, or a worker: `worker` only marks which)."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_shenbao", False):
            root.removeHandler(h)
            h.close()
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(level)
    console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s" if level <= logging.DEBUG
                                           else "%(message)s"))
    console._shenbao = True
    handlers = [console]
    file_level = logging.DEBUG if level <= logging.DEBUG else logging.INFO
    if log_file:
        fh = logging.FileHandler(log_file, mode="a", encoding="utf-8", errors="backslashreplace")
        fh.setLevel(file_level)
        fh.setFormatter(logging.Formatter(FORMAT))
        fh._shenbao = True
        handlers.append(fh)
    for h in handlers:
        root.addHandler(h)
    root.setLevel(min(level, file_level) if log_file else level)
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.DEBUG if level <= logging.DEBUG else logging.WARNING)
    logging.captureWarnings(True)  # a library's warnings are log lines (hidden by -q), not stray text
