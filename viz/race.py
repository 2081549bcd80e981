"""Drawing several players in one world view: races (``play.py A B ...``) and single play.

``RaceDrawer.draw`` draws the leader's world (the camera follows the leader), the other players
semi-transparent with a coloured name tag, and a side list of every player's name, progress and
status (running / dead / finished). It reads only ``envs.sim.world.WorldView``s: the game that
plays the race (``viz.games.WorldGame``, one world per agent in one ``World``, each agent at its
own ``frame_skip``) lives elsewhere, and the simulation never imports pygame.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402

from envs.render import art  # noqa: E402
from envs.render.frame import player_pose, render_view  # noqa: E402
from envs.sim.constants import COMPLETED, DEAD, RUNNING, TIMEOUT  # noqa: E402
from envs.sim.world import WorldView  # noqa: E402
from viz.canvas import Fonts  # noqa: E402

GHOST_ALPHA = 120
TAG_COLORS = (
    (255, 216, 0),
    (64, 208, 255),
    (255, 96, 200),
    (120, 240, 90),
    (255, 140, 40),
    (190, 150, 255),
)
STATUS_NAMES = {RUNNING: "running", DEAD: "dead", COMPLETED: "finished", TIMEOUT: "time up"}

__all__ = [
    "GHOST_ALPHA",
    "TAG_COLORS",
    "RaceDrawer",
    "display_names",
    "leader",
    "progress_percent",
    "status_name",
]


def progress_percent(view: WorldView) -> float:
    """How far the player got to the flag, in % (100 at the flag): the rightmost reach of its
    right edge over the flag's x, as ``envs.sim.world.World.progress``."""
    if view.status == COMPLETED:
        return 100.0
    flag_x = view.level.flag_col * 16
    return min(100.0, 100.0 * (view.rightmost + view.player_size[0]) / max(flag_x, 1))


def leader(views: Sequence[WorldView]) -> int:
    """The world furthest on (a finisher first, then the furthest x; ties: the first)."""
    keys = [(v.status == COMPLETED, progress_percent(v), v.player[0]) for v in views]
    return max(range(len(keys)), key=lambda i: keys[i])


def status_name(status: int) -> str:
    return STATUS_NAMES.get(int(status), "ended")


def display_names(names: Sequence[str]) -> list[str]:
    """Agent names made unique for the side list (``solver``, ``solver#2``)."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return out


class RaceDrawer:
    """Draws a race: the leader's world, ghosts, name tags and the side list (fonts cached)."""

    def __init__(self) -> None:
        self.fonts = Fonts()
        self._ghosts: dict[tuple[int, int, str], pygame.Surface] = {}
        self.player_rects: list[pygame.Rect] = []  # where each world's player was drawn
        self.list_rect: pygame.Rect | None = None

    def _ghost(self, scale: int, facing: int, pose: str) -> pygame.Surface:
        key = (scale, facing, pose)
        if key not in self._ghosts:
            sprite = art.player(scale, facing, pose).copy()  # art caches its sprites
            sprite.set_alpha(GHOST_ALPHA)
            self._ghosts[key] = sprite
        return self._ghosts[key]

    def draw(
        self,
        views: Sequence[WorldView],
        names: Sequence[str],
        scale: int = 2,
        surface: pygame.Surface | None = None,
        with_list: bool = True,
    ) -> tuple[pygame.Surface, int]:
        """The frame of the players in ``views`` (reusing ``surface``) and the leader's index;
        with one player, just its world. ``with_list`` False leaves the side list to a later
        ``draw_list`` (on top of an overlay)."""
        lead = leader(views)
        first = views[lead]
        surface = render_view(first, scale=scale, surface=surface)
        if len(views) == 1:
            self.player_rects = []
            return surface, lead
        cam = first.camera
        w = surface.get_width()
        tag_size = max(12, 6 * scale)
        self.player_rects = []
        for i, view in enumerate(views):
            x = round((view.player[0] - cam) * scale)
            y = round(view.player[1] * scale)
            facing = 1 if view.facing >= 0 else -1
            sprite = art.player(scale, facing, player_pose(view))
            rect = sprite.get_rect(topleft=(x, y))
            self.player_rects.append(rect)
            if i != lead:
                surface.blit(self._ghost(scale, facing, player_pose(view)), rect)
        # the leader on top of the ghosts, every player tagged
        surface.blit(art.player(scale, 1 if first.facing >= 0 else -1, player_pose(first)),
                     self.player_rects[lead])  # fmt: skip
        for i, rect in enumerate(self.player_rects):
            if rect.right < 0 or rect.left > w:
                continue
            label = self.fonts.render(names[i], tag_size, TAG_COLORS[i % len(TAG_COLORS)])
            pos = label.get_rect(midbottom=(rect.centerx, rect.top - 2))
            pos.clamp_ip(surface.get_rect())
            surface.fill((0, 0, 0), pos.inflate(4, 2))
            surface.blit(label, pos)
        if with_list:
            self.draw_list(surface, views, names, lead)
        return surface, lead

    def draw_list(
        self,
        surface: pygame.Surface,
        views: Sequence[WorldView],
        names: Sequence[str],
        lead: int,
        top: int | None = None,
    ) -> None:
        """The side list (right edge): a colour swatch, name, progress % and status per agent,
        the leader marked with ``>``; at ``top``, else near the bottom."""
        w, h = surface.get_size()
        size = max(12, h // 30)
        rows = []
        for i, view in enumerate(views):
            mark = ">" if i == lead else " "
            progress = progress_percent(view)
            text = f"{mark} {names[i]}  {progress:3.0f}%  {status_name(view.status)}"
            rows.append(self.fonts.render(text, size))
        line_h = max(r.get_height() for r in rows) + 2
        box_w = max(r.get_width() for r in rows) + size + 12
        box_h = line_h * len(rows) + 8
        y0 = top if top is not None else max(4, h - box_h - size - 12)
        box = pygame.Rect(w - box_w - 4, y0, box_w, box_h)
        panel = pygame.Surface(box.size, pygame.SRCALPHA)
        panel.fill((0, 0, 0, 160))
        surface.blit(panel, box.topleft)
        y = box.y + 4
        for i, row in enumerate(rows):
            swatch = pygame.Rect(box.x + 4, y + 2, size - 4, line_h - 6)
            surface.fill(TAG_COLORS[i % len(TAG_COLORS)], swatch)
            surface.blit(row, (box.x + size + 6, y))
            y += line_h
        self.list_rect = box
