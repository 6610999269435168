"""`shenbao extract`: the files (and folders) given, through the same worker
machinery as `batch` (time and memory limits, workers that die with their
driver), into OUTDIR or onto stdout as JSON Lines.

Names: a file gives OUTDIR/<stem>.json (<stem>-N.json for a file holding
several declarations); a folder gives its files like batch's INDIR does
(`sub/a.pdf` → `sub__a.json`). A record is never written over another
document's: the name already taken (by an earlier run, another input of this
run, or any file in OUTDIR) gives `<stem>_2.json`, unless `overwrite`; the
same file read again (same path and content, or its content under a new
path after a move) replaces its own records. Every document gets a line in
OUTDIR/manifest.jsonl, as in a batch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from extract import errors
from extract.document import Options
from pipelines.batch import assign_stems, find_inputs, output_stem, stem_of, with_cache
from pipelines.io import json_bytes, printable, safe_stem
from pipelines.manifest import MANIFEST, Input, Manifest, hash_input, reconcile
from pipelines.outdir import Outdir
from pipelines.pool import LocalPool, Task, WorkerSetup, extract_task, failure
from pipelines.run import Job, Summary, Writer, describe, new_entry

# what a boolean flag's value looks like when it was typed as a file name
BOOLEAN_WORDS = {"true", "false", "yes", "no", "on", "off", "0", "1"}

Emit = Callable[[Job, dict, list[dict]], None]  # (job, manifest line, records) after each document


@dataclass
class Planned:
    inputs: list[Input]
    stems: dict[int, str]  # input index → preferred stem
    source_files: dict[int, str]  # input index → source.file
    unreadable: list[tuple[int, dict]]  # input index → failure


def plan_inputs(paths: Iterable[Path], outdir: Path | None, follow_symlinks: bool = False,
                not_followed: list[str] | None = None) -> Planned:
    """Files and folders → inputs (a folder: its declaration files, as batch finds them)."""
    plan = Planned([], {}, {}, [])
    for given in paths:
        given = Path(given)
        if given.is_dir():
            for rel in find_inputs(given, outdir, follow_symlinks, not_followed):
                i = len(plan.inputs)
                plan.inputs.append(Input(rel, given / rel))
                plan.stems[i] = output_stem(rel)
                plan.source_files[i] = rel
            continue
        i = len(plan.inputs)
        plan.inputs.append(Input(given.name or str(given), given))
        plan.stems[i] = safe_stem(given.name or str(given))
        plan.source_files[i] = given.name or str(given)
    for i, inp in enumerate(plan.inputs):
        try:
            hash_input(inp)
        except OSError as exc:
            plan.unreadable.append((i, failure(errors.UnsupportedFile.code,
                                               f"cannot read {printable(inp.path.name or str(inp.path))}: "
                                               f"{exc.strerror or exc}")))
    return plan


def check_boolean_words(paths: Iterable[Path]) -> None:
    """`--force-ocr true x.pdf`: a flag takes no value, so `true` arrives as a
    file. Say so (E_USAGE) instead of reporting a file `true` that is not there."""
    for p in paths:
        if str(p).lower() in BOOLEAN_WORDS and not Path(p).exists():
            raise errors.UsageError(f"{p!s}: no such file; options such as --force-ocr are flags and take "
                                    f"no value (write `--force-ocr x.pdf`, not `--force-ocr {p} x.pdf`)")


def run_extract(paths: list[Path], outdir: Path | None, *, options: Options | None = None, jobs: int = 1,
                timeout: float = 600, max_memory_mb: int | None = 2048, task: Task = extract_task,
                follow_symlinks: bool = False, overwrite: bool = False, wait: float = 0.0,
                setup: WorkerSetup | None = None, progress=None, emit: Emit | None = None,
                stdout=None, cache: bool = True) -> Summary:
    """Extract every file (and every file under every folder) in paths; outdir
    None writes the records as JSON Lines to `stdout` (a binary stream). With
    an outdir, image pages' reads are kept in OUTDIR/cache/ocr/ unless not cache."""
    options = options or Options()
    if outdir is not None:
        options = with_cache(options, Path(outdir), cache)
    t0 = time.perf_counter()
    summary = Summary()
    from pipelines.progress import NoProgress

    bar = progress or NoProgress()
    if outdir is None:
        plan = plan_inputs(paths, None, follow_symlinks, summary.not_followed)
        summary.found = len(plan.inputs)
        bar.set_total(len(plan.inputs))
        jobs_ = {i: Job(inp, plan.stems[i], None, plan.source_files[i]) for i, inp in enumerate(plan.inputs)}

        def finish(job: Job, result: dict) -> None:
            entry = new_entry(job, result, "extract")
            records = result.get("records") or []
            for rec in records:
                rec.setdefault("source", {})["file"] = printable(job.source_file or job.rel)
                stdout.write(json_bytes(rec, indent=None) + b"\n")
            stdout.flush()
            if result["status"] == "ok":
                describe(entry, records, [])
            summary.count(entry)
            bar.done(job, entry)
            if emit:
                emit(job, entry, records)

        _run(plan, jobs_, finish, task, options, jobs, timeout, max_memory_mb, setup, bar)
        summary.seconds = time.perf_counter() - t0
        return summary

    with Outdir.open(outdir, wait=wait) as out:
        manifest = Manifest(Path(outdir) / MANIFEST)
        try:
            summary.bad_manifest_lines = manifest.bad_lines
            writer = Writer(out, manifest, "extract", overwrite=overwrite)
            plan = plan_inputs(paths, Path(outdir), follow_symlinks, summary.not_followed)
            summary.found = len(plan.inputs)
            bar.set_total(len(plan.inputs))
            bad = {i for i, _ in plan.unreadable}
            readable = [i for i in range(len(plan.inputs)) if i not in bad]
            rec = reconcile(manifest.state, [plan.inputs[i] for i in readable])
            continues = {readable[k]: doc for k, doc in rec.continues.items()}
            for e, reason in rec.stale:
                manifest.mark_stale(e, reason)
                summary.stale += len(e.get("records") or [])
            fixed = {i: stem_of(doc) for i, doc in continues.items() if stem_of(doc)}
            own = {n.casefold() for doc in continues.values() for n in doc.get("records") or []}
            taken = [] if overwrite else sorted((writer.state.known | writer.on_disk) - own)
            keys = [f"{i}" for i in range(len(plan.inputs)) if i not in fixed]
            stems = assign_stems(keys, taken, {f"{i}": plan.stems[i] for i in range(len(plan.inputs))})
            jobs_ = {i: Job(inp, fixed.get(i) or stems[f"{i}"], continues.get(i), plan.source_files[i],
                            base=plan.stems[i]) for i, inp in enumerate(plan.inputs)}

            def finish(job: Job, result: dict) -> None:
                entry = writer.finish(job, result)
                summary.count(entry)
                bar.done(job, entry)
                if emit:
                    emit(job, entry, result.get("records") or [])

            _run(plan, jobs_, finish, task, options, jobs, timeout, max_memory_mb, setup, bar)
        finally:
            manifest.close()
    summary.seconds = time.perf_counter() - t0
    return summary


def _run(plan: Planned, jobs_: dict[int, Job], finish, task, options, jobs, timeout, max_memory_mb,
         setup, bar) -> None:
    bad = dict(plan.unreadable)
    todo = []
    for i, job in jobs_.items():
        if i in bad:
            finish(job, bad[i])
        else:
            todo.append(job)
    if todo:
        with bar:
            LocalPool(task, options, min(max(1, jobs), len(todo)), timeout, max_memory_mb, setup).run(
                todo, finish, on_page=bar.page)
