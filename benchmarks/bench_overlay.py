"""Frames per second of play.py's window loop (game + overlay), unpaced (fps 0, no vsync).

    SDL_VIDEODRIVER=dummy python benchmarks/bench_overlay.py [--frames 600] [--runs 3]

Runs ``viz.window.play_window`` on a ``viz.games.WorldGame`` (poll keys, agent decides every
frame_skip frames, step, draw the frame and the overlay, show it) for: a NEAT network of at
least 300 enabled connections, an LSTM agent (default model size, random weights), and the
NEAT agent with the overlay off. Prints a markdown table of the median fps over ``--runs``
runs of ``--frames`` frames; the goal is at least 60 fps on a 2-core machine.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import neat  # noqa: E402
from neat.innovation import InnovationTracker  # noqa: E402

from agent.neat.champion import config_from_text  # noqa: E402
from agent.neat.policy import NeatAgent  # noqa: E402
from envs.levels.level import load_level  # noqa: E402
from viz.games import WorldGame  # noqa: E402
from viz.window import play_window  # noqa: E402

GOAL_FPS = 60
NEAT_CONFIG = ROOT / "configs" / "neat.ini"


def big_neat_agent(connections: int = 300, hidden: int = 40, seed: int = 1) -> NeatAgent:
    """A NEAT agent whose genome has ``hidden`` split nodes and >= ``connections`` enabled
    links (the shipped config's genome, grown by add-node / add-connection mutations)."""
    text = NEAT_CONFIG.read_text()
    config = config_from_text(text, str(NEAT_CONFIG))
    gc = config.genome_config
    gc.innovation_tracker = InnovationTracker()
    random.seed(seed)
    genome = neat.DefaultGenome(1)
    genome.configure_new(gc)
    while not any(c.enabled for c in genome.connections.values()):
        genome.mutate_add_connection(gc)
    for _ in range(10 * hidden):
        if len(genome.nodes) - gc.num_outputs >= hidden:
            break
        genome.mutate_add_node(gc)
        genome.mutate_add_connection(gc)
    for _ in range(100 * connections):
        if sum(c.enabled for c in genome.connections.values()) >= connections:
            break
        genome.mutate_add_connection(gc)
    for conn in genome.connections.values():
        conn.weight = random.gauss(0.0, 1.0)
    return NeatAgent(genome, config, name="neat-300")


def lstm_agent():
    from agent.rnn.model import ModelConfig, RecurrentPolicy
    from agent.rnn.policy import RecurrentAgent

    config = ModelConfig()  # the default: LSTM, 128 hidden, conv encoder, radius 6
    return RecurrentAgent(RecurrentPolicy(config), config, name="lstm-128")


def measure(agent, overlay: bool, frames: int, level: str, scale: int) -> float:
    """Frames per second of one ``play_window`` run of ``frames`` frames."""
    game = WorldGame(load_level(level), [agent])
    with contextlib.redirect_stdout(io.StringIO()):
        start = time.perf_counter()
        play_window(game, scale, 0, frames, overlay_on=overlay)
        elapsed = time.perf_counter() - start
    return frames / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--level", default="1-1")
    parser.add_argument("--scale", type=int, default=3, help="play.py's default: 3")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(2)
    neat_agent = big_neat_agent()
    enabled = sum(c.enabled for c in neat_agent.genome.connections.values())
    hidden = len(neat_agent.genome.nodes) - neat_agent.config.genome_config.num_outputs
    cases = [
        (f"NEAT, {enabled} connections, {hidden} hidden nodes", neat_agent, True),
        ("LSTM (128 hidden, conv encoder)", lstm_agent(), True),
        ("NEAT, overlay off (game only)", neat_agent, False),
    ]
    print(
        f"play.py window loop, level {args.level}, scale {args.scale}, fps 0 (unpaced), "
        f"SDL_VIDEODRIVER={os.environ.get('SDL_VIDEODRIVER')}, median of {args.runs} runs x "
        f"{args.frames} frames; goal >= {GOAL_FPS} fps\n"
    )
    print("| agent | overlay | fps (median) | runs | goal |")
    print("|---|---|---:|---|---|")
    for label, agent, overlay in cases:
        measure(agent, overlay, 30, args.level, args.scale)  # warm-up: fonts, layouts, torch
        runs = [
            measure(agent, overlay, args.frames, args.level, args.scale) for _ in range(args.runs)
        ]
        med = statistics.median(runs)
        ok = "met" if med >= GOAL_FPS else "MISSED"
        shown = ", ".join(f"{r:.0f}" for r in runs)
        on = "on" if overlay else "off"
        print(f"| {label} | {on} | {med:.0f} | {shown} | >= {GOAL_FPS}: {ok} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
