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
    assert 'y: golden "甲" | got "乙"' in r.output
    r = CliRunner().invoke(app, ["compare", str(o), str(g), "--min-accuracy", "0.9"])
    assert r.exit_code == 1
    r = CliRunner().invoke(app, ["compare", str(o), str(g), "--json"])
    assert json.loads(r.stdout)["diffs"]["a"] == [{"field": "y", "golden": "甲", "got": "乙"}]
