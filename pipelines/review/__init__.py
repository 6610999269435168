"""The verification station: a local web page where people clear what the
pipeline flagged (issue 15).

`shenbao review OUTDIR --sources INDIR` serves the queue of every record's
`review` entries, riskiest first; the field view (the page rendered from the
source, the field's box zoomed, Enter accepts, typing corrects); the group
view (one reason or field kind across the batch, as a grid of crops); and the
record view (every field of one declaration over its pages). Corrections go to
OUTDIR/reviewed/<stem>.json with one audit line each; the extracted records
are never changed. `--to-golden DIR` writes the verified records as golden
records.

Modules: fields (what a field is, how a typed value is normalized), store
(queue, actions, reviewed records, audit), sources (input files by hash),
pages (rendering and cache), app (the web application), server (running it),
golden (golden records and comparison of reviewed records).
"""

from __future__ import annotations

from pathlib import Path


def command(outdir: Path, sources: Path | None = None, host: str = "127.0.0.1", port: int = 8765,
            reviewer: str | None = None, to_golden: Path | None = None, force: bool = False,
            echo=print, err=None) -> int:
    """`shenbao review`: serve the station, or with to_golden write golden
    records. Returns the exit status; raises ShenbaoError for bad arguments."""
    import sys

    from extract import errors

    err = err or (lambda m: print(m, file=sys.stderr))
    if not Path(outdir).is_dir():
        raise errors.UsageError(f"{outdir}: not a directory of records")
    if to_golden is not None:
        from .golden import to_golden as write

        written, skipped = write(outdir, to_golden, force=force)
        for p in written:
            echo(str(p))
        for why in skipped:
            err(f"skipped {why}")
        echo(f"{len(written)} verified record(s) written as golden records to {to_golden}")
        return 0
    from .server import serve

    return serve(outdir, sources, host=host, port=port, reviewer=reviewer, echo=echo, err=err)
