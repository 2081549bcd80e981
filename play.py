"""Play a level yourself, or watch an agent play it.

    python play.py --human --level 1-1         # a built-in level, or a level file's path
    python play.py runs/neat-1-1               # a trained agent: a run dir or champion.json
    python play.py solver --level 1-3 --level 1-5   # the search-based solver; N: the next level
    python play.py --human --record-demo demo.npz   # record your play for behaviour cloning
    python play.py solver --generated 3 --seed 7 --difficulty 0.8   # generated levels 7, 8, 9
    python play.py solver --headless --episodes 3 --json   # no window: one JSON line per episode
    python play.py runs/neat-1-1 --record run.gif  # game + overlay to a video, no display needed
    python play.py runs/neat-1-1 --export-network net.png   # or .svg: the champion's network
    python play.py solver runs/neat-1-1 runs/ppo-1-1   # a race: ghosts in one world, progress list
    python play.py runs/neat-1-1 --env smb --level 1-1  # the real game (pip install -e ".[nes]")

Keys: arrows move (LEFT/RIGHT/UP/DOWN), Z or space jumps (A), X or shift runs (B), R restarts,
N goes to the next level, O toggles the overlay, P (or space watching an agent) pauses,
. steps one frame while paused, +/- play faster/slower, H shows the keys, Esc or Q quits.
A window plays the first level given; --headless and --record play every level given.
Exit status: 0 done, 2 bad arguments, an unusable agent or level (one line of stderr).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from agent import cli
from agent.base import load_agent
from agent.episodes import EpisodeRules
from envs.sim.constants import FPS

PROG = "play.py"
DEFAULT_LEVEL = "1-1"
Task = Callable[[], int]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = cli.Parser(prog=PROG, description=__doc__.splitlines()[0])
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
    cli.add_level_options(parser, f"levels (default {DEFAULT_LEVEL})")
    show = parser.add_argument_group("showing")
    show.add_argument(
        "--scale", type=cli.positive, default=3, help="screen pixels per game pixel (3)"
    )
    show.add_argument(
        "--fps", type=cli.non_negative, default=FPS, help=f"frames per second, 0 unlimited ({FPS})"
    )
    show.add_argument(
        "--max-frames",
        type=cli.non_negative,
        default=0,
        metavar="F",
        help="a window quits after F frames; headless, each episode stops there (0: no cap)",
    )
    show.add_argument("--no-overlay", action="store_true", help="start without the overlay (O)")
    out = parser.add_argument_group("without a window")
    out.add_argument("--headless", action="store_true", help="play an agent without a window")
    out.add_argument(
        "--episodes",
        type=cli.positive,
        default=1,
        metavar="N",
        help="episodes per level, headless (1)",
    )
    out.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per episode (agent, level, completed, progress, frames, "
        "fitness)",
    )
    out.add_argument(
        "--record", type=Path, metavar="FILE", help="the game with the overlay to FILE.gif|.mp4"
    )
    out.add_argument(
        "--export-network",
        type=Path,
        metavar="FILE",
        help="draw a NEAT agent's network to FILE.png or FILE.svg and exit",
    )
    args = parser.parse_args(argv)
    args.agents = list(args.agent)
    try:
        check_args(args)
    except ValueError as error:
        parser.error(str(error))
    return args


def check_args(args: argparse.Namespace) -> None:
    """Raise ``ValueError`` for arguments that do not go together or outputs that cannot be
    written (checked before anything is loaded or played)."""
    from viz.video import check_output_path, check_video_path

    agents = args.agents
    if args.human and agents:
        raise ValueError("give an agent or --human, not both")
    if args.record_demo and agents:
        raise ValueError("--record-demo records keyboard play; it cannot be used with an agent")
    agent_only = [f for f in ("headless", "record", "export_network") if getattr(args, f)]
    if agent_only and not agents:
        raise ValueError(f"--{agent_only[0].replace('_', '-')} needs an agent to play")
    if args.export_network and len(agents) > 1:
        raise ValueError("--export-network draws one agent's network: give one agent")
    if args.json and not (args.headless or args.record):
        raise ValueError("--json prints headless results: add --headless")
    if args.difficulty is not None and not 0.0 <= args.difficulty <= 1.0:
        raise ValueError(f"--difficulty must be between 0 and 1, got {args.difficulty}")
    if args.env == "smb" and (len(agents) > 1 or args.record_demo or args.generated):
        what = "races" if len(agents) > 1 else "demos" if args.record_demo else "--generated"
        raise ValueError(f"{what}: the built-in world only, not --env smb")
    if args.record:
        check_video_path(args.record)
    if args.export_network:
        check_output_path(args.export_network, (".png", ".svg"), "--export-network")
    if args.record_demo:
        check_output_path(args.record_demo, (".npz",), "--record-demo")


def world_levels(args: argparse.Namespace) -> list:
    """The built-in world's levels: each --level, then the --generated ones."""
    from envs.levels.level import load_level

    specs = args.level or ([] if args.generated else [DEFAULT_LEVEL])
    levels = [load_level(spec) for spec in specs]
    if args.generated:
        from envs.levels.generator import generate_level

        difficulty = cli.DEFAULT_DIFFICULTY if args.difficulty is None else args.difficulty
        length = args.length or cli.DEFAULT_LENGTH
        for seed in cli.generated_seeds(args.seed or 0, args.generated):
            levels.append(generate_level(seed, difficulty, length))
    return levels


def prepare(args: argparse.Namespace) -> Task:
    """Load the levels and agents and build the game; what is left to do (a window, headless
    episodes, a picture). Raises ``ValueError``/``OSError``/``ImportError`` for bad input."""
    if args.env == "smb":
        from envs.smb.console import NES_EXTRA_HINT, nes_available
        from viz.smb_view import SmbGame
        from viz.smb_view import stage_cycle as cycle_of

        if args.agents and args.agents[0] == "solver":
            raise ValueError("the solver plans on the built-in world's levels, not --env smb")
        if not nes_available() and not args.export_network:
            raise ImportError(NES_EXTRA_HINT)
        levels = cycle_of(args.level or [DEFAULT_LEVEL]).items
        agents = [load_agent(args.agents[0])] if args.agents else []
        rules = EpisodeRules.mario(max_frames=args.max_frames) if agents else None

        def game_for(cycle, rules):
            return SmbGame(cycle, agents[0] if agents else None, rules)
    else:
        from viz.games import DemoRecording, WorldGame
        from viz.games import level_cycle as cycle_of

        levels = world_levels(args)
        agents = [load_agent(spec, [levels[0]]) for spec in args.agents]
        recording = DemoRecording() if args.record_demo else None
        rules = EpisodeRules(max_frames=args.max_frames)

        def game_for(cycle, rules):
            return WorldGame(cycle, agents, rules=rules, recording=recording)

    if args.export_network:
        return lambda: export(agents[0], args.export_network)
    if args.headless or args.record:  # every level, one game each
        return lambda: headless(args, (game_for(cycle_of([x]), rules) for x in levels))
    game = game_for(cycle_of(list(levels)), None)
    if args.record_demo:
        return lambda: window(args, game) or save_demo(recording, args.record_demo)
    return lambda: window(args, game)


def window(args: argparse.Namespace, game: object) -> int:
    from viz.window import play_window

    overlay = not args.no_overlay and bool(args.agents)
    return play_window(game, args.scale, args.fps, args.max_frames, overlay_on=overlay)  # type: ignore[arg-type]


def headless(args: argparse.Namespace, games) -> int:
    """Every level's episodes without a window; ``--record`` writes them to one video."""
    from viz.headless import play_games
    from viz.video import VideoWriter

    options = dict(scale=args.scale, overlay_on=not args.no_overlay, as_json=args.json)
    if not args.record:
        play_games(games, args.episodes, **options)
        return 0
    with VideoWriter(args.record, args.fps) as writer:
        play_games(games, args.episodes, writer=writer, quiet=not args.headless, **options)
    print(f"wrote {writer.frames} frames to {args.record}", file=sys.stderr)
    return 0


def export(agent: object, path: Path) -> int:
    from viz.network_view import export_network

    try:
        export_network(agent, path)
    except (ValueError, OSError) as error:
        return cli.fail(PROG, error)
    print(f"wrote {path}")
    return 0


def save_demo(recording, path: Path) -> int:
    try:
        steps = recording.save(path)
    except (ValueError, OSError) as error:
        return cli.fail(PROG, error)
    print(f"saved {steps} steps to {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parse_args(argv)
    except SystemExit as stop:  # --help (0) or a bad argument (2, already said in one line)
        return int(stop.code or 0)
    try:
        task = prepare(args)
    except (ValueError, OSError, ImportError) as error:  # levels, agents, the nes extra
        return cli.fail(PROG, error)
    try:
        return task()
    except KeyboardInterrupt:  # Ctrl-C while playing headless: no traceback, no half video
        return cli.EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
