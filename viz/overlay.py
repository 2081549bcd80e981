"""The MarI/O overlay: what the agent sees, how it is wired, which buttons it presses.

``Overlay.draw(surface, observation, pressed, agent, banner)`` draws, on top of a game frame:

* the input grid from the observation (solid, enemy/hazard and empty cells in distinct colours,
  the player's cell outlined);
* for a NEAT agent (``agent.network`` + ``agent.node_values()``) the hidden nodes between the
  grid and the buttons (``viz.network_layout``), links green/red by weight sign and brighter
  the more active their source, and the output buttons named and lit while pressed (drawn by
  ``viz.network_view``, which also draws ``--export-network``'s pictures);
* for a recurrent agent (``agent.state_arrays()`` + ``agent.probabilities``) the hidden (and
  cell) state as heat maps and the button probabilities as bars, pressed ones lit;
* for any other agent (the solver, a human) the grid and the buttons;
* a one-line banner at the bottom (``banner_text``).

It reads agents only through those read-only accessors; the simulation is never touched.
"""

from __future__ import annotations

import os

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np  # noqa: E402
import pygame  # noqa: E402

from envs.sim.constants import BUTTONS  # noqa: E402
from viz.canvas import PygameCanvas  # noqa: E402
from viz.network_layout import NetworkGeometry, input_layout, network_geometry  # noqa: E402
from viz.network_view import (  # noqa: E402
    BUTTON_ON,
    TEXT,
    draw_grid,
    draw_lamp,
    draw_network,
    label_width,
)

BAR_BACK = (36, 36, 44)
BAR_OFF = (120, 160, 220)
PANEL = (0, 0, 0, 120)

__all__ = ["Overlay", "banner_text"]


def banner_text(agent: str, level: str, frame: int, progress: str, fitness: float) -> str:
    """The overlay's bottom line: agent, level, frame, progress (``"42%"`` or ``"x 812"``) and
    MarI/O's fitness so far."""
    return f"{agent}   {level}   frame {frame}   {progress}   fitness {fitness:.1f}"


def _heat(values: np.ndarray) -> np.ndarray:
    """(n,) values -> (n, 3) uint8: blue for negative, black at 0, orange for positive."""
    v = np.tanh(np.asarray(values, dtype=np.float64))
    pos, neg = np.clip(v, 0, 1), np.clip(-v, 0, 1)
    rgb = np.stack([255 * pos + 40 * neg, 150 * pos + 110 * neg, 30 * pos + 255 * neg], axis=1)
    return rgb.clip(0, 255).astype(np.uint8)


def _rects(boxes: dict) -> dict:
    return {k: pygame.Rect(*(int(v) for v in box)) for k, box in boxes.items()}


class Overlay:
    """Draws the overlay onto game frames; caches fonts and network layouts between frames.

    After ``draw``, ``cell_rects`` maps (row, col) of the input grid to its rect and
    ``button_rects`` maps each button name to its lamp's rect (the tests read pixels there).
    """

    def __init__(self) -> None:
        self.canvas = PygameCanvas(pygame.Surface((1, 1)))
        self.fonts = self.canvas.fonts
        self._layouts: dict[tuple[int, tuple[int, int, int, int], int], NetworkGeometry] = {}
        self._panel: pygame.Surface | None = None
        self._cells: dict = {}
        self._lamps: dict = {}

    @property
    def cell_rects(self) -> dict[tuple[int, int], pygame.Rect]:
        return _rects(self._cells)

    @property
    def button_rects(self) -> dict[str, pygame.Rect]:
        return _rects(self._lamps)

    # -- geometry -----------------------------------------------------------------------------
    @staticmethod
    def panel_rect(size: tuple[int, int]) -> pygame.Rect:
        """Where the overlay goes on a frame of ``size``: under the window's two HUD lines."""
        w, h = size
        line_h = max(14, h // 26)
        top = int(2.6 * line_h)
        height = max(40, min(int(h * 0.36), w // 3))
        return pygame.Rect(0, top, w, height)

    def layout(
        self, compiled: object, box: tuple[int, int, int, int], label_w: int, agent: object = None
    ):
        key = (id(compiled), box, label_w)
        if key not in self._layouts:
            if len(self._layouts) > 16:
                self._layouts.clear()
            self._layouts[key] = network_geometry(
                compiled,  # type: ignore[arg-type]
                box,
                label_width=label_w,
                **input_layout(agent),  # type: ignore[arg-type]
            )
        return self._layouts[key]

    # -- pieces -------------------------------------------------------------------------------
    def _network(
        self, box, compiled, values, observation, pressed, font_size: int, agent: object = None
    ) -> None:
        geo = self.layout(compiled, box, label_width(self.canvas, font_size), agent)
        cells, lamps = draw_network(
            self.canvas, geo, compiled, values, observation, pressed, font_size
        )
        self._cells, self._lamps = cells, lamps

    def _bars(
        self, box: pygame.Rect, probs: np.ndarray | None, pressed: np.ndarray | None, size: int
    ) -> None:
        """One row per button: a lamp, the name, and (with ``probs``) a probability bar."""
        lamps = {}
        row_h = box.height / len(BUTTONS)
        lamp = max(3, min(int(row_h * 0.7), size))
        label_w = label_width(self.canvas, size)
        for j, name in enumerate(BUTTONS):
            cy = int(box.y + (j + 0.5) * row_h)
            on = bool(pressed is not None and pressed[j])
            lamps[name] = (box.x, cy - lamp // 2, lamp, lamp)
            draw_lamp(self.canvas, name, lamps[name], on, size)
            if probs is not None:
                bx = box.x + lamp + 3 + label_w
                bw = max(4, box.right - bx)
                self.canvas.rect((bx, cy - lamp // 2, bw, lamp), fill=BAR_BACK)
                share = max(1, int(bw * float(np.clip(probs[j], 0.0, 1.0))))
                color = BUTTON_ON if on else BAR_OFF
                self.canvas.rect((bx, cy - lamp // 2, share, lamp), fill=color)
        self._lamps = lamps

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
            self.canvas.text(name, (area.x, box.y), font_size, TEXT)

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
        self.canvas.surface = surface
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
            self._network(box, compiled, values, observation, pressed, font_size, agent)
        else:
            grid_right = inner.x
            if observation is not None:
                side = np.asarray(observation).shape[0]
                cell = max(2, inner.height // side)
                self._cells = draw_grid(self.canvas, observation, inner.topleft, cell)
                grid_right = inner.x + cell * side
            label_w = label_width(self.canvas, font_size)
            probs = getattr(agent, "probabilities", None)
            bars_w = label_w + font_size + (max(60, inner.width // 5) if probs is not None else 6)
            bars = pygame.Rect(inner.right - bars_w, inner.y, bars_w, inner.height)
            states_fn = getattr(agent, "state_arrays", None)
            if states_fn is not None:
                heat = pygame.Rect(grid_right + 2 * margin, inner.y, 0, inner.height)
                heat.width = bars.x - 2 * margin - heat.x
                self._heat_maps(surface, heat, states_fn(), font_size)
            p0 = None if probs is None else np.asarray(probs)[0]
            self._bars(bars, p0, pressed, font_size)
        if banner:
            self.draw_banner(surface, banner)
        return surface
