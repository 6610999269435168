"""Every system file and tool the code opens, in one place, each with the
Debian package that installs it.

setup.sh installs every package named here (tests/test_sysdeps.py checks it,
and that no other absolute system path is named anywhere in the code), so a
fresh machine has them. At run time a missing one is a coded error,
E_MISSING_DEPENDENCY, that names the package to install, never a traceback.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from . import errors


@dataclass(frozen=True)
class SystemFile:
    path: str
    package: str  # the Debian package that installs it
    index: int | None = None  # subfont of a .ttc collection

    @property
    def name(self) -> str:
        return Path(self.path).name


@dataclass(frozen=True)
class Tool:
    command: str
    package: str


# Fonts: the sample renderer, the scan simulator, the contact sheet and the
# tests draw with these.
FONTS: dict[str, SystemFile] = {
    "wqy-zenhei": SystemFile("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "fonts-wqy-zenhei", 0),
    "wqy-microhei": SystemFile("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "fonts-wqy-microhei", 0),
    "uming": SystemFile("/usr/share/fonts/truetype/arphic/uming.ttc", "fonts-arphic-uming", 0),
    "ukai": SystemFile("/usr/share/fonts/truetype/arphic/ukai.ttc", "fonts-arphic-ukai", 0),
    "droid": SystemFile("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", "fonts-droid-fallback"),
    "dejavu": SystemFile("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "fonts-dejavu-core"),
}

# Tesseract's Chinese model (the tesseract engine and its orientation judge).
TESSDATA_CHI_SIM = SystemFile("/usr/share/tesseract-ocr/5/tessdata/chi_sim.traineddata",
                              "tesseract-ocr-chi-sim")

TOOLS: dict[str, Tool] = {
    "tesseract": Tool("tesseract", "tesseract-ocr"),
    "pdftoppm": Tool("pdftoppm", "poppler-utils"),
    "gs": Tool("gs", "ghostscript"),
    "soffice": Tool("soffice", "libreoffice-calc-nogui"),  # the office rendering route
    "chromium": Tool("chromium", "chromium"),  # the review station's browser tests
    "chromedriver": Tool("chromedriver", "chromium-driver"),
}


def missing(what: str, package: str) -> errors.MissingDependency:
    return errors.MissingDependency(f"{what} missing; install {package} or run ./setup.sh")


def font(key: str) -> SystemFile:
    """The font called key, checked to be on this machine."""
    f = FONTS[key]
    if not Path(f.path).is_file():
        raise missing(f"font {f.name}", f.package)
    return f


def font_path(key: str) -> str:
    return font(key).path


def require_file(f: SystemFile, what: str | None = None) -> str:
    if not Path(f.path).is_file():
        raise missing(what or f.name, f.package)
    return f.path


def tool(key: str) -> str:
    """The full path of a system command, checked to be on this machine."""
    t = TOOLS[key]
    found = shutil.which(t.command)
    if not found:
        raise missing(f"program {t.command}", t.package)
    return found


def packages() -> set[str]:
    """Every Debian package named here (setup.sh installs them all)."""
    return ({f.package for f in FONTS.values()} | {TESSDATA_CHI_SIM.package}
            | {t.package for t in TOOLS.values()})
