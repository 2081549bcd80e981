"""The one window loop, over a small game protocol, for every game ``play.py`` opens.

A ``Game`` is the built-in world (``viz.games.WorldGame``: a human, one agent or a race) or the
real game (``viz.smb_view.SmbGame``). The loop polls the keys (``viz.keys``), plays one frame
(``Game.play``) unless paused, holds the end of an episode on screen for ``end_pause`` frames
and then restarts it, draws the frame with or without the overlay, and shows it with the
game's HUD lines and message; R restarts, N goes to ``Game.next_level()``. The games own their
episode loop (``agent.episodes.Episodes``); nothing here steps a world.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

from envs.sim.constants import FPS
from viz.keys import HELP_LINES, QUIT_KEYS, WatchKeys, controls_line

END_PAUSE_FRAMES = FPS  # how long the end of an episode stays on screen before the restart

T = TypeVar("T")

__all__ = [
    "END_PAUSE_FRAMES",
    "Cycle",
    "EpisodeGame",
    "Game",
    "draw_help",
    "fps_line",
    "play_window",
]


@dataclass(frozen=True)
class Cycle(Generic[T]):
    """The levels of a session: ``current`` is played; ``next()`` steps to the next of several
    (wrapping round), or from a single one to its ``successor`` (the next built-in level, the
    next stage of the real game)."""

    items: tuple[T, ...]
    successor: Callable[[T], T]
    index: int = 0

    @property
    def current(self) -> T:
        return self.items[self.index]

    def next(self) -> Cycle[T]:
        if len(self.items) > 1:
            return replace(self, index=(self.index + 1) % len(self.items))
        return replace(self, items=(self.successor(self.items[0]),))


class Game(Protocol):
    """What the window (and headless play, ``viz.headless``) needs of a game."""

    title: str  # the window's title
    watching: bool  # agents play (space pauses too); False: a human at the keyboard
    level_word: str  # what N goes to: "level" or "stage"
    end_pause: int  # frames the end of an episode stays on screen
    episodes: Any  # the game's agent.episodes.Episodes

    @property
    def done(self) -> bool: ...

    def restart(self) -> None: ...

    def play(self, keys: set[str] = ...) -> np.ndarray:
        """One frame of play with ``keys`` held; the buttons held."""
        ...

    def draw(self, scale: int, surface: Any = None, overlay: Any = None) -> Any:
        """The frame (reusing ``surface``), with ``overlay`` (a ``viz.overlay.Overlay``)."""
        ...

    def hud(self) -> list[str]: ...

    def end_message(self) -> str | None: ...

    def next_level(self) -> Game:
        """The same players on the next level (raises ValueError or OSError if unusable)."""
        ...

    def records(self) -> list[dict]:
        """Each player's episode so far (``agent.episodes.episode_record``)."""
        ...


class EpisodeGame:
    """The play half of a ``Game`` built on one episode loop: ``worlds`` (reset to restart),
    ``episodes`` (their ``agent.episodes.Episodes``) and ``keyboard`` (the
    ``viz.games.Keyboard`` agent when a human plays, else None)."""

    level_word = "level"
    end_pause = END_PAUSE_FRAMES
    worlds: Any
    episodes: Any
    keyboard: Any = None

    @property
    def watching(self) -> bool:
        return self.keyboard is None

    @property
    def done(self) -> bool:
        return bool(self.episodes.done)

    def restart(self) -> None:
        self.worlds.reset()
        self.episodes.reset_agents()

    def play(self, keys: set[str] = frozenset()) -> np.ndarray:  # type: ignore[assignment]
        """One frame: the keys held go to the keyboard (if a human plays), the agents decide
        where due, every running world advances; the buttons held."""
        if self.keyboard is not None:
            self.keyboard.keys = set(keys)
        return self.episodes.advance(1)


def fps_line(actual: float, target: int) -> str:
    return f"{actual:.0f} fps (target {'max' if target == 0 else target})"


def draw_help(frame: Any, lines: Sequence[str] = HELP_LINES) -> None:
    """The key help in a dark box in the frame's middle."""
    import pygame

    from viz.canvas import Fonts

    fonts = Fonts()
    w, h = frame.get_size()
    labels = [fonts.render(line, max(14, h // 28)) for line in lines]
    bw = max(label.get_width() for label in labels) + 20
    bh = sum(label.get_height() + 4 for label in labels) + 16
    box = pygame.Rect(0, 0, bw, bh)
    box.center = (w // 2, h // 2)
    frame.fill((0, 0, 0), box)
    pygame.draw.rect(frame, (255, 216, 0), box, 2)
    y = box.y + 10
    for label in labels:
        frame.blit(label, (box.x + 10, y))
        y += label.get_height() + 4


def play_window(
    game: Game, scale: int = 3, fps: int = FPS, max_frames: int = 0, overlay_on: bool = False
) -> int:
    """The window loop until Esc, Q or the window is closed (``max_frames`` > 0: after that many
    frames shown). O toggles the overlay, P (space too while agents play) pauses, . steps one
    frame while paused, +/- change the speed, H shows the keys, R restarts, N next level."""
    from envs.render.frame import HumanWindow
    from viz.overlay import Overlay

    window = HumanWindow(title=game.title, fps=fps)
    overlay = Overlay()
    keys = WatchKeys(overlay_on)
    pause_keys = {"p", "space"} if game.watching else {"p"}
    frame = None
    shown = ended_for = 0
    print(controls_line(game.watching, game.level_word))
    try:
        while not max_frames or shown < max_frames:
            pressed = window.poll()
            if pressed & QUIT_KEYS:
                break
            if "r" in pressed:
                game.restart()
                ended_for = 0
            if "n" in pressed:
                try:
                    game, frame, ended_for = game.next_level(), None, 0
                except (ValueError, OSError) as error:  # a level or agent that cannot be used
                    print(str(error).splitlines()[0], file=sys.stderr)
            keys.handle(pressed, window, pause_keys)
            if keys.advances(pressed):
                if not game.done:
                    game.play(window.held())
                else:
                    ended_for += 1
                    if ended_for > game.end_pause:
                        game.restart()
                        ended_for = 0
            frame = game.draw(scale, frame, overlay if keys.overlay_on else None)
            if keys.show_help:
                draw_help(frame)
            message = "Paused" if keys.paused and not keys.show_help else game.end_message()
            window.show(frame, [*game.hud(), fps_line(window.actual_fps, window.fps)], message)
            shown += 1
    except KeyboardInterrupt:
        pass
    finally:
        window.close()
    return 0
