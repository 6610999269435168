"""Never lose a record (issue 14): each case the archive team reproduced, as a
test. One writer per OUTDIR; honest statuses (ok / partial / error); records
owned by their input's content; any byte string as a name; nothing written
outside OUTDIR; limits everywhere; a code for every error.

Faults come from tests/faults.py, an OCR-engine plugin loaded with --plugin
(as OCRmyPDF's test plugins are): engines that crash, hang, or run out of
memory on page N. Batch mechanics use test_batch.fake_task. The kill -9 loop
is marked slow (`pytest -m slow tests/test_reliability.py`)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from extract import errors
from pipelines.batch import run_batch
from pipelines.lock import OutdirLock
from pipelines.manifest import MANIFEST
from test_batch import DELAY_ENV, LOG_ENV, fake_task, make_pdf, read_outputs, task_log  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
FAULTS = str(ROOT / "tests" / "faults.py")
CORPUS = sorted((ROOT / "pipelines" / "samples" / "corpus").glob("*.json"))


# ------------------------------------------------------------------ helpers

def cli(*args: str, cwd: Path | None = None, timeout: float = 180, env: dict | None = None,
        input: bytes | None = None) -> subprocess.CompletedProcess:
    """`shenbao …` in a fresh process, as a user runs it."""
    full = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]), **(env or {})}
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], capture_output=True,
                          cwd=cwd or ROOT, env=full, timeout=timeout, input=input)


def text(p: subprocess.CompletedProcess) -> tuple[str, str]:
    return p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def no_traceback(*outputs: str) -> None:
    for out in outputs:
        assert "Traceback" not in out, out


def lines(outdir: Path) -> list[dict]:
    return [json.loads(x) for x in (outdir / MANIFEST).read_bytes().decode("utf-8").splitlines()]


def docs(outdir: Path) -> list[dict]:
    return [e for e in lines(outdir) if e["status"] != "stale"]


@pytest.fixture(scope="module")
def declaration(tmp_path_factory) -> Path:
    """A real 3-page digital declaration (text layer: no OCR needed)."""
    from pipelines.samples.render import render_records

    path = tmp_path_factory.mktemp("decl") / "decl.pdf"
    render_records([json.loads(CORPUS[0].read_text(encoding="utf-8"))], path)
    return path


@pytest.fixture(scope="module")
def with_blank_pages(declaration, tmp_path_factory) -> Path:
    """The declaration with two small pages that have no text layer (pages 4
    and 5): they go to OCR, where a fault engine can fail them."""
    import pypdfium2 as pdfium

    out = tmp_path_factory.mktemp("blank") / "decl+2.pdf"
    from _pdfs import add_drawn_page

    doc = pdfium.PdfDocument(str(declaration))
    add_drawn_page(doc, 200, 200)
    add_drawn_page(doc, 200, 200)
    doc.save(str(out))
    doc.close()
    return out


def copy(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(src.read_bytes())
    return dst


def fake_batch_script(indir: Path, outdir: Path, wait: float = 0.0) -> list[str]:
    code = ("import sys, test_batch; from pipelines.batch import run_batch; "
            f"run_batch(sys.argv[1], sys.argv[2], jobs=1, progress=False, task=test_batch.fake_task, wait={wait})")
    return [sys.executable, "-c", code, str(indir), str(outdir)]


def sub_env(**extra) -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]), **extra}


# ================================================================== 1. one writer per OUTDIR

def test_second_run_into_a_held_outdir_refuses_naming_the_holder(tmp_path, declaration):
    outdir = tmp_path / "out"
    outdir.mkdir()
    copy(declaration, tmp_path / "in" / "a.pdf")
    lock = OutdirLock(outdir).acquire()
    try:
        for args in (["batch", str(tmp_path / "in"), "-o", str(outdir)],
                     ["extract", str(tmp_path / "in" / "a.pdf"), "-o", str(outdir)]):
            p = cli(*args)
            out, err = text(p)
            assert p.returncode == 2, err
            assert "E_LOCKED" in err and f"pid {os.getpid()}" in err, err
            no_traceback(out, err)
        t0 = time.monotonic()
        with pytest.raises(errors.Locked) as info:
            run_batch(tmp_path / "in", outdir, progress=False, task=fake_task, wait=1.0)
        assert 0.9 <= time.monotonic() - t0 < 10 and "after waiting 1 s" in info.value.message
    finally:
        lock.release()
    assert not list(outdir.glob("*.json"))  # nothing was written while it was held
    assert not (outdir / ".shenbao.lock").exists()


def test_a_waiting_run_goes_on_when_the_holder_ends(tmp_path):
    make_pdf(tmp_path / "in" / "a.pdf", "a")
    outdir = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys, time; from pipelines.lock import OutdirLock; "
                               "OutdirLock(sys.argv[1]).acquire(); print('held', flush=True); time.sleep(1.5)",
                               str(outdir)], env=sub_env(), stdout=subprocess.PIPE)
    outdir.mkdir()
    assert holder.stdout.readline().strip() == b"held"
    s = run_batch(tmp_path / "in", outdir, jobs=1, progress=False, task=fake_task, wait=30)
    holder.wait()
    assert s.ok == 1


def test_a_killed_holder_leaves_no_lock(tmp_path):
    outdir = tmp_path / "out"
    outdir.mkdir()
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys, time; from pipelines.lock import OutdirLock; "
                               "OutdirLock(sys.argv[1]).acquire(); print('held', flush=True); time.sleep(60)",
                               str(outdir)], env=sub_env(), stdout=subprocess.PIPE)
    assert holder.stdout.readline().strip() == b"held"
    holder.kill()
    holder.wait()
    OutdirLock(outdir).acquire().release()  # the kernel dropped the lock with its process


def test_two_batches_of_same_named_files_at_once_lose_nothing(tmp_path):
    """Issue 14.1: A/ and B/ hold the same ten names with other content; two
    batches into one OUTDIR at once. One waits for the other; every one of the
    20 documents has its own record."""
    for d in "AB":
        for i in range(10):
            make_pdf(tmp_path / d / f"f{i}.pdf", f"{d}{i}")
    outdir = tmp_path / "O"
    env = sub_env(**{DELAY_ENV: "0.05"})
    procs = [subprocess.Popen(fake_batch_script(tmp_path / d, outdir, wait=120), env=env) for d in "AB"]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    entries = docs(outdir)
    assert len(entries) == 20 and all(e["status"] == "ok" for e in entries)
    records = {n: json.loads(b) for n, b in read_outputs(outdir).items()}
    assert len(records) == 20
    want = {hashlib.sha256(p.read_bytes()).hexdigest() for d in "AB" for p in (tmp_path / d).glob("*.pdf")}
    assert {r["source"]["sha256"] for r in records.values()} == want
    for e in entries:  # every manifest line names its input and a record of that input
        (name,) = e["records"]
        assert records[name]["source"]["sha256"] == e["sha256"]
        assert Path(e["path"]).read_bytes().startswith(b"%PDF")


# ================================================================== 2. honest statuses

def _partial_run(tmp_path, pdf, fault="fault-memory", page="5", extra=()):
    outdir = tmp_path / "out"
    p = cli("extract", str(pdf), "-o", str(outdir), "--plugin", FAULTS, "--ocr", fault, *extra,
            env={"SHENBAO_FAULT_PAGE": page})
    return p, outdir


@pytest.mark.parametrize("fault", ["fault-memory", "fault-badalloc"])
def test_a_page_lost_to_memory_is_partial_never_ok(tmp_path, with_blank_pages, fault):
    """Issue 14.2: a page that runs out of memory (MemoryError, onnxruntime's
    std::bad_alloc) is E_MEMORY for that page; the document is partial, with
    the page in the manifest, the warnings and the record's review list."""
    p, outdir = _partial_run(tmp_path, with_blank_pages, fault)
    out, err = text(p)
    no_traceback(out, err)
    assert p.returncode == 1, err
    assert "partial: page 5 lost (E_MEMORY" in err
    (e,) = lines(outdir)
    assert e["status"] == "partial" and e["pages_lost"] == [5] and e["error_code"] == "E_MEMORY"
    assert "Traceback" not in e["error_message"] and len(e["error_message"]) < 400
    rec = json.loads((outdir / e["records"][0]).read_text(encoding="utf-8"))
    assert rec["source"]["page_kinds"]["error"] == [5] and rec["source"]["page_kinds"]["image"] == [4]
    assert [r for r in rec["review"] if r["reason"] == "unread_text" and r["page"] == 5]
    assert rec["project"]["name"]  # the pages that were read are in the record
    assert "1 partial" in out


def test_ocr_engine_errors_carry_no_traceback(tmp_path, with_blank_pages):
    p, outdir = _partial_run(tmp_path, with_blank_pages, "fault-onnx", "4")
    (e,) = lines(outdir)
    assert e["status"] == "partial" and e["pages_lost"] == [4] and e["error_code"] == "E_INTERNAL"
    assert "Traceback" not in e["error_message"] and "INVALID_ARGUMENT" in e["error_message"]


def test_partial_is_redone_by_a_rerun_and_retry_partial(tmp_path, with_blank_pages, declaration):
    indir = tmp_path / "in"
    copy(with_blank_pages, indir / "scan.pdf")
    outdir = tmp_path / "out"
    fault = ["--plugin", FAULTS, "--ocr", "fault-memory", "-j", "1"]
    p = cli("batch", str(indir), "-o", str(outdir), *fault, env={"SHENBAO_FAULT_PAGE": "4"})
    out, err = text(p)
    assert p.returncode == 1 and "0 ok, 1 partial, 0 failed" in out, out + err
    assert "scan.pdf: partial: page 4 lost" in err
    # a new file meanwhile; --retry-partial redoes only the partial one (here: the fault is gone)
    copy(declaration, indir / "new.pdf")
    p = cli("batch", str(indir), "-o", str(outdir), "--retry-partial", "--plugin", FAULTS, "--ocr", "fault-blank")
    out, err = text(p)
    assert p.returncode == 0, out + err
    assert "1 ok, 0 partial, 0 failed" in out and "1 already done" in out
    redone = docs(outdir)[-1]
    assert redone["file"] == "scan.pdf" and redone["status"] == "ok" and redone["records"] == ["scan.json"]
    assert sorted(p.name for p in outdir.glob("*.json")) == ["scan.json"]  # same name, no scan_2
    # a plain rerun does the new file, and nothing that is done
    p = cli("batch", str(indir), "-o", str(outdir), "--plugin", FAULTS, "--ocr", "fault-blank")
    out, err = text(p)
    assert p.returncode == 0 and "1 ok" in out and "1 already done" in out, out + err


def test_plain_rerun_redoes_a_partial_document(tmp_path):
    """The record of a partial document is replaced by the rerun's (same name)."""
    from test_batch import fake_record  # noqa: F401  (fake_task below marks page 2 lost)

    indir, outdir = tmp_path / "in", tmp_path / "out"
    make_pdf(indir / "a.pdf", "a")
    s = run_batch(indir, outdir, jobs=1, progress=False, task=lossy_task)
    assert (s.ok, s.partial) == (0, 1) and s.partials[0][1] == [2]
    s = run_batch(indir, outdir, jobs=1, progress=False, task=lossy_task)
    assert (s.skipped, s.partial) == (0, 1)
    assert sorted(read_outputs(outdir)) == ["a.json"] and [e["records"] for e in docs(outdir)] == [["a.json"]] * 2


def lossy_task(path, options):
    """fake_task, with page 2 lost to memory the way the pipeline reports it."""
    recs = fake_task(path, options)
    for r in recs:
        r["source"]["page_kinds"] = {"text": [1], "error": [2]}
        r["warnings"].append("page 2: unreadable, skipped (E_MEMORY: out of memory on this page (MemoryError))")
    return recs


def test_summary_counts_every_status_and_finding(tmp_path):
    indir = tmp_path / "in"
    for name in ["a.pdf", "multi.pdf"]:
        make_pdf(indir / name, name)
    (indir / "bad.pdf").write_bytes(b"junk")
    s = run_batch(indir, tmp_path / "out", jobs=1, progress=False, task=fake_task)
    assert (s.ok, s.partial, s.n_failed, s.records, s.warnings, s.checks_failed) == (2, 0, 1, 3, 4, 0)
    text_ = str(s)
    assert "2 ok, 0 partial, 1 failed (3 records)" in text_ and "4 warnings, 0 review entries, 0 failed checks" in text_


# ================================================================== 3. records keyed by content

def test_same_content_then_a_new_file_with_the_same_stem(tmp_path, task_log):
    """Issue 14.3: a.pdf and b.pdf have the same content; a.jpg is added and the
    batch rerun: a.json keeps a.pdf's record, a.jpg gets a name of its own."""
    indir, outdir = tmp_path / "in", tmp_path / "out"
    make_pdf(indir / "a.pdf", "same")
    copy(indir / "a.pdf", indir / "b.pdf")
    run_batch(indir, outdir, jobs=1, progress=False, task=fake_task)
    before = (outdir / "a.json").read_bytes()
    make_pdf(indir / "a.jpg", "other")  # fake_task reads any PDF bytes, whatever the suffix
    s = run_batch(indir, outdir, jobs=1, progress=False, task=fake_task)
    assert (s.skipped, s.ok) == (2, 1)
    assert (outdir / "a.json").read_bytes() == before
    by_file = {e["file"]: e for e in docs(outdir)}
    assert by_file["a.pdf"]["records"] == ["a.json"] and by_file["a.jpg"]["records"] == ["a_2.json"]
    rec = json.loads((outdir / "a_2.json").read_text())
    assert rec["source"]["file"] == "a.jpg"


def test_extract_never_overwrites_another_documents_record(tmp_path, declaration):
    """`extract A/x.pdf -o E; extract B/x.pdf -o E` keeps both (x.json, x_2.json);
    --overwrite replaces, and the replaced document's record is stale."""
    a = copy(declaration, tmp_path / "A" / "x.pdf")
    b = tmp_path / "B" / "x.pdf"
    b.parent.mkdir()
    b.write_bytes(declaration.read_bytes() + b"%other\n")
    e = tmp_path / "E"
    for f in (a, b):
        p = cli("extract", str(f), "-o", str(e))
        assert p.returncode == 0, text(p)
    assert sorted(x.name for x in e.glob("*.json")) == ["x.json", "x_2.json"]
    src = {n: json.loads((e / n).read_text())["source"]["sha256"] for n in ("x.json", "x_2.json")}
    assert src == {"x.json": hashlib.sha256(a.read_bytes()).hexdigest(),
                   "x_2.json": hashlib.sha256(b.read_bytes()).hexdigest()}
    p = cli("extract", str(a), "-o", str(e))  # the same file again: its own record, replaced
    assert p.returncode == 0 and sorted(x.name for x in e.glob("*.json")) == ["x.json", "x_2.json"]
    c = tmp_path / "C" / "x.pdf"
    c.parent.mkdir()
    c.write_bytes(declaration.read_bytes() + b"%third\n")
    p = cli("extract", str(c), "-o", str(e), "--overwrite")  # a third document takes x.json
    out, err = text(p)
    assert p.returncode == 0 and "x.pdf → x.json" in out, out + err
    assert json.loads((e / "x.json").read_text())["source"]["sha256"] == hashlib.sha256(c.read_bytes()).hexdigest()
    stale = [x for x in lines(e) if x["status"] == "stale"]
    assert [(x["records"], x["path"]) for x in stale] == [(["x.json"], str(a))] and "--overwrite" in stale[0]["reason"]


def test_changed_and_deleted_inputs_make_stale_records_left_out_of_exports(tmp_path):
    """Issue 14.3: an input replaced by other content, and one deleted: their old
    records are stale in the manifest and not exported (unless --include-stale)."""
    from pipelines.export import load_records

    indir, outdir = tmp_path / "in", tmp_path / "out"
    for name in ["x.pdf", "gone.pdf", "kept.pdf"]:
        make_pdf(indir / name, name)
    run_batch(indir, outdir, jobs=1, progress=False, task=fake_task)
    make_pdf(indir / "x.pdf", "x, second version")
    (indir / "gone.pdf").unlink()
    s = run_batch(indir, outdir, jobs=1, progress=False, task=fake_task)
    assert (s.ok, s.skipped, s.stale) == (1, 1, 2)
    stale = {x["file"]: x["reason"] for x in lines(outdir) if x["status"] == "stale"}
    assert stale == {"x.pdf": "input changed", "gone.pdf": "input gone"}
    exported = {r.name: json.loads(r.path.read_text(encoding="utf-8"))["source"]["file"]
                for r in load_records(outdir).records}
    assert exported == {"kept.json": "kept.pdf", "x_2.json": "x.pdf"}  # one x.pdf, the current one
    assert len(load_records(outdir, include_stale=True).records) == 4
    # the CLI says what it left out
    p = cli("export", str(outdir), "--to", str(tmp_path / "t") + "/")
    out, err = text(p)
    assert p.returncode == 0 and "2 stale record(s) left out" in err and "exported 2 record(s)" in err, err
    p = cli("export", str(outdir), "--to", str(tmp_path / "t2") + "/", "--include-stale")
    assert "exported 4 record(s)" in text(p)[1]
    # a third run changes nothing: stale stays stale, nothing is redone
    s = run_batch(indir, outdir, jobs=1, progress=False, task=fake_task)
    assert (s.ok, s.skipped, s.stale) == (0, 2, 0)


def test_a_moved_file_is_not_redone_and_says_where_it_is(tmp_path, task_log):
    indir, outdir = tmp_path / "in", tmp_path / "out"
    make_pdf(indir / "a.pdf", "a")
    run_batch(indir, outdir, jobs=1, progress=False, task=fake_task)
    (indir / "sub").mkdir()
    (indir / "a.pdf").rename(indir / "sub" / "renamed.pdf")
    s = run_batch(indir, outdir, jobs=1, progress=False, task=fake_task)
    assert (s.skipped, s.ok, s.moved, s.stale) == (1, 0, 1, 0)
    assert task_log() == ["a.pdf"]
    last = lines(outdir)[-1]
    assert last["file"] == "sub/renamed.pdf" and last["moved_from"] == "a.pdf" and last["records"] == ["a.json"]
    assert json.loads((outdir / "a.json").read_text())["source"]["file"] == "sub/renamed.pdf"


def test_a_record_written_before_a_kill_is_taken_back_not_doubled(tmp_path):
    """A kill between a record's rename and its manifest line: the rerun redoes
    the document into the same name (the file says it is this input's)."""
    indir, outdir = tmp_path / "in", tmp_path / "out"
    make_pdf(indir / "a.pdf", "a")
    run_batch(indir, outdir, jobs=1, progress=False, task=fake_task)
    (outdir / MANIFEST).write_text("")  # as if the manifest line never made it
    s = run_batch(indir, outdir, jobs=1, progress=False, task=fake_task)
    assert s.ok == 1 and sorted(read_outputs(outdir)) == ["a.json"]
    (outdir / MANIFEST).write_text("")
    (outdir / "a.json").write_text(json.dumps({"source": {"sha256": "another", "file": "a.pdf"}}))
    s = run_batch(indir, outdir, jobs=1, progress=False, task=fake_task)
    assert sorted(read_outputs(outdir)) == ["a.json", "a_2.json"]  # a file of someone else is kept


# ================================================================== 4. any name

BAD = os.fsdecode(b"bad\xff\xfe.pdf")


def test_a_name_that_is_not_utf8(tmp_path, declaration):
    """Issue 14.4: `bad\\xff\\xfe.pdf` is read like any other file by batch and by
    extract; the manifest keeps its exact bytes; later files are not skipped."""
    indir = tmp_path / "in"
    copy(declaration, indir / BAD)
    make_pdf(indir / "z.pdf", "z")
    outdir = tmp_path / "out"
    s = run_batch(indir, outdir, jobs=1, progress=False, task=fake_task)
    assert (s.ok, s.n_failed) == (2, 0), s.failures
    e = next(x for x in lines(outdir) if x["file"].startswith("bad"))
    assert base64.b64decode(e["file_b64"]) == b"bad\xff\xfe.pdf" and e["file"] == "bad\\xff\\xfe.pdf"
    assert os.fsencode(base64.b64decode(e["path_b64"])).endswith(b"bad\xff\xfe.pdf")
    assert e["records"] == ["bad_xff_xfe.json"]
    assert json.loads((outdir / "bad_xff_xfe.json").read_text())["source"]["file"] == "bad\\xff\\xfe.pdf"
    s = run_batch(indir, outdir, jobs=1, progress=False, task=fake_task)
    assert (s.skipped, s.ok) == (2, 0)
    p = cli("extract", os.fsencode(indir / BAD).decode("utf-8", "surrogateescape"), "-o", str(tmp_path / "e"))
    out, err = text(p)
    assert p.returncode == 0, err
    assert sorted(x.name for x in (tmp_path / "e").glob("*.json")) == ["bad_xff_xfe.json"]


# ================================================================== 5. nothing outside OUTDIR

def test_a_manifest_symlink_is_never_written_through(tmp_path):
    indir, outdir = tmp_path / "in", tmp_path / "out"
    make_pdf(indir / "a.pdf", "a")
    outdir.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("line one\nline two")  # no final newline: a naive repair would cut it
    (outdir / MANIFEST).symlink_to(victim)
    with pytest.raises(errors.OutputError) as info:
        run_batch(indir, outdir, jobs=1, progress=False, task=fake_task)
    assert "symbolic link" in info.value.message
    assert victim.read_text() == "line one\nline two"
    p = cli("batch", str(indir), "-o", str(outdir))
    out, err = text(p)
    assert p.returncode == 2 and "E_OUTPUT" in err and "symbolic link" in err
    no_traceback(out, err)
    assert victim.read_text() == "line one\nline two"


def test_symlinked_inputs_follow_one_rule(tmp_path):
    """Issue 14.5: links inside INDIR (to files or folders, inside or outside)
    are passed over and named unless --follow-symlinks; a folder loop ends."""
    outside = tmp_path / "outside"
    make_pdf(outside / "secret.pdf", "secret")
    make_pdf(outside / "dir" / "deep.pdf", "deep")
    indir = tmp_path / "in"
    make_pdf(indir / "a.pdf", "a")
    (indir / "link.pdf").symlink_to(outside / "secret.pdf")
    (indir / "linked").symlink_to(outside / "dir")
    (indir / "loop").symlink_to(indir)
    s = run_batch(indir, tmp_path / "o1", jobs=1, progress=False, task=fake_task)
    assert s.ok == 1 and s.not_followed == ["link.pdf", "linked/", "loop/"]
    assert [e["file"] for e in lines(tmp_path / "o1")] == ["a.pdf"]
    s = run_batch(indir, tmp_path / "o2", jobs=1, progress=False, task=fake_task, follow_symlinks=True)
    assert sorted(e["file"] for e in lines(tmp_path / "o2")) == ["a.pdf", "link.pdf", "linked/deep.pdf"]
    p = cli("batch", str(indir), "-o", str(tmp_path / "o3"), "--max-memory", "0")
    err = text(p)[1]
    assert "link.pdf: symbolic link not followed (give --follow-symlinks" in err and "linked/: symbolic" in err


def test_temp_files_live_in_outdir_tmp_and_are_cleared(tmp_path):
    indir, outdir = tmp_path / "in", tmp_path / "out"
    make_pdf(indir / "a.pdf", "a")
    (outdir / ".tmp").mkdir(parents=True)
    (outdir / ".tmp" / ".a.json.x1y2.tmp").write_bytes(b"{" * 65_000)  # what a kill -9 leaves
    (outdir / ".old.json.abcd1234.tmp").write_bytes(b"{")  # the same, from before .tmp/
    s = run_batch(indir, outdir, jobs=1, progress=False, task=fake_task)
    assert s.ok == 1
    assert sorted(p.name for p in outdir.iterdir()) == ["a.json", MANIFEST]
    # a .tmp that is a link to elsewhere is replaced, the elsewhere untouched
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep").write_text("k")
    (outdir / ".tmp").symlink_to(elsewhere)
    (indir / "b.pdf").write_bytes((indir / "a.pdf").read_bytes() + b"%b\n")
    s = run_batch(indir, outdir, jobs=1, progress=False, task=fake_task)
    assert s.ok == 1 and [p.name for p in elsewhere.iterdir()] == ["keep"]
    assert not (outdir / ".tmp").exists()


def test_a_lock_file_symlink_is_replaced_not_followed(tmp_path):
    outdir = tmp_path / "out"
    outdir.mkdir()
    target = tmp_path / "target"
    target.write_text("precious")
    (outdir / ".shenbao.lock").symlink_to(target)
    make_pdf(tmp_path / "in" / "a.pdf", "a")
    assert run_batch(tmp_path / "in", outdir, jobs=1, progress=False, task=fake_task).ok == 1
    assert target.read_text() == "precious"


def test_exports_do_not_read_through_links(tmp_path):
    from pipelines.manifest import record_files

    outdir = tmp_path / "out"
    make_pdf(tmp_path / "in" / "a.pdf", "a")
    run_batch(tmp_path / "in", outdir, jobs=1, progress=False, task=fake_task)
    foreign = tmp_path / "foreign.json"
    foreign.write_bytes((outdir / "a.json").read_bytes())
    (outdir / "foreign.json").symlink_to(foreign)
    assert [p.name for p in record_files(outdir)] == ["a.json"]


# ================================================================== 6. a code for every error

def test_compare_on_truncated_and_undecodable_records(tmp_path):
    out, gold = tmp_path / "out", tmp_path / "gold"
    out.mkdir()
    gold.mkdir()
    rec = CORPUS[0].read_bytes()
    (gold / "a.json").write_bytes(rec)
    (gold / "b.json").write_bytes(rec)
    (out / "a.json").write_bytes(rec[: len(rec) // 2])
    (out / "b.json").write_bytes(b"\xff\xfe" + rec)
    (gold / "c.json").write_bytes(rec[:10])
    p = cli("compare", str(out), str(gold))
    o, e = text(p)
    no_traceback(o, e)
    assert "no output record" in o and p.returncode == 0, o + e


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through chmod")
def test_export_to_a_read_only_place(tmp_path):  # pragma: no cover - root on this machine
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        p = cli("export", str(_records(tmp_path)), "--to", str(ro / "r.duckdb"))
    finally:
        ro.chmod(0o700)
    assert p.returncode == 2 and "E_OUTPUT" in text(p)[1]


def _records(tmp_path) -> Path:
    outdir = tmp_path / "recs"
    make_pdf(tmp_path / "recs-in" / "a.pdf", "a")
    run_batch(tmp_path / "recs-in", outdir, jobs=1, progress=False, task=fake_task)
    return outdir


@pytest.mark.parametrize("to", ["/proc/self/shenbao.duckdb", "{file}/under/r.xlsx", "{file}/x/"])
def test_export_to_a_place_that_cannot_be_written(tmp_path, to):
    a_file = tmp_path / "plain.txt"
    a_file.write_text("x")
    p = cli("export", str(_records(tmp_path)), "--to", to.format(file=a_file))
    o, e = text(p)
    no_traceback(o, e)
    assert p.returncode == 2 and "E_OUTPUT" in e, e


def test_export_names_what_it_left_out(tmp_path):
    """Issue 14.6: a truncated record and a non-record .json are reported; the rest exported."""
    outdir = _records(tmp_path)
    good = (outdir / "a.json").read_bytes()
    (outdir / "cut.json").write_bytes(good[: len(good) // 2])
    (outdir / "plan.json").write_text('{"a": 1}')
    p = cli("export", str(outdir), "--to", str(tmp_path / "csv") + "/")
    o, e = text(p)
    no_traceback(o, e)
    assert p.returncode == 1
    assert "cut.json: truncated" in e and "plan.json: not a shenbao record" in e
    assert "exported 1 record(s) from 3 .json file(s)" in e


@pytest.mark.parametrize("junk", ["[1, 2]", '"text"', "42", "null", '{"no": "status"}'])
def test_manifest_lines_that_are_json_but_not_objects(tmp_path, junk):
    indir, outdir = tmp_path / "in", tmp_path / "out"
    make_pdf(indir / "a.pdf", "a")
    outdir.mkdir()
    (outdir / MANIFEST).write_text(junk + "\n")
    s = run_batch(indir, outdir, jobs=1, progress=False, task=fake_task)
    assert s.ok == 1 and s.bad_manifest_lines == 1 and "1 lines that are not JSON objects" in str(s)


def test_internal_errors_have_a_code_not_a_traceback(tmp_path):
    """A bug anywhere in a command: `E_INTERNAL: …`, exit 2; -vv shows the traceback."""
    bad = tmp_path / "bug.py"
    bad.write_text("import pipelines.manifest as m\n"
                   "def boom(*a, **k):\n    raise ZeroDivisionError('a bug')\n"
                   "m.list_records = boom\n")
    outdir = _records(tmp_path)
    code = ("import sys; a = sys.argv[1:]; sys.argv = ['shenbao', 'export', a[0], '--to', a[1]]; "
            "exec(open(a[2]).read()); from pipelines.cli import main; main()")
    p = subprocess.run([sys.executable, "-c", code, str(outdir), str(tmp_path / "t/"), str(bad)],
                       capture_output=True, text=True, env=sub_env(), timeout=120)
    assert p.returncode == 2 and "E_INTERNAL: ZeroDivisionError: a bug" in p.stderr
    no_traceback(p.stdout, p.stderr)


# ================================================================== 7. limits everywhere

def _pids_of_workers(parent: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                out.append(int(d.name))
    return out


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_workers_die_with_their_driver(tmp_path, with_blank_pages, sig):
    """Issue 14.7: after SIGTERM (handled like Ctrl-C: exit 143) or kill -9 of
    the driver, no worker runs on (a hanging OCR page would hold it 600 s)."""
    indir = tmp_path / "in"
    copy(with_blank_pages, indir / "a.pdf")
    outdir = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "batch", str(indir), "-o", str(outdir),
                             "-j", "1", "--plugin", FAULTS, "--ocr", "fault-hang"],
                            env=sub_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    workers = []
    while time.monotonic() < deadline and not workers:
        workers = [w for w in _pids_of_workers(proc.pid) if "shenbao" in _cmdline(w) or "spawn" in _cmdline(w)]
        time.sleep(0.2)
    assert workers, "no worker started"
    time.sleep(1.0)
    proc.send_signal(sig)
    rc = proc.wait(timeout=60)
    if sig == signal.SIGTERM:
        assert rc == 143 and b"terminated" in proc.stderr.read()
    t0 = time.monotonic()
    while time.monotonic() - t0 < 20 and any(_alive(w) for w in workers):
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers), "a worker outlived its driver"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_extract_has_a_time_limit(tmp_path, with_blank_pages):
    t0 = time.monotonic()
    p = cli("extract", str(with_blank_pages), "-o", str(tmp_path / "o"), "--timeout", "3",
            "--plugin", FAULTS, "--ocr", "fault-hang")
    o, e = text(p)
    assert p.returncode == 1 and "E_TIMEOUT" in e and time.monotonic() - t0 < 90, e
    assert lines(tmp_path / "o")[0]["error_code"] == "E_TIMEOUT"


def test_extract_has_a_memory_limit(tmp_path):
    """A 600 kB PNG of 196 Mpx (under --max-pixels) needs gigabytes to read: with
    --max-memory it is E_MEMORY, not the machine's memory."""
    from PIL import Image

    png = tmp_path / "big.png"
    Image.new("L", (14_000, 14_000), 255).save(png)
    p = cli("extract", str(png), "-o", str(tmp_path / "o"), "--max-memory", "700", timeout=300)
    o, e = text(p)
    no_traceback(o, e)
    assert p.returncode == 1 and "E_MEMORY" in e, e


def test_max_memory_300_on_a_scan_is_e_memory(tmp_path):
    """Issue 14.7: under 300 MB the OCR libraries cannot even be mapped; that
    used to read as 'no text' (E_NOT_DECLARATION)."""
    scan = ROOT / "samples" / "scanned" / "sh2020-union-gumei.pdf"
    p = cli("extract", str(scan), "-o", str(tmp_path / "o"), "--max-memory", "300")
    o, e = text(p)
    assert p.returncode == 1 and "E_MEMORY" in e and "E_NOT_DECLARATION" not in e, e


def test_huge_mediabox_is_too_large(tmp_path):
    import pypdfium2 as pdfium

    from extract.pipeline import extract_file

    from _pdfs import add_drawn_page

    doc = pdfium.PdfDocument.new()
    add_drawn_page(doc, 14_400, 14_400)  # 200 inches: 3.6 Gpx at 300 dpi
    doc.save(str(tmp_path / "poster.pdf"))
    doc.close()
    with pytest.raises(errors.ShenbaoError) as info:
        extract_file(tmp_path / "poster.pdf")
    assert info.value.code == "E_TOO_LARGE" and "--max-pixels" in info.value.message


@pytest.mark.parametrize("args, words", [
    (["--timeout", "0"], "--timeout"), (["--timeout", "-1"], "--timeout"), (["--timeout", "nan"], "--timeout"),
    (["--timeout", "inf"], "--timeout"), (["--max-memory", "100"], "--max-memory"),
    (["--max-memory", "-5"], "--max-memory"), (["-j", "0"], "--jobs"), (["--wait", "-1"], "--wait"),
    (["--ocr", "nope"], "--ocr"),
])
@pytest.mark.parametrize("command", ["batch", "extract"])
def test_options_are_validated(tmp_path, args, words, command):
    """Checked before anything runs (in-process: no worker is started)."""
    from typer.testing import CliRunner

    from pipelines.cli import app

    make_pdf(tmp_path / "in" / "a.pdf", "a")
    target = str(tmp_path / "in") if command == "batch" else str(tmp_path / "in" / "a.pdf")
    r = CliRunner().invoke(app, [command, target, "-o", str(tmp_path / "o"), *args])
    assert r.exit_code == 2 and "E_USAGE" in r.output and words in r.output, r.output
    no_traceback(r.output)
    assert not (tmp_path / "o").exists()


# ================================================================== the kill -9 loop

@pytest.mark.slow
def test_kill_9_loop_every_document_done_exactly_once(tmp_path):
    """20 kill -9 of the driver at random moments, then a rerun: every document
    is done exactly once (one current record each, no duplicates, no temp
    files, every record its input's)."""
    indir, outdir = tmp_path / "in", tmp_path / "out"
    names = [f"d{i:02d}.pdf" for i in range(30)]
    for name in names:
        make_pdf(indir / name, name)
    rng = random.Random(14)
    log = tmp_path / "task.log"
    env = sub_env(**{DELAY_ENV: "0.2", LOG_ENV: str(log)})
    for _ in range(20):
        proc = subprocess.Popen(fake_batch_script(indir, outdir), env=env)
        time.sleep(rng.uniform(0.5, 3.0))
        proc.kill()
        proc.wait()
    s = run_batch(indir, outdir, jobs=2, progress=False, task=fake_task)
    assert not s.n_failed
    current = docs(outdir)
    latest = {}
    for e in current:
        latest[e["file"]] = e
    assert sorted(latest) == names and all(e["status"] == "ok" for e in latest.values())
    records = read_outputs(outdir)
    assert sorted(records) == sorted(n.replace(".pdf", ".json") for n in names)
    for n in names:
        rec = json.loads(records[n.replace(".pdf", ".json")])
        assert rec["source"]["sha256"] == hashlib.sha256((indir / n).read_bytes()).hexdigest()
    assert not list(outdir.rglob("*.tmp")) and not (outdir / ".tmp").exists()
    s = run_batch(indir, outdir, jobs=2, progress=False, task=fake_task)
    assert s.skipped == len(names) and s.ok == 0
