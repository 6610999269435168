"""Templates are data, loaded into typed models: a mistake in one is a coded
error naming the file and the key; a new variant is one YAML file; checks are
data too. `shenbao templates check` and `shenbao explain` on real files."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from extract import errors
from extract.checks import run_checks
from extract.template import TEMPLATE_DIR, load_dir, load_templates

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = """\
id: test-form
extends: common
title: 财政项目支出绩效目标申报表
detect: [项目名称]
fields:
  - key: project.name
    labels: [项目名称]
"""


def write(d: Path, name: str, text: str) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    p = d / name
    p.write_text(text, encoding="utf-8")
    return p


def test_shipped_templates_load_and_share_the_common_part():
    ts = load_templates()
    assert {t.id for t in ts} >= {"sh-district-2020", "sh-district-2026", "ministry-county"}
    for t in ts:
        assert t.titles and t.boilerplate and t.checks  # from _common.yaml
        assert t.path.parent == TEMPLATE_DIR


@pytest.mark.parametrize("bad, where", [
    ("  - key: project.name\n    labels: [项目名称]\n    tpye: text\n", "fields[1].tpye: unknown key"),
    ("  - key: project.phone\n    labels: 联系电话\n", "fields[1].labels: must be a list"),
    ("  - key: project.phone\n    labels: [联系电话]\n    optional: yes-please\n", "fields[1].optional: must be true or false"),
    ("  - key: project.phone\n    labels: [联系电话]\n    type: telephone\n", "'telephone' is not one of"),
])
def test_a_mistake_is_named_with_file_and_key(tmp_path, bad, where):
    p = write(tmp_path, "bad.yaml", MINIMAL + bad)
    with pytest.raises(errors.TemplateError) as ei:
        load_dir(tmp_path)
    assert ei.value.code == "E_TEMPLATE"
    assert str(p) in ei.value.message and where in ei.value.message


def test_unknown_top_level_key_and_missing_shared_part(tmp_path):
    write(tmp_path / "a", "x.yaml", MINIMAL + "tables_: []\n")
    with pytest.raises(errors.TemplateError, match="tables_: unknown key"):
        load_dir(tmp_path / "a")
    write(tmp_path / "b", "x.yaml", MINIMAL.replace("extends: common", "extends: nosuch"))
    with pytest.raises(errors.TemplateError, match="no shared part 'nosuch'"):
        load_dir(tmp_path / "b")


def test_a_users_folder_extends_shared_lists_and_adds_a_check(tmp_path):
    write(tmp_path, "mine.yaml", MINIMAL + """\
  - labels: [项目资金]
    type: amount
    subfields:
      - {key: funding.total_budget, labels: [资金总额]}
      - {labels: [一般公共预算]}
      - {labels: [政府性基金]}
"+checks":
  - id: fund_parts
    name: 一般公共预算与政府性基金之和等于资金总额
    total: funding.total_budget
    parts: [extra.一般公共预算, extra.政府性基金]
""")
    (t,) = load_dir(tmp_path)
    assert [c.id for c in t.checks][-1] == "fund_parts" and len(t.checks) > 1
    sub = t.fields[1].subfields
    assert [s.type for s in sub] == ["amount", "amount", "amount"]  # sub-fields take the group's type
    rec = {"funding": {"total_budget": 300.0}, "extra": {"一般公共预算": 100.0, "政府性基金": 150.0}}
    (res,) = [c for c in run_checks(rec, t.checks) if c["id"] == "fund_parts"]
    assert not res["passed"] and "250.00 ≠ 300.00" in res["detail"]
    assert "extra.一般公共预算" in t.expected_paths()


def test_two_templates_with_one_id_are_refused(tmp_path):
    write(tmp_path, "a.yaml", MINIMAL)
    write(tmp_path, "b.yaml", MINIMAL)
    with pytest.raises(errors.TemplateError, match="already used"):
        load_dir(tmp_path)


def cli(*args):
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def test_templates_check_command(tmp_path):
    res = cli("templates", "check", str(TEMPLATE_DIR))
    assert res.returncode == 0, res.stderr
    assert "sh-district-2020.yaml: sh-district-2020" in res.stdout
    shutil.copy(TEMPLATE_DIR / "ministry-county.yaml", tmp_path / "m.yaml")
    text = (tmp_path / "m.yaml").read_text(encoding="utf-8").replace("    type: phone", "    tpye: phone", 1)
    (tmp_path / "m.yaml").write_text(text, encoding="utf-8")
    res = cli("templates", "check", str(tmp_path))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.startswith("E_TEMPLATE: ") and "m.yaml" in res.stderr and "tpye" in res.stderr


def test_explain_follows_one_field_on_a_real_sample():
    res = cli("explain", "samples/digital/sh2020-union-gumei.pdf", "--field", "funding.total_budget")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "value:      384200.0" in out
    assert "label:      '一、项目总预算'" in out
    assert "template:   key funding.total_budget" in out
    assert "from cell:  page 1" in out
