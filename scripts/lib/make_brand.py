"""Draw BinMoE's brand images (custom_components/binmoe/brand/*.png; Home Assistant >= 2026.3 serves them).

The mark: a node chip (a square with pins) that hears (three sound arcs), in the colours of the project.
Run: python scripts/lib/make_brand.py   (needs Pillow; drawn at 4x and downsampled for smooth edges)
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

OUT = Path(__file__).resolve().parents[2] / "custom_components" / "binmoe" / "brand"
BLUE, WHITE, INK = (21, 101, 192, 255), (255, 255, 255, 255), (33, 33, 33, 255)


def mark(size: int, fg: tuple[int, int, int, int], bg: tuple[int, int, int, int] | None) -> Image.Image:
    s = size * 4
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    if bg is not None:
        d.rounded_rectangle((0, 0, s - 1, s - 1), radius=s // 6, fill=bg)
    # chip on the left third, pins above and below
    x0, y0, x1, y1 = int(s * 0.14), int(s * 0.32), int(s * 0.46), int(s * 0.68)
    w = max(4, s // 40)
    d.rounded_rectangle((x0, y0, x1, y1), radius=s // 30, outline=fg, width=w)
    for i in range(3):
        px = x0 + (x1 - x0) * (i + 1) // 4
        d.line((px, y0 - s // 14, px, y0), fill=fg, width=w)
        d.line((px, y1, px, y1 + s // 14), fill=fg, width=w)
    # "1 0" bits inside the chip: a binary network
    cx, cy, r = (x0 + x1) // 2, (y0 + y1) // 2, (x1 - x0) // 7
    d.rectangle((cx - r - r // 2 - w // 2, cy - r, cx - r - r // 2 + w // 2, cy + r), fill=fg)
    d.ellipse((cx + r // 2, cy - r, cx + r // 2 + r, cy + r), outline=fg, width=w)
    # sound arcs to the right
    for k in range(3):
        rad = int(s * (0.12 + 0.1 * k))
        box = (x1 - rad + s // 10, s // 2 - rad, x1 + rad + s // 10, s // 2 + rad)
        d.arc(box, start=-50, end=50, fill=fg, width=w + w // 2)
    return img.resize((size, size), Image.Resampling.LANCZOS)


def logo(height: int, fg: tuple[int, int, int, int]) -> Image.Image:
    icon = mark(height, WHITE, BLUE)
    font = ImageFont.load_default(size=int(height * 0.55))
    text = "BinMoE"
    probe = ImageDraw.Draw(icon)
    width = int(probe.textlength(text, font=font))
    img = Image.new("RGBA", (height + height // 5 + width + height // 8, height), (0, 0, 0, 0))
    img.paste(icon, (0, 0))
    ImageDraw.Draw(img).text((height + height // 5, height // 2), text, font=font, fill=fg, anchor="lm")
    return img


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for suffix, scale in (("", 1), ("@2x", 2)):
        mark(256 * scale, WHITE, BLUE).save(OUT / f"icon{suffix}.png", optimize=True)
        logo(128 * scale, INK).save(OUT / f"logo{suffix}.png", optimize=True)
        logo(128 * scale, WHITE).save(OUT / f"dark_logo{suffix}.png", optimize=True)
    print(f"wrote {sorted(p.name for p in OUT.glob('*.png'))}")


if __name__ == "__main__":
    main()
