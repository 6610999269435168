"""The OCR cache (extract/image/cache.py) and `shenbao remap`: a page read once
is not read again, a cache entry that cannot be read is a miss, and a re-map
rewrites the same records without OCR."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from extract.document import Options
from extract.image import cache
from extract.pipeline import extract_file
from extract.settings import DEFAULT as DEFAULT_SETTINGS

ROOT = Path(__file__).resolve().parents[1]
SCAN = ROOT / "samples" / "scanned" / "sh-huangpu-2025-heritage-buildings.tif"  # 1 page, quick
DIGITAL = ROOT / "samples" / "digital" / "sh-jingan-2019-sports-events.pdf"


def _entries(root: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in root.rglob("*.json")}


def test_page_key_names_pixels_dpi_engine_and_settings():
    a = np.zeros((40, 30), np.uint8)
    b = a.copy()
    b[3, 4] = 1
    base = cache.page_key(a, 200, "rapidocr 1", DEFAULT_SETTINGS)
    assert base == cache.page_key(a.copy(), 200, "rapidocr 1", DEFAULT_SETTINGS)
    others = {cache.page_key(b, 200, "rapidocr 1", DEFAULT_SETTINGS),
              cache.page_key(a, 300, "rapidocr 1", DEFAULT_SETTINGS),
              cache.page_key(a, 200, "tesseract 5", DEFAULT_SETTINGS),
              cache.page_key(a, 200, "rapidocr 1", DEFAULT_SETTINGS, prior_turn=90)}
    assert base not in others and len(others) == 4


def test_a_cached_page_is_not_read_again(tmp_path, monkeypatch):
    store = tmp_path / "ocr"
    first = extract_file(SCAN, Options(ocr_cache=str(store)))
    entries = _entries(store)
    assert len(entries) == 1  # one page, one entry

    from extract.image import page as image_page

    def no_ocr(*a, **k):
        raise AssertionError("the page was read again")

    monkeypatch.setattr(image_page, "read_image", no_ocr)
    again = extract_file(SCAN, Options(ocr_cache=str(store)))
    assert again == first
    assert _entries(store) == entries


def test_an_unreadable_entry_is_a_miss(tmp_path):
    store = tmp_path / "ocr"
    first = extract_file(SCAN, Options(ocr_cache=str(store)))
    (entry,) = store.rglob("*.json")
    entry.write_text('{"number": 1, "width": ', encoding="utf-8")  # cut off
    again = extract_file(SCAN, Options(ocr_cache=str(store)))
    assert again == first
    assert json.loads(entry.read_text(encoding="utf-8"))["fragments"]  # written anew, whole


def _cli(*args):
    from typer.testing import CliRunner

    from pipelines.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


def test_remap_rewrites_the_records_from_the_cache(tmp_path):
    indir, out = tmp_path / "in", tmp_path / "out"
    indir.mkdir()
    shutil.copy(SCAN, indir)
    shutil.copy(DIGITAL, indir)
    r = _cli("batch", indir, "-o", out, "-j", "1")
    assert r.exit_code == 0, r.output
    entries = _entries(out / "cache" / "ocr")
    assert len(entries) == 1  # the scan's one page; the text layer needs no OCR
    before = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in out.glob("*.json")}
    assert len(before) == 2

    # a template folder of one's own, with one label taken out: remap applies it
    tpl = tmp_path / "templates"
    shutil.copytree(ROOT / "extract" / "templates", tpl)
    path = tpl / "sh-district-2026.yaml"
    text = path.read_text(encoding="utf-8")
    printed = "    labels: [实施单位, 项目实施单位]\n    core: [实施单位, 执行单位, 承担单位]\n"
    assert printed in text
    path.write_text(text.replace(printed, "    labels: [承办机构]\n", 1), encoding="utf-8")
    r = _cli("remap", out, "-j", "1", "--templates", tpl)
    assert r.exit_code == 0, r.output
    assert "2 ok" in r.output
    assert _entries(out / "cache" / "ocr") == entries  # no page was read again
    after = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in out.glob("*.json")}
    assert set(after) == set(before)
    name = SCAN.stem + ".json"
    assert before[name]["project"]["implementer"] == "上海市黄浦区房屋维修服务中心"
    assert after[name]["project"]["implementer"] is None  # 实施单位 is no longer its label …
    assert any(e["path"] == "project.implementer" and e["reason"] == "not_found" for e in after[name]["review"])
    assert after[name]["project"]["name"] == before[name]["project"]["name"]  # … and nothing else moved
    lines = [json.loads(x) for x in (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [x["command"] for x in lines[-2:]] == ["remap", "remap"]

    # an input gone since is left as it was, and named
    (indir / DIGITAL.name).unlink()
    r = _cli("remap", out, "-j", "1")
    assert r.exit_code == 0, r.output
    assert f"{DIGITAL.name}: not read again: input gone" in r.output
    assert (out / (DIGITAL.stem + ".json")).is_file()


def test_no_cache_keeps_nothing(tmp_path):
    indir, out = tmp_path / "in", tmp_path / "out"
    indir.mkdir()
    shutil.copy(SCAN, indir)
    r = _cli("batch", indir, "-o", out, "-j", "1", "--no-cache")
    assert r.exit_code == 0, r.output
    assert not (out / "cache").exists()


def test_remap_of_a_folder_without_manifest_is_a_usage_error(tmp_path):
    r = _cli("remap", tmp_path)
    assert r.exit_code == 2 and "E_USAGE" in r.output


@pytest.mark.parametrize("bad", ["[1, 2]", "not json"])
def test_cache_get_survives_any_entry(tmp_path, bad):
    store = cache.PageCache(tmp_path)
    key = "ab" + "0" * 62
    (tmp_path / "ab").mkdir()
    (tmp_path / "ab" / f"{key}.json").write_text(bad, encoding="utf-8")
    assert store.get(key, 1) is None
