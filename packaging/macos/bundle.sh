#!/usr/bin/env bash
# Builds imagen-sync.app (a menu-bar agent: LSUIElement, no Dock icon) on a Mac.
#   packaging/macos/bundle.sh            -> target/macos/imagen-sync.app
# Needs Xcode's command line tools (sips, iconutil, codesign) and Rust. The bundle is
# signed ad hoc; for distribution, sign with a Developer ID and notarize instead.
# Install: copy the .app to /Applications; `imagen-sync autostart enable` (run as
# /Applications/imagen-sync.app/Contents/MacOS/imagen-sync) starts it at login through
# ~/Library/LaunchAgents/ai.imagen.sync.plist (the same file as packaging/macos/).
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
cargo build --release
APP=target/macos/imagen-sync.app
rm -rf "$APP"
mkdir -p "$APP/Contents/MacOS" "$APP/Contents/Resources"
cp target/release/imagen-sync "$APP/Contents/MacOS/"
sed "s/@VERSION@/$VERSION/g" packaging/macos/Info.plist >"$APP/Contents/Info.plist"
ICONSET=target/macos/imagen-sync.iconset
rm -rf "$ICONSET" && mkdir -p "$ICONSET"
for size in 16 32 128 256; do
    sips -z $size $size assets/icons/imagen-sync-256.png --out "$ICONSET/icon_${size}x${size}.png" >/dev/null
    double=$((size * 2))
    sips -z $double $double assets/icons/imagen-sync-256.png --out "$ICONSET/icon_${size}x${size}@2x.png" >/dev/null
done
iconutil -c icns "$ICONSET" -o "$APP/Contents/Resources/imagen-sync.icns"
codesign --force --sign - "$APP"
echo "built $APP"
