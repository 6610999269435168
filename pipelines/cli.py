"""`shenbao` command line: extract | compare | batch | export | review | explain | templates | samples.

Global options (before the command): --version, -v / -q, --log-file FILE,
--config FILE (default: ./shenbao.toml when there is one; see
pipelines/config.py). Every error is a line `CODE: message` (or
`FILE: CODE: message`) on stderr, never a Python traceback (-vv shows it for
an internal error). Exit status: 0 all ok; 1 some document failed or lost
pages (partial); 2 the command could not run (usage, OUTDIR, lock, cluster);
130 / 143 interrupted by Ctrl-C / SIGTERM (workers are stopped, finished
documents are kept, a rerun completes the rest).
"""

from __future__ import annotations

import json
import math
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

import typer

from extract import errors

app = typer.Typer(add_completion=True, no_args_is_help=True,
                  help="财政项目支出绩效目标申报表 (PDF / TIFF / PNG / JPEG) → validated JSON records.",
                  epilog="Examples:  shenbao extract scan.pdf -o out/   ·   shenbao batch archive/ -o records/ -j 2"
                         "   ·   shenbao export records/ --to records.duckdb   ·   shenbao COMMAND --help")
samples_app = typer.Typer(no_args_is_help=True, help="Build sample declarations with golden records.")
app.add_typer(samples_app, name="samples")
templates_app = typer.Typer(no_args_is_help=True, help="Form templates: check a folder of them.")
app.add_typer(templates_app, name="templates")


def _err(msg: str) -> None:
    typer.echo(msg, err=True)


def coded(fn):
    """A command's own ShenbaoError (E_USAGE, E_OUTPUT, E_LOCKED, …) → `CODE: message`
    on stderr and exit status 2, whoever runs the command (main() or a test's CliRunner)."""
    import functools

    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except errors.ShenbaoError as exc:
            _err(f"{exc.code}: {exc.message}")
            raise typer.Exit(2) from None

    return run


def count_fields(rec: dict) -> int:
    """Non-empty leaf fields of a record (what a person would call 'found')."""
    from extract.compare import leaves

    return sum(1 for _, v in leaves(rec) if v not in (None, "", [], {}))


def tool_version() -> str:
    try:
        from importlib.metadata import version

        return version("shenbao")
    except Exception:
        return "0+unknown"


@dataclass
class AppState:
    verbose: int = 0
    quiet: bool = False
    log_file: Optional[str] = None
    config: object = None

    @property
    def log_level(self) -> int:
        from pipelines.logs import level_for

        return level_for(self.verbose, self.quiet)


def _state(ctx: typer.Context) -> AppState:
    root = ctx.find_root()
    if not isinstance(root.obj, AppState):
        from pipelines.config import Config

        root.obj = AppState(config=Config())
    return root.obj


def _version(value: bool) -> None:
    if value:
        typer.echo(f"shenbao {tool_version()}")
        raise typer.Exit(0)


@app.callback()
@coded
def _global(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, metavar="",
                                 help="print the version and exit"),
    verbose: int = typer.Option(0, "-v", "--verbose", count=True, metavar="", show_default=False,
                                help="say more: -v each document, -vv everything (and tracebacks)"),
    quiet: bool = typer.Option(False, "-q", "--quiet", metavar="",
                               help="only errors: no progress bars, no per-file lines, no summary"),
    log_file: Optional[Path] = typer.Option(None, "--log-file", metavar="FILE",
                                            help="append the run's log (INFO and above) to FILE"),
    config: Optional[Path] = typer.Option(None, "--config", metavar="FILE",
                                          help="settings file (default: ./shenbao.toml if there is one)"),
) -> None:
    from pipelines.config import find_config, load_config
    from pipelines.logs import configure

    st = _state(ctx)
    st.verbose, st.quiet = verbose, quiet
    st.log_file = str(log_file) if log_file else None
    try:
        configure(st.log_level, st.log_file)
    except OSError as exc:
        raise errors.OutputError(f"--log-file {log_file}: {exc.strerror or exc}") from None
    st.config = load_config(find_config(config))


def _setting(ctx: typer.Context, name: str, value):
    """The command line's value when given there, else shenbao.toml's, else the default."""
    cfg = _state(ctx).config
    source = ctx.get_parameter_source(name)
    if (source is None or source.name == "DEFAULT") and cfg.get(name) is not None:
        return cfg.get(name)
    return value


# ------------------------------------------------------------------ shared options

def _flag(name: str, help: str):
    return typer.Option(False, name, metavar="", help=help)


OCR_OPT = typer.Option("rapidocr", "--ocr", metavar="ENGINE",
                       help="OCR engine for scanned pages: rapidocr | tesseract (extract.ocr.registry; "
                            "--plugin adds more)")
PASSWORD_OPT = typer.Option(None, "--password", metavar="PW", help="password of encrypted PDFs")
FORCE_OCR_OPT = _flag("--force-ocr", "OCR every page, ignore text layers")
MAX_PAGES_DEFAULT, MAX_PIXELS_DEFAULT = 2000, 200_000_000
MAX_PAGES_OPT = typer.Option(2000, "--max-pages", metavar="N", help="refuse documents with more pages")
MAX_PIXELS_OPT = typer.Option(200_000_000, "--max-pixels", metavar="N",
                              help="refuse images (and pages to OCR) with more pixels")
TIMEOUT_OPT = typer.Option(600.0, "--timeout", metavar="S", help="seconds allowed per document (> 0)")
MAX_MEMORY_OPT = typer.Option(2048, "--max-memory", metavar="MB",
                              help="MB of memory per worker process (0: no limit; else at least 256)")
FOLLOW_OPT = _flag("--follow-symlinks", "read files and folders behind symbolic links found in a folder "
                                        "(default: pass them over and name them)")
WAIT_OPT = typer.Option(0.0, "--wait", metavar="S",
                        help="wait up to S seconds for another run writing into OUTDIR (default: stop "
                             "at once with E_LOCKED)")
TEMPLATES_OPT = typer.Option(None, "--templates", metavar="DIR",
                             help="folder of form templates (*.yaml) instead of the shipped ones")
NO_CACHE_OPT = typer.Option(False, "--no-cache", metavar="",
                             help="keep no OCR cache (default: image pages' reads go to OUTDIR/cache/ocr/, "
                                  "so a rerun or `shenbao remap` needs no OCR)")
PLUGIN_OPT = typer.Option(None, "--plugin", metavar="MODULE",
                          help="load a Python module or .py file that registers OCR engines "
                               "(extract.ocr.registry.register); may be repeated")


@dataclass
class RunSettings:
    options: object
    jobs: Optional[int]
    timeout: float
    max_memory: Optional[int]
    follow_symlinks: bool
    wait: float
    task: object
    setup: object
    review: dict = field(default_factory=dict)


def _settings(ctx: typer.Context, *, ocr, password, force_ocr, max_pages, max_pixels, jobs, timeout,
              max_memory, follow_symlinks, wait, templates, plugin) -> RunSettings:
    """Every reading option and limit, from the command line or shenbao.toml, checked."""
    from extract.document import Options
    from extract.ocr import registry
    from pipelines.config import MIN_MEMORY_MB
    from pipelines.plugins import load_plugins
    from pipelines.pool import ExtractTask, WorkerSetup

    st = _state(ctx)
    cfg = st.config
    ocr = _setting(ctx, "ocr", ocr)
    force_ocr = _setting(ctx, "force_ocr", force_ocr)
    max_pages = _setting(ctx, "max_pages", max_pages)
    max_pixels = _setting(ctx, "max_pixels", max_pixels)
    jobs = _setting(ctx, "jobs", jobs)
    timeout = _setting(ctx, "timeout", timeout)
    max_memory = _setting(ctx, "max_memory", max_memory)
    follow_symlinks = _setting(ctx, "follow_symlinks", follow_symlinks)
    wait = _setting(ctx, "wait", wait)
    templates = _setting(ctx, "templates", templates)
    plugins = tuple(plugin or ()) + tuple(cfg.get("plugins") or ())
    load_plugins(plugins)
    if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
        raise errors.UsageError(f"--timeout must be a number of seconds > 0, not {timeout}")
    if max_memory is not None and max_memory != 0 and max_memory < MIN_MEMORY_MB:
        raise errors.UsageError(f"--max-memory must be 0 (no limit) or at least {MIN_MEMORY_MB} MB, "
                                f"not {max_memory}")
    if max_memory is not None and max_memory < 0:
        raise errors.UsageError(f"--max-memory must be 0 (no limit) or at least {MIN_MEMORY_MB} MB")
    if jobs is not None and jobs < 1:
        raise errors.UsageError(f"-j/--jobs must be at least 1, not {jobs}")
    if max_pages < 1 or max_pixels < 1:
        raise errors.UsageError("--max-pages and --max-pixels must be at least 1")
    if not (math.isfinite(wait) and wait >= 0):
        raise errors.UsageError(f"--wait must be a number of seconds ≥ 0, not {wait}")
    if ocr.lower() not in registry.names():
        raise errors.UsageError(f"--ocr {ocr}: unknown engine; one of {registry.describe()}")
    if templates is not None:
        _check_templates(Path(templates))
    opts = Options(password=password, ocr_engine=ocr, force_ocr=force_ocr, max_pages=max_pages,
                   max_pixels=max_pixels)
    if cfg.get("ocr_dpi"):
        opts.ocr_dpi = cfg.get("ocr_dpi")
    if cfg.get("quick_look") is False:  # every scanned page read in full (image/triage.py)
        import dataclasses

        opts.settings = dataclasses.replace(
            opts.settings, triage=dataclasses.replace(opts.settings.triage, enabled=False))
    setup = WorkerSetup(plugins=plugins, log_level=st.log_level, log_file=st.log_file)
    return RunSettings(options=opts, jobs=jobs, timeout=float(timeout), max_memory=max_memory or None,
                       follow_symlinks=follow_symlinks, wait=float(wait),
                       task=ExtractTask(str(templates) if templates else None, dict(cfg.review)),
                       setup=setup, review=dict(cfg.review))


def _check_templates(directory: Path) -> None:
    """--templates DIR (or shenbao.toml's templates): a folder of templates that load."""
    from extract.template import load_templates

    if not directory.is_dir():
        raise errors.UsageError(f"--templates {directory}: not a folder")
    load_templates(str(directory))  # E_TEMPLATE naming the file and the key


def _progress(ctx: typer.Context, total_hint: int, workers: int, label: str):
    from pipelines.progress import BatchProgress, NoProgress

    if _state(ctx).quiet or not sys.stderr.isatty():
        return NoProgress()
    return BatchProgress(total_hint, workers, label)


EXTRACT_EXAMPLES = """Examples:

  shenbao extract scan.pdf -o out/                    # out/scan.json

  shenbao extract archive/2019 -o out/ -j 2           # a folder, as batch reads it

  shenbao extract a.pdf -o - | jq .project.name       # JSON Lines on stdout

  shenbao extract -o out -- -scan.pdf                 # a name that starts with a dash
"""


@app.command(epilog=EXTRACT_EXAMPLES, short_help="Files or folders → one JSON record per declaration.")
@coded
def extract(
    ctx: typer.Context,
    files: List[Path] = typer.Argument(..., metavar="FILE|DIR...",
                                       help="PDF, TIFF, PNG or JPEG files, or folders of them"),
    outdir: str = typer.Option(..., "-o", "--outdir", metavar="OUTDIR",
                               help="where <stem>.json records go; - writes JSON Lines to stdout"),
    ocr: str = OCR_OPT,
    password: Optional[str] = PASSWORD_OPT,
    force_ocr: bool = FORCE_OCR_OPT,
    max_pages: int = MAX_PAGES_OPT,
    max_pixels: int = MAX_PIXELS_OPT,
    jobs: int = typer.Option(1, "-j", "--jobs", metavar="N", help="files read at once (worker processes)"),
    timeout: float = TIMEOUT_OPT,
    max_memory: int = MAX_MEMORY_OPT,
    overwrite: bool = _flag("--overwrite", "replace a record of another document that has the same name "
                                           "(default: write <stem>_2.json)"),
    follow_symlinks: bool = FOLLOW_OPT,
    wait: float = WAIT_OPT,
    as_json: bool = _flag("--json", "print a machine-readable summary (JSON) on stdout instead of lines"),
    no_cache: bool = NO_CACHE_OPT,
    templates: Optional[Path] = TEMPLATES_OPT,
    plugin: Optional[List[str]] = PLUGIN_OPT,
) -> None:
    """Extract one record per declaration: OUTDIR/<file stem>.json (<stem>-N.json when a file
    holds several). A name another document already has gives <stem>_2.json (or --overwrite);
    the same file read again replaces its own record. Every document gets a line in
    OUTDIR/manifest.jsonl. Exit status 1 when any file failed or lost pages; the reason goes
    to stderr."""
    from pipelines.extracting import check_boolean_words, run_extract

    st = _state(ctx)
    rs = _settings(ctx, ocr=ocr, password=password, force_ocr=force_ocr, max_pages=max_pages,
                   max_pixels=max_pixels, jobs=jobs, timeout=timeout, max_memory=max_memory,
                   follow_symlinks=follow_symlinks, wait=wait, templates=templates, plugin=plugin)
    check_boolean_words(files)
    to_stdout = outdir == "-"
    if to_stdout and as_json:
        raise errors.UsageError("-o - (records on stdout) and --json (a summary on stdout) exclude each other")
    if to_stdout and overwrite:
        raise errors.UsageError("--overwrite has no meaning with -o -")
    talk = not (as_json or st.quiet)
    say = _err if to_stdout else typer.echo  # human lines never mix with JSON Lines

    def emit(job, entry, records) -> None:
        from pipelines.io import printable

        name = printable(job.source_file or job.rel)
        if entry["status"] == "error":
            _err(f"{printable(str(job.path))}: {entry['error_code']}: {entry['error_message']}")
            return
        if entry["status"] == "partial":
            _err(f"{printable(str(job.path))}: partial: {entry['error_message']}")
        if not talk:
            return
        names = entry["records"] or ["-"] * len(records)
        for rec_name, rec in zip(names, records):
            bad = sum(not c.get("passed") for c in rec.get("checks", []))
            say(f"{name} → {rec_name}: {count_fields(rec)} fields found, {bad} checks failed, "
                f"{len(rec.get('warnings', []))} warnings, {len(rec.get('review', []))} review entries, "
                f"variant {rec['form']['variant']}, {entry['seconds'] or 0:.2f} s"
                + (f", PARTIAL (pages {', '.join(map(str, entry['pages_lost']))} lost)"
                   if entry["status"] == "partial" else ""))

    bar = _progress(ctx, len(files), rs.jobs or 1, "files")
    summary = run_extract(files, None if to_stdout else Path(outdir), options=rs.options, jobs=rs.jobs or 1,
                          timeout=rs.timeout, max_memory_mb=rs.max_memory, task=rs.task,
                          follow_symlinks=rs.follow_symlinks, overwrite=overwrite, wait=rs.wait,
                          setup=rs.setup, progress=bar, emit=emit,
                          stdout=sys.stdout.buffer if to_stdout else None, cache=not no_cache)
    for link in summary.not_followed:
        _err(f"{link}: symbolic link not followed (give --follow-symlinks to read it)")
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2))
    elif talk and (summary.found > 1 or summary.partial or summary.n_failed or summary.stale):
        say(f"{summary.found} files: {summary.ok} ok, {summary.partial} partial, {summary.n_failed} failed; "
            f"{summary.records} records, {summary.warnings} warnings, {summary.review} review entries, "
            f"{summary.checks_failed} failed checks"
            + (f"; {summary.stale} earlier records now stale" if summary.stale else ""))
    if not summary.found:
        raise errors.UsageError("no PDF, TIFF, PNG or JPEG file in the folders given")
    if summary.n_failed:
        _err(f"{summary.n_failed} of {summary.found} files failed")
    if summary.n_failed or summary.partial:
        raise typer.Exit(1)

@app.command(short_help="Records against golden records: right / flagged / silent.")
def compare(
    outdir: Path = typer.Argument(..., help="records written by extract or batch"),
    goldendir: Path = typer.Argument(..., help="golden records (matched by file name, else by the record's source)"),
    min_accuracy: Optional[float] = typer.Option(None, "--min-accuracy",
                                                 help="exit 1 when field accuracy is below this"),
    max_silent: Optional[int] = typer.Option(None, "--max-silent",
                                             help="exit 1 when more fields than this are wrong and unflagged"),
    as_json: bool = typer.Option(False, "--json", metavar="", help="print the full report as JSON"),
    show: int = typer.Option(20, "--show", help="differing fields to list per record"),
    per_variant: bool = typer.Option(False, "--by-variant", metavar="", help="also one line per form variant"),
    only_present: bool = typer.Option(False, "--only-present", metavar="",
                                      help="leave out golden records that have no record in OUTDIR"),
    reviewed: bool = typer.Option(False, "--reviewed", metavar="",
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
    scanned: bool = typer.Option(True, "--scanned/--no-scanned", metavar="", help="also make scanned versions"),
    golden_dir: Optional[Path] = typer.Option(None, "--golden-dir",
                                              help="where golden records go (default OUTDIR/golden)"),
    records: Optional[str] = typer.Option(None, "--records",
                                          help="comma-separated corpus record names, in order"),
    route: str = typer.Option("reportlab", "--route",
                              help="reportlab (render.py) | office (.xlsx/.docx → LibreOffice → PDF) | "
                                   "mixed (drawn per file)"),
    plain_labels: bool = typer.Option(False, "--plain-labels", metavar="",
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


BATCH_EXAMPLES = """Examples:

  shenbao batch /archive/2019 -o /records/2019 -j 2             # resumable: rerun after a crash

  shenbao batch /archive/2019 -o /records/2019 --retry-partial --max-memory 6000 -j 1

  shenbao batch /archive/2019 -o /records/2019 --ray auto       # on a Ray cluster
"""


@app.command(epilog=BATCH_EXAMPLES, short_help="A whole archive, resumably, with locks, limits and a manifest.")
@coded
def batch(
    ctx: typer.Context,
    indir: Path = typer.Argument(..., metavar="INDIR",
                                 help="folder searched recursively for PDF / TIFF / PNG / JPEG"),
    outdir: Path = typer.Option(..., "-o", "--outdir", metavar="OUTDIR",
                                help="records and manifest.jsonl go here"),
    jobs: Optional[int] = typer.Option(None, "-j", "--jobs", metavar="N",
                                       help="worker processes (default: all cores)"),
    timeout: float = TIMEOUT_OPT,
    max_memory: int = MAX_MEMORY_OPT,
    ray_address: Optional[str] = typer.Option(None, "--ray", metavar="ADDRESS",
                                              help="run on Ray: auto | HOST:PORT | local "
                                                   "(needs pip install 'shenbao[ray]')"),
    retry_partial: bool = _flag("--retry-partial", "redo only the documents that lost pages or failed on "
                                                   "a limit (E_MEMORY, E_TIMEOUT, E_WORKER_DIED), e.g. "
                                                   "with a larger --max-memory; new files wait"),
    follow_symlinks: bool = FOLLOW_OPT,
    wait: float = WAIT_OPT,
    ocr: str = OCR_OPT,
    password: Optional[str] = PASSWORD_OPT,
    force_ocr: bool = FORCE_OCR_OPT,
    max_pages: int = MAX_PAGES_OPT,
    max_pixels: int = MAX_PIXELS_OPT,
    no_cache: bool = NO_CACHE_OPT,
    templates: Optional[Path] = TEMPLATES_OPT,
    plugin: Optional[List[str]] = PLUGIN_OPT,
) -> None:
    """Extract every declaration file under INDIR into OUTDIR, resumably: a rerun skips
    the documents OUTDIR/manifest.jsonl lists as done (also when renamed or copied),
    redoes partial and failed ones, and marks stale the records whose input is gone or
    changed. Records are named after the path relative to INDIR (sub/a.pdf →
    sub__a.json). Exit status 1 when any document failed or lost pages."""
    from pipelines.batch import run_batch

    st = _state(ctx)
    rs = _settings(ctx, ocr=ocr, password=password, force_ocr=force_ocr, max_pages=max_pages,
                   max_pixels=max_pixels, jobs=jobs, timeout=timeout, max_memory=max_memory,
                   follow_symlinks=follow_symlinks, wait=wait, templates=templates, plugin=plugin)
    if not indir.is_dir():
        raise errors.UsageError(f"{indir}: not a directory")
    from pipelines.pool import default_jobs

    bar = _progress(ctx, 0, rs.jobs or default_jobs(), "documents")
    summary = run_batch(indir, outdir, jobs=rs.jobs, timeout=rs.timeout, max_memory_mb=rs.max_memory,
                        options=rs.options, ray_address=ray_address, progress=bar, task=rs.task,
                        follow_symlinks=rs.follow_symlinks, retry_partial=retry_partial, wait=rs.wait,
                        setup=rs.setup, cache=not no_cache)
    _report_run(st, summary)


def _report_run(st, summary) -> None:
    """What a batch or remap run says: each document not read again, failed or
    partial and each link passed over (stderr), the summary, exit 1 when any
    document failed or lost pages."""
    from pipelines.io import printable

    for file, why in summary.left:
        _err(f"{printable(file)}: not read again: {why}")
    for file, code, message in summary.failures:
        _err(f"{printable(file)}: {code}: {message}")
    for file, pages, message in summary.partials:
        _err(f"{printable(file)}: partial: {message}")
    for link in summary.not_followed:
        _err(f"{printable(link)}: symbolic link not followed (give --follow-symlinks to read it)")
    if not st.quiet:
        typer.echo(str(summary))
    if summary.n_failed or summary.partial:
        raise typer.Exit(1)


REMAP_EXAMPLES = """Examples:

  shenbao batch /archive/2019 -o /records/2019                   # OCR once; reads kept in cache/ocr/
  shenbao remap /records/2019 --templates my-templates/          # after a template fix: no OCR
"""


@app.command(epilog=REMAP_EXAMPLES, short_help="Read OUTDIR's documents again with today's templates, "
                                               "image pages from the OCR cache.")
@coded
def remap(
    ctx: typer.Context,
    outdir: Path = typer.Argument(..., metavar="OUTDIR", help="a folder written by batch or extract"),
    jobs: Optional[int] = typer.Option(None, "-j", "--jobs", metavar="N",
                                       help="worker processes (default: all cores)"),
    timeout: float = TIMEOUT_OPT,
    max_memory: int = MAX_MEMORY_OPT,
    wait: float = WAIT_OPT,
    ocr: str = OCR_OPT,
    password: Optional[str] = PASSWORD_OPT,
    force_ocr: bool = FORCE_OCR_OPT,
    templates: Optional[Path] = TEMPLATES_OPT,
    plugin: Optional[List[str]] = PLUGIN_OPT,
) -> None:
    """Re-apply the form templates to every current document of OUTDIR (manifest.jsonl),
    into the same record names. Image pages come from OUTDIR/cache/ocr/ (written by
    batch and extract), so a template fix is applied to a whole archive without OCR; a
    page not in the cache is read (and kept). Inputs gone or changed since are left as
    they are and named. Use the reading options of the first run (--ocr, --force-ocr):
    other ones read the pages again."""
    from pipelines.batch import remap_outdir
    from pipelines.pool import default_jobs

    st = _state(ctx)
    if not outdir.is_dir() or not (outdir / "manifest.jsonl").is_file():
        raise errors.UsageError(f"{outdir}: not a folder written by batch or extract (no manifest.jsonl)")
    rs = _settings(ctx, ocr=ocr, password=password, force_ocr=force_ocr, max_pages=MAX_PAGES_DEFAULT,
                   max_pixels=MAX_PIXELS_DEFAULT, jobs=jobs, timeout=timeout, max_memory=max_memory,
                   follow_symlinks=False, wait=wait, templates=templates, plugin=plugin)
    bar = _progress(ctx, 0, rs.jobs or default_jobs(), "documents")
    summary = remap_outdir(outdir, jobs=rs.jobs, timeout=rs.timeout, max_memory_mb=rs.max_memory,
                           options=rs.options, progress=bar, task=rs.task, wait=rs.wait, setup=rs.setup)
    _report_run(st, summary)


@app.command("export", short_help="Records → CSV / Excel / Parquet / DuckDB tables.")
@coded
def export_cmd(
    outdir: Path = typer.Argument(..., metavar="OUTDIR", help="directory of records (from extract or batch)"),
    to: str = typer.Option(..., "--to", metavar="TARGET",
                           help="DIR/ (CSVs), FILE.csv, FILE.xlsx, NAME.parquet (a folder) or FILE.duckdb"),
    include_stale: bool = _flag("--include-stale", "also export records the manifest marks stale "
                                                   "(their input is gone or changed)"),
) -> None:
    """Flat tables keyed by record_id (declarations, indicators, budget_items, safeguards,
    checks, review, fields, extra, warnings, pages; docs/export.md): CSV one file per
    table with datapackage.json, Parquet a folder of one file per table, Excel one sheet
    per table with Chinese headers, DuckDB one table each with keys. Reviewed records
    (OUTDIR/reviewed/) are exported in place of the extracted ones; records whose input
    is gone or changed (stale in manifest.jsonl) are left out unless --include-stale.
    Exit status 1 when a .json file was not exported (each is named on stderr),
    E_NO_RECORDS when none was."""
    from pipelines.export import export
    from pipelines.manifest import list_records

    if not outdir.is_dir():
        raise errors.UsageError(f"{outdir}: not a directory")
    stale = list_records(outdir, include_stale, check=False).stale
    result = export(outdir, to, include_stale=include_stale)
    for p in result.files:
        typer.echo(str(p))
    for problem in result.problems:
        _err(f"{problem}")
    skipped = len({p.file for p in result.problems})
    _err(f"exported {result.records} record(s) from {result.found} .json file(s)"
         + (f"; {len(result.problems)} problem(s) in {skipped} file(s), named above" if result.problems else ""))
    if stale:
        _err(f"{len(stale)} stale record(s) left out (their input is gone or changed; "
             "--include-stale exports them)")
    if result.problems:
        raise typer.Exit(1)


@app.command()
@coded
def review(
    outdir: Path = typer.Argument(..., help="records written by extract or batch"),
    sources: Optional[Path] = typer.Option(None, "--sources", help="INDIR: where the input files are (page images)"),
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on (others than this machine: a warning)"),
    port: int = typer.Option(8765, "--port"),
    reviewer: Optional[str] = typer.Option(None, "--reviewer", help="name written with every correction"),
    to_golden: Optional[Path] = typer.Option(None, "--to-golden",
                                             help="write the verified records as golden records to DIR, then exit"),
    force: bool = typer.Option(False, "--force", metavar="", help="with --to-golden: replace existing golden files"),
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
@coded
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
@coded
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
    from extract.ocr import registry
    from pipelines.explain import explain as run

    if ocr.lower() not in registry.names():
        raise errors.UsageError(f"--ocr {ocr}: unknown engine; one of {registry.describe()}")
    if templates is not None:
        _check_templates(templates)
    opts = Options(ocr_engine=ocr, templates_dir=str(templates) if templates else None)
    for line in run(file, field_path, opts, declaration):
        typer.echo(line)


# typer carries its own copy of click: its ClickException, found from an exception it exports
_CLICK_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: workers stopped, finished documents kept."""


_SIGNALLED: list[str] = []


def _on_sigterm(signum, frame) -> None:
    _SIGNALLED.append("SIGTERM")
    raise Terminated()


def _verbosity(args: list[str]) -> int:
    """How many -v the global options hold (main() needs it before click parses them)."""
    n, skip = 0, False
    for a in args:
        if skip:
            skip = False
        elif a in ("--log-file", "--config"):
            skip = True
        elif a == "--verbose":
            n += 1
        elif a.startswith("-v") and set(a[1:]) == {"v"}:
            n += len(a) - 1
        elif not a.startswith("-"):
            break
    return n


def main() -> None:
    signal.signal(signal.SIGTERM, _on_sigterm)
    verbose = _verbosity(sys.argv[1:])
    try:
        code = app(standalone_mode=False)  # typer turns KeyboardInterrupt into exit code 130
        if _SIGNALLED:
            code = 143
        if code in (130, 143):
            _err("terminated" if code == 143 else "interrupted")
    except typer.Abort as exc:  # Ctrl-C / SIGTERM inside click's own prompt handling
        terminated = bool(_SIGNALLED) or isinstance(exc.__context__, Terminated)
        _err("terminated" if terminated else "interrupted")
        sys.exit(143 if terminated else 130)
    except Terminated:
        _err("terminated")
        sys.exit(143)
    except KeyboardInterrupt:
        _err("interrupted")
        sys.exit(130)
    except _CLICK_ERROR as exc:  # usage: E_USAGE, in click's words
        ctx = getattr(exc, "ctx", None)
        if ctx is not None:
            _err(ctx.get_usage())
            _err(f"Try '{ctx.command_path} --help' for help.")
        _err(f"E_USAGE: {exc.format_message()}")
        sys.exit(exc.exit_code)
    except errors.ShenbaoError as exc:  # a command's own error (E_USAGE, E_OUTPUT, E_LOCKED, …)
        _err(f"{exc.code}: {exc.message}")
        sys.exit(2)
    except Exception as exc:  # a bug: still a code, never a traceback (unless -vv)
        if verbose >= 2:
            import traceback

            traceback.print_exc()
        _err(f"E_INTERNAL: {errors.one_line(exc)} (a bug in shenbao: run with -vv for the traceback "
             "and report it)")
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
