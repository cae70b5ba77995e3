#!/usr/bin/env sh
# Install Artifacts Studio for this user (no root): run it from the unpacked tarball.
#   ./install.sh            install into the XDG folders
#   ./install.sh --uninstall
# Bundle -> $XDG_DATA_HOME/artifacts-studio/app, launcher -> ~/.local/bin/artifacts-studio,
# .desktop -> $XDG_DATA_HOME/applications, icons -> $XDG_DATA_HOME/icons/hicolor/<size>/apps.
set -eu
HERE="$(cd "$(dirname "$0")" && pwd)"
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
BIN="${XDG_BIN_HOME:-$HOME/.local/bin}"
DEST="$DATA/artifacts-studio/app"
ICONS="$DATA/icons/hicolor"
SIZES="16 24 32 48 64 128 256 512"

if [ "${1:-}" = "--uninstall" ]; then
  rm -rf "$DATA/artifacts-studio/app" "$BIN/artifacts-studio" "$DATA/applications/artifacts-studio.desktop"
  for s in $SIZES; do rm -f "$ICONS/${s}x${s}/apps/artifacts-studio.png"; done
  rm -f "$ICONS/scalable/apps/artifacts-studio.svg"
  echo "Artifacts Studio removed (your library and settings are kept)."
  exit 0
fi

[ -x "$HERE/app/artifacts-studio" ] || { echo "no app/ bundle next to install.sh" >&2; exit 1; }
mkdir -p "$DATA/artifacts-studio" "$BIN" "$DATA/applications"
rm -rf "$DEST.new" && cp -a "$HERE/app" "$DEST.new" && rm -rf "$DEST" && mv "$DEST.new" "$DEST"
ln -sf "$DEST/artifacts-studio" "$BIN/artifacts-studio"
for s in $SIZES; do
  mkdir -p "$ICONS/${s}x${s}/apps"
  cp "$HERE/icons/$s.png" "$ICONS/${s}x${s}/apps/artifacts-studio.png"
done
mkdir -p "$ICONS/scalable/apps" && cp "$HERE/icons/artifacts-studio.svg" "$ICONS/scalable/apps/"
# Exec with the absolute path, so the entry works even when ~/.local/bin is not on PATH.
sed "s|^Exec=.*|Exec=\"$DEST/artifacts-studio\" %F|" "$HERE/artifacts-studio.desktop" \
  > "$DATA/applications/artifacts-studio.desktop"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$DATA/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$ICONS" || true
echo "Artifacts Studio installed: $DEST (menu entry: $DATA/applications/artifacts-studio.desktop)"
