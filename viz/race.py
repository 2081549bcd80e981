"""Races: several agents on the same level at once, drawn as ghosts in one world view.

``Race`` runs one ``envs.sim.world.World`` batch of n worlds, all on the same ``LevelBank`` slot,
one world per agent. Each agent decides for its own world every ``frame_skip`` frames (its own
``frame_skip``: agents of different decision rates race fairly, frame by frame).

``draw_race`` draws the leader's world (the camera follows the leader), the other players
semi-transparent with a coloured name tag, and a side list of every agent's name, progress and
status (running / dead / finished). The simulation never imports pygame; this module only
reads ``World.view``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np  # noqa: E402
import pygame  # noqa: E402

from envs.levels.level import Level  # noqa: E402
from envs.render import art  # noqa: E402
from envs.render.frame import player_pose, render_view  # noqa: E402
from envs.sim.constants import BUTTONS, COMPLETED, DEAD, RUNNING, TIMEOUT  # noqa: E402
from envs.sim.world import LevelBank, World, WorldView  # noqa: E402

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

__all__ = ["GHOST_ALPHA", "TAG_COLORS", "Race", "RaceDrawer", "race_progress", "status_name"]


def race_progress(view: WorldView) -> float:
    """How far the player got to the flag, in % (100 at the flag)."""
    if view.status == COMPLETED:
        return 100.0
    flag_x = view.level.flag_col * 16
    return min(100.0, 100.0 * (view.player[0] + view.player_size[0]) / max(flag_x, 1))


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


class Race:
    """n agents, one world each, all on ``level``; ``step`` plays one frame for every world."""

    def __init__(self, agents: Sequence[object], level: Level):
        if not agents:
            raise ValueError("a race needs at least one agent")
        self.agents = list(agents)
        self.level = level
        self.world = World(LevelBank([level]), len(self.agents))
        self.names = display_names([str(getattr(a, "name", "agent")) for a in self.agents])
        self.held = np.zeros((len(self.agents), len(BUTTONS)), dtype=np.uint8)
        self.restart()

    @property
    def n(self) -> int:
        return len(self.agents)

    def restart(self) -> None:
        self.world.reset(0)
        self.held[:] = 0
        for agent in self.agents:
            agent.reset(1)  # type: ignore[attr-defined]

    def running(self) -> np.ndarray:
        return self.world.status() == RUNNING

    def done(self) -> bool:
        return not bool(self.running().any())

    def decide(self) -> None:
        """Each running world whose frame count is a multiple of its agent's ``frame_skip``
        asks its agent for new buttons (held until its next decision)."""
        frames = self.world.frames()
        running = self.running()
        grids: dict[int, np.ndarray] = {}
        for i, agent in enumerate(self.agents):
            if not running[i] or int(frames[i]) % int(agent.frame_skip) != 0:  # type: ignore[attr-defined]
                continue
            radius = int(getattr(agent, "view_radius", 6))
            if radius not in grids:
                grids[radius] = self.world.observe(radius)
            self.held[i] = agent.act(grids[radius][i : i + 1])[0]  # type: ignore[attr-defined]

    def step(self) -> np.ndarray:
        """One frame: decisions where due, then every running world advances; returns the
        (n, 6) buttons held this frame."""
        self.decide()
        self.world.step(self.held, 1)
        return self.held

    def views(self) -> list[WorldView]:
        return [self.world.view(i) for i in range(self.n)]

    def leader(self, views: Sequence[WorldView] | None = None) -> int:
        """The world furthest on (a finisher first; ties: the first agent)."""
        views = views if views is not None else self.views()
        keys = [(v.status == COMPLETED, race_progress(v)) for v in views]
        return max(range(len(keys)), key=lambda i: keys[i])

    def observation(self, i: int) -> np.ndarray:
        radius = int(getattr(self.agents[i], "view_radius", 6))
        return self.world.observe(radius)[i]


class RaceDrawer:
    """Draws a race: the leader's world, ghosts, name tags and the side list (fonts cached)."""

    def __init__(self) -> None:
        if not pygame.font.get_init():
            pygame.font.init()
        self._fonts: dict[int, pygame.font.Font] = {}
        self._ghosts: dict[tuple[int, int, str], pygame.Surface] = {}
        self.player_rects: list[pygame.Rect] = []  # where each world's player was drawn
        self.list_rect: pygame.Rect | None = None

    def _font(self, size: int) -> pygame.font.Font:
        if size not in self._fonts:
            self._fonts[size] = pygame.font.Font(None, size)
        return self._fonts[size]

    def _ghost(self, scale: int, facing: int, pose: str) -> pygame.Surface:
        key = (scale, facing, pose)
        if key not in self._ghosts:
            sprite = art.player(scale, facing, pose).copy()  # art caches its sprites
            sprite.set_alpha(GHOST_ALPHA)
            self._ghosts[key] = sprite
        return self._ghosts[key]

    def draw(
        self,
        race: Race,
        scale: int = 2,
        surface: pygame.Surface | None = None,
        views: Sequence[WorldView] | None = None,
        list_top: int | None = None,
        with_list: bool = True,
    ) -> tuple[pygame.Surface, int]:
        """The race frame (reusing ``surface``) and the leader's index; ``with_list`` False
        leaves the side list to a later ``draw_list`` (on top of an overlay)."""
        views = list(views) if views is not None else race.views()
        lead = race.leader(views)
        leader = views[lead]
        surface = render_view(leader, scale=scale, surface=surface)
        cam = leader.camera
        w, h = surface.get_size()
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
        if race.n > 1:  # the leader on top of the ghosts, every player tagged
            leader_sprite = art.player(scale, 1 if leader.facing >= 0 else -1, player_pose(leader))
            surface.blit(leader_sprite, self.player_rects[lead])
            for i, rect in enumerate(self.player_rects):
                if rect.right < 0 or rect.left > w:
                    continue
                color = TAG_COLORS[i % len(TAG_COLORS)]
                label = self._font(tag_size).render(race.names[i], True, color)
                pos = label.get_rect(midbottom=(rect.centerx, rect.top - 2))
                pos.clamp_ip(surface.get_rect())
                surface.fill((0, 0, 0), pos.inflate(4, 2))
                surface.blit(label, pos)
            if with_list:
                self.draw_list(surface, race, views, lead, list_top)
        return surface, lead

    def draw_list(
        self,
        surface: pygame.Surface,
        race: Race,
        views: Sequence[WorldView],
        lead: int,
        top: int | None = None,
    ) -> None:
        """The side list (right edge): a colour swatch, name, progress % and status per agent,
        the leader marked with ``>``."""
        w, h = surface.get_size()
        size = max(12, h // 30)
        font = self._font(size)
        rows = []
        for i, view in enumerate(views):
            mark = ">" if i == lead else " "
            text = (
                f"{mark} {race.names[i]}  {race_progress(view):3.0f}%  {status_name(view.status)}"
            )
            rows.append(font.render(text, True, (255, 255, 255)))
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
