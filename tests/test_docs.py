"""The documentation stays true: docs/record.md and docs/export.md hold the
generated field and table lists of the current schema and export; every schema
property is described and documented; the error tables of the README and
docs/errors.md list exactly the codes of extract/errors.py; and the README's
examples (Python API, DuckDB and pandas joins, the record excerpt) are run on
the bundled samples and print what the README shows."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from extract import errors
from extract.checks import checks_for
from pipelines import docgen

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SCHEMA = json.loads((ROOT / "extract" / "schema.json").read_text(encoding="utf-8"))


# ------------------------------------------------------------------ record contract

@pytest.mark.parametrize("name", sorted(docgen.GENERATORS))
def test_generated_docs_are_current(name):
    assert docgen.current(name) == docgen.expected(name), \
        f"{docgen.DOCS[name]} is out of date: run python -m pipelines.docgen"


def _schema_paths(node, prefix=""):
    """Every property of the schema, walked here independently of docgen."""
    node = _deref(node)
    for key, child in node.get("properties", {}).items():
        child = _deref(child)
        yield f"{prefix}{key}", child
        yield from _schema_paths(child, f"{prefix}{key}.")
        if isinstance(child.get("items"), dict):
            yield from _schema_paths(child["items"], f"{prefix}{key}[].")
        extra = child.get("additionalProperties")
        if isinstance(extra, dict) and "properties" in extra:
            yield from _schema_paths(extra, f"{prefix}{key}.<path>.")


def _deref(node):
    if "$ref" in node:
        return {**SCHEMA["$defs"][node["$ref"].split("/")[-1]], **node}
    return node


def test_every_schema_property_is_described_and_in_record_md():
    doc = (ROOT / "docs" / "record.md").read_text(encoding="utf-8")
    paths = list(_schema_paths(SCHEMA))
    assert len(paths) > 100
    for path, node in paths:
        assert node.get("description"), f"schema.json: {path} has no description"
        assert f"`{path}`" in doc, f"docs/record.md does not list {path}"
    checks = {c.id: c.name for c in checks_for(None)}
    documented = set(re.findall(r"^\| `([^`]+)` \|", doc, re.M)) - set(checks)
    assert documented == {p for p, _ in paths}, "docs/record.md lists a field the schema does not have"
    for check, name in checks.items():
        assert f"| `{check}` | {name} |" in doc, check
    # typed, not bare objects (issue 16: provenance was {"type": "object"})
    prov = SCHEMA["properties"]["provenance"]["additionalProperties"]
    assert set(prov["required"]) == {"page", "bbox", "method", "confidence"}
    assert SCHEMA["properties"]["source"]["properties"]["sha256"]["pattern"] == "^[0-9a-f]{64}$"
    assert SCHEMA["properties"]["warnings"]["items"] == {"type": "string"}
    assert "../shared" not in README and "record-spec.md" not in doc


def test_schema_still_validates_the_golden_and_sample_records():
    """The described schema accepts what the corpus holds (golden fields only)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(SCHEMA)
    for p in sorted((ROOT / "pipelines" / "samples" / "corpus").glob("*.json")):
        rec = {**json.loads(p.read_text(encoding="utf-8")), "review": []}
        rec.setdefault("extra", {})
        problems = [e.message for e in validator.iter_errors(rec)]
        assert not problems, (p.name, problems[:3])


# ------------------------------------------------------------------ errors

def _codes(text: str, heading: str | None = None) -> list[str]:
    if heading:
        text = text[text.index(heading):]
        nxt = text.find("\n## ", 3)
        text = text[: nxt if nxt > 0 else None]
    return re.findall(r"^\| `(E_[A-Z_]+)` \|", text, re.M)


def test_error_tables_list_exactly_the_codes():
    codes = sorted(cls.code for cls in errors.all_errors())
    assert "E_NO_RECORDS" in codes
    assert sorted(_codes(README, "## Errors")) == codes
    assert sorted(_codes((ROOT / "docs" / "errors.md").read_text(encoding="utf-8"))) == codes


# ------------------------------------------------------------------ README examples

EXAMPLE = re.compile(r"<!-- example: (\w+)[^>]*-->\n```python\n(.*?)```\n\n```text\n(.*?)```", re.S)


def _examples() -> dict[str, tuple[str, str]]:
    return {m.group(1): (m.group(2), m.group(3)) for m in EXAMPLE.finditer(README)}


def test_readme_has_the_examples():
    ex = _examples()
    assert set(ex) >= {"api", "duckdb", "pandas"}
    assert "from extract.pipeline import extract_file" in ex["api"][0]
    assert "JOIN declarations" in ex["duckdb"][0] and ".merge(" in ex["pandas"][0]
    # no `duckdb` command-line program is installed: the README must not tell users to run it
    assert not re.search(r"^\$ duckdb\b", README, re.M)


@pytest.fixture(scope="module")
def samples_run(tmp_path_factory) -> Path:
    """What ./setup.sh leaves (out/digital/: the bundled digital samples extracted),
    exported as the README says."""
    from extract.pipeline import extract_file
    from pipelines.export import export
    from pipelines.io import write_records

    work = tmp_path_factory.mktemp("readme")
    out = work / "out" / "digital"
    out.mkdir(parents=True)
    taken: set[str] = set()
    for pdf in sorted((ROOT / "samples" / "digital").glob("*.pdf")):
        write_records(out, pdf.name, extract_file(pdf), taken)
    (work / "samples").symlink_to(ROOT / "samples")
    export(out, work / "records.duckdb")
    export(out, work / "records.parquet")
    return work


def _run(code: str, cwd: Path) -> str:
    p = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True,
                       env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    assert p.returncode == 0, p.stderr
    return p.stdout


@pytest.mark.parametrize("name", ["api", "duckdb", "pandas"])
def test_readme_example_prints_what_the_readme_shows(name, samples_run):
    code, shown = _examples()[name]
    got = _run(code, samples_run)
    strip = lambda s: [line.rstrip() for line in s.strip().splitlines()]  # noqa: E731
    assert strip(got) == strip(shown), f"README example {name!r} prints:\n{got}"


def test_readme_record_excerpt_is_real(samples_run):
    """Every value of the README's excerpt is the real record's (lists: a prefix)."""
    m = re.search(r"An excerpt of\n`out/digital/sh2020-union-gumei.json`:\n\n```json\n(.*?)```", README, re.S)
    assert m
    excerpt = json.loads(m.group(1))
    real = json.loads((samples_run / "out" / "digital" / "sh2020-union-gumei.json").read_text(encoding="utf-8"))

    def same(shown, got, path):
        if isinstance(shown, dict):
            assert isinstance(got, dict), path
            for k, v in shown.items():
                if k != "…":
                    assert k in got, f"{path}.{k}"
                    same(v, got[k], f"{path}.{k}")
        elif isinstance(shown, list):
            assert isinstance(got, list) and len(shown) <= len(got), path
            for i, v in enumerate(shown):
                same(v, got[i], f"{path}[{i}]")
        else:
            assert shown == got, path

    same(excerpt, real, "record")
    assert excerpt.keys() == real.keys()
