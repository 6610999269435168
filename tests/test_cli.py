"""The command line follows the conventions (issue 16): --version, -v / -q,
--log-file, shenbao.toml, shell completion, examples in --help, flags without
values, extract of a folder, -o - for JSON Lines, extract --json, progress on
a terminal, a summary that counts findings, Ray's errors and noise, packaging."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FAULTS = str(ROOT / "tests" / "faults.py")
CORPUS = sorted((ROOT / "pipelines" / "samples" / "corpus").glob("*.json"))


def cli(*args: str, cwd: Path | None = None, timeout: float = 180, env: dict | None = None):
    full = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]), **(env or {})}
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=full, timeout=timeout)


@pytest.fixture(scope="module")
def declaration(tmp_path_factory) -> Path:
    from pipelines.samples.render import render_records

    path = tmp_path_factory.mktemp("decl") / "decl.pdf"
    render_records([json.loads(CORPUS[0].read_text(encoding="utf-8"))], path)
    return path


def two_files(tmp_path: Path, declaration: Path) -> Path:
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    (d / "a.pdf").write_bytes(declaration.read_bytes())
    (d / "sub" / "b.pdf").write_bytes(declaration.read_bytes() + b"%b\n")
    (d / "notes.txt").write_text("not an input")
    return d


# ------------------------------------------------------------------ global options

def test_version():
    p = cli("--version")
    assert p.returncode == 0 and re.fullmatch(r"shenbao \S+\n", p.stdout)


def test_help_has_examples_flags_without_values_and_completion():
    top = cli("--help").stdout
    assert "--install-completion" in top and "Examples" in top
    for command in ("extract", "batch"):
        out = cli(command, "--help").stdout
        assert "Examples" in out and f"shenbao {command} " in out
        for flag in ("--force-ocr", "--follow-symlinks"):
            line = next(x for x in out.splitlines() if flag in x)
            assert "<bool>" not in line and "BOOLEAN" not in line, line
    assert "--retry-partial" in cli("batch", "--help").stdout
    assert "--include-stale" in cli("export", "--help").stdout


def test_a_flag_given_a_value_is_a_usage_error(tmp_path, declaration):
    """`--force-ocr true x.pdf`: `true` is not taken for a file (E_UNSUPPORTED)."""
    p = cli("extract", "--force-ocr", "true", str(declaration), "-o", str(tmp_path / "o"))
    assert p.returncode == 2 and "E_USAGE" in p.stderr and "flags and take no value" in p.stderr
    assert "E_UNSUPPORTED" not in p.stderr and not (tmp_path / "o").exists()


def test_quiet_verbose_and_log_file(tmp_path, declaration):
    log = tmp_path / "run.log"
    p = cli("-q", "--log-file", str(log), "extract", str(declaration), "-o", str(tmp_path / "o"))
    assert p.returncode == 0 and p.stdout == "" and p.stderr == ""
    assert "decl.pdf" in log.read_text() and " INFO " in log.read_text()
    p = cli("-v", "extract", str(declaration), "-o", str(tmp_path / "o2"))
    assert p.returncode == 0 and "decl.pdf: ok" in p.stderr, p.stderr
    p = cli("--log-file", str(tmp_path / "no" / "such" / "dir.log"), "extract", str(declaration), "-o",
            str(tmp_path / "o3"))
    assert p.returncode == 2 and "E_OUTPUT" in p.stderr and "Traceback" not in p.stderr


# ------------------------------------------------------------------ shenbao.toml

def test_config_file_is_found_typed_and_applied(tmp_path, declaration):
    cfg = tmp_path / "shenbao.toml"
    cfg.write_text('plugins = ["%s"]\n[ocr]\nengine = "fault-hang"\n[batch]\ntimeout = 5\n'
                   '[review]\nlow_confidence = 0.5\n' % FAULTS)
    import pypdfium2 as pdfium

    scan = tmp_path / "blank.pdf"
    from _pdfs import add_drawn_page

    doc = pdfium.PdfDocument.new()
    add_drawn_page(doc, 200, 200)
    doc.save(str(scan))
    doc.close()
    p = cli("extract", str(scan), "-o", str(tmp_path / "o"), cwd=tmp_path)
    assert p.returncode == 1 and "E_TIMEOUT" in p.stderr and "after 5 s" in p.stderr, p.stderr
    # the command line wins over the file
    p = cli("extract", str(scan), "-o", str(tmp_path / "o"), "--ocr", "fault-crash", cwd=tmp_path)
    assert "E_WORKER_DIED" in p.stderr and "E_TIMEOUT" not in p.stderr, p.stderr
    # --config FILE from elsewhere
    p = cli("--config", str(cfg), "extract", str(scan), "-o", str(tmp_path / "o2"), "--timeout", "4")
    assert "after 4 s" in p.stderr


@pytest.mark.parametrize("body, words", [
    ("[batch]\ntimeot = 3\n", "unknown key [batch] timeot"),
    ("[batch]\ntimeout = \"fast\"\n", "[batch] timeout must be a number of seconds > 0"),
    ("[batch]\ntimeout = 0\n", "[batch] timeout must be"),
    ("[batch]\nmax_memory = 100\n", "[batch] max_memory must be"),
    ("[reading]\nforce_ocr = \"yes\"\n", "[reading] force_ocr must be true or false"),
    ("[ocr]\nengine = 3\n", "[ocr] engine must be"),
    ("[limits]\njobs = 2\n", "unknown section [limits]"),
    ("colour = 1\n", "unknown key colour"),
    ("[batch\n", "not valid TOML"),
])
def test_config_errors_name_the_file_and_the_key(tmp_path, declaration, body, words):
    (tmp_path / "shenbao.toml").write_text(body)
    p = cli("extract", str(declaration), "-o", str(tmp_path / "o"), cwd=tmp_path)
    assert p.returncode == 2 and "E_USAGE" in p.stderr and words in p.stderr, p.stderr
    assert "shenbao.toml" in p.stderr and "Traceback" not in p.stderr


def test_config_templates_folder_reaches_the_extractor(tmp_path, declaration):
    empty = tmp_path / "forms"
    empty.mkdir()
    (tmp_path / "shenbao.toml").write_text('templates = "forms"\n')
    p = cli("extract", str(declaration), "-o", str(tmp_path / "o"), cwd=tmp_path)
    assert p.returncode == 2 and "E_TEMPLATE" in p.stderr and "no form templates" in p.stderr, p.stderr
    assert str(empty) in p.stderr
    p = cli("extract", str(declaration), "-o", str(tmp_path / "o"), "--templates", str(ROOT / "extract" / "templates"),
            cwd=tmp_path)
    assert p.returncode == 0, p.stderr


# ------------------------------------------------------------------ shapes of input and output

def test_extract_a_folder_like_batch(tmp_path, declaration):
    indir = two_files(tmp_path, declaration)
    p = cli("extract", str(indir), "-o", str(tmp_path / "o"))
    assert p.returncode == 0, p.stderr
    assert sorted(x.name for x in (tmp_path / "o").glob("*.json")) == ["a.json", "sub__b.json"]
    rec = json.loads((tmp_path / "o" / "sub__b.json").read_text())
    assert rec["source"]["file"] == "sub/b.pdf"
    assert "2 files: 2 ok, 0 partial, 0 failed; 2 records" in p.stdout
    p = cli("extract", str(tmp_path / "o"), "-o", str(tmp_path / "o4"))
    assert p.returncode == 2 and "no PDF, TIFF, PNG or JPEG" in p.stderr


def test_dash_o_dash_writes_json_lines(tmp_path, declaration):
    indir = two_files(tmp_path, declaration)
    p = cli("extract", str(indir), "-o", "-", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    recs = [json.loads(x) for x in p.stdout.splitlines()]
    assert sorted(r["source"]["file"] for r in recs) == ["a.pdf", "sub/b.pdf"]
    assert not (tmp_path / "-").exists() and "a.pdf → -" in p.stderr


def test_extract_json_summary(tmp_path, declaration):
    (tmp_path / "bad.pdf").write_bytes(b"junk")
    p = cli("extract", str(declaration), str(tmp_path / "bad.pdf"), "-o", str(tmp_path / "o"), "--json")
    assert p.returncode == 1
    report = json.loads(p.stdout)
    assert (report["found"], report["ok"], report["failed"], report["records"]) == (2, 1, 1, 1)
    assert report["failed_by_code"] == {"E_UNSUPPORTED": 1}
    by_file = {d["file"]: d for d in report["documents"]}
    assert by_file["decl.pdf"]["records"] == ["decl.json"] and by_file["bad.pdf"]["error_code"] == "E_UNSUPPORTED"
    assert {"warnings", "review", "checks_failed"} <= set(report)


def test_summary_counts_warnings_review_entries_and_failed_checks(tmp_path, declaration):
    from pipelines.samples.render import render_records

    rec = json.loads(CORPUS[0].read_text(encoding="utf-8"))
    rec["budget_total"] = (rec.get("budget_total") or 0) + 1000  # a check will fail
    render_records([rec], tmp_path / "in" / "x.pdf")
    p = cli("batch", str(tmp_path / "in"), "-o", str(tmp_path / "o"), "-j", "1")
    m = re.search(r"(\d+) warnings, (\d+) review entries, (\d+) failed checks", p.stdout)
    assert m, p.stdout
    got = json.loads((tmp_path / "o" / "x.json").read_text())
    assert int(m.group(1)) == len(got["warnings"]) and int(m.group(2)) == len(got["review"])
    assert int(m.group(3)) == sum(not c["passed"] for c in got["checks"]) >= 1


# ------------------------------------------------------------------ progress on a terminal

def _on_a_terminal(args: list[str], timeout: float = 180) -> str:
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120", "TERM": "xterm"}
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", *args], stdout=subprocess.DEVNULL,
                            stderr=slave, env=env, cwd=ROOT)
    os.close(slave)
    chunks, t0 = [], time.monotonic()
    while time.monotonic() - t0 < timeout:
        r, _, _ = select.select([master], [], [], 0.5)
        if r:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=30)
    os.close(master)
    return b"".join(chunks).decode("utf-8", "replace")


def test_extract_shows_pages_on_a_terminal(tmp_path, declaration):
    screen = _on_a_terminal(["extract", str(declaration), "-o", str(tmp_path / "o")])
    assert "page 1/3" in screen and "decl.pdf" in screen and "ETA" in screen, screen[-2000:]


def test_batch_bar_shows_the_current_file_and_the_count(tmp_path, declaration):
    indir = two_files(tmp_path, declaration)
    screen = _on_a_terminal(["batch", str(indir), "-o", str(tmp_path / "o"), "-j", "1"])
    assert "documents" in screen and "2/2" in screen and "sub/b.pdf" in screen and "ETA" in screen, screen[-2000:]


def test_eta_counts_pages_of_documents_in_progress():
    from pipelines.progress import eta_text

    assert eta_text(0, 10, 5.0) == "ETA …"  # nothing done: no guess
    assert eta_text(1, 10, 10.0) == "ETA 0:01:30"
    assert eta_text(0.5, 2, 30.0) == "ETA 0:01:30"  # half a document read: it counts


# ------------------------------------------------------------------ Ray

def test_ray_auto_without_a_cluster(tmp_path, declaration):
    pytest.importorskip("ray")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.pdf").write_bytes(declaration.read_bytes())
    p = cli("batch", str(tmp_path / "in"), "-o", str(tmp_path / "o"), "--ray", "auto",
            env={"RAY_ADDRESS": ""})
    assert p.returncode == 2 and "E_CLUSTER" in p.stderr and "--ray" in p.stderr, p.stderr
    assert "--address" not in p.stderr and "E_OUTPUT" not in p.stderr
    assert not re.search(r"\b(INFO|WARNING) \w+\.py:\d+", p.stderr), p.stderr  # Ray's log lines
    assert "Traceback" not in p.stderr


# ------------------------------------------------------------------ packaging

def test_ray_is_an_extra_and_fast_movers_have_upper_bounds():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not [d for d in meta["dependencies"] if d.startswith("ray")]
    assert any(d.startswith("ray[default]") for d in meta["optional-dependencies"]["ray"])
    for name in ("rapidocr", "onnxruntime"):
        (spec,) = [d for d in meta["dependencies"] if re.match(rf"{name}\b", d)]
        assert "<" in spec, spec
    setup = (ROOT / "setup.sh").read_text()
    assert re.search(r'pip install .*-e "\.\[[^\]]*\bray\b', setup)
