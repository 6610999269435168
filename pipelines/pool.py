"""Worker processes for `batch` and `extract`: one document at a time each, the
parent enforcing the limits.

- Time: the parent kills a worker whose document runs past `timeout` seconds
  (E_TIMEOUT) and starts a fresh one.
- Memory: each worker runs under an address-space limit of `max_memory_mb`
  (RLIMIT_AS): a MemoryError on a page loses that page (E_MEMORY, the
  document is partial), elsewhere the document (E_MEMORY). glibc is told to
  keep two malloc arenas, so the limit is spent on memory actually used rather
  than on per-thread arena reservations (which made 1500 MB lose pages that
  need 600 MB).
- Death: a worker that dies (OOM killer, a crash in native code) gives
  E_WORKER_DIED for its document; the batch goes on.
- Workers die with their parent: each asks the kernel for SIGKILL when the
  parent dies (PR_SET_PDEATHSIG), so kill -9 of the driver leaves no worker
  running on; SIGINT is the parent's to handle (it stops the workers).

A worker loads the extractor, says ("ready",) (the time limit of its first
document starts then, not while it imports), sends ("page", event, number,
total) messages while it reads (for progress bars) and then each document's
result dict.
"""

from __future__ import annotations

import ctypes
import dataclasses
import logging
import os
import resource
import signal
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from extract import errors
from extract.document import Options

E_TIMEOUT = errors.Timeout.code
E_MEMORY = errors.OutOfMemory.code
E_WORKER_DIED = errors.WorkerDied.code

Task = Callable[[Path, Options], list]  # one file → its records; raises ShenbaoError
log = logging.getLogger("shenbao")


def extract_task(path: Path, options: Options) -> list[dict]:
    """The real per-document task (imported in the worker, not in the parent)."""
    from extract.pipeline import extract_file

    return extract_file(path, options)


@dataclass(frozen=True)
class ExtractTask:
    """extract_file with a templates folder (and review thresholds, kept for
    the record builder): picklable, so it reaches spawned workers and Ray."""

    templates: str | None = None
    review: dict = field(default_factory=dict, hash=False, compare=False)

    def __call__(self, path: Path, options: Options) -> list[dict]:
        from extract.pipeline import extract_file

        return extract_file(path, options, templates=_templates(self.templates))


_TEMPLATE_CACHE: dict[str, tuple] = {}


def _templates(directory: str | None):
    if not directory:
        return None
    if directory not in _TEMPLATE_CACHE:
        from extract.template import load_templates

        _TEMPLATE_CACHE[directory] = load_templates(directory)
    return _TEMPLATE_CACHE[directory]


# ------------------------------------------------------------------ the task, in a worker

def run_one(task: Task, path: str | Path, options: Options) -> dict:
    """Run the task on one file and say what happened, never raising: the result
    every executor (worker process, Ray actor) hands back to the parent. A
    message never carries a Python traceback."""
    t0 = time.perf_counter()
    try:
        records = task(Path(path), options)
        if not records:
            raise errors.NotDeclaration(f"{Path(path).name}: no declaration found")
        return {"status": "ok", "records": records, "seconds": time.perf_counter() - t0}
    except errors.ShenbaoError as exc:
        return failure(exc.code, exc.message, time.perf_counter() - t0)
    except Exception as exc:  # MemoryError, a bug, or a native library running out of memory
        log.debug("task failed on %s", path, exc_info=True)
        err = errors.from_exception(exc)
        return failure(err.code, err.message, time.perf_counter() - t0)


def failure(code: str, message: str, seconds: float | None = None) -> dict:
    return {"status": "error", "code": code, "message": message, "seconds": seconds}


def limit_memory(max_memory_mb: int | None) -> None:
    if max_memory_mb:
        limit = int(max_memory_mb) << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


_PR_SET_PDEATHSIG = 1
_M_ARENA_MAX = -8


def die_with_parent(parent_pid: int) -> None:
    """SIGKILL this process when its parent dies (Linux; elsewhere a no-op)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def few_malloc_arenas(n: int = 2) -> None:
    try:
        ctypes.CDLL(None).mallopt(_M_ARENA_MAX, n)
    except (OSError, AttributeError):
        pass


@dataclass
class WorkerSetup:
    """What a worker process sets up before its first document (picklable)."""

    max_memory_mb: int | None = None
    threads: int = 0
    plugins: tuple[str, ...] = ()
    log_level: int = logging.WARNING
    log_file: str | None = None
    parent_pid: int = field(default_factory=os.getpid)


def _worker_main(conn, task: Task, options: Options, setup: WorkerSetup) -> None:
    die_with_parent(setup.parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    from pipelines.logs import configure

    configure(setup.log_level, setup.log_file, worker=True)
    if setup.threads:  # share the cores between the workers instead of oversubscribing them
        if not options.threads:
            options = dataclasses.replace(options, threads=setup.threads)  # onnxruntime, through Options
        for var in ("OMP_THREAD_LIMIT", "OMP_NUM_THREADS"):  # tesseract's and OpenMP's own
            os.environ.setdefault(var, str(setup.threads))
    few_malloc_arenas()
    if setup.plugins:
        from pipelines.plugins import load_plugins

        try:
            load_plugins(setup.plugins)
        except errors.ShenbaoError:
            pass  # the parent loaded them first and reported what failed
    from extract.document import add_page_hook

    def on_page(event: str, number: int, total: int) -> None:
        conn.send(("page", event, number, total))

    add_page_hook(on_page)
    limit_memory(setup.max_memory_mb)
    try:  # load the extractor now, so that a document's time limit is spent on the document
        import extract.pipeline  # noqa: F401
        import extract.image.page  # noqa: F401  (OpenCV: the scanned path)
    except BaseException:
        pass  # the task will meet (and report) the same problem
    conn.send(("ready",))
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
            err = errors.from_exception(exc, "cannot send the result")
            conn.send(failure(err.code, err.message))


# ------------------------------------------------------------------ the local pool

class _Worker:
    def __init__(self, ctx, task: Task, options: Options, setup: WorkerSetup):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, task, options, setup),
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


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class LocalPool:
    """`jobs` worker processes, one document each at a time, with the parent
    enforcing the per-document time limit."""

    def __init__(self, task: Task, options: Options, jobs: int, timeout: float,
                 max_memory_mb: int | None, setup: WorkerSetup | None = None):
        import multiprocessing

        self.ctx = multiprocessing.get_context("spawn")  # no fork of a threaded parent
        self.task, self.options, self.n = task, options, max(1, jobs)
        self.timeout = timeout
        base = setup or WorkerSetup()
        self.setup = WorkerSetup(max_memory_mb=max_memory_mb,
                                 threads=base.threads or max(1, (os.cpu_count() or 1) // self.n),
                                 plugins=base.plugins, log_level=base.log_level, log_file=base.log_file)

    def run(self, jobs: list, on_result: Callable[[object, dict], None],
            on_page: Callable[[object, str, int, int], None] | None = None) -> None:
        from multiprocessing.connection import wait

        queue = deque(jobs)
        workers: list[_Worker] = []
        try:
            while queue or any(w.job for w in workers):
                while queue and len(workers) < self.n:
                    workers.append(_Worker(self.ctx, self.task, self.options, self.setup))
                for w in list(workers):
                    if w.job is None and queue:
                        job = queue.popleft()
                        try:
                            w.submit(job, self.timeout)
                        except OSError:  # an idle worker died (killed from outside)
                            queue.appendleft(job)
                            w.job = None
                            w.kill()
                            workers.remove(w)
                if not any(w.job for w in workers):
                    continue
                busy = [w for w in workers if w.job is not None]
                left = min(w.deadline for w in busy) - time.monotonic()
                wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout=max(0, left))
                for w in busy:
                    result = None
                    while w.conn.poll():
                        try:
                            msg = w.conn.recv()
                        except (EOFError, OSError):
                            break
                        if isinstance(msg, tuple):  # ("ready",) or ("page", event, number, total)
                            if msg[0] == "ready":  # start-up is not the document's time
                                w.deadline = time.monotonic() + self.timeout
                            elif on_page is not None:
                                on_page(w.job, *msg[1:])
                            continue
                        result = msg
                        break
                    if result is not None:
                        job, w.job = w.job, None
                        on_result(job, result)
                    elif not w.proc.is_alive():
                        w.proc.join()
                        job, w.job = w.job, None
                        w.conn.close()
                        workers.remove(w)
                        on_result(job, failure(E_WORKER_DIED, _death(w.proc)))
                    elif time.monotonic() >= w.deadline:
                        job, w.job = w.job, None
                        w.kill()
                        workers.remove(w)
                        on_result(job, failure(E_TIMEOUT, f"still running after {self.timeout:g} s; "
                                                          "the worker was stopped", self.timeout))
        finally:
            for w in workers:
                w.kill() if w.job is not None else w.stop()
