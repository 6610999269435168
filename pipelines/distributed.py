"""The batch's per-document task on a Ray cluster: `shenbao batch --ray ADDRESS`.

ADDRESS is "auto" (the cluster this machine belongs to), "host:port" (a cluster's
GCS address), or "local" (start a Ray instance on this machine, for tests and
trials). One actor per worker slot (`-j N`, default one per CPU in the
cluster) loads the extractor once and takes one document at a time. The driver
sends each file's bytes (so the workers need no shared file system), gets the
records back and writes records and manifest exactly as a local run does
(pipelines/batch.py), so the output files are the same.

Per-document time limit: the driver waits with a deadline and kills the actor of
a document that exceeds it (E_TIMEOUT), then starts a new actor. An actor that
dies gives E_WORKER_DIED, or E_MEMORY when Ray's memory monitor killed it.
--max-memory is not applied as RLIMIT_AS here (a Ray worker maps far more address
space than it uses); memory is left to Ray's own memory monitor.

Ray is an extra (`pip install 'shenbao[ray]'`; ./setup.sh installs it): without
it `--ray` is E_MISSING_DEPENDENCY. No cluster at ADDRESS, or workers that
cannot start, is E_CLUSTER naming shenbao's --ray. Ray's own log lines (its
start-up banner, token and deprecation warnings) are kept off the terminal.
"""

from __future__ import annotations

import logging
import re
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Callable

from extract import errors
from extract.document import Options
from extract.errors import UnsupportedFile
from pipelines.pool import E_MEMORY, E_TIMEOUT, E_WORKER_DIED, Task, failure, run_one
from pipelines.run import Job


class Extractor:
    """One worker slot: the task and its options, kept for the actor's lifetime."""

    def __init__(self, task: Task, options: Options):
        self.task, self.options = task, options

    def ready(self) -> bool:
        return True

    def run(self, name: str, data: bytes) -> dict:
        with tempfile.TemporaryDirectory(prefix="shenbao-") as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            return run_one(self.task, path, self.options)


def connect(address: str, jobs: int | None) -> bool:
    """Join or start Ray; True when this call started it (and should shut it down)."""
    try:
        import ray
    except ImportError as exc:
        raise errors.MissingDependency(f"--ray needs Ray, which is not installed ({exc}): "
                                       "pip install 'shenbao[ray]', or run ./setup.sh") from None
    if ray.is_initialized():
        return False
    quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
    try:
        if address == "local":
            ray.init(num_cpus=jobs, include_dashboard=False, **quiet)
        else:
            ray.init(address=address, **quiet)
    except ConnectionError as exc:
        where = "on this machine" if address == "auto" else f"at {address}"
        raise errors.ClusterError(f"--ray {address}: no Ray cluster found {where} ({_first_line(exc).split('.')[0]}); "
                                  "start one with `ray start --head`, give --ray HOST:PORT, "
                                  "or use --ray local for a one-machine cluster") from None
    except Exception as exc:
        raise errors.ClusterError(f"--ray {address}: cannot start or join Ray: {_first_line(exc)}") from None
    return True


def run_on_ray(todo: list[Job], on_result: Callable[[Job, dict], None], *, task: Task,
               options: Options, workers: int | None = None, timeout: float = 600,
               address: str = "auto") -> None:
    """Run every job on Ray, calling on_result(job, result) in the driver as each
    finishes; `workers` actors (default: the cluster's CPUs)."""
    import ray
    from ray.exceptions import OutOfMemoryError, RayActorError, RayError

    idle: list = []
    running: dict = {}  # ObjectRef → (actor, job, deadline)
    queue = deque(todo)
    actor_cls = ray.remote(num_cpus=1, max_restarts=0)(Extractor)

    def start(k: int) -> None:
        """k new actors, ready to work (so their start-up does not count against
        a document's time limit); one that cannot start stops the run."""
        actors = [actor_cls.remote(task, options) for _ in range(k)]
        idle.extend(actors)
        try:
            ray.get([a.ready.remote() for a in actors])
        except RayError as exc:
            raise errors.ClusterError(f"Ray workers cannot start the extractor (is shenbao installed on "
                                      f"every node?): {_clean(exc).splitlines()[-1]}") from None

    started = connect(address, workers)
    try:
        n = min(workers or int(ray.cluster_resources().get("CPU", 1)), len(todo))
        start(n)
        while queue or running:
            if queue and len(idle) + len(running) < n:
                start(n - len(idle) - len(running))
            while queue and idle:
                job = queue.popleft()
                try:
                    data = job.path.read_bytes()
                except OSError as exc:  # gone or unreadable since it was found
                    on_result(job, failure(UnsupportedFile.code, f"cannot read {job.rel}: "
                                                                 f"{exc.strerror or exc}"))
                    continue
                actor = idle.pop()
                ref = actor.run.remote(Path(job.rel).name, data)
                running[ref] = (actor, job, time.monotonic() + timeout)
            if not running:
                continue
            left = min(d for _, _, d in running.values()) - time.monotonic()
            ready, _ = ray.wait(list(running), num_returns=1, timeout=max(0, left))
            if ready:  # and whatever else has finished meanwhile
                ready, _ = ray.wait(list(running), num_returns=len(running), timeout=0)
            for ref in ready:
                actor, job, _ = running.pop(ref)
                try:
                    result = ray.get(ref)
                    idle.append(actor)
                except OutOfMemoryError as exc:
                    result = failure(E_MEMORY, f"killed by Ray's memory monitor: {_first_line(exc)}")
                except RayActorError as exc:
                    result = failure(E_WORKER_DIED, f"the Ray actor died on this document: "
                                                    f"{_first_line(exc)}")
                except RayError as exc:  # e.g. the result could not be sent back
                    result = failure("E_INTERNAL", errors.one_line(exc))
                    idle.append(actor)
                on_result(job, result)
            now = time.monotonic()
            for ref, (actor, job, deadline) in list(running.items()):
                if now >= deadline:
                    del running[ref]
                    ray.kill(actor)
                    on_result(job, failure(E_TIMEOUT, f"still running after {timeout:g} s; "
                                                      "the worker was stopped", timeout))
    finally:
        for actor in idle + [a for a, _, _ in running.values()]:
            ray.kill(actor)
        if started:
            ray.shutdown()


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _clean(exc: Exception) -> str:
    return _ANSI.sub("", str(exc)).strip() or type(exc).__name__


def _first_line(exc: Exception) -> str:
    return _clean(exc).splitlines()[0]
