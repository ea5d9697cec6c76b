#!/usr/bin/env python3
"""Draws the admin UI's icon: three people (a group) on the brand's blue, as an SVG
(linked from the pages) and a 32x32 ICO (what browsers fetch at /favicon.ico).
Writes crates/roster-web/assets/favicon.svg and favicon.ico. Standard library only."""
import struct
import zlib
from pathlib import Path

SIZE = 32
BLUE = (0x28, 0x55, 0xC9)
# People as (head, shoulders) circles (cx, cy, r); shoulders are cut at SHOULDERS_END.
# The one in the middle stands in front, set apart from the others by a blue gap.
SIDES = [((8.5, 12.5, 3), (8.5, 23, 5.5)), ((23.5, 12.5, 3), (23.5, 23, 5.5))]
MIDDLE = ((16, 11, 4), (16, 24, 7))
GAP = 1.5
CORNER = 7
SHOULDERS_END = 27


def inside_square(x, y):
    cx = min(max(x, CORNER), SIZE - CORNER)
    cy = min(max(y, CORNER), SIZE - CORNER)
    return (x - cx) ** 2 + (y - cy) ** 2 <= CORNER**2


def person(x, y, who, grow=0.0):
    (hx, hy, hr), (bx, by, br) = who
    head = (x - hx) ** 2 + (y - hy) ** 2 <= (hr + grow) ** 2
    body = y <= SHOULDERS_END + grow and (x - bx) ** 2 + (y - by) ** 2 <= (br + grow) ** 2
    return head or body


def white(x, y):
    if person(x, y, MIDDLE):
        return True
    return not person(x, y, MIDDLE, GAP) and any(person(x, y, p) for p in SIDES)


def svg():
    blue = "#" + "".join(f"{c:02x}" for c in BLUE)

    def draw(who, fill, grow=0.0):
        (hx, hy, hr), (bx, by, br) = who
        return (f'<g fill="{fill}"><circle cx="{hx}" cy="{hy}" r="{hr + grow}"/>'
                f'<circle cx="{bx}" cy="{by}" r="{br + grow}" clip-path="url(#s)"/></g>')

    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE} {SIZE}">'
        f'<clipPath id="s"><rect width="{SIZE}" height="{SHOULDERS_END}"/></clipPath>'
        f'<rect width="{SIZE}" height="{SIZE}" rx="{CORNER}" fill="{blue}"/>'
        + "".join(draw(p, "#fff") for p in SIDES)
        + draw(MIDDLE, blue, GAP) + draw(MIDDLE, "#fff") + "</svg>\n"
    )


def png():
    n = 4  # samples per pixel side, for smooth edges
    rows = []
    for py in range(SIZE):
        row = bytearray([0])
        for px in range(SIZE):
            cover = paint = 0
            for sy in range(n):
                for sx in range(n):
                    x, y = px + (sx + 0.5) / n, py + (sy + 0.5) / n
                    if inside_square(x, y):
                        cover += 1
                        paint += white(x, y)
            k = paint / cover if cover else 0
            rgb = [round(c + (255 - c) * k) for c in BLUE]
            row += bytes(rgb + [round(255 * cover / (n * n))])
        rows.append(bytes(row))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b""))


def ico(image):
    # One image, stored as PNG (every current browser reads PNG inside ICO).
    return struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", SIZE, SIZE, 0, 0, 1, 32, len(image), 22) + image


if __name__ == "__main__":
    assets = Path(__file__).resolve().parent.parent / "crates" / "roster-web" / "assets"
    (assets / "favicon.svg").write_text(svg())
    (assets / "favicon.ico").write_bytes(ico(png()))
