"""Bulk runs: every declaration file under INDIR → records in OUTDIR, resumable.

How a run goes
  1. Find *.pdf *.tif *.tiff *.png *.jpg *.jpeg under INDIR, recursively (any case
     of the suffix), sorted by relative path; OUTDIR is skipped when it is inside INDIR.
  2. Hash each file (sha256). A file whose sha256 already has a status "ok" line
     in OUTDIR/manifest.jsonl is skipped: it was done by an earlier run, under this
     name or another (a renamed or copied file is not redone). Failed files are retried.
     A file that cannot be read at all is reported (E_UNSUPPORTED) and passed over.
  3. The rest go to long-lived worker processes (`jobs`, default: every core), one
     document at a time each, so an OCR engine loads once per worker. The parent
     kills a worker that takes longer than `timeout` seconds on a document
     (E_TIMEOUT) and starts a fresh one; each worker runs under an address-space
     limit of `max_memory_mb` (RLIMIT_AS: MemoryError → E_MEMORY); a worker that
     dies (OOM killer, crash in native code) gives E_WORKER_DIED. One document never
     stops the batch. With `ray_address` the same task runs on a Ray cluster
     instead (pipelines/distributed.py); the parent's part is the same.
  4. The parent (never a worker) writes each document's records atomically
     (temp file + rename) and then appends its manifest line (flush + fsync).
     A kill at any moment leaves complete record files and a manifest whose last
     line may be cut off; the next run drops that piece and redoes the document.

Output names (one rule for local and Ray runs)
  The record file is named after the input's path relative to INDIR, directories
  joined by "__" and the suffix dropped: `a.pdf` → `a.json`, `2020/区县/a.pdf` →
  `2020__区县__a.json`; a file with several declarations gives `<name>-1.json`,
  `<name>-2.json`… (as `shenbao extract` does). Two inputs that would still meet
  (`a.pdf` and `a.tif`; `a-1.pdf` beside a two-declaration `a.pdf`; a name already
  written by an earlier run for another document) are told apart by `_2`, `_3`…
  after the later one's name, in sorted order: `a_2.json`. Names compare without
  regard to case. `source.file` inside each record is the same relative path
  (`2020/区县/a.pdf`), so exports keep documents apart too.

manifest.jsonl: one JSON object a line, per finished document:
  {"file": relative path, "sha256", "status": "ok" | "error", "error_code",
   "error_message", "pages", "seconds", "records": [file names], "warnings": count}
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import resource
import signal
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable

from extract import errors
from extract.document import Options, sha256_of
from pipelines.io import atomic_write_json, output_names, safe_stem

EXTENSIONS = {".pdf", ".tif", ".tiff", ".png", ".jpg", ".jpeg"}
MANIFEST = "manifest.jsonl"
E_TIMEOUT = errors.Timeout.code
E_MEMORY = errors.OutOfMemory.code
E_WORKER_DIED = "E_WORKER_DIED"

Task = Callable[[Path, Options], list]  # one file → its records; raises ShenbaoError


def extract_task(path: Path, options: Options) -> list[dict]:
    """The real per-document task (imported in the worker, not in the parent)."""
    from extract.pipeline import extract_file

    return extract_file(path, options)


# ------------------------------------------------------------------ the task, in a worker

def run_one(task: Task, path: str | Path, options: Options) -> dict:
    """Run the task on one file and say what happened, never raising: the result
    every executor (worker process, Ray actor) hands back to the parent."""
    t0 = time.perf_counter()
    try:
        records = task(Path(path), options)
        if not records:
            raise errors.NotDeclaration(f"{Path(path).name}: no declaration found")
        return {"status": "ok", "records": records, "seconds": time.perf_counter() - t0}
    except errors.ShenbaoError as exc:
        return failure(exc.code, exc.message, time.perf_counter() - t0)
    except MemoryError:
        return failure(E_MEMORY, "out of memory (over --max-memory)", time.perf_counter() - t0)
    except Exception as exc:  # a bug, or a native library running out of memory
        code = E_MEMORY if "bad_alloc" in str(exc) else "E_INTERNAL"
        return failure(code, f"{type(exc).__name__}: {exc}", time.perf_counter() - t0)


def failure(code: str, message: str, seconds: float | None = None) -> dict:
    return {"status": "error", "code": code, "message": message, "seconds": seconds}


def limit_memory(max_memory_mb: int | None) -> None:
    if max_memory_mb:
        limit = int(max_memory_mb) << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _worker_main(conn, task: Task, options: Options, max_memory_mb: int | None,
                 threads: int = 0) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if threads:  # share the cores between the workers instead of oversubscribing them
        if not options.threads:
            options = dataclasses.replace(options, threads=threads)  # onnxruntime, through Options
        for var in ("OMP_THREAD_LIMIT", "OMP_NUM_THREADS"):  # tesseract's and OpenMP's own
            os.environ.setdefault(var, str(threads))
    limit_memory(max_memory_mb)
    while True:
        try:
            path = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if path is None:
            return
        result = run_one(task, path, options)
        try:
            conn.send(result)
        except (EOFError, OSError):
            return
        except Exception as exc:  # e.g. MemoryError while pickling the records
            conn.send(failure(E_MEMORY if isinstance(exc, MemoryError) else "E_INTERNAL",
                              f"cannot send the result: {type(exc).__name__}: {exc}"))


# ------------------------------------------------------------------ the local pool

class _Worker:
    def __init__(self, ctx, task: Task, options: Options, max_memory_mb: int | None,
                 threads: int = 0):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main,
                                args=(child, task, options, max_memory_mb, threads),
                                daemon=True, name="shenbao-worker")
        self.proc.start()
        child.close()
        self.job = None
        self.deadline = float("inf")

    def submit(self, job, timeout: float) -> None:
        self.job = job
        self.conn.send(str(job.path))
        self.deadline = time.monotonic() + timeout

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join()
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.proc.join(timeout=2)
        if self.proc.is_alive():
            self.kill()
        self.conn.close()


def _death(proc) -> str:
    code = proc.exitcode
    if code is not None and code < 0:
        try:
            how = f"killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"killed by signal {-code}"
    else:
        how = f"exit status {code}"
    return f"the worker process died ({how}) on this document: out of memory (OOM killer) or a crash"


class LocalPool:
    """`jobs` worker processes, one document each at a time, with the parent
    enforcing the per-document time limit."""

    def __init__(self, task: Task, options: Options, jobs: int, timeout: float,
                 max_memory_mb: int | None):
        import multiprocessing

        self.ctx = multiprocessing.get_context("spawn")  # no fork of a threaded parent
        self.task, self.options, self.n = task, options, max(1, jobs)
        self.timeout, self.max_memory_mb = timeout, max_memory_mb

    def run(self, jobs: list, on_result: Callable[[object, dict], None]) -> None:
        from multiprocessing.connection import wait

        queue = deque(jobs)
        workers: list[_Worker] = []
        try:
            while queue or any(w.job for w in workers):
                while queue and len(workers) < self.n:
                    workers.append(_Worker(self.ctx, self.task, self.options, self.max_memory_mb,
                                           threads=max(1, (os.cpu_count() or 1) // self.n)))
                for w in list(workers):
                    if w.job is None and queue:
                        try:
                            w.submit(queue.popleft(), self.timeout)
                        except OSError:  # an idle worker died (killed from outside)
                            queue.appendleft(w.job)
                            w.kill()
                            workers.remove(w)
                if not any(w.job for w in workers):
                    continue
                busy = [w for w in workers if w.job is not None]
                left = min(w.deadline for w in busy) - time.monotonic()
                wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout=max(0, left))
                for w in busy:
                    result = None
                    if w.conn.poll():
                        try:
                            result = w.conn.recv()
                        except (EOFError, OSError):
                            pass
                    if result is not None:
                        job, w.job = w.job, None
                        on_result(job, result)
                    elif not w.proc.is_alive():
                        w.proc.join()
                        on_result(w.job, failure(E_WORKER_DIED, _death(w.proc)))
                        w.conn.close()
                        workers.remove(w)
                    elif time.monotonic() >= w.deadline:
                        w.kill()
                        on_result(w.job, failure(E_TIMEOUT, f"still running after {self.timeout:g} s; "
                                                             "the worker was stopped", self.timeout))
                        workers.remove(w)
        finally:
            for w in workers:
                w.kill() if w.job is not None else w.stop()


# ------------------------------------------------------------------ planning

@dataclass
class Job:
    rel: str  # path relative to INDIR, with "/"
    path: Path
    sha256: str | None  # None: the file could not be read
    stem: str  # output name without ".json" (and without "-N")


def find_inputs(indir: Path, outdir: Path | None = None) -> list[str]:
    """Relative paths ("/"-separated) of the declaration files under indir, sorted."""
    indir = Path(indir)
    skip = Path(outdir).resolve() if outdir else None
    found = []
    for root, dirs, files in os.walk(indir):
        dirs[:] = sorted(d for d in dirs if Path(root, d).resolve() != skip)
        for name in files:
            if Path(name).suffix.lower() in EXTENSIONS:
                found.append(Path(root, name).relative_to(indir).as_posix())
    return sorted(found)


def output_stem(rel: str) -> str:
    """`2020/区县/a.pdf` → `2020__区县__a` (see the module docstring)."""
    p = PurePosixPath(rel)
    return "__".join(safe_stem(part + ".x") for part in [*p.parent.parts, p.stem])


_NUMBERED = re.compile(r"^(.*)-\d+$")


def assign_stems(rels: list[str], taken_names: list[str] = ()) -> dict[str, str]:
    """An output stem for every input such that no two inputs (and no record file
    named in `taken_names`) can ever write the same file, with `-N` numbering."""
    taken: set[str] = set()
    bases: set[str] = set()  # the stems with any "-N" taken off

    def add(stem: str) -> None:
        key = stem.casefold()
        taken.add(key)
        m = _NUMBERED.match(key)
        bases.add(m.group(1) if m else key)

    def clashes(stem: str) -> bool:
        key = stem.casefold()
        m = _NUMBERED.match(key)
        return key in taken or key in bases or bool(m and m.group(1) in taken)

    for name in taken_names:
        add(name.removesuffix(".json"))
    out = {}
    for rel in rels:
        base = stem = output_stem(rel)
        n = 1
        while clashes(stem):
            n += 1
            stem = f"{base}_{n}"
        add(stem)
        out[rel] = stem
    return out


# ------------------------------------------------------------------ manifest

class Manifest:
    """OUTDIR/manifest.jsonl, read on open (a cut-off last line is dropped from
    the file) and appended to with flush + fsync."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.entries = self._read()
        self._f = open(self.path, "a", encoding="utf-8")

    def _read(self) -> list[dict]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        if data and not data.endswith(b"\n"):  # a line cut off by a kill
            data = data[: data.rfind(b"\n") + 1]
            os.truncate(self.path, len(data))
        entries = []
        for line in data.splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue
        return entries

    def ok_entries(self) -> dict[str, dict]:
        return {e["sha256"]: e for e in self.entries if e.get("status") == "ok" and e.get("sha256")}

    def append(self, entry: dict) -> None:
        self._f.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())
        self.entries.append(entry)

    def close(self) -> None:
        self._f.close()


# ------------------------------------------------------------------ the run

@dataclass
class Summary:
    found: int = 0  # declaration files under INDIR
    skipped: int = 0  # done by an earlier run
    ok: int = 0
    failed: dict[str, int] = field(default_factory=dict)  # error code → documents
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # file, code, message
    records: int = 0
    pages: int = 0
    seconds: float = 0.0

    @property
    def n_failed(self) -> int:
        return sum(self.failed.values())

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0

    def __str__(self) -> str:
        lines = [f"{self.found} files found, {self.skipped} already done, "
                 f"{self.ok} ok ({self.records} records), {self.n_failed} failed",
                 f"{self.pages} pages in {self.seconds:.1f} s ({self.pages_per_second:.2f} pages/s)"]
        if self.failed:
            lines.append("failed: " + ", ".join(f"{c} {n}" for c, n in sorted(self.failed.items())))
        return "\n".join(lines)


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def run_batch(indir, outdir, jobs: int | None = None, timeout: float = 600,
              max_memory_mb: int | None = 2048, options: Options | None = None,
              ray_address: str | None = None, progress: bool = True,
              task: Task = extract_task) -> Summary:
    """Extract every declaration file under indir into outdir (see the module
    docstring). `task` is the per-document function, replaceable (tests)."""
    indir, outdir = Path(indir), Path(outdir)
    options = options or Options()
    t0 = time.perf_counter()
    outdir.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(outdir / MANIFEST)
    try:
        summary = Summary()
        done = manifest.ok_entries()
        pending, unreadable = [], []
        for rel in find_inputs(indir, outdir):
            summary.found += 1
            try:
                sha = sha256_of(indir / rel)
            except OSError as exc:
                unreadable.append((Job(rel, indir / rel, None, ""), failure(
                    errors.UnsupportedFile.code, f"cannot read {rel}: {exc.strerror or exc}")))
                continue
            if sha in done:
                summary.skipped += 1
            else:
                pending.append((rel, sha))
        written = [n for e in done.values() for n in e.get("records", [])]
        stems = assign_stems([rel for rel, _ in pending], written)
        todo = [Job(rel, indir / rel, sha, stems[rel]) for rel, sha in pending]

        with _Progress(len(todo) + len(unreadable), progress and sys.stdout.isatty()) as bar:
            def finish(job: Job, result: dict) -> None:
                entry = _record(outdir, job, result)
                manifest.append(entry)
                if entry["status"] == "ok":
                    summary.ok += 1
                    summary.records += len(entry["records"])
                    summary.pages += entry["pages"] or 0
                else:
                    summary.failed[entry["error_code"]] = summary.failed.get(entry["error_code"], 0) + 1
                    summary.failures.append((job.rel, entry["error_code"], entry["error_message"]))
                bar.advance(entry["pages"] or 0)

            for job, result in unreadable:
                finish(job, result)
            if todo and ray_address:
                from pipelines.distributed import run_on_ray

                run_on_ray(todo, finish, task=task, options=options, workers=jobs, timeout=timeout,
                           address=ray_address)
            elif todo:
                LocalPool(task, options, min(jobs or default_jobs(), len(todo)), timeout,
                          max_memory_mb).run(todo, finish)
    finally:
        manifest.close()
    summary.seconds = time.perf_counter() - t0
    return summary


def _record(outdir: Path, job: Job, result: dict) -> dict:
    """Write one document's records (atomically) and return its manifest line."""
    entry = {"file": job.rel, "sha256": job.sha256, "status": result["status"],
             "error_code": result.get("code"), "error_message": result.get("message"),
             "pages": None, "seconds": _round(result.get("seconds")), "records": [], "warnings": 0}
    if result["status"] == "ok":
        records = result["records"]
        try:
            names = output_names(job.stem, len(records))
            for name, rec in zip(names, records):
                rec.setdefault("source", {})["file"] = job.rel
                atomic_write_json(outdir / name, rec)
            _fsync_dir(outdir)
        except errors.ShenbaoError as exc:
            entry.update(status="error", error_code=exc.code, error_message=exc.message)
            return entry
        entry["records"] = names
        entry["pages"] = records[0].get("source", {}).get("page_count")
        entry["warnings"] = sum(len(r.get("warnings", [])) for r in records)
    return entry


def _round(x):
    return None if x is None else round(x, 3)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Progress:
    """A rich progress bar (documents, pages/s, ETA) on a terminal; nothing otherwise."""

    def __init__(self, total: int, show: bool):
        self.bar = None
        self.pages = 0
        self.t0 = time.perf_counter()
        if show and total:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            self.bar = Progress(TextColumn("documents"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                                TextColumn("ETA"), TimeRemainingColumn())
            self.task = self.bar.add_task("batch", total=total, rate="")

    def __enter__(self):
        if self.bar:
            self.bar.start()
        return self

    def __exit__(self, *exc):
        if self.bar:
            self.bar.stop()

    def advance(self, pages: int) -> None:
        self.pages += pages
        if self.bar:
            rate = self.pages / max(time.perf_counter() - self.t0, 1e-9)
            self.bar.update(self.task, advance=1, rate=f"{rate:.2f} pages/s")
