"""The real Super Mario Bros. as a game for the window and headless play (``viz.window.Game``):
the NES frame under the MarI/O overlay. ``play.py --env smb`` is built on this module.

The agent sees exactly what it sees in training (``envs.smb.ram.tile_grid`` of the RAM) and
goes through the shared interface only: any agent of ``agent.base.load_agent`` plays, trained
on the built-in world or on the real game. Episodes are played by ``agent.episodes.Episodes``
over ``envs.smb.console.SmbWorlds`` (one console), one frame at a time in the window; an
agent's episode ends as a NEAT run on the real game ends (death, the flag, or MarI/O's
no-progress timeout, ``EpisodeRules.mario()``), so a champion scores here what it scored in
training and a stuck agent does not play out the game's 400-second clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from agent.episodes import EpisodeRules, Episodes, episode_record, mario_fitness
from envs.sim.constants import COMPLETED, DEAD, TIMEOUT
from envs.smb.console import STAGE_END_X, SmbWorlds
from envs.smb.ram import parse_stage
from viz.games import Keyboard
from viz.window import Cycle, EpisodeGame

__all__ = ["SmbGame", "next_stage", "play_episodes", "stage_cycle"]


def next_stage(stage: str) -> str:
    """The stage after ``stage`` (``1-4`` -> ``2-1``, ``8-4`` -> ``1-1``)."""
    world, number = parse_stage(stage)
    world, number = (world, number + 1) if number < 4 else (world % 8 + 1, 1)
    return f"{world}-{number}"


def stage_cycle(stages: list[str]) -> Cycle[str]:
    """The stages of a session (checked): N steps through them, or after one to the next."""
    names = tuple("{}-{}".format(*parse_stage(s)) for s in stages)
    return Cycle(names, next_stage)


class SmbGame(EpisodeGame):
    """The real game's game: ``agent`` (None: the keyboard) on the current stage of ``stages``,
    one console (``worlds``, or a new ``SmbWorlds`` of one), played under ``rules`` (default:
    MarI/O's timeout for an agent, none for a human)."""

    level_word = "stage"

    def __init__(
        self,
        stages: str | Cycle[str] = "1-1",
        agent: Any = None,
        rules: EpisodeRules | None = None,
        *,
        worlds: SmbWorlds | None = None,
    ) -> None:
        self.levels = stage_cycle([stages]) if isinstance(stages, str) else stages
        self.level = self.levels.current
        self.worlds = worlds or SmbWorlds.of(self.level, 1)
        self.keyboard = Keyboard() if agent is None else None
        self.agent = agent if agent is not None else self.keyboard
        if rules is None:
            rules = EpisodeRules() if agent is None else EpisodeRules.mario()
        self.rules = rules
        self.episodes = Episodes(self.worlds, self.agent, rules=rules)
        self._small = None

    @property
    def console(self):
        return self.worlds.consoles[0]

    @property
    def run(self):
        return self.worlds.runs[0]

    @property
    def title(self) -> str:
        who = f"{self.agent.name} on " if self.watching else ""
        return f"MarI/O lab - {who}Super Mario Bros. {self.level}"

    # -- play -----------------------------------------------------------------------------------
    def next_level(self) -> SmbGame:
        agent = None if self.keyboard is not None else self.agent
        return SmbGame(self.levels.next(), agent, self.rules)

    def records(self) -> list[dict]:
        """The episode's record, with ``rightmost`` (x in pixels: how far, where the distance to
        the end of the stage is not known), ``dead`` and ``timeout``."""
        rec = self.worlds.records()[0]
        name = str(self.agent.name)
        extra = {"rightmost": int(rec["rightmost"]), "dead": rec["dead"], "timeout": rec["timeout"]}
        return [episode_record(name, rec, **extra)]

    # -- what is shown --------------------------------------------------------------------------
    def progress(self) -> float | None:
        """% of the way to MarI/O's end of the stage (100 at the flag), where that is known."""
        if self.run.status == COMPLETED:
            return 100.0
        end = STAGE_END_X.get(self.level)
        return None if end is None else min(100.0, 100.0 * self.run.rightmost / end)

    def banner(self) -> str:
        from viz.overlay import banner_text

        run, progress = self.run, self.progress()
        where = f"{progress:.0f}%" if progress is not None else f"x {run.rightmost}"
        fitness = float(mario_fitness(run.rightmost, run.frames, run.status == COMPLETED))
        return banner_text(str(self.agent.name), self.level, run.frames, where, fitness)

    def draw(self, scale: int, surface: Any = None, overlay: Any = None) -> Any:
        """The NES frame scaled ``scale`` times (nearest neighbour) with ``overlay`` drawn for
        the agent: the grid it sees, its network or state, the buttons held now."""
        import pygame

        screen = np.ascontiguousarray(self.console.screen.swapaxes(0, 1))
        small = pygame.surfarray.make_surface(screen)
        size = (small.get_width() * scale, small.get_height() * scale)
        if surface is None or surface.get_size() != size:
            surface = pygame.Surface(size)
        pygame.transform.scale(small, size, surface)
        if overlay is not None:
            obs = self.worlds.observe(int(self.agent.view_radius))[0]
            agent = self.agent if self.watching else None
            overlay.draw(surface, obs, self.episodes.held[0], agent, self.banner())
        return surface

    def hud(self) -> list[str]:
        run = self.run
        return [f"Super Mario Bros. {self.level}   x {run.x}   best {run.rightmost}"]

    def end_message(self) -> str | None:
        status = self.run.status
        if status == DEAD:
            return "Lost the life" if self.watching else "Ouch! Try again"
        if status == COMPLETED:
            return "Stage clear!"
        return "Time up!" if status == TIMEOUT else None


def play_episodes(
    game: SmbGame,
    agent: Any,
    episodes: int = 1,
    max_frames: int = 0,
    writer: Any = None,
    scale: int = 2,
    overlay_on: bool = True,
    settings: Any = None,
) -> Iterator[dict[str, Any]]:
    """``episodes`` episodes of ``agent`` on ``game``'s console (``SmbGame.records`` each),
    with MarI/O's timeout (``settings``' ``timeout_frames`` and ``timeout_growth`` when given,
    e.g. an ``agent.neat.evaluator.FitnessSettings``) and at most ``max_frames`` frames."""
    from viz.headless import play_episodes as play

    if settings is None:
        rules = EpisodeRules.mario(max_frames=max_frames)
    else:
        rules = EpisodeRules.mario(settings.timeout_frames, settings.timeout_growth, max_frames)
    watched = SmbGame(game.levels, agent, rules, worlds=game.worlds)
    for records in play(watched, episodes, writer, scale, overlay_on):
        yield records[0]
