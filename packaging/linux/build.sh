#!/usr/bin/env bash
# Build the Linux one-folder bundle and its .tar.gz:  packaging/linux/build.sh
# Output: dist/artifacts-studio/ (run dist/artifacts-studio/artifacts-studio) and
#         dist/artifacts-studio-<version>-linux-<arch>.tar.gz (bundle + .desktop + icons + install.sh).
# Needs the set-up's .venv with PyInstaller (pip install pyinstaller) and the offline runtime pack.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PYTHON:-.venv/bin/python}"
VERSION="$("$PY" -c 'import studio; print(studio.__version__)')"
ARCH="$(uname -m)"
export STUDIO_ICON_DIR="$PWD/build/icons"

[ -d resources/runtime/pack ] || "$PY" scripts/fetch_runtime.py  # the offline runtime pack
"$PY" scripts/render_icons.py "$STUDIO_ICON_DIR" >/dev/null
"$PY" -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
  packaging/artifacts-studio.spec

# The tarball: the bundle, the launcher entry, the icons and the installer, in one top folder.
STAGE="build/stage/artifacts-studio-$VERSION"
rm -rf build/stage && mkdir -p "$STAGE"
cp -a dist/artifacts-studio "$STAGE/app"
cp packaging/linux/artifacts-studio.desktop packaging/linux/install.sh "$STAGE/"
mkdir -p "$STAGE/icons"
cp -a "$STUDIO_ICON_DIR/png/." "$STAGE/icons/"
cp resources/icons/artifacts-studio.svg "$STAGE/icons/"
TAR="dist/artifacts-studio-$VERSION-linux-$ARCH.tar.gz"
tar -C build/stage -czf "$TAR" "artifacts-studio-$VERSION"
echo "bundle: dist/artifacts-studio ($(du -sh dist/artifacts-studio | cut -f1))"
echo "tarball: $TAR ($(du -sh "$TAR" | cut -f1))"
