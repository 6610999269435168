"""Batch mechanics: error isolation, time and memory limits, resume after a kill,
renamed files, output naming, Ray = local. The per-document task is a stand-in
(`fake_task`) so these tests are fast and do not depend on extraction accuracy."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from extract import errors
from extract.document import Options
from pipelines.batch import MANIFEST, assign_stems, find_inputs, run_batch

ROOT = Path(__file__).resolve().parents[1]
CORPUS = sorted((ROOT / "pipelines" / "samples" / "corpus").glob("*.json"))
LOG_ENV = "SHENBAO_TEST_TASK_LOG"
DELAY_ENV = "SHENBAO_TEST_TASK_DELAY"


def corpus_record() -> dict:
    return json.loads(CORPUS[0].read_text(encoding="utf-8"))


def fake_record(name: str) -> dict:
    """A fixed record (not from the corpus, which others may be editing)."""
    from extract.record import empty_record

    rec = empty_record()
    rec["form"].update(title="财政项目支出绩效目标申报表", year=2020, amount_unit="元",
                       variant="sh-district-2020")
    rec["project"].update(name=name, category="经常性项目", overview="根据市总工会的要求。")
    rec["funding"].update(total_budget=384200.0, current_year_budget=384200.0)
    rec["indicators"] = [{"level1": "产出目标", "level2": "数量", "level3": "完成全年4个内容的工作",
                          "target": "4个", "note": "工作计划", "table": None}]
    return rec


def make_pdf(path: Path, label: str) -> Path:
    """A small valid PDF: rendered from a corpus record by the sample renderer when
    it exists, else one image page with `label` drawn on it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        from pipelines.samples.render import render_records
    except ImportError:
        render_records = None
    if render_records is not None and CORPUS:
        rec = corpus_record()
        rec["project"]["name"] = label
        render_records([rec], path)
        return path
    from PIL import Image, ImageDraw

    img = Image.new("L", (300, 120), 255)
    ImageDraw.Draw(img).text((10, 10), label, fill=0)
    buf = io.BytesIO()
    img.save(buf, "PDF")
    path.write_bytes(buf.getvalue())
    return path


def fake_task(path: Path, options: Options) -> list[dict]:
    """Stand-in for extract_file. Behaviour by the file's name: *slow* sleeps,
    *hog* allocates 4 GB, *crash* kills its own process, *multi* holds two
    declarations; a file that is not a PDF is corrupt. The record says which file
    it came from (project.name = stem, source.sha256) so tests can check content."""
    data = path.read_bytes()
    if os.environ.get(LOG_ENV):
        with open(os.environ[LOG_ENV], "a") as f:
            f.write(path.name + "\n")
    time.sleep(float(os.environ.get(DELAY_ENV, "0")))
    if not data.startswith(b"%PDF-"):
        raise errors.CorruptFile(f"{path.name}: not a PDF")
    stem = path.stem
    if "slow" in stem:
        time.sleep(60)
    if "hog" in stem:
        bytearray(4 << 30)
    if "crash" in stem:
        os.kill(os.getpid(), signal.SIGKILL)
    n = 2 if "multi" in stem else 1
    out = []
    for i in range(1, n + 1):
        rec = fake_record(f"{stem} #{i}")
        rec["source"] = {"file": path.name, "sha256": hashlib.sha256(data).hexdigest(),
                         "page_count": 2, "declaration": i, "declarations_in_file": n}
        rec["warnings"] = ["w"] * i
        rec["checks"] = [{"id": "items_sum_to_total", "passed": True, "fields": [], "detail": "ok"}]
        out.append(rec)
    return out


def manifest(outdir: Path) -> list[dict]:
    return [json.loads(line) for line in (outdir / MANIFEST).read_text().splitlines()]


def read_outputs(outdir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(outdir.glob("*.json"))}


def check_record(outdir: Path, name: str, indir: Path, rel: str, i: int = 1) -> None:
    rec = json.loads((outdir / name).read_text(encoding="utf-8"))
    assert rec["project"]["name"] == f"{Path(rel).stem} #{i}"
    assert rec["source"]["file"] == rel
    assert rec["source"]["sha256"] == hashlib.sha256((indir / rel).read_bytes()).hexdigest()


@pytest.fixture
def task_log(tmp_path, monkeypatch):
    log = tmp_path / "task.log"
    monkeypatch.setenv(LOG_ENV, str(log))
    log.touch()
    return lambda: log.read_text().split()


# ------------------------------------------------------------------ naming

def test_output_names_keep_documents_apart():
    rels = ["a-1.pdf", "a.pdf", "a.tif", "sub/a.pdf", "sub/深/b.PDF"]
    stems = assign_stems(sorted(rels))
    assert stems["sub/a.pdf"] == "sub__a"
    assert stems["sub/深/b.PDF"] == "sub__深__b"
    assert stems["a-1.pdf"] == "a-1"
    # a.pdf may hold two declarations (a-1.json, a-2.json): it must not meet a-1.pdf
    assert stems["a.pdf"] == "a_2"
    assert stems["a.tif"] == "a_3"
    # case-insensitive file systems: A.png and a.pdf must not share a.json
    assert assign_stems(["A.png", "a.pdf"]) == {"A.png": "A", "a.pdf": "a_2"}
    # names written by an earlier run are never reused for another document
    assert assign_stems(["x.pdf"], ["x-1.json", "x-2.json"]) == {"x.pdf": "x_2"}


def test_find_inputs_recursive_case_insensitive_skips_outdir(tmp_path):
    for rel in ["b.PDF", "a/c.tiff", "a/d.JpEg", "e.png", "f.tif", "g.jpg", "notes.txt", "out/x.pdf"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    assert find_inputs(tmp_path, tmp_path / "out") == \
        ["a/c.tiff", "a/d.JpEg", "b.PDF", "e.png", "f.tif", "g.jpg"]


# ------------------------------------------------------------------ one failure never stops the batch

def test_corrupt_file_reported_rest_written_and_rerun_retries_only_errors(tmp_path, task_log):
    indir = tmp_path / "in"
    for rel in ["a.pdf", "sub/a.pdf", "multi.pdf", "UPPER.PDF"]:
        make_pdf(indir / rel, rel)
    (indir / "bad.pdf").write_bytes(b"this is not a pdf")
    (indir / "gone.pdf").symlink_to(indir / "nowhere.pdf")  # a link: not followed, named
    (indir / "readme.txt").write_text("ignored")
    outdir = indir / "out"  # inside INDIR: must not be read as input

    s = run_batch(indir, outdir, jobs=2, progress=False, task=fake_task)
    assert (s.found, s.ok, s.records, s.pages) == (5, 4, 5, 8)
    assert s.failed == {"E_CORRUPT": 1} and s.not_followed == ["gone.pdf"]
    assert set(read_outputs(outdir)) == {"a.json", "sub__a.json", "multi-1.json", "multi-2.json",
                                         "UPPER.json"}
    check_record(outdir, "sub__a.json", indir, "sub/a.pdf")
    check_record(outdir, "multi-2.json", indir, "multi.pdf", 2)
    lines = {e["file"]: e for e in manifest(outdir)}
    assert lines["bad.pdf"]["status"] == "error" and lines["bad.pdf"]["error_code"] == "E_CORRUPT"
    assert lines["multi.pdf"]["records"] == ["multi-1.json", "multi-2.json"]
    assert lines["multi.pdf"]["warnings"] == 3 and lines["multi.pdf"]["pages"] == 2
    assert len(task_log()) == 5

    # a cut-off last line (a kill while appending) is dropped, the rest honoured
    with open(outdir / MANIFEST, "a") as f:
        f.write('{"file": "a.pdf", "sha2')
    s = run_batch(indir, outdir, jobs=2, progress=False, task=fake_task)
    assert (s.skipped, s.ok, s.n_failed) == (4, 0, 1)
    assert task_log().count("bad.pdf") == 2 and len(task_log()) == 6
    assert len(manifest(outdir)) == 6

    # with --follow-symlinks the broken link is an input, and unreadable
    s = run_batch(indir, outdir, jobs=2, progress=False, task=fake_task, follow_symlinks=True)
    assert s.failed == {"E_CORRUPT": 1, "E_UNSUPPORTED": 1} and not s.not_followed


# ------------------------------------------------------------------ limits

def test_timeout_kills_that_document_only(tmp_path):
    indir = tmp_path / "in"
    for name in ["a-slow.pdf", "b.pdf", "c.pdf"]:
        make_pdf(indir / name, name)
    t0 = time.monotonic()
    s = run_batch(indir, tmp_path / "out", jobs=1, timeout=2, progress=False, task=fake_task)
    assert time.monotonic() - t0 < 30
    assert (s.ok, s.failed) == (2, {"E_TIMEOUT": 1})
    assert s.failures[0][0] == "a-slow.pdf"
    assert set(read_outputs(tmp_path / "out")) == {"b.json", "c.json"}


def test_memory_limit_and_dead_worker(tmp_path):
    indir = tmp_path / "in"
    for name in ["a-hog.pdf", "b-crash.pdf", "c.pdf"]:
        make_pdf(indir / name, name)
    s = run_batch(indir, tmp_path / "out", jobs=1, max_memory_mb=1024, progress=False, task=fake_task)
    codes = {f: c for f, c, _ in s.failures}
    assert codes == {"a-hog.pdf": "E_MEMORY", "b-crash.pdf": "E_WORKER_DIED"}
    assert s.ok == 1 and (tmp_path / "out" / "c.json").exists()


# ------------------------------------------------------------------ resume

def test_renamed_file_is_not_redone(tmp_path, task_log):
    indir, outdir = tmp_path / "in", tmp_path / "out"
    for name in ["a.pdf", "b.pdf"]:
        make_pdf(indir / name, name)
    run_batch(indir, outdir, jobs=1, progress=False, task=fake_task)
    (indir / "a.pdf").rename(indir / "renamed.pdf")
    s = run_batch(indir, outdir, jobs=1, progress=False, task=fake_task)
    assert (s.found, s.skipped, s.ok) == (2, 2, 0)
    assert task_log() == ["a.pdf", "b.pdf"]
    assert set(read_outputs(outdir)) == {"a.json", "b.json"}


def test_kill_9_then_rerun_writes_every_document_once(tmp_path, task_log):
    indir, outdir = tmp_path / "in", tmp_path / "out"
    names = [f"d{i:02d}.pdf" for i in range(12)]
    for name in names:
        make_pdf(indir / name, name)
    script = ("import sys, test_batch; from pipelines.batch import run_batch; "
              "run_batch(sys.argv[1], sys.argv[2], jobs=2, progress=False, task=test_batch.fake_task)")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]),
               **{DELAY_ENV: "0.3"})
    proc = subprocess.Popen([sys.executable, "-c", script, str(indir), str(outdir)], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (outdir / MANIFEST).exists() and len(manifest(outdir)) >= 4:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = manifest(outdir)
    assert 4 <= len(first) < len(names), "the kill came too late to test anything"
    time.sleep(0.7)  # orphaned workers finish their document and exit (they write nothing)

    s = run_batch(indir, outdir, jobs=2, progress=False, task=fake_task)
    assert s.skipped == len(first) and s.ok == len(names) - len(first) and not s.failed
    lines = manifest(outdir)
    assert sorted(e["file"] for e in lines) == names
    assert all(e["status"] == "ok" for e in lines)
    assert set(read_outputs(outdir)) == {n.replace(".pdf", ".json") for n in names}
    for n in names:
        check_record(outdir, n.replace(".pdf", ".json"), indir, n)
    # documents finished before the kill were not run again
    done_first = {e["file"] for e in first}
    rerun = task_log()[-s.ok:]
    assert not done_first & set(rerun)
    assert not list(outdir.glob(".*.tmp"))


# ------------------------------------------------------------------ the real task, and the CLI

def test_cli_batch_real_task_reports_bad_files(tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    indir = tmp_path / "in"
    indir.mkdir()
    (indir / "empty.pdf").write_bytes(b"")
    (indir / "page.html.pdf").write_bytes(b"<!doctype html><html></html>")
    result = CliRunner().invoke(app, ["batch", str(indir), "-o", str(tmp_path / "out"), "-j", "2"])
    assert result.exit_code == 1, result.output
    assert "2 failed" in result.output
    codes = sorted(e["error_code"] for e in manifest(tmp_path / "out"))
    assert codes == ["E_EMPTY", "E_UNSUPPORTED"]


# ------------------------------------------------------------------ Ray

def test_ray_gives_the_same_files_as_the_local_pool(tmp_path):
    ray = pytest.importorskip("ray")
    indir = tmp_path / "in"
    for rel in ["a.pdf", "b-crash.pdf", "m-slow.pdf", "multi.pdf", "sub/a.pdf"]:
        make_pdf(indir / rel, rel)
    (indir / "bad.pdf").write_bytes(b"junk")
    local = run_batch(indir, tmp_path / "local", jobs=2, timeout=3, progress=False, task=fake_task)

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}})
    try:
        remote = run_batch(indir, tmp_path / "ray", jobs=2, timeout=3, progress=False,
                           task=fake_task, ray_address="local")
    finally:
        ray.shutdown()
    assert read_outputs(tmp_path / "ray") == read_outputs(tmp_path / "local")
    assert len(read_outputs(tmp_path / "ray")) == 4
    assert remote.failed == local.failed == {"E_CORRUPT": 1, "E_TIMEOUT": 1, "E_WORKER_DIED": 1}

    def strip(lines):
        return sorted((e["file"], e["status"], e["error_code"], e["records"]) for e in lines)
    assert strip(manifest(tmp_path / "ray")) == strip(manifest(tmp_path / "local"))
