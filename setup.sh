#!/usr/bin/env bash
# shenbao set-up, idempotent, for a fresh Debian machine (run as root or with sudo).
#   ./setup.sh          install everything, then extract the bundled samples into out/
#   ./setup.sh test     install everything, then run the test suite
set -euo pipefail
cd "$(dirname "$0")"

# Every system file or program the code opens is named, with its package, in
# extract/sysdeps.py; tests/test_sysdeps.py checks that this list has them all.
APT_PKGS=(tesseract-ocr tesseract-ocr-chi-sim ghostscript poppler-utils
          fonts-wqy-zenhei fonts-wqy-microhei fonts-arphic-uming fonts-arphic-ukai
          fonts-droid-fallback fonts-dejavu-core
          libreoffice-calc-nogui libreoffice-writer-nogui
          chromium chromium-driver)
python3 -c "import ensurepip, venv" 2>/dev/null || APT_PKGS+=(python3-venv python3-pip)

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
stamp=".venv/.shenbao-installed"
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing the Python package and its dependencies"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test,ray]"   # ray: for `batch --ray` (an extra)
  echo "$want" > "$stamp"
fi

case "${1:-run}" in
  run)
    for kind in digital scanned; do
      echo "== shenbao extract samples/$kind → out/$kind"
      .venv/bin/shenbao extract samples/$kind/* -o out/$kind || true   # failures are reported above
      .venv/bin/shenbao compare out/$kind golden/ --show 5
    done
    ;;
  test)
    .venv/bin/python -m pytest -q
    ;;
  *)
    echo "usage: ./setup.sh [run|test]" >&2; exit 2 ;;
esac
