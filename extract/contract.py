"""The record contract, read once from the JSON Schema (extract/schema.json):
the golden keys, the keys of each part and of each list's rows, and the long
text fields. record.py builds records with these keys, compare.py compares
them, and the exports lay out their tables by them: the contract is written in
one place."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

SCHEMA_PATH = Path(__file__).parent / "schema.json"


@lru_cache(maxsize=1)
def schema() -> dict:
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        return json.load(f)


def _props(node: dict) -> dict:
    return node.get("properties", {})


def golden_keys() -> list[str]:
    """The top-level keys a golden record holds (the schema's required keys)."""
    return list(schema()["required"])


def bookkeeping_keys() -> set[str]:
    """Top-level keys beside the golden fields (source, provenance, review …)."""
    return set(_props(schema())) - set(golden_keys())


def part_keys(part: str) -> list[str]:
    """The keys of form / project / funding, in the contract's order."""
    node = _props(schema())[part]
    return list(node.get("required") or _props(node))


def row_keys(table: str) -> list[str]:
    """The keys of one row of indicators / budget_items / safeguards."""
    items = _props(schema())[table]["items"]
    return list(items.get("required") or _props(items))


def stage_keys() -> list[str]:
    return list(_props(_props(schema()["properties"]["safeguards"]["items"])["stages"]))


def text_fields() -> list[str]:
    """Paths of the long free-text fields (the CER of `compare`)."""
    out = []
    for part, node in _props(schema()).items():
        if node.get("$ref") == "#/$defs/text":
            out.append(part)
        for key, sub in _props(node).items():
            if sub.get("$ref") == "#/$defs/text":
                out.append(f"{part}.{key}")
    return out
