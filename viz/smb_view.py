"""Watching agents (or playing) on the real Super Mario Bros.: the NES frame under the MarI/O
overlay, a window or headless episodes. ``play.py --env smb`` is built on this module.

The agent sees exactly what it sees in training (``envs.smb.env.tile_grid`` of the RAM) and goes
through the shared interface only (``reset(n)``, ``act(obs)``, ``frame_skip``,
``view_radius``): any agent of ``agent.base.load_agent`` plays, trained on the built-in world or
on the real game. The emulator advances one frame at a time (60 a second in the window); the
agent decides every ``frame_skip`` frames and its buttons are held in between.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np  # noqa: E402
import pygame  # noqa: E402

from envs.sim.constants import BUTTONS, COMPLETED, DEAD, FPS, RUNNING, TIMEOUT  # noqa: E402
from envs.sim.rules import out_of_time  # noqa: E402
from envs.smb.console import STAGE_END_X, Console, SmbRun  # noqa: E402
from envs.smb.ram import parse_stage, tile_grid  # noqa: E402
from viz.keys import QUIT_KEYS, WatchKeys  # noqa: E402

END_PAUSE_FRAMES = FPS  # the end message stays this long, then the stage restarts
HELP = "arrows move, Z/space A, X/shift B, R restart, N next stage, O overlay, P pause, Esc quit"


class SmbGame:
    """One stage on one console: the episode (``run``), one frame at a time, and the pause at
    the end before it restarts."""

    def __init__(self, level: str = "1-1"):
        world, stage = parse_stage(level)
        self.level = f"{world}-{stage}"
        self.console = Console(world, stage)
        self.run = SmbRun(self.console)
        self.ended_for = 0

    def restart(self) -> None:
        self.run.reset()
        self.ended_for = 0

    def observe(self, radius: int = 6) -> np.ndarray:
        """The (1, 2r+1, 2r+1) grid an agent sees now."""
        return tile_grid(self.console.ram, radius)[None]

    def advance(self, buttons: np.ndarray) -> None:
        """One frame of play holding ``buttons`` ((1, 6) or (6,)), or of the end pause."""
        from envs.smb.ram import joypad_byte

        if self.run.running:
            self.run.advance(joypad_byte(np.asarray(buttons).reshape(-1)), 1)
        else:
            self.ended_for += 1
            if self.ended_for > END_PAUSE_FRAMES:
                self.restart()

    def progress(self) -> float | None:
        """% of the way to MarI/O's end of the stage (100 at the flag), where that is known."""
        if self.run.status == COMPLETED:
            return 100.0
        end = STAGE_END_X.get(self.level)
        return None if end is None else min(100.0, 100.0 * self.run.rightmost / end)

    def fitness(self) -> float:
        """MarI/O's fitness so far: rightmost - frames / 2, plus 1000 once at the flag."""
        from agent.neat.evaluator import FitnessSettings

        s = FitnessSettings()
        bonus = s.completion_bonus if self.run.status == COMPLETED else 0.0
        return float(self.run.rightmost) - s.frame_penalty * self.run.frames + bonus

    def result(self, agent_name: str) -> dict[str, Any]:
        """The record of the episode, with ``play.py --headless``'s keys plus ``rightmost``."""
        progress = self.progress()
        return {
            "agent": agent_name,
            "level": self.level,
            "completed": self.run.status == COMPLETED,
            "progress": None if progress is None else round(progress, 2),
            "frames": self.run.frames,
            "fitness": round(self.fitness(), 2),
            "rightmost": self.run.rightmost,
            "dead": self.run.status == DEAD,
            "timeout": self.run.status == TIMEOUT,
        }


class AgentController:
    """Buttons from an agent: a decision every ``frame_skip`` frames, held in between."""

    def __init__(self, agent: Any):
        self.agent = agent
        self.held = np.zeros((1, len(BUTTONS)), dtype=np.uint8)

    def __call__(self, window: object, game: SmbGame) -> np.ndarray:
        run = game.run
        if run.running and run.frames % self.agent.frame_skip == 0:
            if run.frames == 0:
                self.agent.reset(1)
            self.held = np.asarray(self.agent.act(game.observe(self.agent.view_radius)))
        return self.held


def banner(game: SmbGame, name: str) -> str:
    progress = game.progress()
    where = f"{progress:.0f}%" if progress is not None else f"x {game.run.rightmost}"
    return (
        f"{name}   {game.level}   frame {game.run.frames}   {where}   fitness {game.fitness():.1f}"
    )


def nes_surface(game: SmbGame, scale: int, surface: pygame.Surface | None = None):
    """The NES frame scaled ``scale`` times (nearest neighbour), reusing ``surface``."""
    small = pygame.surfarray.make_surface(np.ascontiguousarray(game.console.screen.swapaxes(0, 1)))
    size = (small.get_width() * scale, small.get_height() * scale)
    if surface is None or surface.get_size() != size:
        surface = pygame.Surface(size)
    pygame.transform.scale(small, size, surface)
    return surface


def draw_frame(
    game: SmbGame,
    agent: object | None,
    pressed: np.ndarray,
    scale: int,
    surface: pygame.Surface | None = None,
    overlay: object | None = None,
) -> pygame.Surface:
    """The NES frame with ``overlay`` (a ``viz.overlay.Overlay``) drawn for ``agent`` (None: a
    human): the grid the agent sees, its network or state, the buttons ``pressed`` now."""
    frame = nes_surface(game, scale, surface)
    if overlay is not None:
        radius = int(getattr(agent, "view_radius", 6))
        name = getattr(agent, "name", "human") if agent is not None else "human"
        overlay.draw(frame, game.observe(radius)[0], pressed, agent, banner(game, name))  # type: ignore[attr-defined]
    return frame


def play_episodes(
    game: SmbGame,
    agent: Any,
    episodes: int,
    max_frames: int = 0,
    writer: Any = None,
    scale: int = 2,
    overlay_on: bool = True,
    settings: Any = None,
) -> Iterator[dict[str, Any]]:
    """``episodes`` episodes of ``agent`` with no window, each ending as a run ends in NEAT
    training: Mario dies, reaches the flag, or sets no new rightmost x for MarI/O's timeout
    (``settings``, an ``agent.neat.evaluator.FitnessSettings``: 20 frames plus a quarter of the
    frames played, checked at each decision) -- or after ``max_frames`` frames. So a NEAT
    champion scores here what it scored in training, and a stuck agent does not play out the
    400 seconds of the game's clock. Yields ``SmbGame.result`` per episode. With ``writer``
    (``add(rgb array)``), every frame played (NES frame + overlay) is recorded."""
    from agent.neat.evaluator import FitnessSettings

    s = settings or FitnessSettings()
    skip = int(agent.frame_skip)
    overlay = frame = None
    if writer is not None:
        from viz.overlay import Overlay

        overlay = Overlay() if overlay_on else None
    for _ in range(episodes):
        game.restart()
        controller = AgentController(agent)
        run = game.run
        while run.running and (not max_frames or run.frames < max_frames):
            held = controller(None, game)
            game.advance(held)
            late = out_of_time(run.frames, run.frames_since_progress, s.timeout_frames,
                               s.timeout_growth)  # fmt: skip
            if run.running and run.frames % skip == 0 and late:
                run.status = TIMEOUT
            if writer is not None:
                from envs.render.frame import surface_to_array

                frame = draw_frame(game, agent, held[0], scale, frame, overlay)
                writer.add(surface_to_array(frame))
        yield game.result(agent.name)


def play_window(
    game: SmbGame,
    controller: Callable[[Any, SmbGame], np.ndarray],
    title: str,
    scale: int = 3,
    fps: int = FPS,
    max_frames: int = 0,
    overlay_on: bool = False,
) -> int:
    """The window: poll keys, buttons from ``controller(window, game)``, one frame, draw.
    O toggles the overlay, P (space watching an agent) pauses, . steps while paused, +/- set the
    speed, R restarts, N goes to the next stage, Esc or Q quits; ``max_frames`` > 0 stops."""
    from envs.render.frame import HumanWindow
    from viz.overlay import Overlay

    window = HumanWindow(title=title, fps=fps)
    agent = getattr(controller, "agent", None)
    overlay = Overlay()
    pause_keys = {"p"} if agent is None else {"p", "space"}
    frame = None
    shown = 0
    keys = WatchKeys(overlay_on)
    pressed_now = np.zeros((1, len(BUTTONS)), dtype=np.uint8)
    print(HELP)
    try:
        while not max_frames or shown < max_frames:
            pressed = window.poll()
            if pressed & QUIT_KEYS:
                break
            if "r" in pressed:
                game.restart()
            if "n" in pressed:
                world, stage = parse_stage(game.level)
                world, stage = (world, stage + 1) if stage < 4 else (world % 8 + 1, 1)
                game = SmbGame(f"{world}-{stage}")
            keys.handle(pressed, window, pause_keys)
            if keys.advances(pressed):
                pressed_now = controller(window, game)
                game.advance(pressed_now)
            frame = draw_frame(
                game, agent, pressed_now[0], scale, frame, overlay if keys.overlay_on else None
            )
            run = game.run
            message = "Paused" if keys.paused else None
            if run.status == DEAD:
                message = "Ouch! Try again" if agent is None else "Lost the life"
            elif run.status == COMPLETED:
                message = "Stage clear!"
            elif run.status != RUNNING:
                message = "Time up!"
            speed = "max" if window.fps == 0 else str(window.fps)
            hud = [
                f"Super Mario Bros. {game.level}   x {run.x}   best {run.rightmost}",
                f"{window.actual_fps:.0f} fps (target {speed})",
            ]
            window.show(frame, hud, message)
            shown += 1
    except KeyboardInterrupt:
        pass
    finally:
        window.close()
    return 0
