"""The office rendering route: golden record(s) → a spreadsheet (.xlsx, openpyxl)
or a word-processor document (.docx, python-docx) laid out as the paper form of
each record's ``form.variant`` → PDF by LibreOffice headless, the way most real
declarations were made.  It is the second route beside the reportlab renderer
(render.py): other fonts, geometry, wrapping, merged cells, label and header
spellings, tick glyphs, amount and date typing, all drawn from a seed
(office_style.py) and recorded in the style.

    render_records([record], "out.pdf", style_from_seed(7))   # -> page count

Modules: office_style (the choices), office_layouts / office_layouts_more (one
layout per variant → the page model of office_model), office_xlsx /
office_docx (the model → a file), this module (dispatch and conversion).

CLI: ``python -m pipelines.samples.render_office record.json [more.json] out.pdf --seed 7 [--fmt docx]``
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable

import pdfplumber

from extract import errors, sysdeps

from .office_layout_sh2019 import sh_municipal_2019
from .office_layouts import sh_district_2020
from .office_layouts_more import ministry_county, province_county_2021, sh_district_2026
from .office_model import Part
from .office_style import OfficeStyle, check_style, style_from_seed

__all__ = ["LAYOUTS", "VARIANTS", "OfficeStyle", "style_from_seed", "layout_records", "write_office",
           "convert", "render_records", "render_many"]

LAYOUTS: dict[str, Callable[[dict, OfficeStyle], list[Part]]] = {
    "sh-district-2020": sh_district_2020,
    "sh-district-2026": sh_district_2026,
    "ministry-county": ministry_county,
    "province-county-2021": province_county_2021,
    "sh-municipal-2019": sh_municipal_2019,
}
VARIANTS = tuple(LAYOUTS)
CONVERT_TIMEOUT = 60.0  # seconds for LibreOffice's start plus this much per file


def variant_of(rec: dict) -> str:
    return (rec.get("form") or {}).get("variant") or "sh-district-2020"


def layout_records(records: list[dict], style: OfficeStyle) -> list[Part]:
    """The parts of every declaration, in order (each starts on a new page)."""
    check_style(style)
    parts: list[Part] = []
    for rec in records:
        v = variant_of(rec)
        if v not in LAYOUTS:
            raise ValueError(f"no office layout for form.variant {v!r}; known: {VARIANTS}")
        parts += LAYOUTS[v](rec, style)
    return parts


def write_office(records: list[dict], out: str | Path, style: OfficeStyle) -> Path:
    """The .xlsx / .docx file (``out`` gets the style's suffix)."""
    from .office_docx import write_docx
    from .office_xlsx import write_xlsx

    out = Path(out).with_suffix("." + style.fmt)
    parts = layout_records(records, style)
    (write_xlsx if style.fmt == "xlsx" else write_docx)(parts, style, out)
    return out


def convert(files: list[Path], outdir: Path) -> list[Path]:
    """Office files → PDFs in ``outdir`` by one LibreOffice run with a profile
    of its own (parallel runs cannot clash).  A file without a PDF afterwards
    is E_OUTPUT naming it and what LibreOffice said."""
    soffice = sysdeps.tool("soffice")
    outdir.mkdir(parents=True, exist_ok=True)
    stems = [f.stem for f in files]
    if len(set(stems)) != len(stems):
        raise ValueError("two office files with one name would convert to one PDF")
    with tempfile.TemporaryDirectory(prefix="shenbao-lo-") as prof:
        cmd = [soffice, f"-env:UserInstallation={Path(prof).resolve().as_uri()}", "--headless",
               "--norestore", "--convert-to", "pdf", "--outdir", str(outdir)] + [str(f) for f in files]
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                 timeout=CONVERT_TIMEOUT + 20.0 * len(files))
        except subprocess.TimeoutExpired:
            raise errors.OutputError(f"LibreOffice did not convert {len(files)} file(s) in time "
                                     f"({files[0].name} …)") from None
    out = [outdir / f"{f.stem}.pdf" for f in files]
    bad = [f for f, o in zip(files, out) if not o.is_file() or o.stat().st_size == 0]
    if bad:
        said = (res.stderr or res.stdout or "").strip().splitlines()[-3:]
        raise errors.OutputError(f"LibreOffice made no PDF of {', '.join(b.name for b in bad)} "
                                 f"(exit {res.returncode}: {' | '.join(said) or 'no message'})")
    return out


def _pages(pdf: Path) -> int:
    with pdfplumber.open(pdf) as doc:
        return len(doc.pages)


def render_many(jobs: list[tuple[list[dict], Path, OfficeStyle]], keep_dir: Path | None = None) -> list[int]:
    """Render several PDFs with one LibreOffice start; return their page counts.
    ``keep_dir``: also keep the .xlsx/.docx files there."""
    if not jobs:
        return []
    with tempfile.TemporaryDirectory(prefix="shenbao-office-") as tmp:
        tmp = Path(tmp)
        files = []
        for k, (records, out_pdf, style) in enumerate(jobs):
            files.append(write_office(records, tmp / f"{k:04d}-{Path(out_pdf).stem}", style))
        pdfs = convert(files, tmp / "pdf")
        counts = []
        for f, pdf, (_, out_pdf, _) in zip(files, pdfs, jobs):
            out_pdf = Path(out_pdf)
            out_pdf.parent.mkdir(parents=True, exist_ok=True)
            part = out_pdf.with_name(out_pdf.name + ".part")
            shutil.copyfile(pdf, part)
            part.replace(out_pdf)
            counts.append(_pages(out_pdf))
            if keep_dir is not None:
                keep_dir.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(f, keep_dir / (out_pdf.stem + f.suffix))
        return counts


def render_records(records: list[dict], out_pdf: str | Path, style: OfficeStyle | None = None) -> int:
    """Render declarations into one PDF through an office file; return the page count."""
    return render_many([(records, Path(out_pdf), style or OfficeStyle())])[0]


def main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("records", nargs="+", help="record JSON files, then the output PDF")
    ap.add_argument("--seed", type=int, default=None, help="style seed (default: a plain Excel form)")
    ap.add_argument("--fmt", choices=("xlsx", "docx"), default=None, help="force the program")
    ap.add_argument("--keep", type=Path, default=None, help="also keep the office file in this folder")
    a = ap.parse_args(argv)
    *ins, out = a.records
    recs = [json.loads(Path(p).read_text(encoding="utf-8")) for p in ins]
    style = style_from_seed(a.seed, a.fmt) if a.seed is not None else OfficeStyle(fmt=a.fmt or "xlsx")
    n = render_many([(recs, Path(out), style)], keep_dir=a.keep)[0]
    print(json.dumps({"pages": n, "style": style.to_dict()}, ensure_ascii=False))


if __name__ == "__main__":
    main()
