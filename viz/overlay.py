"""The MarI/O overlay: what the agent sees, how it is wired, which buttons it presses.

``Overlay.draw(surface, observation, pressed, agent, banner)`` draws, on top of a game frame:

* the input grid from the observation (solid, enemy/hazard and empty cells in distinct colours,
  the player's cell outlined);
* for a NEAT agent (``agent.neat.network`` + ``agent.node_values()``) the hidden nodes between the
  grid and the buttons (``viz.network_layout``), links green/red by weight sign and brighter
  the more active their source, and the output buttons named and lit while pressed;
* for a recurrent agent (``agent.state_arrays()`` + ``agent.probabilities``) the hidden (and
  cell) state as heat maps and the button probabilities as bars, pressed ones lit;
* for any other agent (the solver, a human) the grid and the buttons;
* a one-line banner at the bottom (``banner_text``).

It reads agents only through those read-only accessors; the simulation is never touched.
``render_network`` / ``network_svg`` draw a NEAT network alone (``play.py --export-network``).
"""

from __future__ import annotations

import os
from html import escape

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np  # noqa: E402
import pygame  # noqa: E402

from envs.sim.constants import BUTTONS  # noqa: E402
from viz.network_layout import NetworkGeometry, network_geometry  # noqa: E402

SOLID_COLOR = (236, 236, 236)
ENEMY_COLOR = (232, 40, 40)
EMPTY_COLOR = (52, 56, 72)
PLAYER_COLOR = (64, 208, 255)
BUTTON_ON = (255, 216, 0)
BUTTON_OFF = (70, 70, 80)
BAR_BACK = (36, 36, 44)
BAR_OFF = (120, 160, 220)
LINK_POS = (40, 230, 70)
LINK_NEG = (240, 50, 50)
PANEL = (0, 0, 0, 120)
TEXT = (255, 255, 255)

__all__ = [
    "BUTTON_OFF",
    "BUTTON_ON",
    "EMPTY_COLOR",
    "ENEMY_COLOR",
    "PLAYER_COLOR",
    "SOLID_COLOR",
    "Overlay",
    "banner_text",
    "network_svg",
    "render_network",
]


def banner_text(agent: str, level: str, frame: int, progress: float, fitness: float) -> str:
    return f"{agent}   {level}   frame {frame}   {progress:.0f}%   fitness {fitness:.1f}"


def cell_color(value: float) -> tuple[int, int, int]:
    """The grid colour of one observation value: 1 solid, -1 enemy/hazard, else empty."""
    if value > 0.5:
        return SOLID_COLOR
    if value < -0.5:
        return ENEMY_COLOR
    return EMPTY_COLOR


def _scaled_color(color: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    return (int(color[0] * factor), int(color[1] * factor), int(color[2] * factor))


def _heat(values: np.ndarray) -> np.ndarray:
    """(n,) values -> (n, 3) uint8: blue for negative, black at 0, orange for positive."""
    v = np.tanh(np.asarray(values, dtype=np.float64))
    pos, neg = np.clip(v, 0, 1), np.clip(-v, 0, 1)
    rgb = np.stack([255 * pos + 40 * neg, 150 * pos + 110 * neg, 30 * pos + 255 * neg], axis=1)
    return rgb.clip(0, 255).astype(np.uint8)


class _Fonts:
    def __init__(self) -> None:
        if not pygame.font.get_init():
            pygame.font.init()
        self._cache: dict[int, pygame.font.Font] = {}
        self._text: dict[tuple[str, int, tuple[int, int, int]], pygame.Surface] = {}

    def render(self, text: str, size: int, color: tuple[int, int, int] = TEXT) -> pygame.Surface:
        key = (text, size, color)
        if key not in self._text:
            if size not in self._cache:
                self._cache[size] = pygame.font.Font(None, size)
            if len(self._text) > 512:
                self._text.clear()
            self._text[key] = self._cache[size].render(text, True, color)
        return self._text[key]


class Overlay:
    """Draws the overlay onto game frames; caches fonts and network layouts between frames.

    After ``draw``, ``cell_rects`` maps (row, col) of the input grid to its rect and
    ``button_rects`` maps each button name to its lamp's rect (the tests read pixels there).
    """

    def __init__(self) -> None:
        self.fonts = _Fonts()
        self._layouts: dict[tuple[int, tuple[int, int, int, int], int], NetworkGeometry] = {}
        self._panel: pygame.Surface | None = None
        self.cell_rects: dict[tuple[int, int], pygame.Rect] = {}
        self.button_rects: dict[str, pygame.Rect] = {}

    # -- geometry -----------------------------------------------------------------------------
    @staticmethod
    def panel_rect(size: tuple[int, int]) -> pygame.Rect:
        """Where the overlay goes on a frame of ``size``: under the window's two HUD lines."""
        w, h = size
        line_h = max(14, h // 26)
        top = int(2.6 * line_h)
        height = max(40, min(int(h * 0.36), w // 3))
        return pygame.Rect(0, top, w, height)

    def layout(self, compiled: object, box: tuple[int, int, int, int], label_w: int):
        key = (id(compiled), box, label_w)
        if key not in self._layouts:
            if len(self._layouts) > 16:
                self._layouts.clear()
            self._layouts[key] = network_geometry(compiled, box, label_width=label_w)  # type: ignore[arg-type]
        return self._layouts[key]

    # -- pieces -------------------------------------------------------------------------------
    def draw_grid(
        self, surface: pygame.Surface, observation: np.ndarray, origin: tuple[int, int], cell: int
    ) -> None:
        obs = np.asarray(observation)
        rows, cols = obs.shape
        gap = 1 if cell >= 5 else 0
        ox, oy = origin
        self.cell_rects = {}
        surface.fill((0, 0, 0), pygame.Rect(ox, oy, cols * cell, rows * cell))
        for r in range(rows):
            for c in range(cols):
                rect = pygame.Rect(ox + c * cell, oy + r * cell, cell - gap, cell - gap)
                surface.fill(cell_color(float(obs[r, c])), rect)
                self.cell_rects[(r, c)] = rect
        pr, pc = rows // 2, cols // 2
        border = max(1, cell // 5)
        pygame.draw.rect(surface, PLAYER_COLOR, self.cell_rects[(pr, pc)].inflate(2, 2), border)

    def _lamp(
        self, surface: pygame.Surface, name: str, rect: pygame.Rect, on: bool, font_size: int
    ) -> None:
        surface.fill(BUTTON_ON if on else BUTTON_OFF, rect)
        self.button_rects[name] = rect
        label = self.fonts.render(name, font_size, BUTTON_ON if on else TEXT)
        surface.blit(label, label.get_rect(midleft=(rect.right + 3, rect.centery)))

    def draw_network(
        self,
        surface: pygame.Surface,
        box: tuple[int, int, int, int],
        compiled: object,
        values: np.ndarray | None,
        observation: np.ndarray | None,
        pressed: np.ndarray | None,
        font_size: int,
        static: bool = False,
    ) -> NetworkGeometry:
        """The grid, links, hidden nodes and output lamps of a NEAT network inside ``box``.

        ``static`` (an exported picture): links at full brightness, wider for larger weights.
        """
        label_w = self.fonts.render("RIGHT", font_size).get_width() + 6
        geo = self.layout(compiled, box, label_w)
        n_in = compiled.num_inputs  # type: ignore[attr-defined]
        n_out = compiled.num_outputs  # type: ignore[attr-defined]
        if observation is None:
            observation = np.zeros((geo.grid_size, geo.grid_size))
        pos = geo.positions
        vals = np.zeros(len(pos)) if values is None else np.asarray(values, dtype=np.float64)
        vals = vals.copy()
        vals[:n_in] = np.asarray(observation, dtype=np.float64).reshape(-1)[:n_in]
        activity = np.clip(np.abs(np.nan_to_num(vals)), 0.0, 1.0)
        half = geo.node_size / 2
        wmax = float(np.abs(geo.weight).max()) if len(geo.weight) else 1.0
        for s, d, w in zip(geo.src.tolist(), geo.dst.tolist(), geo.weight.tolist(), strict=True):
            base = LINK_POS if w > 0 else LINK_NEG
            if static:
                color, width = base, 1 + int(2.5 * abs(w) / max(wmax, 1e-9))
            else:
                color, width = _scaled_color(base, 0.22 + 0.78 * float(activity[s])), 1
            x0, y0 = pos[s]
            x1, y1 = pos[d]
            if n_in <= d < n_in + n_out:
                x1 -= half  # into the lamp's left edge
            pygame.draw.line(surface, color, (int(x0), int(y0)), (int(x1), int(y1)), width)
        # the grid over the links' first stretch: cells keep their colours, links leave its edge
        self.draw_grid(surface, observation, geo.grid_origin, geo.cell)
        for h in geo.hidden.tolist():
            g = int(127 + 127 * np.tanh(vals[h])) if not static else 200
            rect = pygame.Rect(0, 0, geo.node_size, geo.node_size)
            rect.center = (int(pos[h, 0]), int(pos[h, 1]))
            surface.fill((g, g, g), rect)
            pygame.draw.rect(surface, (0, 0, 0), rect, 1)
        self.button_rects = {}
        for j in range(n_out):
            name = BUTTONS[j] if j < len(BUTTONS) else f"out{j}"
            rect = pygame.Rect(0, 0, geo.node_size, geo.node_size)
            rect.center = (int(pos[n_in + j, 0]), int(pos[n_in + j, 1]))
            on = bool(pressed is not None and j < len(pressed) and pressed[j])
            self._lamp(surface, name, rect, on, font_size)
        return geo

    def _bars(
        self,
        surface: pygame.Surface,
        box: pygame.Rect,
        probs: np.ndarray | None,
        pressed: np.ndarray | None,
        font_size: int,
    ) -> None:
        """One row per button: a lamp, the name, and (with ``probs``) a probability bar."""
        self.button_rects = {}
        row_h = box.height / len(BUTTONS)
        lamp = max(3, min(int(row_h * 0.7), font_size))
        label_w = self.fonts.render("RIGHT", font_size).get_width() + 6
        for j, name in enumerate(BUTTONS):
            cy = int(box.y + (j + 0.5) * row_h)
            on = bool(pressed is not None and pressed[j])
            rect = pygame.Rect(box.x, cy - lamp // 2, lamp, lamp)
            self._lamp(surface, name, rect, on, font_size)
            if probs is not None:
                bx = rect.right + 3 + label_w
                bw = max(4, box.right - bx)
                back = pygame.Rect(bx, cy - lamp // 2, bw, lamp)
                surface.fill(BAR_BACK, back)
                p = float(np.clip(probs[j], 0.0, 1.0))
                fill = pygame.Rect(bx, back.y, max(1, int(bw * p)), lamp)
                surface.fill(BUTTON_ON if on else BAR_OFF, fill)

    def _heat_maps(
        self, surface: pygame.Surface, box: pygame.Rect, states: list[np.ndarray], font_size: int
    ) -> None:
        if not states or box.width < 8:
            return
        names = ["hidden", "cell"] if len(states) == 2 else ["state"] * len(states)
        gap = 6
        each_w = (box.width - gap * (len(states) - 1)) // len(states)
        label_h = font_size
        for k, (values, name) in enumerate(zip(states, names, strict=True)):
            n = len(values)
            area = pygame.Rect(box.x + k * (each_w + gap), box.y + label_h, each_w, box.height)
            area.height -= label_h
            cols = max(1, int(np.ceil(np.sqrt(n * area.width / max(area.height, 1)))))
            rows = int(np.ceil(n / cols))
            px = max(1, min(area.width // cols, area.height // max(rows, 1)))
            rgb = np.zeros((rows * cols, 3), dtype=np.uint8)
            rgb[:n] = _heat(values)
            grid = rgb.reshape(rows, cols, 3).transpose(1, 0, 2)  # surfarray is (x, y)
            small = pygame.surfarray.make_surface(np.ascontiguousarray(grid))
            surface.blit(pygame.transform.scale(small, (cols * px, rows * px)), area.topleft)
            surface.blit(self.fonts.render(name, font_size), (area.x, box.y))

    def draw_banner(self, surface: pygame.Surface, text: str) -> None:
        w, h = surface.get_size()
        size = max(12, h // 30)
        label = self.fonts.render(text, size)
        strip = pygame.Rect(0, h - label.get_height() - 6, w, label.get_height() + 6)
        surface.fill((0, 0, 0), strip)
        surface.blit(label, (6, strip.y + 3))

    # -- everything ---------------------------------------------------------------------------
    def draw(
        self,
        surface: pygame.Surface,
        observation: np.ndarray | None,
        pressed: np.ndarray | None,
        agent: object | None = None,
        banner: str | None = None,
    ) -> pygame.Surface:
        """Draw the overlay for ``agent`` (None: a human) onto ``surface``; returns it."""
        panel = self.panel_rect(surface.get_size())
        if self._panel is None or self._panel.get_size() != panel.size:
            self._panel = pygame.Surface(panel.size, pygame.SRCALPHA)
            self._panel.fill(PANEL)
        surface.blit(self._panel, panel.topleft)
        font_size = max(12, panel.height // 7)
        margin = max(4, panel.height // 20)
        inner = panel.inflate(-2 * margin, -2 * margin)
        pressed = None if pressed is None else np.asarray(pressed).reshape(-1)
        compiled = getattr(agent, "network", None)
        if compiled is not None and hasattr(agent, "node_values"):
            values = agent.node_values()  # type: ignore[union-attr]
            box = (inner.x, inner.y, inner.width, inner.height)
            self.draw_network(surface, box, compiled, values, observation, pressed, font_size)
        else:
            cell = 2
            if observation is not None:
                side = np.asarray(observation).shape[0]
                cell = max(2, inner.height // side)
                self.draw_grid(surface, observation, inner.topleft, cell)
                grid_right = inner.x + cell * side
            else:
                grid_right = inner.x
            label_w = self.fonts.render("RIGHT", font_size).get_width() + 6
            probs = getattr(agent, "probabilities", None)
            bars_w = label_w + font_size + (max(60, inner.width // 5) if probs is not None else 6)
            bars = pygame.Rect(inner.right - bars_w, inner.y, bars_w, inner.height)
            states_fn = getattr(agent, "state_arrays", None)
            if states_fn is not None:
                heat = pygame.Rect(grid_right + 2 * margin, inner.y, 0, inner.height)
                heat.width = bars.x - 2 * margin - heat.x
                self._heat_maps(surface, heat, states_fn(), font_size)
            p0 = None if probs is None else np.asarray(probs)[0]
            self._bars(surface, bars, p0, pressed, font_size)
        if banner:
            self.draw_banner(surface, banner)
        return surface


# -- a network alone, for --export-network ------------------------------------------------------
def render_network(agent: object, size: tuple[int, int] = (960, 480)) -> pygame.Surface:
    """A picture of a NEAT agent's network (grid of inputs, hidden nodes, output buttons, links
    coloured by weight sign and wider for larger weights) on a dark background."""
    compiled = agent.network  # type: ignore[attr-defined]
    surface = pygame.Surface(size)
    surface.fill((24, 26, 34))
    overlay = Overlay()
    w, h = size
    font_size = max(14, h // 24)
    margin = max(8, h // 24)
    box = (margin, margin + font_size, w - 2 * margin, h - 2 * margin - font_size)
    overlay.draw_network(surface, box, compiled, None, None, None, font_size, static=True)
    hidden = int(np.count_nonzero(compiled.node_keys[0][compiled.num_inputs :] >= 0)) - (
        compiled.num_outputs
    )
    title = f"{getattr(agent, 'name', 'network')}: {compiled.num_inputs} inputs, {hidden} hidden"
    title += f", {compiled.num_outputs} outputs, {len(compiled.edge_src)} links"
    surface.blit(overlay.fonts.render(title, font_size), (margin, margin // 2))
    return surface


def network_svg(agent: object, size: tuple[int, int] = (960, 480)) -> str:
    """The same picture as ``render_network``, as an SVG document written by hand."""
    compiled = agent.network  # type: ignore[attr-defined]
    w, h = size
    font_size = max(14, h // 24)
    margin = max(8, h // 24)
    label_w = int(font_size * 2.6)
    box = (margin, margin + font_size, w - 2 * margin, h - 2 * margin - font_size)
    geo = network_geometry(compiled, box, label_width=label_w)
    n_in, n_out = compiled.num_inputs, compiled.num_outputs
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">',
        f'<rect width="{w}" height="{h}" fill="rgb(24,26,34)"/>',
        f'<text x="{margin}" y="{margin + font_size * 0.6:.0f}" fill="white" '
        f'font-family="sans-serif" font-size="{font_size * 0.75:.0f}">'
        f"{escape(str(getattr(agent, 'name', 'network')))}</text>",
    ]
    ox, oy = geo.grid_origin
    c = geo.cell
    for k in range(n_in):
        x, y = ox + (k % geo.grid_size) * c, oy + (k // geo.grid_size) * c
        out.append(
            f'<rect x="{x}" y="{y}" width="{c - 1}" height="{c - 1}" fill="rgb{EMPTY_COLOR}"/>'
        )
    pos = geo.positions
    wmax = float(np.abs(geo.weight).max()) if len(geo.weight) else 1.0
    for s, d, wt in zip(geo.src.tolist(), geo.dst.tolist(), geo.weight.tolist(), strict=True):
        color = LINK_POS if wt > 0 else LINK_NEG
        width = 1 + 2.5 * abs(wt) / max(wmax, 1e-9)
        out.append(
            f'<line x1="{pos[s, 0]:.1f}" y1="{pos[s, 1]:.1f}" x2="{pos[d, 0]:.1f}" '
            f'y2="{pos[d, 1]:.1f}" stroke="rgb{color}" stroke-width="{width:.2f}"/>'
        )
    r = geo.node_size / 2
    for k in geo.hidden.tolist():
        out.append(
            f'<circle cx="{pos[k, 0]:.1f}" cy="{pos[k, 1]:.1f}" r="{r:.1f}" '
            'fill="rgb(200,200,200)" stroke="black"/>'
        )
    for j in range(n_out):
        x, y = pos[n_in + j]
        name = BUTTONS[j] if j < len(BUTTONS) else f"out{j}"
        out.append(
            f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r:.1f}" height="{2 * r:.1f}" '
            f'fill="rgb{BUTTON_OFF}"/>'
        )
        out.append(
            f'<text x="{x + r + 3:.1f}" y="{y + r:.1f}" fill="white" font-family="sans-serif" '
            f'font-size="{font_size * 0.75:.0f}">{escape(name)}</text>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"
