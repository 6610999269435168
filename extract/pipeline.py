"""One document in, records out: the library's entry point.

    read_document   file → Document + its pages (PageLayout: the one page model)
    records_from    pages → one validated record per declaration:
                    segment → detect the template → map (extract/mapping/) →
                    normalize (record.py) → checks → review → schema
"""

from __future__ import annotations

import re
from pathlib import Path

from . import errors
from .checks import run_checks, value_at
from .document import Document, Options, open_document
from .layout import PageLayout
from .mapping import Segment, detect_variant, lookalike, map_segment, split_declarations, stream, title_part
from .record import build_record, validate
from .review import covers
from .settings import DEFAULT as DEFAULT_SETTINGS
from .template import Template, load_templates

try:
    from importlib.metadata import version as _version

    TOOL_VERSION = _version("shenbao")
except Exception:  # running from a checkout that was never installed
    TOOL_VERSION = "0+unknown"

MIN_VARIANT_SCORE = 0.35  # below this, no template fits: best effort, flagged template_mismatch
NOT_A_FORM_SCORE = 0.15  # below this and no form title: not a declaration


def extract_file(path: str | Path, options: Options | None = None,
                 templates: tuple[Template, ...] | None = None) -> list[dict]:
    """Read one file and return one validated record per declaration in it.
    Raises a ShenbaoError (with a code) when the file cannot give any record."""
    doc, pages = read_document(path, options)
    return records_from(doc, pages, templates)


def read_document(path: str | Path, options: Options | None = None) -> tuple[Document, list[PageLayout]]:
    """The document and its pages, read (text layer or OCR) but not mapped."""
    doc = open_document(path, options)
    # (pages the quick look set aside and read later come last: put in order)
    return doc, sorted(doc.pages(), key=lambda p: p.number)


def records_from(doc: Document, pages: list[PageLayout], templates: tuple[Template, ...] | None = None,
                 trace: list | None = None) -> list[dict]:
    """Pages of a read document → one validated record per declaration. With
    `trace` (a list), each declaration's raw fields and template are appended
    to it (what `shenbao explain` shows)."""
    templates = templates or load_templates(doc.options.templates_dir)
    page_warnings = [w for p in pages for w in p.warnings]
    bad_pages = [i for i in doc.info if i.kind == "error"]
    items = stream(pages)
    if not any(getattr(it, "text", None) or getattr(it, "cells", None) for it in items):
        if bad_pages:
            raise errors.CorruptFile(f"{doc.path.name}: no page could be read ({bad_pages[0].note})")
        aside = [i for i in doc.info if i.kind == "set_aside"]
        if aside:
            raise errors.NotDeclaration(
                f"{doc.path.name} is not a 财政项目支出绩效目标申报表: the quick look found no ruling grid and "
                f"no form word on any of its {len(aside)} scanned page(s) ({aside[0].note})")
        raise errors.NotDeclaration(f"{doc.path.name}: no text found on any page"
                                    + (f" ({page_warnings[0]})" if page_warnings else ""))
    records, refused = [], []
    for seg in split_declarations(items, templates):
        tpl, score, scores = detect_variant(seg, templates)
        has_title = any(title_part(t, templates) is not None for t in seg.lines())
        other = lookalike(seg, templates)
        if other and not has_title:
            refused.append(other)
            continue  # a self-evaluation, a department-level form, a cover letter …
        if score < NOT_A_FORM_SCORE and not has_title:
            continue  # a cover sheet or stray page, not a declaration
        records.append(_record(seg, tpl, score, scores, other, trace))
    if not records:
        why = f" ({refused[0]})" if refused else " (no form title, no known labels)"
        raise errors.NotDeclaration(f"{doc.path.name} is not a 财政项目支出绩效目标申报表{why}")
    kinds: dict[str, list[int]] = {}
    for info in doc.info:
        kinds.setdefault(info.kind, []).append(info.number)
    for n, rec in enumerate(records, start=1):
        mine = set(rec["source"]["pages"])
        rec["source"] = {
            "file": doc.path.name,
            "sha256": doc.sha256,
            "page_count": doc.n_pages,
            "pages": rec["source"]["pages"],
            "page_kinds": kinds,
            "declaration": n,
            "declarations_in_file": len(records),
            "variant_scores": rec["source"]["variant_scores"],
            "coverage": rec["source"]["coverage"],
            "ocr_engine": doc.options.ocr_engine if any(k != "text" for k in kinds) else None,
            "tool": f"shenbao {TOOL_VERSION}",
            # what boxes are measured on: every page's size in PDF points (an image
            # page: its pixels at the dpi it was read at), so a viewer can scale them
            "page_sizes": [{"page": p.number, "width": round(p.width, 2), "height": round(p.height, 2),
                            "kind": p.kind, "dpi": p.dpi, "rotation": p.rotation}
                           for p in pages if p.number in mine],
        }
        lost = [f"page {b.number}: unreadable, skipped ({b.note})" for b in bad_pages]
        rec["warnings"] = [w for w in page_warnings if _page_of(w) in mine or _page_of(w) is None] \
            + lost + rec["warnings"]
        rec["review"] = [{"path": None, "reason": "unread_text", "page": b.number, "bbox": None,
                          "detail": f"page {b.number} could not be read ({b.note}); "
                                    "its fields may be missing"} for b in bad_pages] + rec["review"]
        validate(rec)  # (review is optional in the schema for older records; every record here has it)
    return records


def _page_of(warning: str) -> int | None:
    if warning.startswith("page "):
        head = warning[5:].split(":", 1)[0]
        if head.isdigit():
            return int(head)
    return None


def _record(seg: Segment, tpl: Template, score: float, scores: dict, lookalike_why: str | None = None,
            trace: list | None = None) -> dict:
    mapped = map_segment(seg, tpl)
    if trace is not None:
        trace.append((mapped, tpl))
    rec, prov = build_record(mapped)
    f = mapped.findings
    if lookalike_why:
        f.flag(None, "template_mismatch", f"this may not be a declaration: it {lookalike_why}")
        f.warnings.insert(0, f.warnings.pop())
    elif score < MIN_VARIANT_SCORE:
        f.flag(None, "template_mismatch", f"no form template matched well (best {tpl.id} at {score:.2f}); "
               "best-effort record, check every field")
        f.warnings.insert(0, f.warnings.pop())
    seen_parts = {title_part(t, [tpl]) for t in seg.lines()} - {None}
    for part, name in tpl.part_names.items():
        if part in tpl.parts and seen_parts and part not in seen_parts:
            f.warn(f"part {name} not found in this declaration")
    rec["checks"] = run_checks(rec, tpl.checks)
    _reread(rec, mapped.alternatives, tpl, f, prov)
    for c in rec["checks"]:
        if not c["passed"]:
            f.warn(f"check {c['id']} failed: {c['detail']}")
            for path in _check_paths(rec, c["fields"]):
                page, bbox = _where(prov, path)
                f.flag(path, "check_failed", c["detail"], page=page, bbox=bbox, warning=False, check=c["id"])
    rec["source"] = {"pages": seg.pages, "variant_scores": {k: round(v, 3) for k, v in scores.items()},
                     "coverage": round(mapped.coverage, 4)}
    rec["provenance"] = prov
    rec["warnings"] = f.warnings
    rec["review"] = f.as_list()
    _doubted(prov, rec["review"])
    return rec


_DOUBTS = {"low_confidence", "disagreement", "suspect_value", "check_failed", "not_normalized", "template_mismatch"}


def _doubted(prov: dict, review: list[dict]) -> None:
    """The confidence of a value a review entry names is at most
    `ReviewSettings.flagged_at_most`: the record's confidence and its review
    list never disagree (a field in review is never 'sure')."""
    cap = DEFAULT_SETTINGS.review.flagged_at_most
    for e in review:
        if e["reason"] not in _DOUBTS:
            continue
        for path, p in prov.items():
            if p.get("confidence", 0) > cap and covers(e["path"], e["reason"], path):
                p["confidence"] = cap


def _reread(rec: dict, alternatives: dict, tpl: Template, f, prov: dict) -> None:
    """An amount that breaks a check, read again: when exactly one other
    reading of one of the check's amounts (a second read, a runner-up of the
    recognizer) makes every failed check that names it pass, the record takes
    it, and the field is in review as a disagreement with both readings; else
    the check fails as printed."""
    failed = [c for c in rec["checks"] if not c["passed"]]
    if not failed or not alternatives:
        return
    def names(c, path):
        return path in c["fields"] or re.sub(r"\[\d+\]", "[]", path) in c["fields"]

    fixes = []
    for path, others in alternatives.items():
        if not any(names(c, path) for c in failed):
            continue
        kept = value_at(rec, path)
        for value, read in others:
            _set_at(rec, path, value)
            after = {c["id"]: c["passed"] for c in run_checks(rec, tpl.checks)}
            if all(after.get(c["id"], True) for c in failed if names(c, path)) and \
                    sum(not ok for ok in after.values()) < len(failed):
                fixes.append((path, kept, value, read))
            _set_at(rec, path, kept)
    if len(fixes) != 1:
        return
    path, kept, value, read = fixes[0]
    _set_at(rec, path, value)
    rec["checks"] = run_checks(rec, tpl.checks)
    where = prov.get(path) or {}
    was = "no reading" if kept is None else f"the reading {kept:,.2f}"  # (a value that did not normalize)
    f.flag(path, "disagreement", f"{was} broke a check; the other reading {value:,.2f} "
           "makes it pass and was kept", page=where.get("page"), bbox=where.get("bbox"),
           reads=[{"text": "" if kept is None else f"{kept:.2f}", "source": "kept read"},
                  {"text": str(read.get("text")), "source": read.get("source", "second read"),
                   "confidence": read.get("confidence")}])


def _set_at(rec: dict, path: str, value) -> None:
    *head, last = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    obj = rec
    for part in head:
        obj = obj[int(part[1:-1])] if part.startswith("[") else obj[part]
    if last.startswith("["):
        obj[int(last[1:-1])] = value
    else:
        obj[last] = value


def _where(prov: dict, path: str) -> tuple[int | None, list | None]:
    """Page and box of a field, or of a row or a list (the box around its
    fields on the page of its first one)."""
    if path in prov:
        return prov[path].get("page"), prov[path].get("bbox")
    parts = [p for k, p in prov.items() if k.startswith((path + ".", path + "[")) and p.get("bbox")]
    if not parts:
        return None, None
    page = parts[0].get("page")
    boxes = [p["bbox"] for p in parts if p.get("page") == page]
    return page, [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes),
                  max(b[3] for b in boxes)]


def _check_paths(rec: dict, fields: list[str]) -> list[str]:
    """The fields a failed check puts in doubt. A sum over the rows of a list
    (budget_items[].amount) that does not add up puts every row in doubt: an
    amount misread, a row missing or read twice look the same from outside."""
    out = []
    for name in fields:
        if "[]" in name:
            head = name.partition("[]")[0]
            out += [f"{head}[{i}]" for i in range(len(rec.get(head) or []))]
            if head not in out:
                out.append(head)  # the list itself: rows it lacks are named too
        else:
            out.append(name)
    return out
