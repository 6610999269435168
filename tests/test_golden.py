"""Golden tests: the real pipeline on the bundled samples against golden
records written by hand (pipelines/samples/corpus/, copied to golden/ by the
sample builder). Nothing here is generated from the extractor's output."""

import json
from pathlib import Path

import pytest

from extract.compare import compare_records
from extract.document import Options
from extract.pipeline import extract_file
from pipelines.io import output_names, safe_stem

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
GOLDEN = ROOT / "golden"
PLAN = json.loads((SAMPLES / "plan.json").read_text(encoding="utf-8"))

# scanned samples read by the real OCR engine in the default run: one per kind
# of scan the archive holds (normal gray, bitonal, a low-resolution colour TIFF)
SCANNED_THRESHOLD = {
    "sh2020-union-gumei": 0.95,          # normal, 200 dpi bitonal PDF
    "sh-huangpu-2025-heritage-buildings": 0.95,  # normal, 240 dpi gray TIFF, 2026 form
    "js-nanjing-jiangning-2019-rural-toilets": 0.95,  # normal, 240 dpi gray, 万元 form
}


def goldens_for(stem: str) -> list[dict]:
    job = next(j for j in PLAN["jobs"] if j["name"] == stem)
    names = output_names(safe_stem(stem + ".pdf"), len(job["records"]))
    return [json.loads((GOLDEN / n).read_text(encoding="utf-8")) for n in names]


def check(records: list[dict], goldens: list[dict]):
    assert len(records) == len(goldens), "one record per declaration"
    return [compare_records(g, r) for g, r in zip(goldens, records)]


DIGITAL = sorted((SAMPLES / "digital").glob("*.pdf"))


def test_there_are_enough_samples():
    assert len(DIGITAL) >= 8
    assert len(list((SAMPLES / "scanned").iterdir())) == len(DIGITAL)
    variants = {g["form"]["variant"] for p in DIGITAL for g in goldens_for(p.stem)}
    assert variants == {"sh-district-2020", "sh-district-2026", "ministry-county"}


@pytest.mark.parametrize("pdf", DIGITAL, ids=lambda p: p.stem)
def test_digital_sample_equals_golden(pdf):
    records = extract_file(pdf)
    for d in check(records, goldens_for(pdf.stem)):
        assert d.diffs == [], f"{pdf.name}: {d.diffs[:5]}"
    for rec in records:
        assert rec["source"]["page_kinds"].keys() == {"text"}
        assert all(p["method"] == "text" for p in rec["provenance"].values())


@pytest.mark.parametrize("stem", sorted(SCANNED_THRESHOLD))
def test_scanned_sample_with_real_ocr(stem):
    scan = next(p for p in (SAMPLES / "scanned").iterdir() if p.stem == stem)
    records = extract_file(scan, Options(ocr_engine="rapidocr"))
    diffs = check(records, goldens_for(stem))
    acc = sum(d.equal for d in diffs) / sum(d.fields for d in diffs)
    assert acc >= SCANNED_THRESHOLD[stem], [x for d in diffs for x in d.diffs][:10]
    for rec in records:
        assert set(rec["source"]["page_kinds"]) == {"image"}
        assert rec["form"]["variant"] == goldens_for(stem)[0]["form"]["variant"]


def test_samples_are_reproducible(tmp_path):
    """The committed digital PDFs are exactly what the builder makes from the
    golden records (so the samples are data, rebuilt by one command)."""
    from pipelines.samples import render
    from pipelines.samples.build import CORPUS_DIR

    for job in PLAN["jobs"][:3]:
        recs = [json.loads((CORPUS_DIR / f"{r}.json").read_text(encoding="utf-8"))
                for r in job["records"]]
        out = tmp_path / f"{job['name']}.pdf"
        render.render_records(recs, out, render.style_from_seed(job["render_seed"]))
        assert out.read_bytes() == (SAMPLES / "digital" / out.name).read_bytes()
