#!/usr/bin/env bash
# Wrap an .app in a compressed, drag-to-Applications .dmg (hdiutil ships with macOS).
#   packaging/macos/make_dmg.sh "dist/Artifacts Studio.app" dist/Artifacts-Studio.dmg
# Unsigned: Gatekeeper asks once (right-click > Open). Sign and notarize with your own identity:
#   codesign --deep --force --options runtime --sign "Developer ID Application: ..." "$APP"
#   xcrun notarytool submit "$DMG" --keychain-profile ... --wait && xcrun stapler staple "$DMG"
set -euo pipefail
APP="$1"
DMG="$2"
STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
rm -f "$DMG"
hdiutil create -volname "Artifacts Studio" -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov "$DMG"
echo "dmg: $DMG ($(du -sh "$DMG" | cut -f1))"
