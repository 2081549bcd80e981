"""A NEAT network drawn once, for the overlay and for ``play.py --export-network``.

``draw_network`` draws the input grid (the observation), the links (green positive, red
negative; live: brighter the more active their source; exported: wider the larger the weight),
the hidden nodes and the output buttons' lamps, through a ``viz.canvas.Canvas``. The overlay
calls it on every game frame (a pygame canvas); ``render_network`` (PNG) and ``network_svg``
(SVG) call it on a blank canvas of either kind, so both files show the same picture.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from envs.sim.constants import BUTTONS
from viz.canvas import Box, Canvas, Color, PygameCanvas, SvgCanvas
from viz.network_layout import NetworkGeometry, input_layout, network_geometry

SOLID_COLOR = (236, 236, 236)
ENEMY_COLOR = (232, 40, 40)
EMPTY_COLOR = (52, 56, 72)
PLAYER_COLOR = (64, 208, 255)
BUTTON_ON = (255, 216, 0)
BUTTON_OFF = (70, 70, 80)
LINK_POS = (40, 230, 70)
LINK_NEG = (240, 50, 50)
TEXT = (255, 255, 255)
BACKGROUND = (24, 26, 34)  # of an exported picture
LABEL_SAMPLE = "RIGHT"  # the longest button name: the room a lamp's label takes

__all__ = [
    "BUTTON_OFF",
    "BUTTON_ON",
    "EMPTY_COLOR",
    "ENEMY_COLOR",
    "PLAYER_COLOR",
    "SOLID_COLOR",
    "cell_color",
    "draw_grid",
    "draw_lamp",
    "draw_network",
    "export_network",
    "network_svg",
    "render_network",
]


def cell_color(value: float) -> Color:
    """The grid colour of one observation value: 1 solid, -1 enemy/hazard, else empty."""
    if value > 0.5:
        return SOLID_COLOR
    if value < -0.5:
        return ENEMY_COLOR
    return EMPTY_COLOR


def label_width(canvas: Canvas, font_size: int) -> int:
    """The room a lamp's label takes right of the lamp."""
    return canvas.fonts.size(LABEL_SAMPLE, font_size)[0] + 6


def draw_grid(
    canvas: Canvas, observation: np.ndarray, origin: tuple[int, int], cell: int
) -> dict[tuple[int, int], Box]:
    """The observation grid, one ``cell``-pixel square per value, the player's cell (the
    middle) outlined; returns each cell's box by (row, col)."""
    obs = np.asarray(observation)
    rows, cols = obs.shape
    gap = 1 if cell >= 5 else 0
    ox, oy = origin
    canvas.rect((ox, oy, cols * cell, rows * cell), fill=(0, 0, 0))
    boxes = {}
    for r in range(rows):
        for c in range(cols):
            box = (ox + c * cell, oy + r * cell, cell - gap, cell - gap)
            canvas.rect(box, fill=cell_color(float(obs[r, c])))
            boxes[(r, c)] = box
    x, y, w, h = boxes[(rows // 2, cols // 2)]
    canvas.rect((x - 1, y - 1, w + 2, h + 2), outline=PLAYER_COLOR, width=max(1, cell // 5))
    return boxes


def draw_lamp(canvas: Canvas, name: str, box: Box, on: bool, font_size: int) -> None:
    """A button's lamp (lit while pressed) with its name to the right."""
    canvas.rect(box, fill=BUTTON_ON if on else BUTTON_OFF)
    x, y, w, h = box
    th = canvas.fonts.size(name, font_size)[1]
    canvas.text(name, (x + w + 3, y + h / 2 - th / 2), font_size, BUTTON_ON if on else TEXT)


def draw_network(
    canvas: Canvas,
    geo: NetworkGeometry,
    compiled: object,
    values: np.ndarray | None,
    observation: np.ndarray | None,
    pressed: np.ndarray | None,
    font_size: int,
    static: bool = False,
) -> tuple[dict[tuple[int, int], Box], dict[str, Box]]:
    """The grid, links, hidden nodes and output lamps of a NEAT network laid out as ``geo``;
    returns the boxes of the grid's cells and of the lamps.

    ``values`` are the nodes' current activations (None: all 0); ``static`` (an exported
    picture): links at full brightness, wider for larger weights.
    """
    n_in = compiled.num_inputs  # type: ignore[attr-defined]
    n_out = compiled.num_outputs  # type: ignore[attr-defined]
    if observation is None:
        observation = np.zeros((geo.grid_size, geo.grid_size))
    pos = geo.positions
    vals = np.zeros(len(pos)) if values is None else np.array(values, dtype=np.float64)
    vals[:n_in] = np.asarray(observation, dtype=np.float64).reshape(-1)[geo.input_cells]
    activity = np.clip(np.abs(np.nan_to_num(vals)), 0.0, 1.0)
    # colours and widths for all links at once: this runs on every frame shown
    src, dst, weight = geo.src, geo.dst, geo.weight
    base = np.where((weight > 0)[:, None], LINK_POS, LINK_NEG)
    if static:
        wmax = max(float(np.abs(weight).max()) if len(weight) else 1.0, 1e-9)
        colors, widths = base, 1 + (2.5 * np.abs(weight) / wmax).astype(int)
    else:
        colors = (base * (0.22 + 0.78 * activity[src])[:, None]).astype(int)
        widths = np.ones(len(src), dtype=int)
    into_lamp = (dst >= n_in) & (dst < n_in + n_out)  # links end at a lamp's left edge
    x1 = pos[dst, 0] - np.where(into_lamp, geo.node_size / 2, 0.0)
    ends = zip(
        pos[src, 0].tolist(), pos[src, 1].tolist(), x1.tolist(), pos[dst, 1].tolist(), strict=True
    )
    line = canvas.line
    for (a, b, c, d), color, width in zip(ends, colors.tolist(), widths.tolist(), strict=True):
        line((a, b), (c, d), color, width)
    # the grid over the links' first stretch: cells keep their colours, links leave its edge
    cells = draw_grid(canvas, observation, geo.grid_origin, geo.cell)
    size = geo.node_size
    for h in geo.hidden.tolist():
        g = 200 if static else int(127 + 127 * np.tanh(vals[h]))
        box = (int(pos[h, 0]) - size // 2, int(pos[h, 1]) - size // 2, size, size)
        canvas.rect(box, fill=(g, g, g), outline=(0, 0, 0))
    lamps = {}
    for j in range(n_out):
        name = BUTTONS[j] if j < len(BUTTONS) else f"out{j}"
        box = (int(pos[n_in + j, 0]) - size // 2, int(pos[n_in + j, 1]) - size // 2, size, size)
        on = bool(pressed is not None and j < len(pressed) and pressed[j])
        draw_lamp(canvas, name, box, on, font_size)
        lamps[name] = box
    return cells, lamps


# -- a network alone, for --export-network ------------------------------------------------------
def draw_picture(canvas: Canvas, agent: object, size: tuple[int, int]) -> None:
    """A NEAT agent's network alone, with a title line: the body of both export formats."""
    compiled = agent.network  # type: ignore[attr-defined]
    w, h = size
    canvas.rect((0, 0, w, h), fill=BACKGROUND)
    font_size = max(14, h // 24)
    margin = max(8, h // 24)
    box = (margin, margin + font_size, w - 2 * margin, h - 2 * margin - font_size)
    geo = network_geometry(
        compiled, box, label_width=label_width(canvas, font_size), **input_layout(agent)
    )
    draw_network(canvas, geo, compiled, None, None, None, font_size, static=True)
    n_in, n_out = compiled.num_inputs, compiled.num_outputs
    hidden = int(np.count_nonzero(compiled.node_keys[0][n_in:] >= 0)) - n_out
    title = f"{getattr(agent, 'name', 'network')}: {n_in} inputs, {hidden} hidden"
    title += f", {n_out} outputs, {len(geo.src)} links"
    canvas.text(title, (margin, margin // 2), font_size, TEXT)


def render_network(agent: object, size: tuple[int, int] = (960, 480)):
    """The picture of a NEAT agent's network as a pygame surface (``--export-network`` PNG)."""
    import pygame

    surface = pygame.Surface(size)
    draw_picture(PygameCanvas(surface), agent, size)
    return surface


def network_svg(agent: object, size: tuple[int, int] = (960, 480)) -> str:
    """The same picture as ``render_network``, as the text of an SVG file."""
    canvas = SvgCanvas(size)
    draw_picture(canvas, agent, size)
    return canvas.document()


def export_network(agent: object, path: Path) -> None:
    """Write the picture of ``agent``'s network to ``path`` (``.svg``, else PNG), atomically.
    Raises ``ValueError`` for an agent without a NEAT network."""
    import pygame

    from agent.files import atomic_write_bytes, atomic_write_text

    if getattr(agent, "network", None) is None:
        name = getattr(agent, "name", "agent")
        raise ValueError(f"{name}: --export-network needs a NEAT agent (a champion.json)")
    if path.suffix.lower() == ".svg":
        atomic_write_text(path, network_svg(agent))
        return
    import io

    data = io.BytesIO()
    pygame.image.save(render_network(agent), data, "png")
    atomic_write_bytes(path, data.getvalue())
