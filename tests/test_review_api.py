"""The review station's JSON API, run for real (uvicorn on 127.0.0.1): the
token, refusals of names and paths that leave OUTDIR or --sources, the
reviewed record and audit contract, normalization of corrections, checks
rerun, and concurrent corrections of one record."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from pipelines.review.server import Running
from tests._review import EVIL_NAME, audit, digital_batch, read, write

HUANGPU = "sh-huangpu-2025-heritage-buildings"
NANJING = "js-nanjing-jiangning-2019-rural-toilets"
GUMEI = "sh2020-union-gumei"


def call(url: str, method: str = "GET", body=None, headers: dict | None = None, raw: bytes | None = None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    h = {"Content-Type": "application/json"} if data is not None else {}
    h.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


@pytest.fixture
def station(tmp_path):
    """A station of its own, for tests that change records."""
    out, src = digital_batch(tmp_path)
    with Running(out, src, reviewer="测试员") as r:
        r.out, r.src = out, src
        yield r


@pytest.fixture(scope="module")
def ro(tmp_path_factory):
    """One station shared by the tests that change nothing."""
    out, src = digital_batch(tmp_path_factory.mktemp("ro"))
    with Running(out, src, reviewer="测试员") as r:
        r.out, r.src = out, src
        yield r


def post(r, stem, body, headers=None):
    st, _, data = call(r.url(f"/api/records/{stem}/fields"), "POST", body, headers)
    return st, json.loads(data)


def digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


# ------------------------------------------------------------------ token


@pytest.mark.parametrize("path", ["/", "/api/queue", f"/api/records/{HUANGPU}", f"/api/pages/{HUANGPU}/1.png",
                                  "/static/station.js", f"/record/{HUANGPU}", "/no/such/route"])
def test_every_call_needs_the_token(ro, path):
    st, _, _ = call(ro.base + path)
    assert st == 401
    st, _, _ = call(ro.base + path + "?token=wrong")
    assert st == 403
    st, _, _ = call(ro.base + path, headers={"X-Review-Token": "wrong"})
    assert st == 403
    st, _, _ = call(ro.base + path, headers={"X-Review-Token": ro.token})
    assert st == (404 if path == "/no/such/route" else 200)
    st, _, _ = call(ro.base + path, headers={"Authorization": f"Bearer {ro.token}"})
    assert st == (404 if path == "/no/such/route" else 200)


def test_posts_need_the_token_too(ro):
    before = digest(ro.out / f"{HUANGPU}.json")
    st, _, _ = call(ro.base + f"/api/records/{HUANGPU}/fields", "POST",
                    {"path": "funding.other_funds", "action": "accept"})
    assert st == 401
    assert not (ro.out / "reviewed").exists()
    assert digest(ro.out / f"{HUANGPU}.json") == before


def test_each_start_has_its_own_random_token(tmp_path):
    out, src = digital_batch(tmp_path)
    with Running(out, src) as a, Running(out, src) as b:
        assert a.token != b.token and len(a.token) >= 24
        assert call(a.base + "/api/queue?token=" + b.token)[0] == 403


# ------------------------------------------------------------------ names and paths


@pytest.mark.parametrize("name", ["nope", "..", "%2e%2e", "..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd",
                                  "manifest", "reviewed", ".hidden", "evil.json", "%00"])
def test_only_record_stems_are_served(ro, name):
    for path in (f"/api/records/{name}", f"/api/pages/{name}/1.png", f"/record/{name}",
                 f"/api/crops/{name}/0.png"):
        st, _, body = call(ro.url(path))
        assert st in (400, 404), (path, st)
        assert b"root:" not in body


@pytest.mark.parametrize("page", ["0", "4", "-1", "abc", "1.5", "%2e%2e"])
def test_pages_outside_the_record_are_refused(ro, page):
    st, _, _ = call(ro.url(f"/api/pages/{HUANGPU}/{page}.png"))
    assert st in (400, 404)


def _with_source(station, stem: str, file: str, sha: str | None = None) -> None:
    rec = read(station.out / f"{HUANGPU}.json")
    rec["source"]["file"] = file
    if sha:
        rec["source"]["sha256"] = sha
    write(station.out, stem, rec)


def test_no_file_outside_sources_is_ever_rendered(tmp_path):
    out, src = digital_batch(tmp_path)
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "secret.pdf").write_bytes((src / f"{HUANGPU}.pdf").read_bytes())
    sha = digest(outside / "secret.pdf")
    rec = read(out / f"{HUANGPU}.json")
    for stem, file in [("abs", str(outside / "secret.pdf")), ("up", "../secret/secret.pdf"),
                       ("link", "link.pdf"), ("linkdir", "d/secret.pdf")]:
        r2 = json.loads(json.dumps(rec))
        r2["source"].update(file=file, sha256=sha)
        write(out, stem, r2)
    os.symlink(outside / "secret.pdf", src / "link.pdf")
    os.symlink(outside, src / "d")
    with Running(out, src) as r:
        for stem in ("abs", "up", "link", "linkdir"):
            st, _, body = call(r.url(f"/api/pages/{stem}/1.png"))
            assert st == 404, stem
            assert b"no file" in body
        # the genuine record still renders
        st, h, body = call(r.url(f"/api/pages/{HUANGPU}/1.png"))
        assert st == 200 and body[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_source_whose_hash_differs_is_not_shown(station):
    p = station.src / f"{GUMEI}.pdf"
    p.write_bytes(p.read_bytes() + b"\n% changed after extraction\n")
    st, _, body = call(station.url(f"/api/pages/{GUMEI}/1.png"))
    assert st == 404 and b"sha256" in body


def test_a_moved_source_is_found_by_name_and_hash(station):
    (station.src / "2020" / "sub").mkdir(parents=True)
    os.replace(station.src / f"{GUMEI}.pdf", station.src / "2020" / "sub" / f"{GUMEI}.pdf")
    st, _, body = call(station.url(f"/api/pages/{GUMEI}/1.png"))
    assert st == 200 and body[:4] == b"\x89PNG"


def test_without_sources_there_are_no_pages_but_the_queue_works(tmp_path):
    out, _ = digital_batch(tmp_path)
    with Running(out, None) as r:
        assert call(r.url(f"/api/pages/{HUANGPU}/1.png"))[0] == 404
        assert call(r.url("/api/queue"))[0] == 200


def test_page_images_are_the_pages_size_in_points(ro):
    from PIL import Image
    import io

    st, h, body = call(ro.url(f"/api/pages/{NANJING}/3.png"))
    assert st == 200 and h["content-type"] == "image/png"
    img = Image.open(io.BytesIO(body))
    size = next(p for p in read(ro.out / f"{NANJING}.json")["source"]["page_sizes"] if p["page"] == 3)
    assert img.size == (round(size["width"] * 2), round(size["height"] * 2))
    # the crop of a flagged amount's box holds its printed digits (dark ink)
    q = json.loads(call(ro.url("/api/queue", record=NANJING))[2])
    it = next(x for x in q if x["path"] == "budget_items[0]")  # the row a failed sum puts in doubt
    st, _, crop = call(ro.url(f"/api/crops/{NANJING}/{it['entry']}.png"))
    c = Image.open(io.BytesIO(crop)).convert("L")
    assert st == 200 and c.getextrema()[0] < 80
    assert abs(c.size[0] - (it["bbox"][2] - it["bbox"][0] + 12) * 2) <= 3


# ------------------------------------------------------------------ queue


def test_queue_lists_every_entry_riskiest_first(ro):
    st, _, body = call(ro.url("/api/queue"))
    q = json.loads(body)
    assert st == 200
    n_entries = sum(len(read(p)["review"]) for p in ro.out.glob("*.json"))
    assert len(q) == n_entries == 3 + 6 + 3  # the sum check names 4 rows, the list and the total
    for it in q:
        assert {"record", "path", "reason", "value", "page", "bbox", "detail"} <= it.keys()
    from extract.review import RISK

    ranks = [RISK[it["reason"]] for it in q]
    assert ranks == sorted(ranks)
    assert q[0]["reason"] == "check_failed" and q[0]["value"] is not None
    assert q[-1]["reason"] == "unread_text" and q[-1]["path"] is None
    # amounts before other fields of the same reason
    lc = [it for it in q if it["reason"] == "disagreement"]
    assert lc[0]["path"] == "funding.total_budget"
    nan = next(it for it in q if it["path"] == "budget_total")
    assert nan["record"] == NANJING and nan["value"] == 21965000.0


def test_queue_filters(ro):
    def q(**kw):
        return json.loads(call(ro.url("/api/queue", **kw))[2])

    assert {it["reason"] for it in q(reason="check_failed")} == {"check_failed"}
    assert {it["record"] for it in q(record=NANJING)} == {NANJING}
    assert [it["path"] for it in q(field="budget_items[]")] == [f"budget_items[{i}]" for i in range(4)]
    assert {it["path"] for it in q(field="funding")} == {"funding.fiscal_appropriation", "funding.other_funds",
                                                         "funding.current_year_budget", "funding.total_budget"}
    assert all(it["path"] != "project.name" for it in q(kind="amount"))
    assert q(reason="check_failed", record=GUMEI) == []
    assert call(ro.url("/api/queue", reason="bogus"))[0] == 400
    assert call(ro.url("/api/queue", record="nope"))[0] == 404


# ------------------------------------------------------------------ actions and the contract


def test_a_correction_is_saved_beside_the_record(station):
    extracted = station.out / f"{NANJING}.json"
    before = digest(extracted)
    st, res = post(station, NANJING, {"path": "budget_items[1].amount", "value": "549", "action": "correct"})
    assert st == 200, res
    assert res["value"] == 5490000.0  # a bare number in a 万元 form is in 万元, as printed
    assert digest(extracted) == before  # the extracted record is never changed
    rev = read(station.out / "reviewed" / f"{NANJING}.json")
    assert rev["budget_items"][1]["amount"] == 5490000.0
    assert all(e["status"] in ("open", "accepted", "corrected", "postponed") for e in rev["review"])
    # the rest of the record is the extracted one
    orig = read(extracted)
    for key in ("project", "indicators", "safeguards", "provenance", "source"):
        assert rev[key] == orig[key]
    # 1575 + 549 + 54 + 18.5 = 2196.5 万元: the items now add up, so every entry of that check is answered
    checks = {c["id"]: c["passed"] for c in rev["checks"]}
    assert checks["items_sum_to_total"] is True
    assert {e["status"] for e in rev["review"] if e.get("check") == "items_sum_to_total"} == {"corrected"}
    # but 单价 1200 × 数量 4500 no longer gives the row's amount: that check now fails, its fields are open
    assert checks["price_times_quantity[1]"] is False
    new = [e for e in rev["review"] if e.get("check") == "price_times_quantity[1]"]
    assert sorted(e["path"] for e in new) == ["budget_items[1].amount", "budget_items[1].quantity",
                                              "budget_items[1].unit_price"]
    assert {e["status"] for e in new} == {"open"}
    assert rev["verification"]["status"] == "in_review" and rev["verification"]["reviewer"] == "测试员"
    from datetime import datetime

    datetime.fromisoformat(rev["verification"]["updated"])
    from extract.record import validate

    validate(rev)
    (line,) = audit(station.out)
    assert line["reviewer"] == "测试员" and line["record"] == NANJING
    assert line["path"] == "budget_items[1].amount" and line["action"] == "correct"
    assert line["old"] == 5400000.0 and line["new"] == 5490000.0
    datetime.fromisoformat(line["time"])
    # the API answers with the record as corrected
    got = json.loads(call(station.url(f"/api/records/{NANJING}"))[2])
    assert got == rev
    # say the unit price was printed 0.122 (万元, as the form prints it): every check passes
    st, res = post(station, NANJING, {"path": "budget_items[1].unit_price", "value": "0.122", "action": "correct"})
    assert st == 200 and res["value"] == 1220.0
    assert res["open"] == 0 and res["verification"]["status"] == "verified"
    assert len(audit(station.out)) == 2


NORMALIZED = [  # (record, field, what a person types, what the record stores)
    (GUMEI, "funding.total_budget", "38.42万元", 384200.0),
    (GUMEI, "funding.total_budget", "384,200.00", 384200.0),
    (GUMEI, "funding.total_budget", "叁拾捌万肆仟贰佰元整", 384200.0),
    (GUMEI, "funding.total_budget", 384200, 384200.0),
    (NANJING, "funding.total_budget", "2196.5", 21965000.0),  # a bare number in a 万元 form is in 万元
    (NANJING, "funding.total_budget", "21965000元", 21965000.0),
    (NANJING, "funding.total_budget", 21965000, 21965000.0),  # a JSON number is already in 元
    (GUMEI, "project.start_date", "2020年1月1日", "2020-01-01"),
    (GUMEI, "project.end_date", "2020", "2020-12-31"),
    (GUMEI, "project.phone", "5414 5530", "54145530"),
    (GUMEI, "project.category", "经常性", "经常性项目"),
    (GUMEI, "project.manager", "  朱 怡 ", "朱怡"),
    (GUMEI, "budget_items[0].quantity", "３０", 30.0),
    (GUMEI, "safeguards[0].stages.completion", "否", False),
    (GUMEI, "form.year", "（2021年）", 2021),
    (GUMEI, "project.other_issues", "", None),
]


def test_a_corrected_value_is_normalized_as_extraction_would(station):
    from pipelines.review.fields import get

    for stem, path, typed, stored in NORMALIZED:
        st, res = post(station, stem, {"path": path, "value": typed, "action": "correct"})
        assert st == 200, (path, typed, res)
        assert res["value"] == stored, (path, typed)
        assert get(read(station.out / "reviewed" / f"{stem}.json"), path) == stored, (path, typed)
    assert len(audit(station.out)) == len(NORMALIZED)


REFUSED = [
    {"path": "funding.total_budget", "value": "12,000,00", "action": "correct"},
    {"path": "funding.total_budget", "value": "abc", "action": "correct"},
    {"path": "project.start_date", "value": "2020年13月1日", "action": "correct"},
    {"path": "project.category", "value": "其他", "action": "correct"},
    {"path": "funding.bogus", "value": "1", "action": "correct"},
    {"path": "indicators", "value": "x", "action": "correct"},
    {"path": "form.variant", "value": "x", "action": "correct"},
    {"path": "funding.total_budget", "value": "1", "action": "delete"},
    {"path": "funding.total_budget", "value": {"a": 1}, "action": "correct"},
    {"path": 3, "action": "accept"},
    {"path": "funding.total_budget", "action": "accept"},  # nothing flags it: nothing to accept
    {"entry": 99, "action": "accept"},
    {"entry": True, "action": "accept"},
    {"action": "accept"},
    [1, 2],
]


def test_bad_actions_are_refused_and_nothing_is_written(station):
    for body in REFUSED:
        st, res = post(station, GUMEI, body)
        assert st == 400 and "error" in res, body
    assert not (station.out / "reviewed" / f"{GUMEI}.json").exists()
    assert audit(station.out) == []


def test_state_changes_are_post_only_json_only_same_origin(station):
    u = station.url(f"/api/records/{HUANGPU}/fields")
    body = {"path": "funding.other_funds", "action": "accept"}
    assert call(u)[0] == 405
    assert call(u, "PUT", body)[0] == 405
    assert call(u, "DELETE")[0] == 405
    assert call(u, "POST", body, {"Origin": "http://evil.example"})[0] == 403
    assert call(u, "POST", body, {"Origin": "null"})[0] == 403
    assert call(u, "POST", body, {"Sec-Fetch-Site": "cross-site"})[0] == 403
    assert call(u, "POST", raw=b"path=funding.other_funds&action=accept",
                headers={"Content-Type": "application/x-www-form-urlencoded"})[0] == 415
    assert call(u, "POST", raw=b"{not json")[0] == 400
    assert call(station.base.replace("127.0.0.1", "localhost") + f"/api/records/{HUANGPU}?token={station.token}",
                headers={"Host": "evil.example:80"})[0] == 403
    assert audit(station.out) == []
    st, _, _ = call(u, "POST", body, {"Origin": station.base})
    assert st == 200
    assert len(audit(station.out)) == 1


def test_security_headers(ro):
    st, h, _ = call(ro.url("/"))
    assert "script-src 'self'" in h["content-security-policy"]
    assert h["x-content-type-options"] == "nosniff" and h["x-frame-options"] == "DENY"
    assert h["referrer-policy"] == "no-referrer"


def test_document_text_is_escaped_in_every_page(ro):
    q = json.loads(call(ro.url("/api/queue", record="evil"))[2])
    pages = [ro.url("/field", rec="evil", i=it["entry"]) for it in q]
    pages += [ro.url("/"), ro.url("/record/evil"), ro.url("/group", record="evil")]
    for u in pages:
        st, _, body = call(u)
        html = body.decode()
        assert st == 200
        assert "<script>window" not in html and "<img src=x" not in html and "<b>张敏" not in html
    html = call(ro.url("/record/evil"))[2].decode()
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;项目" in html
    assert json.loads(call(ro.url("/api/records/evil"))[2])["project"]["name"] == EVIL_NAME


def test_a_check_that_still_fails_keeps_its_entries_open(station):
    # 21,680,000 + 2,500,000 ≠ 24,380,000; correcting 其他资金 to another wrong value
    st, res = post(station, HUANGPU, {"path": "funding.other_funds", "value": "2600000", "action": "correct"})
    assert st == 200
    assert res["reopened"] and res["open"] == 3
    rev = read(station.out / "reviewed" / f"{HUANGPU}.json")
    assert [e["status"] for e in rev["review"]] == ["open", "open", "open"]
    assert "24,280,000.00 ≠ 24,380,000.00" in rev["review"][1]["detail"]  # the check's new numbers
    assert rev["verification"]["status"] == "in_review"
    assert rev["funding"]["other_funds"] == 2600000.0
    # a person confirms 当年预算 as printed: accepted, the others stay open
    st, res = post(station, HUANGPU, {"path": "funding.current_year_budget", "action": "accept"})
    assert st == 200 and res["open"] == 2
    # the right value: the check passes and answers what was still open
    st, res = post(station, HUANGPU, {"path": "funding.fiscal_appropriation", "value": "2178万", "action": "correct"})
    assert st == 200 and res["open"] == 0 and res["value"] == 21780000.0
    rev = read(station.out / "reviewed" / f"{HUANGPU}.json")
    assert [e["status"] for e in rev["review"]] == ["corrected", "corrected", "accepted"]
    assert rev["verification"]["status"] == "verified"
    assert [x["action"] for x in audit(station.out)] == ["correct", "accept", "correct"]


def test_a_correction_that_breaks_a_check_opens_new_entries(station):
    st, res = post(station, GUMEI, {"path": "funding.other_funds", "value": "100", "action": "correct"})
    assert st == 200
    added = {a["path"] for a in res["added"]}
    assert added == {"funding.fiscal_appropriation", "funding.other_funds", "funding.current_year_budget"}
    rev = read(station.out / "reviewed" / f"{GUMEI}.json")
    new = [e for e in rev["review"] if e["reason"] == "check_failed"]
    assert {e["status"] for e in new} == {"open"} and all(e["check"] == "current_year_parts" for e in new)
    assert rev["verification"]["status"] == "in_review"
    # and it shows in the queue
    q = json.loads(call(station.url("/api/queue", record=GUMEI))[2])
    assert {it["path"] for it in q} == added


def test_entries_that_name_no_field_are_answered_by_number(station):
    q = json.loads(call(station.url("/api/queue", record="evil"))[2])
    unread = next(it for it in q if it["reason"] == "unread_text")
    st, res = post(station, "evil", {"entry": unread["entry"], "path": None, "action": "postpone"})
    assert st == 200 and res["entries"][0]["status"] == "postponed"
    q2 = json.loads(call(station.url("/api/queue", record="evil"))[2])
    assert q2[-1]["entry"] == unread["entry"] and q2[-1]["status"] == "postponed"  # postponed go last
    for it in q2:
        body = {"entry": it["entry"], "action": "accept"} if it["path"] is None else \
            {"path": it["path"], "action": "accept"}
        assert post(station, "evil", body)[0] == 200
    rev = read(station.out / "reviewed" / "evil.json")
    assert rev["verification"]["status"] == "verified"
    assert json.loads(call(station.url("/api/queue", record="evil"))[2]) == []
    done = json.loads(call(station.url("/api/queue", record="evil", status="all"))[2])
    assert {it["status"] for it in done} == {"accepted"}


def test_unflagged_fields_can_be_corrected(station):
    st, res = post(station, GUMEI, {"path": "project.contact", "value": "王 芳", "action": "correct"})
    assert st == 200 and res["value"] == "王芳" and res["entries"] == []
    rev = read(station.out / "reviewed" / f"{GUMEI}.json")
    assert rev["project"]["contact"] == "王芳" and rev["verification"]["status"] == "verified"
    assert audit(station.out)[0]["old"] == read(station.out / f"{GUMEI}.json")["project"]["contact"]


def test_concurrent_corrections_of_one_record_lose_nothing(station):
    paths = [f"indicators[{i}].target" for i in range(len(read(station.out / f"{GUMEI}.json")["indicators"]))]
    paths += ["project.manager", "project.contact", "project.phone", "project.nature"]
    assert len(paths) >= 8
    results = []

    def worker(p, n):
        results.append(post(station, GUMEI, {"path": p, "value": f"{n}个" if "phone" not in p else f"0215414{n:04d}",
                                            "action": "correct"}))

    threads = [threading.Thread(target=worker, args=(p, n)) for n, p in enumerate(paths)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [st for st, _ in results] == [200] * len(paths)
    from pipelines.review.fields import get

    rev = read(station.out / "reviewed" / f"{GUMEI}.json")
    for n, p in enumerate(paths):
        assert get(rev, p) == (f"{n}个" if "phone" not in p else f"0215414{n:04d}"), p
    lines = audit(station.out)
    assert sorted(x["path"] for x in lines) == sorted(paths)


def test_a_reviewed_record_is_picked_up_after_a_restart(tmp_path):
    out, src = digital_batch(tmp_path)
    with Running(out, src) as r:
        assert post(r, HUANGPU, {"path": "funding.other_funds", "action": "postpone"})[0] == 200
    with Running(out, src) as r:
        q = json.loads(call(r.url("/api/queue", record=HUANGPU))[2])
        assert [it["status"] for it in q] == ["open", "open", "postponed"]
        assert json.loads(call(r.url("/api/records"))[2])


def test_to_golden_writes_only_verified_records_with_golden_fields(station, tmp_path):
    from pipelines.review.golden import to_golden

    for path in ("funding.fiscal_appropriation", "funding.other_funds", "funding.current_year_budget"):
        assert post(station, HUANGPU, {"path": path, "action": "accept"})[0] == 200
    assert post(station, NANJING, {"path": "budget_total", "action": "accept"})[0] == 200  # still in review
    gold = tmp_path / "golden"
    written, skipped = to_golden(station.out, gold)
    assert [p.name for p in written] == [f"{HUANGPU}.json"]
    assert any(NANJING in s and "in_review" in s for s in skipped)
    g = read(gold / f"{HUANGPU}.json")
    assert list(g) == ["schema_version", "form", "project", "funding", "composition", "indicators",
                       "budget_items", "budget_total", "safeguards", "extra"]
    # the golden comparison reads it like any golden record: the record equals it
    from extract.compare import compare_dirs

    rep = compare_dirs(station.out, gold)
    assert rep.field_accuracy == 1.0 and len(rep.records) == 1
    # an existing golden file is kept unless --force
    (gold / f"{HUANGPU}.json").write_text("{}", encoding="utf-8")
    written, skipped = to_golden(station.out, gold)
    assert written == [] and read(gold / f"{HUANGPU}.json") == {}
    written, _ = to_golden(station.out, gold, force=True)
    assert read(written[0]) == g


def test_compare_reviewed_counts_a_persons_corrections(station, tmp_path):
    from extract.compare import compare_dirs
    from pipelines.review.golden import compare_reviewed

    gold = tmp_path / "g"
    gold.mkdir()
    g = read(station.out / f"{GUMEI}.json")
    g = {k: v for k, v in g.items() if k not in ("source", "provenance", "checks", "warnings", "review")}
    g["project"]["contact"] = "王芳"  # what the paper says, say; the record has null, unflagged
    write(gold, GUMEI, g)
    before = compare_dirs(station.out, gold)
    assert before.silent == 1
    assert post(station, GUMEI, {"path": "project.contact", "value": "王芳", "action": "correct"})[0] == 200
    after = compare_reviewed(station.out, gold)
    assert after.field_accuracy == 1.0 and after.silent == 0
    assert compare_dirs(station.out, gold).silent == 1  # the extracted record is unchanged


def test_cli_to_golden_and_compare_reviewed(station, tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    for path in ("funding.fiscal_appropriation", "funding.other_funds", "funding.current_year_budget"):
        assert post(station, HUANGPU, {"path": path, "action": "accept"})[0] == 200
    gold = tmp_path / "gold"
    res = CliRunner().invoke(app, ["review", str(station.out), "--to-golden", str(gold)])
    assert res.exit_code == 0, res.output
    assert "1 verified record(s) written" in res.output
    res = CliRunner().invoke(app, ["compare", str(station.out), str(gold), "--reviewed"])
    assert res.exit_code == 0 and "field accuracy: 1.0000" in res.output


# ------------------------------------------------------------------ the command


def _start(args, tmp_path):
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(root))
    return subprocess.Popen([sys.executable, "-m", "pipelines.cli", "review", *args], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_the_command_prints_its_link_and_serves_until_stopped(tmp_path):
    import signal

    out, src = digital_batch(tmp_path)
    p = _start([str(out), "--sources", str(src), "--port", "0", "--reviewer", "张三"], tmp_path)
    try:
        lines = [p.stdout.readline() for _ in range(2)]
        url = lines[1].strip().removeprefix("review at ")
        assert lines[1].startswith("review at http://127.0.0.1:") and "?token=" in url
        assert "12 fields to review; reviewer 张三" in lines[0]
        st, _, body = call(url)
        assert st == 200 and "申报 review" in body.decode()
        assert call(url.split("?")[0])[0] == 401
    finally:
        p.send_signal(signal.SIGINT)
        p.wait(timeout=20)
    assert p.returncode in (0, 130)


def test_a_busy_port_is_a_usage_error(tmp_path):
    import socket

    out, src = digital_batch(tmp_path)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    try:
        p = _start([str(out), "--port", str(s.getsockname()[1])], tmp_path)
        _, err = p.communicate(timeout=60)
    finally:
        s.close()
    assert p.returncode == 2 and "E_USAGE" in err and "--port" in err


def test_not_a_directory_is_a_usage_error(tmp_path):
    p = _start([str(tmp_path / "missing")], tmp_path)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 2 and "E_USAGE" in err


def test_listening_beyond_this_machine_warns(tmp_path, monkeypatch):
    from pipelines.review import server

    assert server._loopback("127.0.0.1") and server._loopback("localhost") and server._loopback("::1")
    assert not server._loopback("0.0.0.0") and not server._loopback("192.168.1.5")
    out, src = digital_batch(tmp_path)
    said: list[str] = []
    monkeypatch.setattr(server, "_loopback", lambda host: False)
    monkeypatch.setattr(server, "_server", lambda station: type("S", (), {"run": lambda self, sockets: None})())
    server.serve(out, src, host="127.0.0.1", port=0, echo=said.append, err=said.append)
    assert any(s.startswith("warning: the station listens on 127.0.0.1, not only on this machine") for s in said)
