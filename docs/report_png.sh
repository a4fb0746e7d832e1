#!/usr/bin/env bash
# Regenerate docs/report.png: the demo's report as a browser shows it (headless Chromium,
# Debian package `chromium`), 1300 pixels wide, times on the Dar es Salaam clock.
# Usage: bash docs/report_png.sh [WIDTH [HEIGHT]]   (from any folder; uses the repository's .venv)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
width=${1:-1300}; height=${2:-2300}
command -v chromium >/dev/null || { echo "needs chromium: apt-get install chromium" >&2; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
WA_TOOLKIT_TZ=${WA_TOOLKIT_TZ:-Africa/Dar_es_Salaam} "$root/.venv/bin/wa-toolkit" demo --out "$work/demo" --no-progress \
  >/dev/null
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
  --window-size="$width,$height" --screenshot="$work/report.png" "file://$work/demo/report.html" >/dev/null 2>&1
mv "$work/report.png" "$root/docs/report.png"
echo "wrote $root/docs/report.png (${width}x${height})"
