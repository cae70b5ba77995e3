"""The app icon renders from its SVG to every size, .icns and .ico (parsed back here)."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import render_icons  # noqa: E402


def test_every_size_renders_the_drawn_icon(qapp, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QImage

    written = render_icons.render_all(tmp_path)
    for size in render_icons.PNG_SIZES:
        img = QImage(str(written[f"{size}.png"]))
        assert (img.width(), img.height()) == (size, size)
        if size >= 32:
            assert img.pixelColor(0, 0).alpha() == 0  # rounded tile: transparent corner
            assert img.pixelColor(size // 2, size // 2).alpha() == 255


def test_icns_holds_pngs_of_the_declared_sizes(qapp, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QImage

    data = render_icons.render_all(tmp_path)["icns"].read_bytes()
    assert data[:4] == b"icns" and struct.unpack(">I", data[4:8])[0] == len(data)
    at, seen = 8, {}
    while at < len(data):
        kind, length = data[at : at + 4], struct.unpack(">I", data[at + 4 : at + 8])[0]
        img = QImage.fromData(data[at + 8 : at + length], "PNG")
        seen[kind] = img.width()
        at += length
    assert seen == {k.encode() if isinstance(k, str) else k: s for k, s in render_icons.ICNS_TYPES}


def test_ico_directory_points_at_valid_pngs(qapp, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QImage

    data = render_icons.render_all(tmp_path)["ico"].read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind, count) == (0, 1, len(render_icons.ICO_SIZES))
    for i, size in enumerate(render_icons.ICO_SIZES):
        w, h, _, _, planes, bpp, length, offset = struct.unpack("<BBBBHHII", data[6 + 16 * i : 22 + 16 * i])
        assert (w or 256, h or 256, planes, bpp) == (size, size, 1, 32)
        assert QImage.fromData(data[offset : offset + length], "PNG").width() == size


def test_an_invalid_svg_is_refused(qapp, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.svg"
    bad.write_text("<svg")
    with pytest.raises(ValueError, match="not a valid SVG"):
        render_icons.render_png(16, bad)
