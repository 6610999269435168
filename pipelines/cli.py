"""`shenbao` command line: extract | compare | samples (| batch | export | review)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import List, Optional

import typer

from extract import errors

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="财政项目支出绩效目标申报表 (PDF / TIFF / PNG / JPEG) → validated JSON records.")
samples_app = typer.Typer(no_args_is_help=True, help="Build sample declarations with golden records.")
app.add_typer(samples_app, name="samples")
templates_app = typer.Typer(no_args_is_help=True, help="Form templates: check a folder of them.")
app.add_typer(templates_app, name="templates")


def _err(msg: str) -> None:
    typer.echo(msg, err=True)


def count_fields(rec: dict) -> int:
    """Non-empty leaf fields of a record (what a person would call 'found')."""
    from extract.compare import leaves

    return sum(1 for _, v in leaves(rec) if v not in (None, "", [], {}))


# reading options shared by `extract` and `batch`
OCR_OPT = typer.Option("rapidocr", "--ocr", help="OCR engine for scanned pages: rapidocr | tesseract "
                                                 "(extract.ocr.registry)")
PASSWORD_OPT = typer.Option(None, "--password", help="password of encrypted PDFs")
FORCE_OCR_OPT = typer.Option(False, "--force-ocr", help="OCR every page, ignore text layers")
MAX_PAGES_OPT = typer.Option(2000, "--max-pages", help="refuse documents with more pages")
MAX_PIXELS_OPT = typer.Option(200_000_000, "--max-pixels",
                              help="refuse images (and pages to OCR) with more pixels")


def _reading_options(ocr: str, password, force_ocr: bool, max_pages: int, max_pixels: int):
    """The shared reading options as the library's Options, checked."""
    from extract.document import Options

    from extract.ocr import registry

    if ocr.lower() not in registry.names():
        raise typer.BadParameter(f"--ocr must be one of {registry.describe()}")
    return Options(password=password, ocr_engine=ocr, force_ocr=force_ocr, max_pages=max_pages,
                   max_pixels=max_pixels)


@app.command()
def extract(
    files: List[Path] = typer.Argument(..., help="PDF, TIFF, PNG or JPEG files"),
    outdir: Path = typer.Option(..., "-o", "--outdir", help="where <stem>.json records go"),
    ocr: str = OCR_OPT,
    password: Optional[str] = PASSWORD_OPT,
    force_ocr: bool = FORCE_OCR_OPT,
    max_pages: int = MAX_PAGES_OPT,
    max_pixels: int = MAX_PIXELS_OPT,
) -> None:
    """Extract one record per declaration: OUTDIR/<file stem>.json (<stem>-N.json when a file
    holds several; <stem>_2.json when two files share a stem). Exit status 1 when any file
    failed; the reason goes to stderr. Put `--` before file names that start with a dash."""
    from extract.pipeline import extract_file
    from pipelines.io import write_records

    opts = _reading_options(ocr, password, force_ocr, max_pages, max_pixels)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        what = "it is not a directory" if outdir.exists() else exc.strerror or exc
        _err(f"{outdir}: E_OUTPUT: cannot create output directory ({what})")
        raise typer.Exit(2)
    failed = 0
    written: set[str] = set()  # two inputs with one stem must not overwrite each other
    for f in files:
        t0 = time.perf_counter()
        try:
            records = extract_file(f, opts)
            paths = write_records(outdir, f.name, records, taken=written)
        except errors.ShenbaoError as exc:
            failed += 1
            _err(f"{f}: {exc.code}: {exc.message}")
            continue
        except Exception as exc:  # never a traceback for one bad file
            failed += 1
            _err(f"{f}: E_INTERNAL: {type(exc).__name__}: {exc}")
            continue
        secs = time.perf_counter() - t0
        for p, rec in zip(paths, records):
            bad = sum(not c["passed"] for c in rec.get("checks", []))
            typer.echo(f"{f.name} → {p.name}: {count_fields(rec)} fields found, "
                       f"{bad} checks failed, {len(rec.get('warnings', []))} warnings, "
                       f"variant {rec['form']['variant']}, {secs:.2f} s")
    if failed:
        _err(f"{failed} of {len(files)} files failed")
        raise typer.Exit(1)


@app.command()
def compare(
    outdir: Path = typer.Argument(..., help="records written by extract or batch"),
    goldendir: Path = typer.Argument(..., help="golden records (matched by file name, else by the record's source)"),
    min_accuracy: Optional[float] = typer.Option(None, "--min-accuracy",
                                                 help="exit 1 when field accuracy is below this"),
    max_silent: Optional[int] = typer.Option(None, "--max-silent",
                                             help="exit 1 when more fields than this are wrong and unflagged"),
    as_json: bool = typer.Option(False, "--json", help="print the full report as JSON"),
    show: int = typer.Option(20, "--show", help="differing fields to list per record"),
    per_variant: bool = typer.Option(False, "--by-variant", help="also one line per form variant"),
    only_present: bool = typer.Option(False, "--only-present",
                                      help="leave out golden records that have no record in OUTDIR"),
    reviewed: bool = typer.Option(False, "--reviewed",
                                  help="use OUTDIR/reviewed/ records where they exist (shenbao review)"),
) -> None:
    """Field accuracy, right / flagged / silent fields, exact records and long-text CER
    against golden records. A field is flagged when a review entry of its record names
    it, silent when it is wrong and nothing names it."""
    from extract.compare import by_variant, compare_dirs

    if reviewed:  # a person's answers: reviewed values, and only open entries still flag
        from pipelines.review.golden import compare_reviewed

        report = compare_reviewed(outdir, goldendir, only_present=only_present)
    else:
        report = compare_dirs(outdir, goldendir, only_present=only_present)
    if not report.records:
        _err(f"E_USAGE: no golden records (*.json) in {goldendir}"
             + (" with a record in OUTDIR" if only_present else ""))
        raise typer.Exit(2)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        missing = sum(r.missing for r in report.records)
        typer.echo(f"records: {len(report.records)}  fields: {report.fields}"
                   + (f"  (no record for {missing})" if missing else ""))
        typer.echo(f"field accuracy: {report.field_accuracy:.4f}")
        typer.echo(f"right / flagged / silent: {report.right} / {report.flagged} / {report.silent}")
        typer.echo(f"silent wrong amounts: {report.silent_amounts} of {report.amount_fields}")
        typer.echo(f"review entries: {report.review_entries} ({report.flags_on_right} on right fields)")
        typer.echo(f"exact records:  {report.exact_records:.4f} "
                   f"({sum(r.exact for r in report.records)}/{len(report.records)})")
        typer.echo(f"text CER:       {report.text_cer:.4f}")
        if per_variant:
            for name, rep in by_variant(report).items():
                typer.echo(f"  {name:18} records {len(rep.records):3d}  field accuracy "
                           f"{rep.field_accuracy:.4f}  silent {rep.silent:4d}  exact {rep.exact_records:.3f}  "
                           f"text CER {rep.text_cer:.4f}")
        for r in report.records:
            if r.missing:
                typer.echo(f"  {r.name}: no output record")
                continue
            if not r.diffs:
                continue
            typer.echo(f"  {r.name}: {r.equal}/{r.fields} fields equal, {len(r.silent)} silent")
            for path, g, v in r.diffs[:show]:
                mark = "SILENT " if path in r.silent else "flagged"
                typer.echo(f"    {mark} {path}: golden {_short(g)} | got {_short(v)}")
            if len(r.diffs) > show:
                typer.echo(f"    … {len(r.diffs) - show} more")
    failed = False
    if min_accuracy is not None and report.field_accuracy < min_accuracy:
        _err(f"field accuracy {report.field_accuracy:.4f} is below {min_accuracy}")
        failed = True
    if max_silent is not None and report.silent > max_silent:
        _err(f"{report.silent} silent fields, more than --max-silent {max_silent}")
        failed = True
    if failed:
        raise typer.Exit(1)


def _short(v, n: int = 60) -> str:
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) <= n else s[: n - 1] + "…"


@samples_app.command("build")
def samples_build(
    outdir: Path = typer.Argument(..., help="where digital/, scanned/ and golden/ go"),
    count: int = typer.Option(8, "--count", "-n", help="how many declarations"),
    seed: int = typer.Option(0, "--seed", help="the same seed builds the same files"),
    scanned: bool = typer.Option(True, "--scanned/--no-scanned", help="also make scanned versions"),
    golden_dir: Optional[Path] = typer.Option(None, "--golden-dir",
                                              help="where golden records go (default OUTDIR/golden)"),
    records: Optional[str] = typer.Option(None, "--records",
                                          help="comma-separated corpus record names, in order"),
    route: str = typer.Option("reportlab", "--route",
                              help="reportlab (render.py) | office (.xlsx/.docx → LibreOffice → PDF) | "
                                   "mixed (drawn per file)"),
    plain_labels: bool = typer.Option(False, "--plain-labels",
                                      help="office route: every label in the form's own spelling "
                                           "(tells label matching from geometry)"),
) -> None:
    """Render golden records to PDFs (and simulated scans), with their golden records."""
    from pipelines.samples.build import ROUTES, build

    if route not in ROUTES:
        raise typer.BadParameter(f"--route must be one of {', '.join(ROUTES)}")
    names = [n.strip() for n in records.split(",") if n.strip()] if records else None
    try:
        made = build(outdir, count=count, seed=seed, scanned=scanned, golden_dir=golden_dir,
                     log=typer.echo, names=names, route=route, plain_labels=plain_labels)
    except KeyError as exc:
        raise typer.BadParameter(str(exc.args[0]) if exc.args else str(exc))
    typer.echo(f"{len(made)} declarations written to {outdir}")


@app.command()
def batch(
    indir: Path = typer.Argument(..., help="directory searched recursively for PDF / TIFF / PNG / JPEG"),
    outdir: Path = typer.Option(..., "-o", "--outdir", help="records and manifest.jsonl go here"),
    jobs: Optional[int] = typer.Option(None, "-j", "--jobs", help="worker processes (default: all cores)"),
    timeout: float = typer.Option(600, "--timeout", help="seconds allowed per document"),
    max_memory: int = typer.Option(2048, "--max-memory", help="MB of memory per worker (0: no limit)"),
    ray_address: Optional[str] = typer.Option(None, "--ray",
                                              help="run on Ray: auto | HOST:PORT | local"),
    ocr: str = OCR_OPT,
    password: Optional[str] = PASSWORD_OPT,
    force_ocr: bool = FORCE_OCR_OPT,
    max_pages: int = MAX_PAGES_OPT,
    max_pixels: int = MAX_PIXELS_OPT,
) -> None:
    """Extract every declaration file under INDIR into OUTDIR, resumably: a rerun skips
    the documents OUTDIR/manifest.jsonl lists as ok. Records are named after the path
    relative to INDIR (sub/a.pdf → sub__a.json). Exit status 1 when any document failed."""
    from pipelines.batch import run_batch

    opts = _reading_options(ocr, password, force_ocr, max_pages, max_pixels)
    if not indir.is_dir():
        _err(f"{indir}: not a directory")
        raise typer.Exit(2)
    try:
        summary = run_batch(indir, outdir, jobs=jobs, timeout=timeout, max_memory_mb=max_memory or None,
                            options=opts, ray_address=ray_address)
    except OSError as exc:
        _err(f"{outdir}: E_OUTPUT: {exc}")
        raise typer.Exit(2)
    except RuntimeError as exc:  # Ray could not start its workers
        _err(str(exc))
        raise typer.Exit(2)
    for file, code, message in summary.failures:
        _err(f"{file}: {code}: {message}")
    typer.echo(str(summary))
    if summary.n_failed:
        raise typer.Exit(1)


@app.command("export")
def export_cmd(
    outdir: Path = typer.Argument(..., help="directory of records (from extract or batch)"),
    to: str = typer.Option(..., "--to", help="DIR/ (CSVs), FILE.csv, FILE.xlsx, NAME.parquet (a folder) "
                                             "or FILE.duckdb"),
) -> None:
    """Flat tables keyed by record_id (declarations, indicators, budget_items, safeguards,
    checks, review, fields, extra, warnings, pages; docs/export.md): CSV one file per
    table with datapackage.json, Parquet a folder of one file per table, Excel one sheet
    per table with Chinese headers, DuckDB one table each with keys. Reviewed records
    (OUTDIR/reviewed/) are exported in place of the extracted ones. Exit status 1 when
    a .json file was not exported (each is named on stderr), E_NO_RECORDS when none was."""
    from pipelines.export import export

    if not outdir.is_dir():
        raise errors.UsageError(f"{outdir}: not a directory")
    result = export(outdir, to)
    for p in result.files:
        typer.echo(str(p))
    for problem in result.problems:
        _err(f"{problem}")
    skipped = len({p.file for p in result.problems})
    _err(f"exported {result.records} record(s) from {result.found} .json file(s)"
         + (f"; {len(result.problems)} problem(s) in {skipped} file(s), named above" if result.problems else ""))
    if result.problems:
        raise typer.Exit(1)


@app.command()
def review(
    outdir: Path = typer.Argument(..., help="records written by extract or batch"),
    sources: Optional[Path] = typer.Option(None, "--sources", help="INDIR: where the input files are (page images)"),
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on (others than this machine: a warning)"),
    port: int = typer.Option(8765, "--port"),
    reviewer: Optional[str] = typer.Option(None, "--reviewer", help="name written with every correction"),
    to_golden: Optional[Path] = typer.Option(None, "--to-golden",
                                             help="write the verified records as golden records to DIR, then exit"),
    force: bool = typer.Option(False, "--force", help="with --to-golden: replace existing golden files"),
) -> None:
    """The verification station: a local web page to clear the review queue (page image,
    box, value; Enter accepts, type to correct). Corrections go to OUTDIR/reviewed/."""
    from pipelines.review import command

    raise typer.Exit(command(outdir, sources=sources, host=host, port=port, reviewer=reviewer,
                             to_golden=to_golden, force=force, echo=typer.echo, err=_err))


@samples_app.command("contact-sheet")
def samples_contact_sheet(
    sample_dir: Path = typer.Argument(..., help="a directory made by 'shenbao samples build'"),
    out: Path = typer.Option(..., "-o", "--out", help="the PNG to write"),
    columns: int = typer.Option(4, "--columns"),
) -> None:
    """One PNG of every sample's first page, digital beside scanned, labelled."""
    from pipelines.samples.contact import contact_sheet

    typer.echo(contact_sheet(sample_dir, out, columns=columns))


@templates_app.command("check")
def templates_check(
    directory: Path = typer.Argument(..., help="a folder of template files (*.yaml; _*.yaml are shared parts)"),
) -> None:
    """Load every template of a folder as extraction would, and report each one or
    the first error (E_TEMPLATE names the file and the key)."""
    from extract.template import load_dir

    for t in load_dir(directory):
        n_fields = sum(1 for f in t.all_fields() if f.key)
        typer.echo(f"{t.path.name}: {t.id} ({t.name}): {n_fields} fields, {len(t.tables)} tables, "
                   f"{len(t.checks)} checks, {len(t.detect)} detect labels")


@app.command()
def explain(
    file: Path = typer.Argument(..., help="a declaration file (PDF, TIFF, PNG, JPEG)"),
    field_path: str = typer.Option(..., "--field", help="a record path: funding.total_budget, indicators[2].target"),
    declaration: int = typer.Option(1, "--declaration", help="which declaration of a file holding several"),
    ocr: str = OCR_OPT,
    templates: Optional[Path] = typer.Option(None, "--templates", help="a folder of form templates"),
) -> None:
    """How one value took its way from the page to the record: the cells it was read
    from, the label and the template's label that matched, the rule, the printed text,
    the normalized value and the review entries that name it."""
    from extract.document import Options
    from pipelines.explain import explain as run

    opts = _reading_options(ocr, None, False, 2000, 200_000_000)
    opts.templates_dir = str(templates) if templates else None
    for line in run(file, field_path, opts, declaration):
        typer.echo(line)


def main() -> None:
    try:
        app(standalone_mode=True)
    except KeyboardInterrupt:
        _err("interrupted")
        sys.exit(130)
    except errors.ShenbaoError as exc:  # a command's own error (E_MISSING_DEPENDENCY, E_USAGE, …)
        _err(f"{exc.code}: {exc.message}")
        sys.exit(2)


if __name__ == "__main__":
    main()
