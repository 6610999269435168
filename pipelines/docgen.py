"""The generated parts of docs/record.md (every field of extract/schema.json with
its type and description; the templates' shared checks) and docs/export.md (every exported table and column,
from pipelines/export_tables.py). The prose around them is written by hand;
tests/test_docs.py fails when a generated part is out of date.

    python -m pipelines.docgen          # rewrite the generated parts
    python -m pipelines.docgen --check  # exit 1 when they are out of date
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from extract.record import SCHEMA_PATH

from .export_tables import DUCKDB, TABLES

ROOT = Path(__file__).resolve().parents[1]
DOCS = {"fields": ROOT / "docs" / "record.md", "checks": ROOT / "docs" / "record.md",
        "tables": ROOT / "docs" / "export.md"}
BEGIN = "<!-- BEGIN GENERATED {name}: python -m pipelines.docgen -->"
END = "<!-- END GENERATED {name} -->"


# ------------------------------------------------------------------ record fields

def schema() -> dict:
    return json.loads(Path(SCHEMA_PATH).read_text(encoding="utf-8"))


def _resolve(node: dict, defs: dict) -> dict:
    if "$ref" in node:
        return {**defs[node["$ref"].removeprefix("#/$defs/")], **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _type(node: dict) -> str:
    if "const" in node:
        return f"`{json.dumps(node['const'], ensure_ascii=False)}`"
    if "enum" in node:
        return " \\| ".join(f"`{json.dumps(v, ensure_ascii=False)}`" for v in node["enum"])
    if "oneOf" in node:
        return " or ".join(_type(n) for n in node["oneOf"])
    t = node.get("type", "any")
    types = t if isinstance(t, list) else [t]
    out = []
    for t in types:
        if t == "array" and "items" in node and node["items"].get("type") not in (None, "object"):
            out.append(f"list of {_type(node['items'])}")
        elif t == "array":
            out.append("list")
        else:
            out.append(t)
    text = " or ".join(out)
    if node.get("pattern") == "^[0-9]{4}-[0-9]{2}(-[0-9]{2})?$":
        text += " (YYYY-MM-DD or YYYY-MM)"
    return text


def field_paths(node: dict | None = None, prefix: str = "", defs: dict | None = None):
    """(path, node) for every property of the schema, depth first, in schema order:
    `funding.total_budget`, `indicators[].target`, `provenance.<path>.page`."""
    if node is None:
        node = schema()
        defs = node["$defs"]
    for key, child in node.get("properties", {}).items():
        child = _resolve(child, defs)
        path = f"{prefix}{key}"
        yield path, child
        yield from _below(child, path, defs)


def _below(node: dict, path: str, defs: dict):
    if "properties" in node:
        yield from field_paths(node, path + ".", defs)
    items = node.get("items")
    if isinstance(items, dict):
        items = _resolve(items, defs)
        if "properties" in items:
            yield from field_paths(items, path + "[].", defs)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and "properties" in extra:
        yield from field_paths(extra, path + ".<path>.", defs)


def _md(text: str) -> str:
    """Plain description text as a markdown table cell."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def fields_md() -> str:
    lines = ["| path | type | description |", "|---|---|---|"]
    for path, node in field_paths():
        desc = _md(node.get("description", ""))
        lines.append(f"| `{path}` | {_type(node)} | {desc} |")
    return "\n".join(lines)


# ------------------------------------------------------------------ checks

def checks_md() -> str:
    """The shared checks of the templates (extract/templates/_common.yaml)."""
    from extract.checks import checks_for

    lines = ["| id | name | what is compared |", "|---|---|---|"]
    for c in checks_for(None):
        if c.kind == "sum":
            what = f"`{c.total}` = " + " + ".join(f"`{p}`" for p in c.parts)
            if c.zero_if_missing:
                what += "; not printed counts as 0: " + ", ".join(f"`{p}`" for p in c.zero_if_missing)
            if c.when:
                what += "; run only when " + ", ".join(f"`{p}`" for p in c.when) + " is printed"
        elif c.kind == "product":
            what = (f"in every row i of `{c.each}` (id `{c.id}[i]`): "
                    + " × ".join(f"`{f}`" for f in c.factors) + f" = `{c.equals}`")
        else:
            what = f"`{c.first}` not after `{c.second}` (a month-only date to the month)"
        lines.append(f"| `{c.id}` | {c.name} | {what} |")
    return "\n".join(lines)


# ------------------------------------------------------------------ export tables

def tables_md() -> str:
    out = []
    for t in TABLES.values():
        key = ", ".join(f"`{k}`" for k in t.key)
        ref = "; `record_id` refers to `declarations`" if t.child else ""
        out += [f"### `{t.name}` (sheet {t.sheet})", "", f"{t.doc} Primary key: {key}{ref}.", "",
                "| column | type | 表头 | description |", "|---|---|---|---|"]
        for c in t.cols:
            desc = _md(c.description)
            if c.labels:
                desc += " Workbook: " + ", ".join(f"{k} → {v}" for k, v in c.labels.items()) + "."
            out.append(f"| `{c.name}` | {DUCKDB[c.type]} | {c.head} | {desc} |")
        out.append("")
    return "\n".join(out).rstrip()


# ------------------------------------------------------------------ files

GENERATORS = {"fields": fields_md, "checks": checks_md, "tables": tables_md}


def _block(name: str, text: str) -> str:
    return f"{BEGIN.format(name=name)}\n{text}\n{END.format(name=name)}"


def current(name: str) -> str:
    """The generated block as the file holds it now."""
    doc = DOCS[name].read_text(encoding="utf-8")
    m = re.search(re.escape(BEGIN.format(name=name)) + r".*?" + re.escape(END.format(name=name)), doc, re.S)
    if not m:
        raise SystemExit(f"{DOCS[name]}: no generated block {name!r}")
    return m.group(0)


def expected(name: str) -> str:
    return _block(name, GENERATORS[name]())


def main(argv: list[str]) -> int:
    stale = [n for n in GENERATORS if current(n) != expected(n)]
    if "--check" in argv:
        for n in stale:
            print(f"{DOCS[n]}: generated part {n!r} is out of date; run python -m pipelines.docgen")
        return 1 if stale else 0
    for n in stale:
        doc = DOCS[n].read_text(encoding="utf-8")
        DOCS[n].write_text(doc.replace(current(n), expected(n)), encoding="utf-8")
        print(f"rewrote {DOCS[n]} ({n})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
