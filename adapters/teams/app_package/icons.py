"""Draws the two Teams icons (a coffee cup) as PNG files, with the standard library only.

Run `python -m adapters.teams.app_package.icons` after changing a shape to redraw the committed
`color.png` (192x192, full colour) and `outline.png` (32x32, white on transparent, as Teams
requires). The drawing uses no trigonometry, so it is byte-for-byte reproducible; a test
checks that the committed files are what this module draws.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).parent
RGB = tuple[int, int, int]
Shape = Callable[[float, float], bool]

COFFEE: RGB = (0x6F, 0x4E, 0x37)
CREAM: RGB = (0xFF, 0xF8, 0xF0)
WHITE: RGB = (0xFF, 0xFF, 0xFF)
SAMPLES = 4  # per pixel and axis: 16 samples give the edges their anti-aliasing


def _ellipse(cx: float, cy: float, rx: float, ry: float) -> Shape:
    return lambda x, y: ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1.0


def _capsule(x: float, top: float, bottom: float, r: float) -> Shape:
    """A vertical stroke with round ends."""

    def inside(px: float, py: float) -> bool:
        nearest = min(max(py, top), bottom)
        return (px - x) ** 2 + (py - nearest) ** 2 <= r * r

    return inside


def cup(stroke: float) -> Shape:
    """The cup on its saucer with three wisps of steam, in a unit square; `stroke` thickens."""
    body_rect: Shape = lambda x, y: 0.22 <= x <= 0.64 and 0.42 <= y <= 0.64  # noqa: E731
    body_bowl = _ellipse(0.43, 0.64, 0.21, 0.14)
    ring_outer = _ellipse(0.66, 0.55, 0.10 + stroke / 2, 0.10 + stroke / 2)
    ring_inner = _ellipse(0.66, 0.55, 0.055 - stroke / 2, 0.055 - stroke / 2)
    saucer = _ellipse(0.43, 0.84, 0.31, 0.04 + stroke / 2)
    steam = [_capsule(x, 0.18, 0.33, 0.025 + stroke / 4) for x in (0.33, 0.43, 0.53)]

    def inside(x: float, y: float) -> bool:
        if body_rect(x, y) or (y >= 0.64 and body_bowl(x, y)) or saucer(x, y):
            return True
        if x >= 0.62 and ring_outer(x, y) and not ring_inner(x, y):
            return True
        return any(wisp(x, y) for wisp in steam)

    return inside


def draw(size: int, shape: Shape, ink: RGB, background: RGB | None) -> bytes:
    """RGBA rows of the shape in `ink`, over `background` (or transparent when None)."""
    rows = bytearray()
    step = 1.0 / (size * SAMPLES)
    for py in range(size):
        rows.append(0)  # PNG filter type: none
        for px in range(size):
            hits = sum(
                shape((px * SAMPLES + sx + 0.5) * step, (py * SAMPLES + sy + 0.5) * step)
                for sy in range(SAMPLES)
                for sx in range(SAMPLES)
            )
            cover = hits * 255 // (SAMPLES * SAMPLES)
            if background is None:
                rows += bytes((*ink, cover))
            else:
                mixed = (
                    (i * cover + b * (255 - cover)) // 255
                    for i, b in zip(ink, background, strict=True)
                )
                rows += bytes((*mixed, 255))
    return bytes(rows)


def png(size: int, rgba_rows: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rgba_rows, 9))
        + chunk(b"IEND", b"")
    )


def color_icon() -> bytes:
    return png(192, draw(192, cup(0.0), CREAM, COFFEE))


def outline_icon() -> bytes:
    return png(32, draw(32, cup(0.02), WHITE, None))


def main() -> None:
    (HERE / "color.png").write_bytes(color_icon())
    (HERE / "outline.png").write_bytes(outline_icon())


if __name__ == "__main__":
    main()
