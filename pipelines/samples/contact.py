"""Contact sheet: one PNG showing what a sample set covers — the first page of
every digital declaration beside its simulated scan, labelled with the form
variant and the scan settings, so a person can see the variety at a glance."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from extract import errors, sysdeps

THUMB_W = 300


def _first_page(path: Path, width: int) -> Image.Image:
    if path.suffix.lower() == ".pdf":
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(str(path))
        try:
            page = pdf[0]
            img = page.render(scale=width / page.get_width()).to_pil()
        finally:
            pdf.close()
    else:
        with Image.open(path) as im:
            im.seek(0)
            img = im.convert("RGB")
    img = img.convert("RGB")
    return img.resize((width, int(img.height * width / img.width)))


def contact_sheet(sample_dir: str | Path, out_png: str | Path, columns: int = 4) -> Path:
    sample_dir = Path(sample_dir)
    plan_path = sample_dir / "plan.json"
    try:
        plan = json.loads(plan_path.read_text(encoding="utf-8"))
        jobs = plan["jobs"]
    except FileNotFoundError:
        raise errors.UsageError(f"{sample_dir} has no plan.json: it is not a folder made by "
                                "'shenbao samples build' (or its build did not finish)") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise errors.UsageError(f"{plan_path} is not a sample plan ({type(exc).__name__}: {exc})") from None
    corpus = Path(__file__).parent / "corpus"
    f = sysdeps.font("wqy-zenhei")
    font = ImageFont.truetype(f.path, 14, index=f.index)
    tiles = []
    for job in jobs:
        variants = []
        for r in job["records"]:
            rec = json.loads((corpus / f"{r}.json").read_text(encoding="utf-8"))
            variants.append(f"{rec['form']['variant']} {rec['form']['year']} {rec['form']['amount_unit']}")
        digital = sample_dir / "digital" / f"{job['name']}.pdf"
        if not digital.is_file():
            raise errors.UsageError(f"{digital} is missing: the sample set is incomplete "
                                    "(rebuild it with 'shenbao samples build')")
        pair = [_first_page(digital, THUMB_W)]
        scans = list((sample_dir / "scanned").glob(f"{job['name']}.*"))
        if scans:
            pair.append(_first_page(scans[0], THUMB_W))
        h = max(p.height for p in pair)
        tile = Image.new("RGB", (THUMB_W * 2 + 10, h + 64), "white")
        for i, p in enumerate(pair):
            tile.paste(p, (i * (THUMB_W + 10), 0))
        d = ImageDraw.Draw(tile)
        d.text((4, h + 4), job["name"][:48], fill="black", font=font)
        d.text((4, h + 22), " + ".join(variants)[:60], fill="navy", font=font)
        how = job.get("route", "reportlab")
        if how == "office":
            how += f" {job['style']['fmt']} {job['style']['font']}"
        d.text((4, h + 40), f"{how}; scan: {job['scan_profile']} → .{job['scan_format']}"[:60],
               fill="darkred", font=font)
        tiles.append(tile)
    if not tiles:
        raise errors.UsageError(f"{plan_path} lists no samples")
    tw = max(t.width for t in tiles)
    th = max(t.height for t in tiles)
    rows = (len(tiles) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * (tw + 16), rows * (th + 16)), (235, 235, 235))
    for k, t in enumerate(tiles):
        sheet.paste(t, ((k % columns) * (tw + 16) + 8, (k // columns) * (th + 16) + 8))
    out_png = Path(out_png)
    sheet.save(out_png, optimize=True)
    return out_png
