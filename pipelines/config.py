"""shenbao.toml: settings for every run, typed and checked.

Found in the current directory, or given with `shenbao --config FILE`. A value
on the command line wins over the file, the file over the built-in default.
An unknown key, a wrong type or a value out of range is E_USAGE naming the
file and the key. Relative paths are taken from the file's own folder.

    templates = "forms/"            # folder of form templates (*.yaml)
    plugins = ["faults.py"]         # modules that register OCR engines (--plugin)

    [ocr]
    engine = "rapidocr"             # --ocr
    dpi = 300                       # resolution PDF pages are rendered at for OCR

    [reading]
    force_ocr = false               # --force-ocr
    quick_look = true               # set aside scanned pages with no grid and no form word
    max_pages = 2000                # --max-pages
    max_pixels = 200_000_000        # --max-pixels
    follow_symlinks = false         # --follow-symlinks

    [batch]                         # limits, for batch and extract alike
    jobs = 2                        # -j
    timeout = 600                   # --timeout, seconds per document
    max_memory = 2048               # --max-memory, MB per worker (0: no limit)
    wait = 0                        # --wait, seconds to wait for another run's lock

    [review]                        # thresholds for review entries, passed through
    low_confidence = 0.6
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from extract import errors

CONFIG_NAME = "shenbao.toml"
MIN_MEMORY_MB = 256  # below this not even the text-layer path loads


def _bool(v):
    return isinstance(v, bool)


def _int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# section → key → (setting name, check, what the check wants)
SCHEMA: dict[str | None, dict[str, tuple[str, object, str]]] = {
    None: {"templates": ("templates", lambda v: isinstance(v, str) and v, "a folder path"),
           "plugins": ("plugins", lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
                       "a list of module names or .py paths")},
    "ocr": {"engine": ("ocr", lambda v: isinstance(v, str) and v, "an engine name"),
            "dpi": ("ocr_dpi", lambda v: _int(v) and 50 <= v <= 1200, "a whole number of dpi, 50 to 1200")},
    "reading": {"force_ocr": ("force_ocr", _bool, "true or false"),
                "max_pages": ("max_pages", lambda v: _int(v) and v >= 1, "a whole number ≥ 1"),
                "max_pixels": ("max_pixels", lambda v: _int(v) and v >= 1, "a whole number ≥ 1"),
                "follow_symlinks": ("follow_symlinks", _bool, "true or false"),
                "quick_look": ("quick_look", _bool, "true or false")},
    "batch": {"jobs": ("jobs", lambda v: _int(v) and v >= 1, "a whole number ≥ 1"),
              "timeout": ("timeout", lambda v: _num(v) and math.isfinite(v) and v > 0, "a number of seconds > 0"),
              "max_memory": ("max_memory", lambda v: _int(v) and (v == 0 or v >= MIN_MEMORY_MB),
                             f"0 (no limit) or a whole number of MB ≥ {MIN_MEMORY_MB}"),
              "wait": ("wait", lambda v: _num(v) and math.isfinite(v) and v >= 0, "a number of seconds ≥ 0")},
}
PASSTHROUGH = {"review"}  # tables other parts of shenbao define


@dataclass
class Config:
    path: Path | None = None
    values: dict[str, object] = field(default_factory=dict)  # setting name → value
    review: dict = field(default_factory=dict)

    def get(self, name: str, default=None):
        return self.values.get(name, default)


def find_config(explicit: Path | None, cwd: Path | None = None) -> Path | None:
    if explicit is not None:
        if not Path(explicit).is_file():
            raise errors.UsageError(f"--config {explicit}: no such file")
        return Path(explicit)
    here = Path(cwd or Path.cwd()) / CONFIG_NAME
    return here if here.is_file() else None


def load_config(path: Path | None) -> Config:
    if path is None:
        return Config()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise errors.UsageError(f"{path}: cannot read the configuration ({errors.one_line(exc)})") from None
    except tomllib.TOMLDecodeError as exc:
        raise errors.UsageError(f"{path}: not valid TOML ({exc})") from None
    cfg = Config(path=Path(path))
    base = Path(path).resolve().parent
    for key, value in data.items():
        if key in PASSTHROUGH:
            if not isinstance(value, dict):
                raise errors.UsageError(f"{path}: [{key}] must be a table")
            cfg.review = dict(value)
            continue
        if isinstance(value, dict):
            section = SCHEMA.get(key)
            if section is None:
                raise errors.UsageError(f"{path}: unknown section [{key}] (known: "
                                        f"{', '.join(f'[{s}]' for s in SCHEMA if s)}, [review])")
            for k, v in value.items():
                _set(cfg, path, key, k, v, section, base)
        else:
            _set(cfg, path, None, key, value, SCHEMA[None], base)
    return cfg


def _set(cfg: Config, path: Path, section: str | None, key: str, value, schema: dict, base: Path) -> None:
    where = f"[{section}] {key}" if section else key
    if key not in schema:
        known = ", ".join(schema)
        raise errors.UsageError(f"{path}: unknown key {where} (known here: {known})")
    name, check, wants = schema[key]
    if not check(value):
        raise errors.UsageError(f"{path}: {where} must be {wants}, not {value!r}")
    if name == "templates":
        value = str((base / value).resolve())
    elif name == "plugins":
        value = [str((base / v).resolve()) if v.endswith(".py") or "/" in v else v for v in value]
    cfg.values[name] = value
