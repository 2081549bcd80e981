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

import signal
import sys

if __name__ == "__main__":  # Ctrl-C while the libraries load: exit 130, no traceback
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))

import argparse
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
        help="keyboard play only: save a demonstration (.npz) for train.py rnn --algo bc",
    )
    cli.add_level_options(parser, f"levels (default {DEFAULT_LEVEL})")
    show = parser.add_argument_group("showing")
    show.add_argument("--scale", type=cli.whole(1, 16), help="screen pixels per game pixel (3)")
    show.add_argument(
        "--fps", type=cli.whole(0, 1000), help=f"frames per second, 0 unlimited ({FPS})"
    )
    show.add_argument(
        "--max-frames",
        type=cli.whole(0, cli.MAX_FRAMES),
        default=0,
        metavar="F",
        help="a window quits after F frames; headless, each episode stops there (0: no cap)",
    )
    show.add_argument("--no-overlay", action="store_true", help="start without the overlay (O)")
    out = parser.add_argument_group("without a window")
    out.add_argument("--headless", action="store_true", help="play an agent without a window")
    out.add_argument(
        "--episodes",
        type=cli.whole(1, cli.MAX_EPISODES),
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
    from viz.video import VIDEO_SUFFIXES, check_output_path, check_video_path

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
    cli.check_generated_options(args)
    if args.episodes is not None and not (args.headless or args.record):
        raise ValueError("--episodes is for headless play or --record; a window plays on")
    for flag in ("scale", "fps"):
        if getattr(args, flag) is not None and args.headless and not args.record:
            raise ValueError(f"--{flag} is for a window or --record; headless play draws nothing")
    args.episodes, args.scale = args.episodes or 1, args.scale or 3
    args.fps = FPS if args.fps is None else args.fps
    if args.env == "smb" and (len(agents) > 1 or args.record_demo or args.generated):
        what = "races" if len(agents) > 1 else "demos" if args.record_demo else "--generated"
        raise ValueError(f"{what}: the built-in world only, not --env smb")
    for flag, path, suffixes in (
        ("--record", args.record, VIDEO_SUFFIXES),
        ("--export-network", args.export_network, (".png", ".svg")),
        ("--record-demo", args.record_demo, (".npz",)),
    ):
        if path is not None:  # every output is known writable before anything is played
            check_output_path(path, suffixes, flag)
            cli.check_writable(path, flag)
    if args.record:
        check_video_path(args.record)  # and an .mp4 needs imageio-ffmpeg


def world_levels(args: argparse.Namespace) -> list:
    """The built-in world's levels: each --level (default 1-1), then the --generated ones."""
    return cli.world_levels(args, DEFAULT_LEVEL)


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

    export_network(agent, path)
    print(f"wrote {path}")
    return 0


def save_demo(recording, path: Path) -> int:
    print(f"saved {recording.save(path)} steps to {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parse_args(argv)
        cli.warn_about_levels(PROG, args.level, args.env)
        return prepare(args)()
    except SystemExit as stop:  # --help (0) or a bad argument (2, already said in one line)
        return int(stop.code or 0)
    except (ValueError, OSError, ImportError) as error:  # levels, agents, outputs, the nes extra
        return cli.fail(PROG, error)
    except KeyboardInterrupt:  # Ctrl-C loading or playing headless: no traceback, no half video
        return cli.EXIT_INTERRUPTED


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
