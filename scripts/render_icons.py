"""Render the app icon (resources/icons/artifacts-studio.svg) to what each platform needs.

Uses Qt's own SVG renderer (PySide6's QSvgRenderer), no other tool. Writes into OUT_DIR:

- ``png/<size>.png`` for 16..1024 (Linux hicolor theme sizes, the About box, the window icon);
- ``artifacts-studio.icns`` (macOS; PNG-payload entries, readable since OS X 10.7);
- ``artifacts-studio.ico`` (Windows; PNG-payload entries, readable since Vista).

Usage: python scripts/render_icons.py [OUT_DIR] (default: build/icons)
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SVG = REPO / "resources" / "icons" / "artifacts-studio.svg"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
# icns element types that hold a PNG of this many pixels (Apple's "Icon Services" types).
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"ic11", 32),  # 16@2x
    (b"icp6", 64),
    (b"ic12", 64),  # 32@2x
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic13", 256),  # 128@2x
    (b"ic09", 512),
    (b"ic14", 512),  # 256@2x
    (b"ic10", 1024),  # 512@2x
)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render_png(size: int, svg: Path = SVG) -> bytes:
    """The icon rendered at ``size`` x ``size`` pixels, as PNG bytes (transparent background)."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    if QGuiApplication.instance() is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        render_png.app = QGuiApplication([])  # type: ignore[attr-defined]  # kept alive
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"not a valid SVG: {svg}")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    buf.close()
    return bytes(data.data())


def icns_bytes(pngs: dict[int, bytes]) -> bytes:
    """An Apple .icns file whose elements are the given PNGs (size -> bytes)."""
    body = b"".join(kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size] for kind, size in ICNS_TYPES)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """A Windows .ico file whose images are the given PNGs (size -> bytes)."""
    sizes = [s for s in ICO_SIZES if s in pngs]
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = 6 + 16 * len(sizes)
    entries, blobs = b"", b""
    for s in sizes:
        png = pngs[s]
        dim = 0 if s >= 256 else s  # 0 means 256 in an ICONDIRENTRY
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(png), offset)
        blobs += png
        offset += len(png)
    return header + entries + blobs


def render_all(out_dir: Path, svg: Path = SVG) -> dict[str, Path]:
    """Write the PNGs, the .icns and the .ico into ``out_dir``; returns {name: path}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "png").mkdir(exist_ok=True)
    pngs = {size: render_png(size, svg) for size in PNG_SIZES}
    written: dict[str, Path] = {}
    for size, data in pngs.items():
        p = out_dir / "png" / f"{size}.png"
        p.write_bytes(data)
        written[f"{size}.png"] = p
    written["icns"] = out_dir / "artifacts-studio.icns"
    written["icns"].write_bytes(icns_bytes(pngs))
    written["ico"] = out_dir / "artifacts-studio.ico"
    written["ico"].write_bytes(ico_bytes(pngs))
    return written


def main(argv: list[str] | None = None) -> int:
    """Render into the folder given (default build/icons)."""
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else REPO / "build" / "icons"
    for name, path in render_all(out).items():
        print(f"{name}\t{path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
