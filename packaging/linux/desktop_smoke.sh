#!/usr/bin/env bash
# Install the built tarball into a throwaway HOME, launch the app through its .desktop entry
# (gtk-launch) under Xvfb, and screenshot the screen once a stored artifact has rendered.
#   packaging/linux/desktop_smoke.sh [OUT.png]     (after packaging/linux/build.sh)
# Needs Xvfb, gtk-launch (libgtk-3-bin) or gio (libglib2.0-bin), and ImageMagick's `import`.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="${1:-build/desktop-smoke.png}"
PY="${PYTHON:-.venv/bin/python}"
VERSION="$("$PY" -c 'import studio; print(studio.__version__)')"
TAR="dist/artifacts-studio-$VERSION-linux-$(uname -m).tar.gz"
T="$(mktemp -d)"
export HOME="$T/home" XDG_DATA_HOME="$T/home/.local/share" XDG_CONFIG_HOME="$T/home/.config"
export XDG_STATE_HOME="$T/home/.local/state" XDG_CACHE_HOME="$T/home/.cache"
mkdir -p "$HOME"
tar -C "$T" -xzf "$TAR"
sh "$T/artifacts-studio-$VERSION/install.sh"

# A stored conversation whose answer holds an artifact: the window opens on it.
"$PY" - <<'PYEOF'
from studio.store.library import Library
lib = Library.at(None)
cid = lib.create_conversation("Bar chart")
lib.add_message(cid, "user", "a bar chart of monthly sales", parent_id=None)
page = """<!doctype html><html><head>
<script src="https://cdn.jsdelivr.net/npm/chart.js@4.4.1/dist/chart.umd.min.js"></script></head>
<body style="margin:0;font-family:sans-serif"><h2 style="margin:12px">Monthly sales</h2>
<canvas id="c" width="560" height="300"></canvas><script>
new Chart(document.getElementById('c'), {type: 'bar', options: {animation: false, responsive: false},
  data: {labels: ['Jan', 'Feb', 'Mar', 'Apr', 'May'],
         datasets: [{label: 'sales', data: [12, 19, 7, 15, 22], backgroundColor: '#5b8def'}]}});
</script></body></html>"""
msg = lib.add_message(cid, "assistant", "Here it is.\n\n```html\n" + page + "\n```\n", finish_reason="stop")
lib.add_version(cid, kind="html", title="Monthly sales", source=page, message_id=msg.id)
lib.close()
PYEOF

D="${SMOKE_DISPLAY:-:99}"  # another display number where :99 is taken
Xvfb "$D" -screen 0 1400x900x24 -nolisten tcp >/dev/null 2>&1 &
XVFB=$!
trap 'kill "$XVFB" 2>/dev/null || true; rm -rf "$T"' EXIT
export DISPLAY="$D" QT_QPA_PLATFORM=xcb QTWEBENGINE_CHROMIUM_FLAGS="--no-sandbox --disable-gpu"
sleep 1
if command -v gtk-launch >/dev/null; then
  gtk-launch artifacts-studio
else
  gio launch "$XDG_DATA_HOME/applications/artifacts-studio.desktop"
fi
APP_EXE="$XDG_DATA_HOME/artifacts-studio/app/artifacts-studio"
sleep "${SMOKE_WAIT_S:-10}"
APP_PID="$(pgrep -f -n "^$APP_EXE" || true)"
[ -n "$APP_PID" ] || { echo "the app is not running" >&2; exit 1; }
mkdir -p "$(dirname "$OUT")"
import -window root "$OUT"
echo "launched through the .desktop entry (pid $APP_PID); screenshot: $OUT"
kill "$APP_PID"
