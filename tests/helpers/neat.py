"""NEAT test set-ups: a tiny config and level, train settings for them, genomes built by hand
or at random, and readers of a run directory."""

from __future__ import annotations

import hashlib
import json
import pickle
import random
import re
import sys
import types
from pathlib import Path

import neat
import pytest

from agent.neat.checkpoint import MAGIC, TrainState
from agent.neat.config import DEFAULT_CONFIG, config_from_text
from agent.neat.reporters import TIMING_KEYS
from agent.neat.settings import TrainSettings
from agent.runs import METRICS_FILE, SHARED_KEYS

DATA = Path(__file__).resolve().parents[1] / "agent" / "neat" / "data"

# A short obstacle course (a generated level's text: a two-high wall, a pipe, the flag).
LEVEL_TEXT = """\
; name: tiny
; time: 31
........................................
........................................
...................................F....
...................................F....
...................................F....
...................................F....
...................................F....
...................................F....
...................................F....
...................................F....
...................................F....
...............##......[]....CCC...F....
..S............##......[]..........F....
XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX
XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX
"""


# The flag two tiles right of the start: any genome that presses RIGHT completes it.
EASY_LEVEL_TEXT = """\
; name: easy
; time: 10
................
................
................
................
......F.........
......F.........
..S...F.........
XXXXXXXXXXXXXXXX
"""


#: Keys of every NEAT metrics line: those every trainer writes, and NEAT's own (docs/neat.md).
METRIC_KEYS = set(SHARED_KEYS) | {
    "generation",
    "best_fitness",
    "mean_fitness",
    "median_fitness",
    "solved_rate",
    "best_completed",
    "max_rightmost",
    "levels",
    "champion_fitness",
    "champion_generation",
    "species",
    "best_nodes",
    "best_connections",
    "generation_frames",
    "eval_seconds",
}


def set_key(text: str, key: str, value: object) -> str:
    """``text`` with the INI line ``key = ...`` replaced (the key must occur exactly once)."""
    new, n = re.subn(rf"^{key}\s*=.*$", f"{key} = {value}", text, flags=re.M)
    assert n == 1, key
    return new


def tiny_config_text(**overrides: object) -> str:
    """The shipped config with 12 genomes that start with a few links (so they move), and
    speciation loose enough for few species (however the shipped defaults are tuned): the
    shipped moving threshold, aiming at 2 species."""
    text = DEFAULT_CONFIG.read_text()
    values = {
        "pop_size": 12,
        "initial_connection": "partial_nodirect 0.05",
        "compatibility_disjoint_coefficient": 1.0,
        "compatibility_weight_coefficient": 0.5,
        "compatibility_threshold": 3.0,
        "target_species": 2,
        **overrides,
    }
    for key, value in values.items():
        text = set_key(text, key, value)
    return text


def write_tiny_setup(directory: Path, **overrides: object) -> tuple[Path, Path]:
    """Write the tiny config and the tiny level into ``directory``; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "tiny.ini"
    config.write_text(tiny_config_text(**overrides))
    level = directory / "tiny.txt"
    level.write_text(LEVEL_TEXT)
    return config, level


def settings_for(tmp: Path, out: str, **kw: object) -> TrainSettings:
    config, level = write_tiny_setup(tmp / "setup")
    base = dict(
        levels=[str(level)],
        generations=3,
        config=config,
        seed=0,
        out=tmp / out,
        stop_when_solved=False,  # some genome may finish the tiny level early
    )
    base.update(kw)
    return TrainSettings(**base)


def read_metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / METRICS_FILE).read_text().splitlines()]


def untimed(metrics: list[dict]) -> list[dict]:
    return [{k: v for k, v in m.items() if k not in TIMING_KEYS} for m in metrics]


def snapshot(run: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(run.iterdir()) if p.is_file()}


CONFIG = DATA / "platformer.ini"


def load_config(path: Path = CONFIG) -> neat.Config:
    return neat.Config(
        neat.DefaultGenome,
        neat.DefaultReproduction,
        neat.DefaultSpeciesSet,
        neat.DefaultStagnation,
        str(path),
    )


def wired_genome(config: neat.Config, links: dict[tuple[int, int], float], biases=None):
    """A genome with no hidden nodes and exactly the given input->output links."""
    config.genome_config.innovation_tracker = neat.innovation.InnovationTracker()
    genome = config.genome_type(1)
    for key in range(config.genome_config.num_outputs):
        genome.nodes[key] = genome.create_node(config.genome_config, key)
        genome.nodes[key].bias = (biases or {}).get(key, 0.0)
        genome.nodes[key].response = 1.0
        genome.nodes[key].activation = "tanh"
        genome.nodes[key].aggregation = "sum"
    for (src, dst), weight in links.items():
        genome.add_connection(config.genome_config, src, dst, weight, True)
    return genome


def random_population(config: neat.Config, n: int, seed: int, mutations: int = 8):
    random.seed(seed)  # neat-python draws from the global random module
    config.genome_config.innovation_tracker = neat.innovation.InnovationTracker()
    genomes = []
    for key in range(n):
        g = config.genome_type(key)
        g.configure_new(config.genome_config)
        for _ in range(mutations):
            g.mutate(config.genome_config)
        genomes.append((key, g))
    return genomes


def write_as_old_module(path: Path, state: TrainState) -> None:
    """Write ``state`` as a checkpoint from before the move to packages: its pickle names the
    class ``agent.checkpoint.TrainState`` (length and hash in the header computed for it)."""
    old = types.ModuleType("agent.checkpoint")
    old.TrainState = TrainState
    with pytest.MonkeyPatch.context() as mp:  # pickle finds the class under its old name
        mp.setitem(sys.modules, "agent.checkpoint", old)
        mp.setattr(TrainState, "__module__", "agent.checkpoint")
        payload = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    assert b"agent.checkpoint" in payload and b"agent.neat.checkpoint" not in payload
    digest = hashlib.sha256(payload).digest()
    path.write_bytes(MAGIC + len(payload).to_bytes(8, "big") + digest + payload)


def grown_population(
    seed: int = 0, rounds: int = 2, **config: object
) -> tuple[neat.Population, str]:
    """A tiny population after ``rounds`` rounds of reproduction (so nodes, species, ids
    advanced), and its config text (``tiny_config_text`` with ``node_add_prob=0.8`` and
    ``config``'s overrides)."""
    text = tiny_config_text(**{"node_add_prob": 0.8, **config})
    cfg = config_from_text(text, "tiny")
    pop = neat.Population(cfg, seed=seed)
    for gen in range(rounds):
        for i, genome in enumerate(pop.population.values()):
            genome.fitness = float(i % 5)
        pop.population = pop.reproduction.reproduce(cfg, pop.species, cfg.pop_size, gen)
        pop.species.speciate(cfg, pop.population, gen)
        pop.generation += 1
    return pop, text
