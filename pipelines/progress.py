"""Progress on a terminal (stderr), for `batch` and `extract`: documents done,
pages per second, an ETA, and a row per document being read with its page.

The ETA counts what is done in documents, with the pages already read of the
documents in progress as fractions of them, so it moves while a long scan is
read; until anything is done it says so (`ETA …`) instead of guessing.
Nothing is shown when stderr is not a terminal, or with -q.
"""

from __future__ import annotations

import sys
import time

from pipelines.io import printable


class NoProgress:
    total = 0

    def set_total(self, total: int) -> None:
        self.total = total

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def page(self, job, event: str, number: int, total: int) -> None:
        pass

    def done(self, job, entry: dict) -> None:
        pass


def _name(job) -> str:
    text = printable(str(getattr(job, "rel", job)))
    return text if len(text) <= 40 else "…" + text[-39:]


def eta_text(units_done: float, total: float, elapsed: float) -> str:
    if units_done <= 0 or elapsed <= 0:
        return "ETA …"
    left = max(0.0, (total - units_done) * elapsed / units_done)
    h, rest = divmod(int(round(left)), 3600)
    m, s = divmod(rest, 60)
    return f"ETA {h}:{m:02d}:{s:02d}"


class BatchProgress(NoProgress):
    def __init__(self, total: int, workers: int = 1, label: str = "documents"):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.total, self.workers = total, workers
        self.t0 = time.perf_counter()
        self.pages = 0
        self.docs = 0
        self.fraction: dict[int, float] = {}  # id(job) → share of its pages read
        self.rows: dict[int, object] = {}
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(bar_width=30), MofNCompleteColumn(),
                            TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
                            console=Console(stderr=True), redirect_stdout=sys.stdout.isatty(),
                            redirect_stderr=False, transient=False)
        self.main = self.bar.add_task(label, total=total, info="")

    def set_total(self, total: int) -> None:
        """The number of documents, once the run knows it (after hashing and resuming)."""
        self.total = total
        self.bar.update(self.main, total=total)

    def __enter__(self):
        self.bar.start()
        self._refresh()
        return self

    def __exit__(self, *exc):
        self.bar.stop()

    def _refresh(self) -> None:
        elapsed = time.perf_counter() - self.t0
        units = self.docs + sum(self.fraction.values())
        rate = f"{self.pages / elapsed:.2f} pages/s  " if elapsed > 0 and self.pages else ""
        self.bar.update(self.main, completed=self.docs, info=f"{rate}{eta_text(units, self.total, elapsed)}")

    def page(self, job, event: str, number: int, total: int) -> None:
        key = id(job)
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = self.bar.add_task(f"  {_name(job)}", total=total, info="")
        done = number if event == "done" else number - 1
        self.bar.update(row, total=total, completed=done, info=f"page {number}/{total}")
        if event == "done":
            self.pages += 1
        self.fraction[key] = done / total if total else 0.0
        self._refresh()
        self.bar.refresh()

    def done(self, job, entry: dict) -> None:
        key = id(job)
        row = self.rows.pop(key, None)
        if row is not None:
            self.bar.remove_task(row)
        counted = self.fraction.pop(key, None) is not None
        if not counted:  # no page events (Ray, a fake task): count its pages now
            self.pages += entry.get("pages") or 0
        self.docs += 1
        self._refresh()
        self.bar.refresh()
