"""The review station in a real browser: Debian's headless Chromium, driven
by chromium-driver through selenium, against the real server. A person opens
the queue and clears it with the keyboard alone: corrects a flagged amount,
accepts another, postpones one and comes back to it; the saved record and
the audit say so; markup in document text never runs."""

from __future__ import annotations


import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from pipelines.review.server import Running
from tests._review import EVIL_NAME, EVIL_READ, audit, chrome, copy_sources, evil_record, extracted, read, write

SCAN = "sh-huangpu-2025-heritage-buildings"


@pytest.fixture(scope="module")
def browser():
    with chrome() as d:
        yield d


@pytest.fixture
def batch(tmp_path):
    """OUTDIR: the real OCR record of a scanned sample (its funding check
    fails) and the hand-made record with markup; INDIR: their sources."""
    out, src = tmp_path / "out", tmp_path / "in"
    scan = extracted("scanned", f"{SCAN}.tif")[0]
    # the scenario is the scan's failed funding check; its other entries (which
    # change as the image path improves) are not part of it
    scan["review"] = [e for e in scan["review"] if e["reason"] == "check_failed"]
    write(out, SCAN, scan)
    write(out, "evil", evil_record())
    copy_sources(src, ("scanned", f"{SCAN}.tif"), ("digital", "sh2020-union-gumei.pdf"))
    with Running(out, src, reviewer="审核员") as r:
        r.out = out
        yield r


def keys(d, *ks):
    ActionChains(d).send_keys(*ks).perform()


def field_path(d) -> str:
    return d.find_element(By.ID, "field-path").text


def wait_field(d, path: str, old_url: str | None = None):
    WebDriverWait(d, 15).until(lambda d: d.current_url != old_url and d.find_elements(By.ID, "field-path")
                               and field_path(d) == path)


def not_pwned(d):
    assert d.execute_script("return window.__pwned === undefined")
    assert d.find_elements(By.CSS_SELECTOR, "img[src='x']") == []


def step(d, *ks):
    """Press keys on a field view and wait for the next page."""
    url = d.current_url
    keys(d, *ks)
    WebDriverWait(d, 15).until(lambda d: d.current_url != url and d.execute_script(
        "return document.readyState") == "complete")


def test_clear_the_queue_with_the_keyboard(browser, batch):
    d = browser
    d.get(batch.url("/"))
    WebDriverWait(d, 15).until(lambda d: d.find_elements(By.ID, "start"))
    assert "4 fields" not in d.find_element(By.ID, "start").text  # 3 checks + 3 entries of the hand-made record
    url = d.current_url
    keys(d, Keys.ENTER)
    # riskiest first: the failed funding check of the scan, amounts first
    wait_field(d, "funding.fiscal_appropriation", url)
    WebDriverWait(d, 15).until(lambda d: d.execute_script(
        "var i = document.getElementById('zoom-img'); return i.complete && i.naturalWidth > 0"))
    box = d.find_element(By.CSS_SELECTOR, "#zoom .box")
    assert box.is_displayed() and box.size["width"] > 50
    value = d.find_element(By.ID, "value")
    assert value.get_attribute("value") == "21680000" and d.switch_to.active_element == value
    assert "check_failed" in d.page_source
    # type the amount as printed elsewhere on the form, with its unit: Enter saves it
    step(d, "2188万元", Keys.ENTER)
    # 21,880,000 + 2,500,000 = 当年预算: the check passes, its other entries are answered too
    assert field_path(d) == "funding.total_budget"
    reads = [e.text for e in d.find_elements(By.CSS_SELECTOR, "td.read")]
    assert EVIL_READ in reads  # a read holding markup is shown as text
    not_pwned(d)
    step(d, Keys.ENTER)  # accept the value as shown
    assert field_path(d) == "project.name"
    assert d.find_element(By.ID, "value").get_attribute("value") == EVIL_NAME
    not_pwned(d)
    step(d, Keys.ESCAPE)  # postpone
    assert field_path(d) == "(no field)"
    assert "填表人：<b>张敏</b>" in d.find_element(By.CSS_SELECTOR, "li.current .detail").text
    step(d, Keys.TAB)  # skip: the postponed one comes round again
    assert field_path(d) == "project.name"
    step(d, Keys.ENTER)
    assert field_path(d) == "(no field)"
    step(d, Keys.ENTER)
    WebDriverWait(d, 15).until(lambda d: d.find_elements(By.ID, "cleared"))
    assert "2 of 2 records verified" in d.find_element(By.ID, "cleared").text
    not_pwned(d)
    assert not [x for x in d.get_log("browser") if "Content Security Policy" in x["message"]]

    scan = read(batch.out / "reviewed" / f"{SCAN}.json")
    assert scan["funding"]["fiscal_appropriation"] == 21880000.0
    assert [e["status"] for e in scan["review"]] == ["corrected"] * 3
    assert next(c for c in scan["checks"] if c["id"] == "current_year_parts")["passed"]
    assert scan["verification"]["status"] == "verified" and scan["verification"]["reviewer"] == "审核员"
    evil = read(batch.out / "reviewed" / "evil.json")
    assert [e["status"] for e in evil["review"]] == ["accepted"] * 3
    assert evil["project"]["name"] == EVIL_NAME and evil["verification"]["status"] == "verified"
    lines = audit(batch.out)
    assert [(x["record"], x["path"], x["action"]) for x in lines] == [
        (SCAN, "funding.fiscal_appropriation", "correct"), ("evil", "funding.total_budget", "accept"),
        ("evil", "project.name", "postpone"), ("evil", "project.name", "accept"), ("evil", None, "accept")]
    assert lines[0]["old"] == 21680000.0 and lines[0]["new"] == 21880000.0 and lines[0]["typed"] == "2188万元"
    assert {x["reviewer"] for x in lines} == {"审核员"}


def test_group_view_confirms_a_batch_of_amounts(browser, batch):
    d = browser
    d.get(batch.url("/group", kind="amount"))
    WebDriverWait(d, 15).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".tile"))
    tiles = d.find_elements(By.CSS_SELECTOR, ".tile")
    assert len(tiles) == 4  # three funding amounts of the scan, the disagreement of the hand-made record
    WebDriverWait(d, 15).until(lambda d: d.execute_script(
        "return Array.prototype.every.call(document.querySelectorAll('.tile img'), function (i) {"
        " return i.complete && i.naturalWidth > 0; })"))
    first = tiles[0].find_element(By.CSS_SELECTOR, ".tile-value")
    assert d.switch_to.active_element == first
    keys(d, Keys.ENTER)  # accept the first as shown
    WebDriverWait(d, 15).until(lambda d: "done" in tiles[0].get_attribute("class"))
    assert d.switch_to.active_element == tiles[1].find_element(By.CSS_SELECTOR, ".tile-value")
    ActionChains(d).key_down(Keys.CONTROL).send_keys(Keys.ENTER).key_up(Keys.CONTROL).perform()
    WebDriverWait(d, 5).until(EC.alert_is_present())  # accept every tile left unchanged? yes

    d.switch_to.alert.accept()
    ActionChains(d).key_up(Keys.CONTROL).perform()  # (the dialog may have swallowed the key's release)
    WebDriverWait(d, 15).until(lambda d: all("done" in t.get_attribute("class") for t in tiles))
    not_pwned(d)
    scan = read(batch.out / "reviewed" / f"{SCAN}.json")
    assert [e["status"] for e in scan["review"]] == ["accepted"] * 3
    assert len(audit(batch.out)) == 4


def test_record_view_corrects_a_field_nobody_flagged(browser, batch):
    d = browser
    d.get(batch.url("/record/evil"))
    WebDriverWait(d, 15).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".record-view .page .box"))
    boxes = d.find_elements(By.CSS_SELECTOR, ".record-view .page .box")
    assert len(boxes) > 50  # every field with provenance has its box
    inp = d.find_element(By.CSS_SELECTOR, "input.record-value[data-path='project.contact']")
    inp.click()
    assert d.find_elements(By.CSS_SELECTOR, ".box.hl")  # its box lights up
    inp.clear()
    inp.send_keys("王 芳", Keys.ENTER)
    msg = inp.find_element(By.XPATH, "..").find_element(By.CSS_SELECTOR, ".row-msg")
    WebDriverWait(d, 15).until(lambda d: msg.text.startswith("saved"))
    assert msg.text == "saved → 王芳", msg.text
    not_pwned(d)
    rec = read(batch.out / "reviewed" / "evil.json")
    assert rec["project"]["contact"] == "王芳"
    assert audit(batch.out)[-1]["path"] == "project.contact"


@pytest.mark.slow
def test_the_bundled_scans_queue_is_cleared_with_the_keyboard_alone(browser, tmp_path):
    """Every bundled scanned sample through the real pipeline, then the whole
    queue cleared by a person pressing keys only (minutes: run with -m slow)."""
    from pipelines.review.golden import to_golden
    from tests._review import SAMPLES

    out = tmp_path / "out"
    scans = sorted(p.name for p in (SAMPLES / "scanned").iterdir())
    for name in scans:
        recs = extracted("scanned", name)
        for n, rec in enumerate(recs, start=1):
            write(out, f"{name.rsplit('.', 1)[0]}-{n}" if len(recs) > 1 else name.rsplit(".", 1)[0], rec)
    entries = sum(len(read(p)["review"]) for p in out.glob("*.json"))
    assert entries > 20
    with Running(out, SAMPLES / "scanned", reviewer="审核员") as r:
        d = browser
        d.get(r.url("/"))
        WebDriverWait(d, 15).until(lambda d: d.find_elements(By.ID, "start"))
        keys(d, Keys.ENTER)
        presses = 0
        while True:
            WebDriverWait(d, 30).until(lambda d: d.find_elements(By.ID, "field-path") or d.find_elements(By.ID, "cleared"))
            if d.find_elements(By.ID, "cleared"):
                break
            if d.find_elements(By.ID, "zoom-img"):  # the page, rendered from the scan, is shown
                WebDriverWait(d, 30).until(lambda d: d.execute_script(
                    "var i = document.getElementById('zoom-img'); return i.complete && i.naturalWidth > 0"))
            not_pwned(d)
            step(d, Keys.ENTER)
            presses += 1
            assert presses <= entries
    records = list(out.glob("*.json"))
    for p in records:
        rev = read(out / "reviewed" / p.name) if (out / "reviewed" / p.name).exists() else None
        assert rev is None and not read(p)["review"] or rev["verification"]["status"] == "verified", p.name
    assert len(audit(out)) == presses
    written, skipped = to_golden(out, tmp_path / "golden")
    assert len(written) == len([p for p in records if read(p)["review"]]) and not [
        s for s in skipped if "not verified" in s and "not reviewed" not in s]


def test_a_correction_a_check_still_rejects_stays_on_screen(browser, batch):
    d = browser
    d.get(batch.url("/field", rec=SCAN, i=0))
    WebDriverWait(d, 15).until(lambda d: d.find_elements(By.ID, "field-path"))
    assert field_path(d) == "funding.fiscal_appropriation"
    step(d, "2170万", Keys.ENTER)  # 21,700,000 + 2,500,000 ≠ 24,380,000
    assert field_path(d) == "funding.fiscal_appropriation" and d.find_elements(By.ID, "still-open")
    assert d.find_element(By.ID, "value").get_attribute("value") == "21700000"
    assert "24,200,000.00 ≠ 24,380,000.00" in d.find_element(By.CSS_SELECTOR, "li.current .detail").text
    step(d, Keys.ENTER)  # accepted as corrected, on to the next
    assert field_path(d) == "funding.other_funds"
    rev = read(batch.out / "reviewed" / f"{SCAN}.json")
    assert [e["status"] for e in rev["review"]] == ["accepted", "open", "open"]
    assert [x["action"] for x in audit(batch.out)] == ["correct", "accept"]
