"""Every system file the code names comes from a Debian package that setup.sh
installs, so a fresh machine passes what this one passes. A file installed by
hand on the developer's machine is exactly what these tests catch: the path is
named in the code, `dpkg -S` maps it to a package, and setup.sh must list it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from extract import errors, sysdeps

ROOT = Path(__file__).resolve().parent.parent
SYSTEM_PATH = re.compile(r"/usr/(?:share|lib|bin)/[A-Za-z0-9_./+-]+\.[A-Za-z0-9]+")
CODE_SUFFIXES = {".py", ".sh", ".yaml", ".toml"}


def setup_packages() -> set[str]:
    text = (ROOT / "setup.sh").read_text(encoding="utf-8")
    m = re.search(r"APT_PKGS=\(([^)]*)\)", text)
    assert m, "setup.sh has no APT_PKGS=( … ) list"
    body = "\n".join(line.split("#", 1)[0] for line in m.group(1).splitlines())
    return set(body.split())


def code_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, check=True)
        names = [n for n in out.stdout.decode().split("\0") if n]
        files = [ROOT / n for n in names]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: every file
        files = [p for p in ROOT.rglob("*") if ".venv" not in p.parts and ".git" not in p.parts]
    return [p for p in files if p.suffix in CODE_SUFFIXES and p.is_file()]


def named_paths() -> dict[str, list[str]]:
    """Absolute system paths named anywhere in the code → the files naming them."""
    out: dict[str, list[str]] = {}
    for p in code_files():
        for hit in SYSTEM_PATH.findall(p.read_text(encoding="utf-8", errors="replace")):
            out.setdefault(hit, []).append(str(p.relative_to(ROOT)))
    return out


def owner(path: str) -> str | None:
    """The Debian package that installed path (dpkg -S), or None."""
    res = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
    if res.returncode != 0:
        return None
    return res.stdout.split(":", 1)[0].split(",")[0].strip()


needs_dpkg = pytest.mark.skipif(shutil.which("dpkg") is None, reason="not a Debian system (no dpkg)")


def test_setup_lists_every_package_sysdeps_names():
    apt = setup_packages()
    missing = sorted(p for p in sysdeps.packages() if p not in apt)
    assert not missing, f"extract/sysdeps.py names packages setup.sh does not install: {missing}"


@needs_dpkg
def test_every_system_path_in_the_code_comes_from_a_package_setup_installs():
    apt = setup_packages()
    paths = named_paths()
    assert paths, "the scan found no system path at all: the pattern is broken"
    problems = []
    for path, where in sorted(paths.items()):
        pkg = owner(path)
        if pkg is None:
            problems.append(f"{path} (named in {where[0]}) belongs to no installed package")
        elif pkg not in apt:
            problems.append(f"{path} (named in {where[0]}) comes from {pkg}, which setup.sh does not install")
    assert not problems, "\n".join(problems)


@needs_dpkg
def test_sysdeps_packages_are_the_real_owners():
    for key, f in {**sysdeps.FONTS, "tessdata": sysdeps.TESSDATA_CHI_SIM}.items():
        assert owner(f.path) == f.package, f"{key}: {f.path} is not from {f.package}"


def test_system_paths_are_named_in_one_place():
    """Fonts and other system files are named in extract/sysdeps.py only (the
    scan helpers of this test name the pattern, not a path)."""
    elsewhere = {path: [w for w in where if w != "extract/sysdeps.py"]
                 for path, where in named_paths().items()}
    elsewhere = {p: w for p, w in elsewhere.items() if w}
    assert not elsewhere, f"system paths named outside extract/sysdeps.py: {elsewhere}"


def test_tools_are_on_this_machine():
    for key in sysdeps.TOOLS:
        assert sysdeps.tool(key)


def test_a_missing_font_is_a_coded_error_naming_its_package(monkeypatch):
    monkeypatch.setitem(sysdeps.FONTS, "droid",
                        sysdeps.SystemFile("/nonexistent/DroidSansFallbackFull.ttf", "fonts-droid-fallback"))
    with pytest.raises(errors.MissingDependency) as ei:
        sysdeps.font("droid")
    assert ei.value.code == "E_MISSING_DEPENDENCY"
    assert str(ei.value) == ("E_MISSING_DEPENDENCY: font DroidSansFallbackFull.ttf missing; "
                             "install fonts-droid-fallback or run ./setup.sh")


def test_a_missing_program_is_a_coded_error(monkeypatch):
    monkeypatch.setitem(sysdeps.TOOLS, "tesseract", sysdeps.Tool("no-such-tesseract-binary", "tesseract-ocr"))
    with pytest.raises(errors.MissingDependency, match="install tesseract-ocr"):
        sysdeps.tool("tesseract")


def test_samples_build_without_a_font_says_which_package(tmp_path, monkeypatch):
    """`shenbao samples build` on a machine without a font every style falls
    back to: a coded error on stderr and exit 2, not a traceback."""
    import os
    import sys

    script = (
        "import sys; from extract import sysdeps;"
        "sysdeps.FONTS['wqy-microhei'] = sysdeps.SystemFile('/nonexistent/wqy-microhei.ttc',"
        " 'fonts-wqy-microhei', 0);"
        "sys.argv = ['shenbao', 'samples', 'build', sys.argv[1], '--count', '12', '--seed', '5',"
        " '--no-scanned'];"
        "from pipelines.cli import main; main()"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, "-c", script, str(tmp_path / "out")], capture_output=True,
                         text=True, cwd=ROOT, env=env, timeout=300)
    assert res.returncode == 2, res.stderr[-2000:]
    assert "Traceback" not in res.stderr
    assert "E_MISSING_DEPENDENCY: font wqy-microhei.ttc missing; install fonts-wqy-microhei" \
        in res.stderr


def test_contact_sheet_of_a_folder_without_plan(tmp_path):
    import sys

    res = subprocess.run([sys.executable, "-m", "pipelines.cli", "samples", "contact-sheet",
                          str(tmp_path), "-o", str(tmp_path / "c.png")],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert res.stderr.startswith("E_USAGE: ") and "plan.json" in res.stderr
