#!/usr/bin/env bash
# Build "Artifacts Studio.app" (Apple Silicon) and its .dmg:  packaging/macos/build.sh
# NOT built or run on this project's CI (Linux only): reviewed against PyInstaller's documentation
# (spec files: BUNDLE, info_plist; macOS: QFileOpenEvent instead of argv emulation). Needs a Mac
# with Apple Silicon, the set-up's .venv (Metal MLX) plus `pip install pyinstaller`.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PYTHON:-.venv/bin/python}"
[ "$(uname -s)/$(uname -m)" = "Darwin/arm64" ] || { echo "needs macOS on Apple Silicon" >&2; exit 1; }
VERSION="$("$PY" -c 'import studio; print(studio.__version__)')"
export STUDIO_ICON_DIR="$PWD/build/icons"

[ -d resources/runtime/pack ] || "$PY" scripts/fetch_runtime.py  # the offline runtime pack
"$PY" scripts/render_icons.py "$STUDIO_ICON_DIR" >/dev/null      # PNGs + artifacts-studio.icns
"$PY" -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
  packaging/artifacts-studio.spec

APP="dist/Artifacts Studio.app"
# What the recipe promises, checked on the result.
plutil -lint "$APP/Contents/Info.plist"
/usr/libexec/PlistBuddy -c "Print :CFBundleShortVersionString" "$APP/Contents/Info.plist"
/usr/libexec/PlistBuddy -c "Print :NSHighResolutionCapable" "$APP/Contents/Info.plist"
test -f "$APP/Contents/Resources/artifacts-studio.icns"
find "$APP" -name mlx.metallib | grep -q . || { echo "mlx.metallib is missing from the bundle" >&2; exit 1; }
find "$APP" -name QtWebEngineProcess -type f | grep -q . || { echo "QtWebEngineProcess is missing" >&2; exit 1; }
"$APP/Contents/MacOS/artifacts-studio" --version

packaging/macos/make_dmg.sh "$APP" "dist/Artifacts-Studio-$VERSION-macos-arm64.dmg"
