"""The golden comparison rule of record-spec.md."""

import json

from typer.testing import CliRunner

from extract.compare import compare_dirs, compare_records, equal
from pipelines.cli import app


def test_equality_rule():
    assert equal("（工会）维护职工权益", "(工会) 维护职工权益")  # NFKC + white space
    assert equal(384200, 384200.004)
    assert not equal(384200, 384200.01)
    assert equal(None, None) and not equal(None, "")
    assert equal("完成A\n完成B", "完成A 完成B")
    assert not equal(True, False)


def test_leaf_accuracy_lists_and_cer():
    golden = {"project": {"name": "甲", "overview": "一二三四"},
              "indicators": [{"target": "4个"}, {"target": "100%"}], "extra": {}}
    got = {"project": {"name": "甲", "overview": "一二三X"},
           "indicators": [{"target": "4个"}], "extra": {}}
    d = compare_records(golden, got)
    assert d.fields == 5  # name, overview, 2 targets, empty extra
    assert d.equal == 3
    assert {p for p, _, _ in d.diffs} == {"project.overview", "indicators[1].target"}
    assert (d.text_errors, d.text_chars) == (1, 4)


def test_missing_output_counts_every_field_wrong(tmp_path):
    (tmp_path / "g").mkdir()
    (tmp_path / "o").mkdir()
    (tmp_path / "g" / "a.json").write_text(json.dumps({"project": {"name": "甲"}}), encoding="utf-8")
    rep = compare_dirs(tmp_path / "o", tmp_path / "g")
    assert rep.field_accuracy == 0.0 and rep.records[0].missing


def test_cli_compare_reports_and_thresholds(tmp_path):
    g, o = tmp_path / "g", tmp_path / "o"
    g.mkdir()
    o.mkdir()
    (g / "a.json").write_text(json.dumps({"x": 1, "y": "甲"}), encoding="utf-8")
    (o / "a.json").write_text(json.dumps({"x": 1, "y": "乙"}), encoding="utf-8")
    r = CliRunner().invoke(app, ["compare", str(o), str(g)])
    assert r.exit_code == 0
    assert "field accuracy: 0.5000" in r.output
    assert 'SILENT  y: golden "甲" | got "乙"' in r.output
    assert "right / flagged / silent: 1 / 0 / 1" in r.output
    r = CliRunner().invoke(app, ["compare", str(o), str(g), "--min-accuracy", "0.9"])
    assert r.exit_code == 1
    r = CliRunner().invoke(app, ["compare", str(o), str(g), "--json"])
    assert json.loads(r.stdout)["diffs"]["a"] == [{"field": "y", "golden": "甲", "got": "乙", "silent": True}]
    r = CliRunner().invoke(app, ["compare", str(o), str(g), "--max-silent", "0"])
    assert r.exit_code == 1 and "1 silent fields" in r.output
    r = CliRunner().invoke(app, ["compare", str(o), str(g), "--max-silent", "1"])
    assert r.exit_code == 0


def test_right_flagged_silent():
    golden = {"funding": {"total_budget": 846000, "other_funds": 0},
              "project": {"name": "甲", "phone": "123"},
              "indicators": [{"target": "4个", "note": "a"}, {"target": "100%", "note": None}],
              "budget_items": [{"amount": 10}, {"amount": 20}, {"amount": 30}]}
    got = {"funding": {"total_budget": 346000, "other_funds": 1},
           "project": {"name": "乙", "phone": "123"},
           "indicators": [{"target": "X", "note": "b"}, {"target": "100%", "note": None}],
           "budget_items": [{"amount": 10}],
           "review": [
               {"path": "funding.total_budget", "reason": "disagreement", "page": 1, "bbox": None,
                "detail": "two reads: 846000 / 346000"},
               {"path": "indicators[0]", "reason": "low_confidence", "page": 2, "bbox": None, "detail": ""},
               {"path": "budget_items", "reason": "not_found", "page": None, "bbox": None, "detail": ""},
               {"path": "project.phone", "reason": "low_confidence", "page": 1, "bbox": None, "detail": ""},
           ]}
    d = compare_records(golden, got)
    assert d.fields == 11 and d.equal == 4
    # total_budget (named), indicators[0].* (its row), budget_items[1..2] (missing rows): flagged
    assert sorted(d.silent) == ["funding.other_funds", "project.name"]
    assert d.flagged == 5 and d.silent_amounts == 1 and d.amount_fields == 5
    assert d.flags_on_right == 1  # project.phone is right but flagged
    # a list entry does not cover a row that is present and wrong
    got["budget_items"] = [{"amount": 10}, {"amount": 21}, {"amount": 30}]
    assert "budget_items[1].amount" in compare_records(golden, got).silent


def test_template_mismatch_flags_every_field():
    golden = {"project": {"name": "甲"}, "funding": {"total_budget": 1}}
    got = {"project": {"name": "乙"}, "funding": {"total_budget": 2},
           "review": [{"path": None, "reason": "template_mismatch", "page": None, "bbox": None, "detail": ""}]}
    assert compare_records(golden, got).silent == []


def test_records_found_by_their_source_and_only_present(tmp_path):
    """batch names records after the input's path (digital__x.json); compare finds them by source."""
    g, o = tmp_path / "g", tmp_path / "o"
    g.mkdir()
    o.mkdir()
    for name in ("x", "y", "z-1", "z-2"):
        (g / f"{name}.json").write_text(json.dumps({"v": name}), encoding="utf-8")
    (o / "digital__x.json").write_text(json.dumps({"v": "x", "source": {"file": "sub/x.pdf", "declaration": 1,
                                                                         "declarations_in_file": 1}}))
    (o / "digital__z-2.json").write_text(json.dumps({"v": "z-2", "source": {"file": "z.pdf", "declaration": 2,
                                                                             "declarations_in_file": 2}}))
    (o / "broken.json").write_text('{"v": ')
    rep = compare_dirs(o, g)
    assert [r.name for r in rep.records if not r.missing] == ["x", "z-2"]
    assert rep.field_accuracy == 0.5
    rep = compare_dirs(o, g, only_present=True)
    assert len(rep.records) == 2 and rep.field_accuracy == 1.0
