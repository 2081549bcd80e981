"""Play a level yourself, or watch an agent play it.

    python play.py --human --level 1-1         # a built-in level, or a level file's path
    python play.py runs/neat-1-1               # a trained agent: a run dir or champion.json
    python play.py solver --level 1-3          # the search-based solver
    python play.py --human --record-demo demo.npz   # record your play for behaviour cloning
    python play.py solver --generated 7 --difficulty 0.8   # a generated level by seed
    python play.py solver --headless --episodes 3 --json   # no window: one JSON line per episode
    python play.py runs/neat-1-1 --record run.gif  # game + overlay to a video, no display needed
    python play.py runs/neat-1-1 --export-network net.png   # or .svg: the champion's network
    python play.py solver runs/neat-1-1 runs/ppo-1-1   # a race: ghosts in one world, progress list
    python play.py runs/neat-1-1 --env smb --level 1-1  # the real game (pip install -e ".[nes]")

Keys: arrows move (LEFT/RIGHT/UP/DOWN), Z or space jumps (A), X or shift runs (B), R restarts,
N goes to the next built-in level, O toggles the overlay, P (or space watching an agent) pauses,
. steps one frame while paused, +/- play faster/slower, H shows the keys, Esc or Q quits.
Exit status: 0 done, 2 bad arguments, an unusable agent or level (one line of stderr).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent.base import Agent, AgentError, load_agent
from agent.episodes import episode_record, mario_fitness
from envs.levels.level import Level, LevelError, builtin_names, load_level
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
    RUNNING,
    TIMEOUT,
)
from envs.sim.world import LevelBank, World, WorldView
from viz.keys import QUIT_KEYS, WatchKeys

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
END_MESSAGES = {DEAD: "Ouch! Try again", COMPLETED: "Level complete!", TIMEOUT: "Time up!"}
CONTROLS = "arrows move, Z/space jump, X/shift run, R restart, N next level, Esc/Q quit"
HELP_LINES = (
    "arrows move   Z/space jump (A)   X/shift run (B)",
    "P pause (space too, watching an agent)   . one frame while paused",
    "+/- faster/slower   O overlay   R restart   N next level",
    "H this help   Esc/Q quit",
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "agent",
        nargs="*",
        help="an agent to watch: a run directory, a champion.json, or 'solver'; "
        "several agents race on the same level",
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
    parser.add_argument(
        "--env",
        choices=("world", "smb"),
        default="world",
        help="world: the built-in platformer (default); smb: the real Super Mario Bros. in the "
        'NES emulator (pip install -e ".[nes]"), --level naming a stage such as 1-1',
    )
    parser.add_argument(
        "--generated",
        type=int,
        metavar="SEED",
        help="play a generated level (solver-proven) from SEED instead of --level",
    )
    parser.add_argument(
        "--difficulty", type=float, default=0.5, help="of the --generated level (default 0.5)"
    )
    parser.add_argument("--scale", type=int, default=3, help="pixels per level pixel (default 3)")
    parser.add_argument(
        "--fps", type=int, default=FPS, help=f"frames per second, 0 unlimited (default {FPS})"
    )
    parser.add_argument(
        "--frames", type=int, default=0, help="quit after this many frames (0: play until quit)"
    )
    parser.add_argument(
        "--headless", action="store_true", help="play an agent without a window (see --json)"
    )
    parser.add_argument(
        "--episodes", type=int, default=1, help="episodes to play headless (default 1)"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="headless: print one JSON object per episode "
        "(agent, level, completed, progress, frames, fitness)",
    )
    parser.add_argument(
        "--record",
        type=Path,
        metavar="FILE",
        help="write the game with the overlay to FILE.gif or FILE.mp4 (no window needed)",
    )
    parser.add_argument(
        "--export-network",
        type=Path,
        metavar="FILE",
        help="draw a NEAT agent's network to FILE.png or FILE.svg and exit",
    )
    parser.add_argument(
        "--no-overlay", action="store_true", help="start with the overlay hidden (O toggles it)"
    )
    args = parser.parse_args(argv)
    args.agents = list(args.agent or [])
    args.agent = args.agents[0] if args.agents else None
    if args.human and args.agent:
        parser.error("give an agent or --human, not both")
    if args.record_demo and args.agent:
        parser.error("--record-demo records keyboard play; it cannot be used with an agent")
    if args.scale < 1:
        parser.error("--scale must be at least 1")
    if args.fps < 0 or args.frames < 0:
        parser.error("--fps and --frames must not be negative")
    if args.episodes < 1:
        parser.error("--episodes must be at least 1")
    agent_only = [
        name
        for name, on in (
            ("--headless", args.headless),
            ("--record", args.record),
            ("--export-network", args.export_network),
        )
        if on
    ]
    if agent_only and not args.agent:
        parser.error(f"{agent_only[0]} needs an agent to play (not --human)")
    if args.export_network and len(args.agents) > 1:
        parser.error("--export-network draws one agent's network: give one agent")
    if args.json and not (args.headless or args.record):
        parser.error("--json prints headless results: add --headless")
    if args.record and args.record.suffix.lower() not in (".gif", ".mp4"):
        parser.error("--record writes a .gif or an .mp4 file")
    if args.export_network and args.export_network.suffix.lower() not in (".png", ".svg"):
        parser.error("--export-network writes a .png or an .svg file")
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


def progress_percent(view: WorldView) -> float:
    """How far the player got to the flag, in % (100 at the flag)."""
    if view.status == COMPLETED:
        return 100.0
    flag_x = view.level.flag_col * 16
    return min(100.0, 100.0 * (view.rightmost + view.player_size[0]) / max(flag_x, 1))


def running_fitness(view: WorldView) -> float:
    """MarI/O's fitness so far."""
    return float(mario_fitness(view.rightmost, view.frames, view.status == COMPLETED))


def hud_lines(view: WorldView, fps: float) -> list[str]:
    """Level name, progress to the flag, coins, time left and the frame rate actually shown."""
    level = view.level
    progress = progress_percent(view)
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
    from agent.rnn.demos import DemoError, save_demos

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
        from agent.rnn.demos import DemoRecorder

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


def banner_for(game: Game, name: str) -> str:
    from viz.overlay import banner_text

    view = game.world.view(0)
    return banner_text(
        name, view.level.name, view.frames, progress_percent(view), running_fitness(view)
    )


def draw_frame(
    game: Game,
    agent: object | None,
    pressed: np.ndarray,
    scale: int,
    surface=None,
    overlay=None,
):
    """The game frame (reusing ``surface``), with ``overlay`` (a ``viz.overlay.Overlay``) drawn
    on it for ``agent`` (None: a human) and the buttons ``pressed`` now."""
    from envs.render.frame import render_view

    frame = render_view(game.world.view(0), scale=scale, surface=surface)
    if overlay is not None:
        radius = int(getattr(agent, "view_radius", 6))
        obs = game.world.observe(radius)[0]
        name = getattr(agent, "name", "human") if agent is not None else "human"
        overlay.draw(frame, obs, pressed, agent, banner_for(game, name))
    return frame


def draw_help(frame, lines: Sequence[str]) -> None:
    """The key help in a dark box in the frame's middle."""
    import pygame

    if not pygame.font.get_init():
        pygame.font.init()
    w, h = frame.get_size()
    font = pygame.font.Font(None, max(14, h // 28))
    labels = [font.render(line, True, (255, 255, 255)) for line in lines]
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
    game: Game,
    controller,
    title: str,
    scale: int,
    fps: int,
    max_frames: int = 0,
    overlay_on: bool = False,
) -> int:
    """The window loop: poll keys, get buttons from ``controller``, step one frame, draw;
    ``max_frames`` > 0 stops early. O toggles the overlay, P (space watching an agent)
    pauses, . steps while paused, +/- change the speed, H shows the keys."""
    from envs.render.frame import HumanWindow
    from viz.overlay import Overlay

    window = HumanWindow(title=title, fps=fps)
    agent = getattr(controller, "agent", None)
    overlay = Overlay()
    pause_keys = {"p"} if agent is None else {"p", "space"}
    frame = None
    shown = 0
    keys = ViewKeys(overlay_on)
    pressed_now = np.zeros((1, len(BUTTONS)), dtype=np.uint8)
    print(CONTROLS + ", O overlay, P pause, . step, +/- speed, H help")
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
            keys.handle(pressed, window, pause_keys)
            if keys.advances(pressed):
                pressed_now = controller(window, game)
                game.advance(pressed_now)
            agent = getattr(controller, "agent", agent)
            frame = draw_frame(
                game, agent, pressed_now[0], scale, frame, overlay if keys.overlay_on else None
            )
            view = game.world.view(0)
            keys.show(window, frame, view, END_MESSAGES.get(view.status))
            shown += 1
    except KeyboardInterrupt:
        pass
    finally:
        window.close()
    return 0


class ViewKeys(WatchKeys):
    """The watching keys of the built-in world's windows (single play and races), with the
    frame's help box, pause message and HUD."""

    def show(self, window: object, frame: object, view: WorldView, message: str | None) -> None:
        if self.show_help:
            draw_help(frame, HELP_LINES)
        if self.paused and not self.show_help:
            message = "Paused"
        speed = "max" if window.fps == 0 else f"{window.fps}"  # type: ignore[attr-defined]
        hud = hud_lines(view, window.actual_fps)  # type: ignore[attr-defined]
        hud[-1] += f" (target {speed})"
        window.show(frame, hud, message)  # type: ignore[attr-defined]


class VideoWriter:
    """Frames (``(H, W, 3)`` uint8) to a GIF (pillow) or an MP4 (imageio-ffmpeg), streamed."""

    def __init__(self, path: Path, fps: int):
        import imageio.v2 as imageio

        self.path = path
        self.frames = 0
        fps = fps or FPS
        if path.suffix.lower() == ".mp4":
            try:
                import imageio_ffmpeg  # noqa: F401
            except ImportError:
                raise ValueError(
                    f"{path}: writing .mp4 needs imageio-ffmpeg (pip install imageio-ffmpeg); "
                    "record a .gif instead"
                ) from None
            self._writer = imageio.get_writer(path, fps=fps, macro_block_size=1)
        else:
            self._writer = imageio.get_writer(
                path, format="GIF", mode="I", duration=1000.0 / fps, loop=0
            )

    def add(self, frame: np.ndarray) -> None:
        self._writer.append_data(frame)
        self.frames += 1

    def close(self) -> None:
        self._writer.close()


def play_episodes(
    game: Game,
    agent: Agent,
    episodes: int,
    max_frames: int = 0,
    writer: VideoWriter | None = None,
    scale: int = 2,
    overlay_on: bool = True,
):
    """Play ``episodes`` episodes of ``agent`` on ``game``'s level with no window (each until
    it ends, or ``max_frames`` frames); yields one result dict per episode. With ``writer``,
    every frame played (game + overlay) goes to the video."""
    overlay = frame = None
    if writer is not None:
        from viz.overlay import Overlay

        overlay = Overlay() if overlay_on else None
    for _ in range(episodes):
        game.restart()
        controller = AgentController(agent)
        world = game.world
        while int(world.status()[0]) == RUNNING and (
            not max_frames or int(world.frames()[0]) < max_frames
        ):
            held = controller(None, game)
            world.step(held, 1)
            if writer is not None:
                frame = draw_frame(game, controller.agent, held[0], scale, frame, overlay)
                from envs.render.frame import surface_to_array

                writer.add(surface_to_array(frame))
        yield episode_record(agent.name, world.records()[0])


def run_headless(game: Game, agent: Agent, args: argparse.Namespace) -> int:
    """``--headless`` / ``--record``: play without a window, print results, write the video."""

    def episodes(writer: VideoWriter | None):
        overlay = not args.no_overlay
        for result in play_episodes(
            game, agent, args.episodes, args.frames, writer, args.scale, overlay
        ):
            yield [result]

    return report_episodes(args, episodes)


def report_episodes(args: argparse.Namespace, episodes) -> int:
    """Open the ``--record`` video (if any), print each episode's results (``--json``: one
    object per line), and close the video; ``episodes(writer)`` yields lists of results."""
    writer = None
    if args.record:
        try:
            writer = VideoWriter(args.record, args.fps)
        except (ValueError, OSError) as error:
            report(error)
            return 2
    try:
        for results in episodes(writer):
            for result in results:
                if args.json:
                    print(json.dumps(result), flush=True)
                elif args.headless:
                    done = "completed" if result["completed"] else "not completed"
                    where = (  # the real game knows how far, not always how far to go
                        f"x {result['rightmost']}"
                        if result["progress"] is None
                        else f"{result['progress']:.0f}%"
                    )
                    print(
                        f"{result['agent']} on {result['level']}: {done}, {where}, "
                        f"{result['frames']} frames, fitness {result['fitness']:.1f}",
                        flush=True,
                    )
    finally:
        if writer is not None:
            writer.close()
    if writer is not None:
        print(f"wrote {writer.frames} frames to {args.record}", file=sys.stderr)
    return 0


def export_network(agent: Agent, path: Path) -> int:
    """``--export-network``: the NEAT agent's network to a PNG (pygame) or an SVG (by hand)."""
    if getattr(agent, "network", None) is None:
        report(ValueError(f"{agent.name}: --export-network needs a NEAT agent (a champion.json)"))
        return 2
    import pygame

    from viz.overlay import network_svg, render_network

    try:
        if path.suffix.lower() == ".svg":
            path.write_text(network_svg(agent))
        else:
            pygame.image.save(render_network(agent), str(path))
    except (OSError, pygame.error) as error:
        report(error)
        return 2
    print(f"wrote {path}")
    return 0


# -- races: several agents on one level, ghosts in one world (viz.race) ---------------------------
def race_results(race) -> list[dict]:
    """One result dict per agent of ``race`` (the keys of ``play_episodes``' results)."""
    records = race.world.records()
    return [episode_record(name, records[i]) for i, name in enumerate(race.names)]


def draw_race_frame(race, held: np.ndarray, scale: int, surface=None, overlay=None, drawer=None):
    """The race frame (the leader's world, ghosts, tags, the progress list) with ``overlay``
    drawn for the leading agent; returns ``(frame, leader index)``."""
    from viz.overlay import Overlay, banner_text
    from viz.race import RaceDrawer

    drawer = drawer or RaceDrawer()
    views = race.views()
    frame, lead = drawer.draw(race, scale, surface, views, with_list=overlay is None)
    if overlay is not None:
        view = views[lead]
        banner = banner_text(
            race.names[lead],
            view.level.name,
            view.frames,
            progress_percent(view),
            running_fitness(view),
        )
        overlay.draw(frame, race.observation(lead), held[lead], race.agents[lead], banner)
        if race.n > 1:  # the list under the overlay's panel
            top = Overlay.panel_rect(frame.get_size()).bottom + 4
            drawer.draw_list(frame, race, views, lead, top)
    return frame, lead


def play_race_episodes(
    race,
    episodes: int,
    max_frames: int = 0,
    writer: VideoWriter | None = None,
    scale: int = 2,
    overlay_on: bool = True,
):
    """Like ``play_episodes`` for a race: each episode runs until every world has ended (or
    ``max_frames`` frames); yields one list of result dicts (one per agent) per episode."""
    overlay = drawer = frame = None
    if writer is not None:
        from envs.render.frame import surface_to_array
        from viz.overlay import Overlay
        from viz.race import RaceDrawer

        overlay = Overlay() if overlay_on else None
        drawer = RaceDrawer()
    for _ in range(episodes):
        race.restart()
        played = 0
        while not race.done() and (not max_frames or played < max_frames):
            held = race.step()
            played += 1
            if writer is not None:
                frame, _ = draw_race_frame(race, held, scale, frame, overlay, drawer)
                writer.add(surface_to_array(frame))
        yield race_results(race)


def race_agents_for(agents: list, level: Level) -> list:
    """The agents for a race on ``level``: solvers plan anew for it, others are reused."""
    return [load_agent("solver", [level]) if hasattr(a, "levels") else a for a in agents]


def play_race_window(
    race, title: str, scale: int, fps: int, max_frames: int = 0, overlay_on: bool = True
) -> int:
    """The window loop of a race (the keys of ``play_window``; N races on the next level)."""
    from envs.render.frame import HumanWindow
    from viz.overlay import Overlay
    from viz.race import Race, RaceDrawer

    window = HumanWindow(title=title, fps=fps)
    overlay, drawer = Overlay(), RaceDrawer()
    frame = None
    shown = ended_for = 0
    keys = ViewKeys(overlay_on)
    held = race.held.copy()
    print("P/space pause, . step, +/- speed, R restart, N next level, O overlay, H help, Esc quit")
    try:
        while not max_frames or shown < max_frames:
            pressed = window.poll()
            if pressed & QUIT_KEYS:
                break
            if "r" in pressed:
                race.restart()
                ended_for = 0
            if "n" in pressed:
                spec = next_builtin(race.level.name)
                try:
                    level = load_level(spec)
                    race = Race(race_agents_for(race.agents, level), level)
                    frame, ended_for = None, 0
                except (LevelError, AgentError) as error:
                    report(error)
            keys.handle(pressed, window, {"p", "space"})
            if keys.advances(pressed):
                if race.done():
                    ended_for += 1
                    if ended_for > END_PAUSE_FRAMES:
                        race.restart()
                        ended_for = 0
                else:
                    held = race.step().copy()
            frame, lead = draw_race_frame(
                race, held, scale, frame, overlay if keys.overlay_on else None, drawer
            )
            view = race.world.view(lead)
            message = None
            if race.done():
                message = f"{race.names[lead]} wins!" if view.status == COMPLETED else "Race over"
            keys.show(window, frame, view, message)
            shown += 1
    except KeyboardInterrupt:
        pass
    finally:
        window.close()
    return 0


def run_race(game: Game, agents: list, args: argparse.Namespace) -> int:
    """Several agents race on ``game``'s level: a window, or ``--headless`` / ``--record``."""
    from viz.race import Race

    for spec in args.agents[len(agents) :]:
        try:
            agents.append(load_agent(spec, [game.level]))
        except (AgentError, OSError) as error:
            report(error)
            return 2
    race = Race(agents, game.level)
    if not (args.headless or args.record):
        title = "MarI/O lab - race: " + " vs ".join(race.names)
        return play_race_window(
            race, title, args.scale, args.fps, args.frames, overlay_on=not args.no_overlay
        )
    return report_episodes(
        args,
        lambda writer: play_race_episodes(
            race, args.episodes, args.frames, writer, args.scale, not args.no_overlay
        ),
    )


def run_smb(args: argparse.Namespace) -> int:
    """``--env smb``: the real game (``viz.smb_view``) with the same agents, overlay, keys,
    headless results and recording; keyboard play too (no demos or races there)."""
    if len(args.agents) > 1 or args.record_demo or args.generated is not None:
        what = "races" if len(args.agents) > 1 else "demos" if args.record_demo else "--generated"
        report(ValueError(f"{what}: the built-in world only, not --env smb"))
        return 2
    try:
        from viz import smb_view

        game = smb_view.SmbGame(args.level)
    except (ValueError, ImportError) as error:  # a bad stage name; the nes extra missing
        report(error)
        return 2
    if not args.agent:
        title = f"MarI/O lab - Super Mario Bros. {game.level}"
        return smb_view.play_window(
            game, human_controller, title, args.scale, args.fps, args.frames
        )
    try:
        if args.agent == "solver":
            raise AgentError("the solver plans on the built-in world's levels, not --env smb")
        agent = load_agent(args.agent)
    except (AgentError, OSError) as error:
        report(error)
        return 2
    if args.export_network:
        return export_network(agent, args.export_network)
    if args.headless or args.record:
        overlay = not args.no_overlay
        return report_episodes(
            args,
            lambda writer: (
                [result]
                for result in smb_view.play_episodes(
                    game, agent, args.episodes, args.frames, writer, args.scale, overlay
                )
            ),
        )
    title = f"MarI/O lab - {agent.name} on Super Mario Bros. {game.level}"
    return smb_view.play_window(
        game, smb_view.AgentController(agent), title, args.scale, args.fps, args.frames,
        overlay_on=not args.no_overlay,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.env == "smb":
        return run_smb(args)
    try:
        if args.generated is not None:
            from envs.levels.generator import generate_level

            level = generate_level(args.generated, args.difficulty)
            game = Game.start(level.name, level)
        else:
            game = Game.start(args.level, load_level(args.level))
    except (LevelError, OSError, ValueError) as error:  # OSError: an unreadable file
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
    if len(args.agents) > 1:
        return run_race(game, [agent], args)
    if args.export_network:
        return export_network(agent, args.export_network)
    if args.headless or args.record:
        return run_headless(game, agent, args)
    title = f"MarI/O lab - {agent.name}"
    return play_window(
        game,
        AgentController(agent),
        title,
        args.scale,
        args.fps,
        args.frames,
        overlay_on=not args.no_overlay,
    )


if __name__ == "__main__":
    sys.exit(main())
