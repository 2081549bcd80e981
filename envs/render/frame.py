"""Frames of one world from its ``WorldView``, RGB arrays, and a small human window with a HUD.

``render_view`` draws only from ``envs.sim.world.WorldView`` (pixels, tile codes), never from the
simulation arrays. ``HumanWindow`` works with ``SDL_VIDEODRIVER=dummy`` (headless) too.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np  # noqa: E402
import pygame  # noqa: E402

from envs.render import art  # noqa: E402
from envs.sim.constants import DEAD, FLAG, PIPE_L, PIPE_R, SCREEN_TILES, TILE_PX  # noqa: E402
from envs.sim.world import WorldView  # noqa: E402

_CAPPED = (PIPE_L, PIPE_R, FLAG)  # tiles drawn differently at the top of their column


def player_pose(view: WorldView) -> str:
    """``dead``, ``jump`` (airborne), ``walk`` (alternate frames while moving) or ``stand``."""
    if view.status == DEAD:
        return "dead"
    if not view.on_ground:
        return "jump"
    speed = abs(view.velocity[0])
    if speed > 0.05:
        period = 4 if speed > 1.75 else 6  # a faster stride when running
        return "walk" if (view.frames // period) % 2 else "stand"
    return "stand"


def render_view(
    view: WorldView,
    scale: int = 2,
    width_tiles: int = SCREEN_TILES,
    surface: pygame.Surface | None = None,
) -> pygame.Surface:
    """Draw the screen of ``view``: ``width_tiles`` tiles from the camera, the level's full height.

    Returns ``surface`` (or a new one) of ``(width_tiles * 16 * scale, rows * 16 * scale)``
    pixels holding the sky, the tiles, the enemies and the player (a dead player in its own pose).
    """
    rows, cols = view.tiles.shape
    ts = TILE_PX * scale
    size = (width_tiles * ts, rows * ts)
    if surface is None:
        surface = pygame.Surface(size)
    elif surface.get_size() != size:
        raise ValueError(f"surface is {surface.get_size()}, this view needs {size}")
    surface.fill(art.sky_color(view.level.meta))
    cam = view.camera

    def sx(x: float) -> int:  # level x in pixels -> surface x
        return round((x - cam) * scale)

    c0 = max(int(cam // TILE_PX), 0)
    c1 = min(int((cam + width_tiles * TILE_PX) // TILE_PX) + 2, cols)  # +1: a flag's pennant
    for c in range(c0, c1):
        column = view.tiles[:, c]
        x = sx(c * TILE_PX)
        for r in np.flatnonzero(column):
            kind = int(column[r])
            top = kind in _CAPPED and (r == 0 or int(column[r - 1]) != kind)
            image = art.tile(kind, scale, top)
            if image is not None:
                surface.blit(image, (x, r * ts))
            if top and kind == FLAG:  # the pennant hangs left of the pole, under the ball
                pw = art.PENNANT_SIZE[0]
                surface.blit(art.pennant(scale), (x + (7 - pw) * scale, r * ts + 6 * scale))

    step = (view.frames // 8) % 2 == 1
    for ex, ey, direction in view.enemies:
        surface.blit(art.enemy(scale, direction, step), (sx(ex), round(ey * scale)))

    px, py = view.player
    facing = 1 if view.facing >= 0 else -1
    surface.blit(art.player(scale, facing, player_pose(view)), (sx(px), round(py * scale)))
    return surface


def surface_to_array(surface: pygame.Surface) -> np.ndarray:
    """The surface as an ``(H, W, 3)`` uint8 RGB array (Gymnasium's ``rgb_array`` format)."""
    w, h = surface.get_size()
    data = pygame.image.tobytes(surface, "RGB")  # row-major RGB: already (H, W, 3), and fast
    return np.frombuffer(data, dtype=np.uint8).reshape(h, w, 3).copy()


def _key_name(key: int) -> str:
    name = pygame.key.name(key).lower()
    return "shift" if name in ("left shift", "right shift") else name


class HumanWindow:
    """A pygame window showing frames with a HUD, paced at ``fps`` frames per second.

    ``show`` draws a frame (the window takes the frame's size times ``zoom``), ``poll`` reads
    the events, ``held`` tells which keys are down, ``close`` shuts the window.
    """

    def __init__(self, title: str = "MarI/O lab", fps: int = 60, zoom: int = 1):
        pygame.display.init()
        pygame.font.init()
        self.title = title
        self.fps = fps  # 0: as fast as possible
        self.zoom = zoom
        self._screen: pygame.Surface | None = None
        self._clock = pygame.time.Clock()
        self._fonts: dict[int, pygame.font.Font] = {}
        self._held: set[str] = set()
        self.closed = False

    @property
    def actual_fps(self) -> float:
        """Frames per second actually shown, averaged over the last few frames."""
        return self._clock.get_fps()

    def _font(self, size: int) -> pygame.font.Font:
        if size not in self._fonts:
            self._fonts[size] = pygame.font.Font(None, size)
        return self._fonts[size]

    def _text(self, text: str, size: int, pos: tuple[int, int], center: bool = False) -> None:
        assert self._screen is not None
        font = self._font(size)
        shadow = font.render(text, True, (0, 0, 0))
        label = font.render(text, True, (255, 255, 255))
        rect = label.get_rect(center=pos) if center else label.get_rect(topleft=pos)
        off = max(1, size // 14)
        self._screen.blit(shadow, rect.move(off, off))
        self._screen.blit(label, rect)

    def show(
        self, surface: pygame.Surface, hud_lines: Sequence[str] = (), message: str | None = None
    ) -> None:
        """Show ``surface`` scaled by ``zoom`` with ``hud_lines`` top-left and an optional
        ``message`` centred; then wait to keep ``fps``."""
        if self.closed:
            return
        w, h = surface.get_size()
        size = (w * self.zoom, h * self.zoom)
        if self._screen is None or self._screen.get_size() != size:
            self._screen = pygame.display.set_mode(size)
            pygame.display.set_caption(self.title)
        if self.zoom == 1:
            self._screen.blit(surface, (0, 0))
        else:
            pygame.transform.scale(surface, size, self._screen)
        line_h = max(14, size[1] // 26)
        for k, line in enumerate(hud_lines):
            self._text(line, line_h, (line_h // 2, line_h // 3 + k * line_h))
        if message:
            self._text(message, 2 * line_h, (size[0] // 2, size[1] // 2), center=True)
        pygame.display.flip()
        self._clock.tick(self.fps)

    def poll(self) -> set[str]:
        """Keys newly pressed since the last poll, by pygame name (``left``, ``z``, ``space``,
        ``escape``, ``r``; either shift is ``shift``), plus ``quit`` when the window was closed."""
        pressed: set[str] = set()
        if self.closed:
            return {"quit"}
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                pressed.add("quit")
            elif event.type == pygame.KEYDOWN:
                name = _key_name(event.key)
                pressed.add(name)
                self._held.add(name)
            elif event.type == pygame.KEYUP:
                self._held.discard(_key_name(event.key))
            elif event.type == pygame.WINDOWFOCUSLOST:
                self._held.clear()  # no stuck keys after alt-tab
        return pressed

    def held(self) -> set[str]:
        """Keys down now (as of the last ``poll``), by the same names as ``poll``."""
        return set(self._held)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._screen = None
            pygame.display.quit()
