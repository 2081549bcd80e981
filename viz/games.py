"""The built-in world as a game for the window and for headless play (``viz.window.Game``).

``WorldGame`` is one ``envs.sim.world.World`` with one world per player: a human at the
keyboard (``Keyboard``, optionally recording a demonstration), one agent, or several agents
racing, each its own row at its own ``frame_skip``. Every frame goes through the one episode
loop, ``agent.episodes.Episodes``; this module adds only what a watcher sees (the frame, the
HUD, the end message) and what N does (the next level, solvers planning anew for it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agent.base import load_agent
from agent.episodes import EpisodeRules, Episodes, episode_record, mario_fitness
from envs.levels.level import Level, builtin_names, load_level
from envs.sim.constants import (
    BTN_A,
    BTN_B,
    BTN_DOWN,
    BTN_LEFT,
    BTN_RIGHT,
    BTN_UP,
    BUTTONS,
    COMPLETED,
    DEAD,
    FPS,
    TIMEOUT,
)
from envs.sim.world import LevelBank, World, WorldView
from viz.race import display_names, leader, progress_percent
from viz.window import Cycle, EpisodeGame

KEYMAP = {
    "left": BTN_LEFT,
    "right": BTN_RIGHT,
    "up": BTN_UP,
    "down": BTN_DOWN,
    "z": BTN_A,
    "space": BTN_A,
    "x": BTN_B,
    "shift": BTN_B,
}
END_MESSAGES = {DEAD: "Ouch! Try again", COMPLETED: "Level complete!", TIMEOUT: "Time up!"}

__all__ = [
    "END_MESSAGES",
    "KEYMAP",
    "DemoRecording",
    "Keyboard",
    "WorldGame",
    "agent_for_level",
    "buttons_from_keys",
    "hud_lines",
    "level_cycle",
    "next_builtin",
]


def buttons_from_keys(held: set[str]) -> np.ndarray:
    """The (1, 6) uint8 button array (``BUTTONS`` order) for the keys held down."""
    actions = np.zeros((1, len(BUTTONS)), dtype=np.uint8)
    for key in held:
        if key in KEYMAP:
            actions[0, KEYMAP[key]] = 1
    return actions


class Keyboard:
    """A player at the keyboard as an agent of the episode loop: it decides every frame,
    pressing the buttons of the keys in ``keys`` (set by the game before each frame)."""

    name = "human"
    frame_skip = 1
    view_radius = 6

    def __init__(self) -> None:
        self.keys: set[str] = set()

    def reset(self, n: int) -> None:
        pass

    def act(self, observations: np.ndarray) -> np.ndarray:
        return np.repeat(buttons_from_keys(self.keys), len(observations), axis=0)


class DemoRecording:
    """Keyboard play recorded for behaviour cloning: at every ``frame_skip``-th frame, the grid
    the player sees and the buttons then held (the agents' own decision rate, so the file
    trains agents that act every ``frame_skip`` frames)."""

    def __init__(self, frame_skip: int = 5, view_radius: int = Keyboard.view_radius):
        from agent.rnn.demos import DemoRecorder

        self.recorder = DemoRecorder(view_radius, frame_skip, source="human")

    def add(self, grid: np.ndarray, buttons: np.ndarray, frame: int, level_name: str) -> None:
        if frame % self.recorder.frame_skip == 0:
            self.recorder.add(grid, buttons, episode_start=frame == 0, level_name=level_name)

    def save(self, path: Path) -> int:
        """Write the steps recorded (atomically); how many. Raises ``ValueError`` when nothing
        was recorded (no file written) or the file cannot be written as a demo."""
        from agent.rnn.demos import save_demos

        if not len(self.recorder):
            raise ValueError(f"{path}: nothing recorded (no steps were played); file not written")
        save_demos(path, self.recorder.demos())
        return len(self.recorder)


def next_builtin(spec: str) -> str:
    """The built-in level after ``spec`` (wrapping round); the first one after any other."""
    names = builtin_names()
    if spec in names:
        return names[(names.index(spec) + 1) % len(names)]
    return names[0]


def level_cycle(levels: Sequence[Level]) -> Cycle[Level]:
    """The levels of a session: N steps through them, or after a single one to the next
    built-in level."""
    return Cycle(tuple(levels), lambda level: load_level(next_builtin(level.name)))


def agent_for_level(agent: Any, level: Level) -> Any:
    """``agent`` to play ``level``: a solver plans anew for it, other agents are reused."""
    if hasattr(agent, "levels") and list(agent.levels) != [level]:
        return load_agent("solver", [level])
    return agent


def hud_lines(view: WorldView) -> list[str]:
    """Level name, progress to the flag, coins and time left."""
    time_left = max(0, math.ceil((view.time_limit - view.frames) / FPS))
    progress = progress_percent(view)
    return [f"{view.level.name}   {progress:3.0f}%   coins {view.coins}   time {time_left}"]


class WorldGame(EpisodeGame):
    """The built-in world's game: ``agents`` (none: the keyboard) on the current level of
    ``levels``, one world each, played by ``agent.episodes.Episodes`` under ``rules``."""

    def __init__(
        self,
        levels: Level | Cycle[Level],
        agents: Sequence[Any] | None = None,
        *,
        rules: EpisodeRules | None = None,
        recording: DemoRecording | None = None,
    ) -> None:
        self.levels = level_cycle([levels]) if isinstance(levels, Level) else levels
        self.level = level = self.levels.current
        self.keyboard = None if agents else Keyboard()
        self.agents = [agent_for_level(a, level) for a in agents] if agents else [self.keyboard]
        self.names = display_names([str(getattr(a, "name", "agent")) for a in self.agents])
        self.recording = recording
        self.rules = rules or EpisodeRules()
        self.world = self.worlds = World(LevelBank([level]), len(self.agents))
        self.world.reset()
        hook = self._recorded if recording is not None else None
        self.episodes = Episodes(self.world, self.agents, rules=self.rules, on_decision=hook)
        self.drawer = None

    @property
    def title(self) -> str:
        if not self.watching:
            return "MarI/O lab - recording" if self.recording else "MarI/O lab - play"
        return "MarI/O lab - " + ("race: " if len(self.names) > 1 else "") + " vs ".join(self.names)

    def _recorded(self, rows: np.ndarray, obs: np.ndarray, buttons: np.ndarray) -> None:
        assert self.recording is not None
        self.recording.add(obs[0], buttons[0], int(self.world.frames()[0]), self.level.name)

    # -- play -----------------------------------------------------------------------------------
    def next_level(self) -> WorldGame:
        agents = None if self.keyboard is not None else self.agents
        return WorldGame(self.levels.next(), agents, rules=self.rules, recording=self.recording)

    def records(self) -> list[dict]:
        return [episode_record(n, r) for n, r in zip(self.names, self.world.records(), strict=True)]

    # -- what is shown --------------------------------------------------------------------------
    def views(self) -> list[WorldView]:
        return [self.world.view(i) for i in range(self.world.n)]

    def observation(self, i: int) -> np.ndarray:
        """The grid player ``i`` sees now (at its own view radius)."""
        return self.world.observe(int(getattr(self.agents[i], "view_radius", 6)))[i]

    def banner(self, i: int, view: WorldView) -> str:
        from viz.overlay import banner_text

        fitness = float(mario_fitness(view.rightmost, view.frames, view.status == COMPLETED))
        progress = f"{progress_percent(view):.0f}%"
        return banner_text(self.names[i], view.level.name, view.frames, progress, fitness)

    def draw(self, scale: int, surface: Any = None, overlay: Any = None) -> Any:
        """The leader's world with the other players as ghosts (``viz.race``) and, with
        ``overlay``, the overlay drawn for the leader (the race's list under its panel)."""
        from viz.race import RaceDrawer

        drawer = self.drawer = self.drawer or RaceDrawer()
        views = self.views()
        frame, lead = drawer.draw(views, self.names, scale, surface, with_list=overlay is None)
        if overlay is not None:
            held = self.episodes.held[lead]
            banner = self.banner(lead, views[lead])
            overlay.draw(frame, self.observation(lead), held, self.agents[lead], banner)
            if len(views) > 1:
                top = overlay.panel_rect(frame.get_size()).bottom + 4
                drawer.draw_list(frame, views, self.names, lead, top)
        return frame

    def hud(self) -> list[str]:
        views = self.views()
        return hud_lines(views[leader(views)])

    def end_message(self) -> str | None:
        views = self.views()
        if len(views) == 1:
            return END_MESSAGES.get(views[0].status)
        if not self.done:
            return None
        lead = leader(views)
        return f"{self.names[lead]} wins!" if views[lead].status == COMPLETED else "Race over"
