#!/usr/bin/env bash
# The test suite, from a fresh clone: creates .venv if needed, then runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
# The UI test drives Debian's Chromium (Playwright never downloads a browser here). Installed when
# missing and we can; otherwise that test fails saying so (OSMOSE_SKIP_BROWSER=1 skips it on purpose).
if [ ! -x /usr/bin/chromium ] && [ "${OSMOSE_SKIP_BROWSER:-}" != 1 ] \
   && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian's chromium for the UI test (apt-get, once) ..." >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends chromium; } >/dev/null \
    || echo "could not install chromium: the UI test will fail" >&2
fi
# LibreOffice converts legacy .ppt and ISO Strict decks: with it the corpus tests check that those
# are indexed, without it that they fail with LegacyFormatError / StrictOOXMLError.
if ! command -v soffice >/dev/null && [ "${OSMOSE_SKIP_LIBREOFFICE:-}" != 1 ] \
   && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing LibreOffice Impress for the legacy-format tests (apt-get, once) ..." >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends libreoffice-impress; } >/dev/null \
    || echo "could not install LibreOffice: legacy decks are tested as unconvertible" >&2
fi
# OCR of slide pictures runs Tesseract in process (tesserocr bundles the engine) with Debian's
# language data for English, French and German (tests/core/test_ocr.py, bench/ocr_eval.py).
if [ "${OSMOSE_OCR:-on}" != off ] && ! { ls /usr/share/tesseract-ocr/*/tessdata/eng.traineddata && ls /usr/share/tesseract-ocr/*/tessdata/fra.traineddata && ls /usr/share/tesseract-ocr/*/tessdata/deu.traineddata; } >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's tesseract-ocr language data (eng, fra, deu) for the OCR tests (apt-get, once) ..." >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends tesseract-ocr tesseract-ocr-eng \
        tesseract-ocr-fra tesseract-ocr-deu; } >/dev/null \
      || echo "could not install tesseract-ocr: the OCR tests will fail" >&2
  fi
fi
# The monitoring tests run Debian's Prometheus, promtool and node-exporter (tests/deploy/test_monitoring.py).
if [ ! -x /usr/bin/promtool ] || [ ! -x /usr/bin/prometheus-node-exporter ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's prometheus and prometheus-node-exporter for the monitoring tests (apt-get, once) ..." >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends prometheus prometheus-node-exporter; } >/dev/null \
      || echo "could not install prometheus: the monitoring tests will fail" >&2
  fi
fi
# Lint, format and types first: seconds, and the same rules for everyone (pyproject.toml).
venv="$(cd "${OSMOSE_VENV:-.venv}" && pwd)"  # scripts/bootstrap.sh made it
bin="$venv/bin"
$bin/ruff check --quiet .
$bin/ruff format --check --quiet .
$bin/mypy
# `dg check defs` loads the code location as Dagster's tools do, from a throwaway instance.
check_home="$(mktemp -d)"
trap 'rm -rf "$check_home"' EXIT
cp osmose_dagster/instance/dagster.yaml "$check_home/"
OSMOSE_HOME="$check_home" DAGSTER_HOME="$check_home" VIRTUAL_ENV="$venv" \
  $bin/dg check defs >"$check_home/dg.log" 2>&1 || { cat "$check_home/dg.log" >&2; exit 1; }
echo "ruff, mypy and dg check defs: clean" >&2
$bin/python -m pytest "$@"
