"""Where the network drawing goes: a pygame surface or an SVG document, behind one small canvas.

``viz.network_view`` draws a NEAT network (the input grid, links, hidden nodes, button lamps)
once, through ``Canvas``: filled or outlined rectangles, lines and text. ``PygameCanvas`` draws
on a surface (the overlay on every game frame, the PNG export); ``SvgCanvas`` writes the same
calls as SVG elements (the SVG export), so both pictures come from the same code. Text is
measured with pygame's default font on both, so the two layouts agree to the pixel.
"""

from __future__ import annotations

import os
from html import escape
from typing import Protocol

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402

Color = tuple[int, int, int]
Box = tuple[float, float, float, float]  # x, y, width, height

__all__ = ["Box", "Canvas", "Color", "Fonts", "PygameCanvas", "SvgCanvas"]

# pygame's default font renders a "size" of S about as tall as a CSS font-size of 0.69 S
SVG_FONT_SCALE = 0.69


class Fonts:
    """pygame's default font at any size, and rendered labels, cached (labels repeat every
    frame)."""

    def __init__(self) -> None:
        if not pygame.font.get_init():
            pygame.font.init()
        self._fonts: dict[int, pygame.font.Font] = {}
        self._labels: dict[tuple[str, int, Color], pygame.Surface] = {}

    def font(self, size: int) -> pygame.font.Font:
        if size not in self._fonts:
            self._fonts[size] = pygame.font.Font(None, size)
        return self._fonts[size]

    def render(self, text: str, size: int, color: Color = (255, 255, 255)) -> pygame.Surface:
        key = (text, size, color)
        if key not in self._labels:
            if len(self._labels) > 512:
                self._labels.clear()
            self._labels[key] = self.font(size).render(text, True, color)
        return self._labels[key]

    def size(self, text: str, size: int) -> tuple[int, int]:
        return self.render(text, size).get_size()


class Canvas(Protocol):
    """The drawing calls the network picture needs (pixels, origin top-left)."""

    fonts: Fonts

    def rect(
        self, box: Box, fill: Color | None = None, outline: Color | None = None, width: int = 1
    ) -> None: ...

    def line(
        self, start: tuple[float, float], end: tuple[float, float], color: Color, width: int = 1
    ) -> None: ...

    def text(self, text: str, pos: tuple[float, float], size: int, color: Color) -> None:
        """``text`` with its top-left corner at ``pos``."""
        ...


class PygameCanvas:
    """A canvas drawing on a pygame surface."""

    def __init__(self, surface: pygame.Surface, fonts: Fonts | None = None) -> None:
        self.surface = surface
        self.fonts = fonts or Fonts()

    def rect(
        self, box: Box, fill: Color | None = None, outline: Color | None = None, width: int = 1
    ) -> None:
        r = pygame.Rect(box)  # floats truncated, as int() would
        if fill is not None:
            self.surface.fill(fill, r)
        if outline is not None:
            pygame.draw.rect(self.surface, outline, r, width)

    def line(
        self, start: tuple[float, float], end: tuple[float, float], color: Color, width: int = 1
    ) -> None:
        pygame.draw.line(self.surface, color, start, end, width)

    def text(self, text: str, pos: tuple[float, float], size: int, color: Color) -> None:
        self.surface.blit(self.fonts.render(text, size, color), (int(pos[0]), int(pos[1])))


def _rgb(color: Color) -> str:
    return f"rgb({color[0]},{color[1]},{color[2]})"


class SvgCanvas:
    """A canvas writing SVG elements; ``document()`` is the finished SVG file's text."""

    def __init__(self, size: tuple[int, int], background: Color | None = None) -> None:
        self.size = size
        self.fonts = Fonts()
        self._parts: list[str] = []
        if background is not None:
            self.rect((0, 0, *size), fill=background)

    def rect(
        self, box: Box, fill: Color | None = None, outline: Color | None = None, width: int = 1
    ) -> None:
        x, y, w, h = (int(v) for v in box)  # the pixels pygame fills
        paint = f'fill="{_rgb(fill)}"' if fill is not None else 'fill="none"'
        if outline is not None:  # pygame strokes inside the box
            x, y, w, h = x + width / 2, y + width / 2, w - width, h - width
            paint += f' stroke="{_rgb(outline)}" stroke-width="{width}"'
        self._parts.append(f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" {paint}/>')

    def line(
        self, start: tuple[float, float], end: tuple[float, float], color: Color, width: int = 1
    ) -> None:
        (x0, y0), (x1, y1) = start, end
        self._parts.append(
            f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" '
            f'stroke="{_rgb(color)}" stroke-width="{width}"/>'
        )

    def text(self, text: str, pos: tuple[float, float], size: int, color: Color) -> None:
        baseline = pos[1] + self.fonts.font(size).get_ascent()
        self._parts.append(
            f'<text x="{pos[0]:.0f}" y="{baseline:.0f}" fill="{_rgb(color)}" '
            f'font-family="sans-serif" font-size="{size * SVG_FONT_SCALE:.1f}">'
            f"{escape(text)}</text>"
        )

    def document(self) -> str:
        w, h = self.size
        head = f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        head += f'viewBox="0 0 {w} {h}">'
        return "\n".join([head, *self._parts, "</svg>"]) + "\n"
