"""Play a level yourself, or watch an agent play it.

    python play.py --human --level 1-1         # a built-in level, or a level file's path
    python play.py runs/neat-1-1               # a trained agent: a run dir or champion.json
    python play.py solver --level 1-3          # the search-based solver
    python play.py --human --record-demo demo.npz   # record your play for behaviour cloning

Keys: arrows move (LEFT/RIGHT/UP/DOWN), Z or space jumps (A), X or shift runs (B), R restarts,
N goes to the next built-in level, Esc or Q quits. Exit status: 0 done, 2 bad arguments or an
unusable level (its located error on one line of stderr).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent.base import Agent, AgentError, load_agent
from envs.constants import (
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
    RUNNING,
    TIMEOUT,
)
from envs.level import Level, LevelError, builtin_names, load_level
from envs.world import LevelBank, World, WorldView

DEFAULT_LEVEL = "1-1"
END_PAUSE_FRAMES = FPS  # how long the death / completion message stays before the restart
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
QUIT_KEYS = {"quit", "escape", "q"}
END_MESSAGES = {DEAD: "Ouch! Try again", COMPLETED: "Level complete!", TIMEOUT: "Time up!"}
CONTROLS = "arrows move, Z/space jump, X/shift run, R restart, N next level, Esc/Q quit"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "agent",
        nargs="?",
        help="an agent to watch: a run directory, a champion.json, or 'solver'",
    )
    parser.add_argument(
        "--human", action="store_true", help="play with the keyboard (the default with no agent)"
    )
    parser.add_argument(
        "--record-demo",
        type=Path,
        metavar="FILE",
        help="keyboard play only: save a demonstration (.npz) for train.py lstm --algo bc",
    )
    parser.add_argument(
        "--level",
        default=DEFAULT_LEVEL,
        help=f"a built-in level name or a level file (default {DEFAULT_LEVEL})",
    )
    parser.add_argument("--scale", type=int, default=3, help="pixels per level pixel (default 3)")
    parser.add_argument(
        "--fps", type=int, default=FPS, help=f"frames per second, 0 unlimited (default {FPS})"
    )
    parser.add_argument(
        "--frames", type=int, default=0, help="quit after this many frames (0: play until quit)"
    )
    args = parser.parse_args(argv)
    if args.human and args.agent:
        parser.error("give an agent or --human, not both")
    if args.record_demo and args.agent:
        parser.error("--record-demo records keyboard play; it cannot be used with an agent")
    if args.scale < 1:
        parser.error("--scale must be at least 1")
    if args.fps < 0 or args.frames < 0:
        parser.error("--fps and --frames must not be negative")
    return args


def report(error: Exception) -> None:
    """One line on stderr (no traceback)."""
    print(str(error).replace("\n", " "), file=sys.stderr)


def buttons_from_keys(held: set[str]) -> np.ndarray:
    """The (1, 6) uint8 button array (``BUTTONS`` order) for the keys held down."""
    actions = np.zeros((1, len(BUTTONS)), dtype=np.uint8)
    for key in held:
        if key in KEYMAP:
            actions[0, KEYMAP[key]] = 1
    return actions


def next_builtin(spec: str) -> str:
    """The built-in level after ``spec`` (wrapping round); the first one after a file."""
    names = builtin_names()
    if spec in names:
        return names[(names.index(spec) + 1) % len(names)]
    return names[0]


@dataclass
class Game:
    """The level being played, its one-world batch, and the frames shown since it ended."""

    spec: str
    level: Level
    world: World
    ended_for: int = 0

    @classmethod
    def start(cls, spec: str, level: Level) -> Game:
        world = World(LevelBank([level]), 1)
        world.reset()
        return cls(spec, level, world)

    def restart(self) -> None:
        self.world.reset()
        self.ended_for = 0

    def advance(self, actions: np.ndarray) -> None:
        """One frame of play, or of the end pause (after which the level restarts)."""
        if int(self.world.status()[0]) == RUNNING:
            self.world.step(actions, 1)
        else:
            self.ended_for += 1
            if self.ended_for > END_PAUSE_FRAMES:
                self.restart()


def hud_lines(view: WorldView, fps: float) -> list[str]:
    """Level name, progress to the flag, coins, time left and the frame rate actually shown."""
    level = view.level
    flag_x = level.flag_col * 16
    progress = min(100.0, 100.0 * (view.player[0] + view.player_size[0]) / max(flag_x, 1))
    time_left = max(0, math.ceil((view.time_limit - view.frames) / FPS))
    return [
        f"{level.name}   {progress:3.0f}%   coins {view.coins}   time {time_left}",
        f"{fps:.0f} fps",
    ]


def switch_level(game: Game) -> Game:
    """The next built-in level, or the same game when that level cannot be loaded."""
    spec = next_builtin(game.spec)
    try:
        return Game.start(spec, load_level(spec))
    except LevelError as error:
        report(error)
        return game


def save_demo(controller: DemoController, path: Path) -> int:
    """Write the recorded steps (atomically); one line either way."""
    from agent.demos import DemoError, save_demos

    if not len(controller.recorder):
        report(ValueError(f"{path}: nothing recorded (no steps were played); file not written"))
        return 2
    try:
        save_demos(path, controller.recorder.demos())
    except (DemoError, OSError) as error:
        report(error)
        return 2
    print(f"saved {len(controller.recorder)} steps to {path}")
    return 0


class AgentController:
    """Buttons from an agent: a decision every ``frame_skip`` frames, held in between."""

    def __init__(self, agent: Agent):
        self.agent = agent
        self.held = np.zeros((1, len(BUTTONS)), dtype=np.uint8)

    def __call__(self, window: object, game: Game) -> np.ndarray:
        if getattr(self.agent, "levels", [game.level]) != [game.level]:  # the solver, after N
            self.agent = load_agent("solver", [game.level])
        world = game.world
        frames = int(world.frames()[0])
        if int(world.status()[0]) == RUNNING and frames % self.agent.frame_skip == 0:
            if frames == 0:
                self.agent.reset(1)
            self.held = self.agent.act(world.observe(self.agent.view_radius))
        return self.held


def human_controller(window: object, game: Game) -> np.ndarray:
    return buttons_from_keys(window.held())  # type: ignore[attr-defined]


class DemoController:
    """Keyboard play that also records a demonstration for behaviour cloning: at every
    ``frame_skip``-th frame, the grid the player sees and the buttons then held (the agents'
    own decision rate, so the file trains agents that act every ``frame_skip`` frames)."""

    def __init__(self, frame_skip: int = 5, view_radius: int = 6):
        from agent.demos import DemoRecorder

        self.recorder = DemoRecorder(view_radius, frame_skip, source="human")

    def __call__(self, window: object, game: Game) -> np.ndarray:
        buttons = human_controller(window, game)
        world = game.world
        frames = int(world.frames()[0])
        rec = self.recorder
        if int(world.status()[0]) == RUNNING and frames % rec.frame_skip == 0:
            grid = world.observe(rec.view_radius)[0]
            rec.add(grid, buttons[0], episode_start=frames == 0, level_name=game.level.name)
        return buttons


def play_window(
    game: Game, controller, title: str, scale: int, fps: int, max_frames: int = 0
) -> int:
    """The window loop: poll keys, get buttons from ``controller``, step one frame, draw;
    ``max_frames`` > 0 stops early."""
    from viz.world import HumanWindow, render_view

    window = HumanWindow(title=title, fps=fps)
    frame = None
    shown = 0
    print(CONTROLS)
    try:
        while not max_frames or shown < max_frames:
            pressed = window.poll()
            if pressed & QUIT_KEYS:
                break
            if "r" in pressed:
                game.restart()
            if "n" in pressed:
                game = switch_level(game)
                frame = None
            game.advance(controller(window, game))
            view = game.world.view(0)
            frame = render_view(view, scale=scale, surface=frame)
            message = END_MESSAGES.get(view.status)
            window.show(frame, hud_lines(view, window.actual_fps), message)
            shown += 1
    except KeyboardInterrupt:
        pass
    finally:
        window.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        game = Game.start(args.level, load_level(args.level))
    except (LevelError, OSError) as error:  # OSError: an unreadable file
        report(error)
        return 2
    if not args.agent and not args.record_demo:
        return play_window(
            game, human_controller, "MarI/O lab - play", args.scale, args.fps, args.frames
        )
    if not args.agent:
        recorder = DemoController()
        status = play_window(
            game, recorder, "MarI/O lab - recording", args.scale, args.fps, args.frames
        )
        return save_demo(recorder, args.record_demo) or status
    try:
        agent = load_agent(args.agent, [game.level])
    except (AgentError, OSError) as error:
        report(error)
        return 2
    title = f"MarI/O lab - {agent.name}"
    return play_window(game, AgentController(agent), title, args.scale, args.fps, args.frames)


if __name__ == "__main__":
    sys.exit(main())
