"""Bulk runs: every declaration file under INDIR → records in OUTDIR, resumable.

How a run goes
  0. Hold OUTDIR (pipelines/outdir.py): one writer at a time (a second run into
     the same OUTDIR waits up to `wait` seconds, then stops with E_LOCKED naming
     the process in its way); temp files live in OUTDIR/.tmp/, emptied at start.
  1. Find *.pdf *.tif *.tiff *.png *.jpg *.jpeg under INDIR, recursively (any case
     of the suffix), sorted by relative path; OUTDIR is skipped when it is inside
     INDIR. Symbolic links (to files or folders) are not followed unless
     `follow_symlinks`; each one passed over is named in the summary. Any byte
     string is a valid name (the manifest keeps it exactly, in base64).
  2. Hash each file (sha256) and match the inputs to the documents the manifest
     holds (pipelines/manifest.py: reconcile). A document that is done ("ok") and
     whose file is still there, or whose content is now under another name (the
     file was moved), is not redone; a copy of a done file is not redone either.
     Partial and failed documents are redone. A document whose input is gone or
     has changed is marked stale (exports leave it out). With `retry_partial`
     only partial documents and those that failed on a limit (E_MEMORY,
     E_TIMEOUT, E_WORKER_DIED) are redone, typically with other limits.
  3. The rest go to long-lived worker processes (pipelines/pool.py; `jobs`,
     default every core), one document at a time each, so an OCR engine loads
     once per worker, under the time and memory limits; with `ray_address` the
     same task runs on a Ray cluster instead (pipelines/distributed.py).
  4. The parent (never a worker) writes each document's records atomically and
     then appends its manifest line (flush + fsync) (pipelines/run.py). A kill
     at any moment leaves complete record files and a manifest whose last line
     may be cut off; the next run drops that piece and redoes the document into
     the same names.

Output names (one rule for local and Ray runs)
  The record file is named after the input's path relative to INDIR, directories
  joined by "__" and the suffix dropped: `a.pdf` → `a.json`, `2020/区县/a.pdf` →
  `2020__区县__a.json`; a file with several declarations gives `<name>-1.json`,
  `<name>-2.json`… (as `shenbao extract` does). A name is never taken from
  another document: two inputs that would meet (`a.pdf` and `a.tif`; `a-1.pdf`
  beside a two-declaration `a.pdf`; a name an earlier run wrote, or any file
  already in OUTDIR) are told apart by `_2`, `_3`… after the later one's name,
  in sorted order: `a_2.json`. Names compare without regard to case.
  `source.file` inside each record is the same relative path (`2020/区县/a.pdf`).

The OCR cache
  Every image page's read (text pieces, boxes, confidences, table cells) is kept
  in OUTDIR/cache/ocr/, keyed by the page's pixels, the engine and every reading
  setting (extract/image/cache.py). A rerun that reads a page again (a partial
  document, `remap`) takes the read from there instead of running OCR; `cache`
  False (`--no-cache`) keeps nothing.

Re-mapping (`shenbao remap OUTDIR`, `remap_outdir`)
  Every current document of the manifest is read again from its input (its
  `path`) into the same record names, with the templates as they are now; its
  image pages come from the OCR cache. An input that is gone or changed is left
  as it is and named (a batch marks it stale).

manifest.jsonl: see pipelines/manifest.py.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path, PurePosixPath

from extract import errors
from extract.document import Options
from pipelines.io import atomic_write_json, printable, safe_stem
from pipelines.manifest import (ERROR, MANIFEST, OK, PARTIAL, Input, Manifest, entry_file, entry_path, hash_input,
                                reconcile)
from pipelines.outdir import Outdir
from pipelines.pool import (E_MEMORY, E_TIMEOUT, E_WORKER_DIED, ExtractTask, LocalPool, Task, WorkerSetup,
                            default_jobs, extract_task, failure, run_one)
from pipelines.run import Job, Summary, Writer

__all__ = ["EXTENSIONS", "MANIFEST", "E_MEMORY", "E_TIMEOUT", "E_WORKER_DIED", "ExtractTask", "Job",
           "LocalPool", "Manifest", "Summary", "Task", "assign_stems", "default_jobs", "extract_task",
           "failure", "find_inputs", "output_stem", "remap_outdir", "run_batch", "run_one"]

EXTENSIONS = {".pdf", ".tif", ".tiff", ".png", ".jpg", ".jpeg"}
LIMIT_CODES = {E_MEMORY, E_TIMEOUT, E_WORKER_DIED}  # failures other limits can cure
CACHE_DIR = ("cache", "ocr")  # OUTDIR/cache/ocr/: what image pages read as


def with_cache(options: Options, outdir: Path, cache: bool) -> Options:
    """The options with the OCR cache under OUTDIR (unless one is set, or cache is off)."""
    if not cache or options.ocr_cache:
        return options
    return replace(options, ocr_cache=str(Path(outdir, *CACHE_DIR).resolve()))


def find_inputs(indir: Path, outdir: Path | None = None, follow_symlinks: bool = False,
                not_followed: list[str] | None = None) -> list[str]:
    """Relative paths ("/"-separated) of the declaration files under indir,
    sorted. Symbolic links are passed over (and named in `not_followed`)
    unless follow_symlinks; followed folder links are entered once each."""
    indir = Path(indir)
    skip = Path(outdir).resolve() if outdir else None
    found = []
    seen: set[tuple[int, int]] = set()
    for root, dirs, files in os.walk(indir, followlinks=follow_symlinks):
        try:
            st = os.stat(root)
            if (st.st_dev, st.st_ino) in seen:  # a link loop, or the same folder twice
                dirs[:] = []
                continue
            seen.add((st.st_dev, st.st_ino))
        except OSError:
            pass
        keep = []
        for d in sorted(dirs):
            p = Path(root, d)
            if skip is not None and p.resolve() == skip:
                continue
            if p.is_symlink() and not follow_symlinks:
                if not_followed is not None:
                    not_followed.append(p.relative_to(indir).as_posix() + "/")
                continue
            keep.append(d)
        dirs[:] = keep
        for name in files:
            if Path(name).suffix.lower() not in EXTENSIONS:
                continue
            p = Path(root, name)
            if p.is_symlink() and not follow_symlinks:
                if not_followed is not None:
                    not_followed.append(p.relative_to(indir).as_posix())
                continue
            found.append(p.relative_to(indir).as_posix())
    if not_followed is not None:
        not_followed.sort()
    return sorted(found)


def output_stem(rel: str) -> str:
    """`2020/区县/a.pdf` → `2020__区县__a` (see the module docstring)."""
    p = PurePosixPath(rel)
    return "__".join(safe_stem(part + ".x") for part in [*p.parent.parts, p.stem])


_NUMBERED = re.compile(r"^(.*)-\d+$")


def assign_stems(rels: list[str], taken_names=(), stems: dict[str, str] | None = None) -> dict[str, str]:
    """An output stem for every input such that no two inputs (and no record file
    named in `taken_names`) can ever write the same file, with `-N` numbering.
    `stems` gives the preferred stem of an input (default: output_stem)."""
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
        base = stem = (stems or {}).get(rel) or output_stem(rel)
        n = 1
        while clashes(stem):
            n += 1
            stem = f"{base}_{n}"
        add(stem)
        out[rel] = stem
    return out


def stem_of(entry: dict) -> str | None:
    """The output stem a document's records were written under."""
    names = [n for n in entry.get("records") or [] if isinstance(n, str)]
    if not names:
        return None
    first = names[0].removesuffix(".json")
    return first if len(names) == 1 else _NUMBERED.sub(r"\1", first)


def run_batch(indir, outdir, jobs: int | None = None, timeout: float = 600,
              max_memory_mb: int | None = 2048, options: Options | None = None,
              ray_address: str | None = None, progress=True,
              task: Task = extract_task, follow_symlinks: bool = False, retry_partial: bool = False,
              wait: float = 0.0, setup: WorkerSetup | None = None, cache: bool = True) -> Summary:
    """Extract every declaration file under indir into outdir (see the module
    docstring). `task` is the per-document function, replaceable (tests).
    `progress`: True (a bar on a terminal), False, or a progress object
    (pipelines/progress.py)."""
    indir, outdir = Path(indir), Path(outdir)
    options = with_cache(options or Options(), outdir, cache)
    with _held(outdir, wait, "batch") as (manifest, writer, summary):
        inputs, unreadable = [], []
        for rel in find_inputs(indir, outdir, follow_symlinks, summary.not_followed):
            summary.found += 1
            inp = Input(rel, indir / rel)
            try:
                hash_input(inp)
            except OSError as exc:
                unreadable.append((Job(inp, output_stem(rel)), failure(
                    errors.UnsupportedFile.code, f"cannot read {printable(rel)}: {exc.strerror or exc}")))
                continue
            inputs.append(inp)
        rec = reconcile(manifest.state, inputs)
        for e, reason in rec.stale:
            manifest.mark_stale(e, reason)
            summary.stale += len(e.get("records") or [])
        limit_failed = _limit_failures(manifest.entries) if retry_partial else set()
        todo_inputs: list[tuple[Input, dict | None]] = []
        for i, inp in enumerate(inputs):
            doc = rec.continues.get(i)
            if doc is not None and doc.get("status") == OK:
                summary.skipped += 1
                if i in rec.moved:
                    _moved(writer.out, manifest, doc, inp)
                    summary.moved += 1
                continue
            if doc is None and i in rec.copies:
                summary.skipped += 1
                continue
            if retry_partial and doc is None and (inp.key, inp.sha256) not in limit_failed:
                summary.skipped += 1  # left for a plain run
                continue
            todo_inputs.append((inp, doc))
        # stems: a document read again keeps its names; new ones get names nobody holds
        fixed = {inp.rel: stem_of(doc) for inp, doc in todo_inputs if doc is not None and stem_of(doc)}
        taken = (writer.state.known | writer.on_disk) - {n.casefold() for inp, doc in todo_inputs
                                                         if doc is not None for n in doc.get("records") or []}
        stems = assign_stems([inp.rel for inp, doc in todo_inputs if inp.rel not in fixed], sorted(taken))
        todo = [Job(inp, fixed.get(inp.rel) or stems[inp.rel], doc, base=output_stem(inp.rel))
                for inp, doc in todo_inputs]

        _run(todo, unreadable, writer, summary, progress, jobs, task, options, timeout, max_memory_mb,
             setup, ray_address)
    return summary


@contextmanager
def _held(outdir: Path, wait: float, command: str):
    """OUTDIR held for one run: its manifest, a writer, the run's summary (timed)."""
    t0 = time.perf_counter()
    summary = Summary()
    with Outdir.open(outdir, wait=wait) as out:
        manifest = Manifest(outdir / MANIFEST)
        try:
            summary.bad_manifest_lines = manifest.bad_lines
            yield manifest, Writer(out, manifest, command), summary
        finally:
            manifest.close()
    summary.seconds = time.perf_counter() - t0


def remap_outdir(outdir, jobs: int | None = None, timeout: float = 600, max_memory_mb: int | None = 2048,
                 options: Options | None = None, progress=True, task: Task = extract_task,
                 wait: float = 0.0, setup: WorkerSetup | None = None) -> Summary:
    """Read every current document of OUTDIR again into its own record names,
    image pages from the OCR cache (see the module docstring). Inputs that are
    gone or changed are named in `summary.left`."""
    outdir = Path(outdir)
    options = with_cache(options or Options(), outdir, True)
    with _held(outdir, wait, "remap") as (manifest, writer, summary):
        todo = []
        for doc in sorted(manifest.state.docs(), key=entry_file):
            summary.found += 1
            path, rel, stem = entry_path(doc), entry_file(doc), stem_of(doc)
            if not path or not stem:
                summary.left.append((rel, "the manifest line does not say where its input is"))
                continue
            inp = Input(rel, Path(path))
            try:
                hash_input(inp)
            except OSError as exc:
                summary.left.append((rel, f"input gone ({exc.strerror or exc})"))
                continue
            if inp.sha256 != doc.get("sha256"):
                summary.left.append((rel, "input changed since it was read (run batch)"))
                continue
            todo.append(Job(inp, stem, doc, base=stem))
        _run(todo, [], writer, summary, progress, jobs, task, options, timeout, max_memory_mb, setup, None)
    return summary


def _run(todo: list[Job], unreadable: list, writer: Writer, summary: Summary, progress, jobs, task, options,
         timeout, max_memory_mb, setup, ray_address) -> None:
    bar = _progress(progress, len(todo) + len(unreadable), jobs or default_jobs())
    with bar:
        def finish(job: Job, result: dict) -> None:
            entry = writer.finish(job, result)
            summary.count(entry)
            bar.done(job, entry)

        for job, result in unreadable:
            finish(job, result)
        if todo and ray_address:
            from pipelines.distributed import run_on_ray

            run_on_ray(todo, finish, task=task, options=options, workers=jobs, timeout=timeout,
                       address=ray_address)
        elif todo:
            LocalPool(task, options, min(jobs or default_jobs(), len(todo)), timeout,
                      max_memory_mb, setup).run(todo, finish, on_page=bar.page)


def _limit_failures(entries: list[dict]) -> set[tuple[str, str]]:
    """(input path, sha256) of the inputs whose latest line is a failure on a limit."""
    latest: dict[tuple[str, str], dict] = {}
    for e in entries:
        if e.get("status") in (OK, PARTIAL, ERROR) and entry_path(e):
            latest[(os.path.abspath(entry_path(e)), e.get("sha256"))] = e
    return {k for k, e in latest.items() if e.get("status") == ERROR and e.get("error_code") in LIMIT_CODES}


def _moved(out: Outdir, manifest: Manifest, doc: dict, inp: Input) -> None:
    """A done document found under a new name: its records and manifest line
    now say where it is (the records are not read again)."""
    names = [n for n in doc.get("records") or [] if isinstance(n, str)]
    for name in names:
        try:
            rec = json.loads(out.file(name).read_bytes())
            rec.setdefault("source", {})["file"] = printable(inp.rel)
            atomic_write_json(out.file(name), rec, out.tmp)
        except (OSError, ValueError, AttributeError, errors.ShenbaoError):
            continue  # the record is unreadable: the manifest still says where its input went
    entry = {k: v for k, v in doc.items() if k != "time"}
    entry.update(inp.identity(), moved_from=doc.get("file"))
    manifest.append(entry)


def _progress(progress, total: int, workers: int):
    from pipelines.progress import BatchProgress, NoProgress

    if progress is True:
        return BatchProgress(total, workers) if sys.stderr.isatty() and total else NoProgress()
    if not progress:
        return NoProgress()
    progress.set_total(total)
    return progress
