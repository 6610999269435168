"""Test data for the review station tests (tests/test_review_*.py): records
made by the real pipeline from the bundled samples, and one written by hand
on top of such a record (text with markup in it, a disagreement with reads).
Nothing here touches golden files; every test works on its own copy."""

from __future__ import annotations

import contextlib
import copy
import json
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"

EVIL_NAME = '<script>window.__pwned = 1</script>项目<img src=x onerror="window.__pwned = 2">'
EVIL_READ = "<script>window.__pwned = 3</script>"


@lru_cache(maxsize=None)
def _extracted(kind: str, name: str) -> tuple[str, ...]:
    """The records the real pipeline makes of samples/<kind>/<name> (as JSON
    text, extracted once per test run)."""
    from extract.document import Options
    from extract.pipeline import extract_file

    recs = extract_file(SAMPLES / kind / name, Options(ocr_engine="rapidocr"))
    return tuple(json.dumps(r, ensure_ascii=False) for r in recs)


def extracted(kind: str, name: str) -> list[dict]:
    return [json.loads(t) for t in _extracted(kind, name)]


def evil_record() -> dict:
    """The digital 2020 sample's record with document text that holds markup,
    and review entries written by hand (a disagreement with its reads, a low
    confidence name, a line no field took)."""
    rec = extracted("digital", "sh2020-union-gumei.pdf")[0]
    prov = rec["provenance"]
    rec["project"]["name"] = EVIL_NAME
    rec["review"] = [
        {"path": "funding.total_budget", "reason": "disagreement", "page": prov["funding.total_budget"]["page"],
         "bbox": prov["funding.total_budget"]["bbox"],
         "detail": 'two reads: <img src=x onerror="window.__pwned = 4"> / 384200',
         "reads": [{"text": EVIL_READ, "source": "rapidocr", "confidence": 0.41},
                   {"text": "384200", "source": "tesseract", "confidence": 0.93}]},
        {"path": "project.name", "reason": "low_confidence", "page": prov["project.name"]["page"],
         "bbox": prov["project.name"]["bbox"], "detail": "confidence 0.40"},
        {"path": None, "reason": "unread_text", "page": 2, "bbox": [40.0, 700.0, 300.0, 718.0],
         "detail": "填表人：<b>张敏</b>  填报日期：2016年11月20日"},
    ]
    return rec


def write(outdir: Path, stem: str, rec: dict) -> Path:
    outdir.mkdir(parents=True, exist_ok=True)
    p = outdir / f"{stem}.json"
    p.write_text(json.dumps(rec, ensure_ascii=False, indent=2), encoding="utf-8")
    return p


def copy_sources(indir: Path, *files: tuple[str, str]) -> Path:
    """Copies (not links: a link leading out of INDIR is refused) of sample files."""
    indir.mkdir(parents=True, exist_ok=True)
    for kind, name in files:
        shutil.copy2(SAMPLES / kind / name, indir / name)
    return indir


def digital_batch(tmp: Path) -> tuple[Path, Path]:
    """OUTDIR with three real digital records (a clean one, a 元 form whose
    funding check fails, a 万元 form whose budget items do not add up) and the
    hand-made one; INDIR with their sources."""
    out, src = tmp / "out", tmp / "in"
    names = ["sh2020-union-gumei.pdf", "sh-huangpu-2025-heritage-buildings.pdf",
             "js-nanjing-jiangning-2019-rural-toilets.pdf"]
    for n in names:
        write(out, Path(n).stem, extracted("digital", n)[0])
    write(out, "evil", evil_record())
    (out / "manifest.jsonl").write_text('{"file": "x.pdf", "status": "ok"}\n', encoding="utf-8")
    copy_sources(src, *[("digital", n) for n in names])
    return out, src


def read(p: Path) -> dict:
    return json.loads(p.read_text(encoding="utf-8"))


def audit(outdir: Path) -> list[dict]:
    p = outdir / "reviewed" / "audit.jsonl"
    return [json.loads(x) for x in p.read_text(encoding="utf-8").splitlines()] if p.exists() else []


@contextlib.contextmanager
def chrome(width: int = 1400, height: int = 1000):
    """Debian's chromium, headless, driven by chromium-driver through selenium."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from extract.sysdeps import tool

    opts = webdriver.ChromeOptions()
    opts.binary_location = tool("chromium")
    profile = tempfile.mkdtemp(prefix="station-chrome-")
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-dev-shm-usage", f"--window-size={width},{height}", f"--user-data-dir={profile}"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(tool("chromedriver")), options=opts)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def clone(rec: dict) -> dict:
    return copy.deepcopy(rec)
