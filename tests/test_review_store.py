"""The review station below the web layer: field kinds from the templates,
how typed values and amounts in 万元 are shown and read, the queue's order and
walk, and page images in the frame their boxes were measured in (a scan read
sideways and skewed)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pipelines.review import fields
from pipelines.review.pages import render_page
from pipelines.review.store import Store
from tests._review import digital_batch, extracted, read

NANJING = "js-nanjing-jiangning-2019-rural-toilets"


def test_field_kinds_come_from_the_records_template():
    rec = extracted("digital", f"{NANJING}.pdf")[0]
    assert rec["form"]["variant"] == "sh-district-2020"
    k = fields.kind_of(rec, "funding.total_budget")
    assert k.type == "amount" and "项目总预算" in k.labels
    assert fields.kind_of(rec, "project.end_date").role == "end"
    assert fields.kind_of(rec, "project.annual_goals").lines
    assert fields.kind_of(rec, "budget_items[2].quantity").type == "number"
    assert fields.kind_of(rec, "budget_items[2].unit_price").type == "amount"
    assert fields.kind_of(rec, "safeguards[0].stages.planning").type == "bool"
    assert fields.kind_of(rec, "project.category").options == ("一次性项目", "经常性项目", "中期预算试点项目")
    ministry = extracted("digital", "ministry-sichuan-pengxi-2022-rural-water-supply.pdf")[0]
    assert fields.kind_of(ministry, "project.end_date").type == "date"  # the end of 项目起止时间
    assert fields.amount_unit(ministry) == "万元"  # its template's unit where the form prints none


def test_amounts_are_shown_and_read_in_the_forms_unit():
    rec = extracted("digital", f"{NANJING}.pdf")[0]
    assert rec["form"]["amount_unit"] == "万元"
    assert fields.display(rec, "funding.total_budget", 21965000.0) == "2196.5"
    assert fields.display(rec, "budget_items[2].unit_price", 120.0) == "0.012"
    assert fields.normalize(rec, "funding.total_budget", fields.display(rec, "funding.total_budget", 21965000.0)) \
        == 21965000.0
    assert fields.display(rec, "safeguards[0].stages.planning", True) == "true"
    with pytest.raises(fields.FieldError):
        fields.normalize(rec, "funding.total_budget", "1,2,3")
    with pytest.raises(fields.FieldError):
        fields.normalize(rec, "schema_version", "2")
    assert not fields.correctable(rec, "indicators")
    assert "budget_items[0].amount" in fields.leaves(rec) and "form.variant" not in fields.leaves(rec)


def test_extra_labels_are_one_path_part():
    rec = extracted("digital", "sh2020-union-gumei.pdf")[0]
    rec["extra"] = {"资金来源.备注[1]": "自筹", "配套资金（元）": 1000.0}
    assert fields.get(rec, "extra.资金来源.备注[1]") == "自筹"
    assert fields.normalize(rec, "extra.配套资金（元）", "0.2万元") == 2000.0
    fields.set_value(rec, "extra.资金来源.备注[1]", "财政")
    assert rec["extra"]["资金来源.备注[1]"] == "财政"


def test_queue_order_and_walk(tmp_path):
    out, _ = digital_batch(tmp_path)
    s = Store(out, "t")
    assert "manifest" not in s.records and "evil" in s.records
    q = s.queue()
    assert q == sorted(q, key=lambda it: it.key)
    first, second = q[0], q[1]
    assert s.neighbour(first.record, first.entry) is second
    assert s.neighbour(second.record, second.entry, -1) is first
    last = q[-1]
    assert s.neighbour(last.record, last.entry) is first  # round again
    # a postponed entry goes to the end; the walk from it goes on where it was
    s.act(first.record, first.path, "postpone")
    q2 = s.queue()
    assert q2[-1].record == first.record and q2[-1].path == first.path and q2[-1].status == "postponed"
    assert s.neighbour(first.record, first.entry, 1, "open") is q2[0]
    # filters
    assert {it.record for it in s.queue(record=NANJING)} == {NANJING}
    assert sorted(it.path for it in s.queue(field="budget_items[]")) == \
        [f"budget_items[{i}]" for i in range(4)]  # the rows a failed sum puts in doubt
    assert s.queue(field="budget_items") and not s.queue(field="budget_item")  # whole parts of a path only
    # answered entries leave the queue, stay listed with status=all
    for it in s.queue(record=NANJING):
        s.act(it.record, it.path, "accept")
    assert s.queue(record=NANJING) == []
    assert {it.status for it in s.queue(record=NANJING, status="all")} == {"accepted"}
    assert read(out / "reviewed" / f"{NANJING}.json")["verification"]["status"] == "verified"
    assert s.counts()["verified"] == 1


def test_a_record_that_is_not_one_is_skipped_not_fatal(tmp_path):
    out, _ = digital_batch(tmp_path)
    (out / "broken.json").write_text('{"review": [', encoding="utf-8")
    (out / "list.json").write_text("[]", encoding="utf-8")
    (out / "sub").mkdir()
    (out / "sub" / "x.json").write_text("{}", encoding="utf-8")
    s = Store(out, "t")
    assert {n for n, _ in s.skipped} == {"broken.json", "list.json"}
    assert "x" not in s.records


def _page(w: int, h: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """A white page with ruled lines (what levels a scan) and one black box."""
    a = np.full((h, w), 255, np.uint8)
    for y in range(200, h - 200, 60):
        a[y:y + 3, 150:w - 150] = 0
    x0, y0, x1, y1 = box
    a[y0:y1, x0:x1] = 30
    return a


@pytest.mark.parametrize("rotation,skew", [(0, 0.0), (90, 0.0), (270, 1.2), (180, -0.8)])
def test_a_scan_is_shown_in_the_frame_its_boxes_were_read_in(tmp_path, rotation, skew):
    """The scan as it lies in the file is turned (and skewed); the record's box
    is in the upright, levelled page. The station's page image puts it back."""
    import cv2

    dpi = 200
    w, h = 1654, 2339  # A4 at 200 dpi
    box_px = (900, 1000, 1200, 1080)
    upright = _page(w, h, box_px)
    if skew:
        m = cv2.getRotationMatrix2D((w / 2, h / 2), -skew, 1.0)
        upright = cv2.warpAffine(upright, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)
    # what the scanner stored: the page turned back by the rotation that makes it upright
    k = {0: 0, 90: 1, 180: 2, 270: 3}[rotation]
    stored = np.rot90(upright, k=k)
    path = tmp_path / "scan.tif"
    Image.fromarray(np.ascontiguousarray(stored)).save(path, dpi=(dpi, dpi))
    s = 72 / dpi
    size = {"page": 1, "width": w * s, "height": h * s, "kind": "image", "dpi": float(dpi), "rotation": rotation}
    img = np.asarray(render_page(path, size).convert("L"))
    assert img.shape == (round(h * s * 2), round(w * s * 2))
    bbox = [v * s for v in box_px]  # points
    z = 2.0
    inner = img[int(bbox[1] * z) + 6:int(bbox[3] * z) - 6, int(bbox[0] * z) + 6:int(bbox[2] * z) - 6]
    assert inner.mean() < 80, "the box's ink is where the record says"
    around = img[int(bbox[3] * z) + 8:int(bbox[3] * z) + 14, int(bbox[0] * z):int(bbox[2] * z)]
    assert around.mean() > 200, "and not below it"


def test_templates_and_assets_ship_with_the_package():
    """Every file the station serves is package data (no build step, no CDN)."""
    import fnmatch
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = data["tool"]["setuptools"]["package-data"]["pipelines"]
    here = root / "pipelines" / "review"
    shipped = [p for d in ("templates", "static") for p in (here / d).iterdir()]
    assert len(shipped) >= 8
    for p in shipped:
        rel = p.relative_to(root / "pipelines").as_posix()
        assert any(fnmatch.fnmatch(rel, pat) for pat in patterns), rel
    for p in shipped:  # nothing fetched from elsewhere
        text = p.read_text(encoding="utf-8")
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") and "https://" not in text, p.name
