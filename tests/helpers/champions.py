"""NEAT agents with grown genomes for the watching tests: a champion file, an agent in memory."""

from __future__ import annotations

import random
from pathlib import Path

import neat
from neat.innovation import InnovationTracker

from agent.neat.champion import config_from_text, save_champion
from agent.neat.inputs import InputEncoding
from agent.neat.policy import NeatAgent
from tests.helpers.neat import tiny_config_text


def grown_genome(config: neat.Config, seed: int, mutations: int) -> neat.DefaultGenome:
    """A genome of ``config`` after ``mutations`` neat mutations from ``seed`` (hidden nodes
    and links grown as evolution grows them)."""
    gc = config.genome_config
    gc.innovation_tracker = InnovationTracker()
    random.seed(seed)
    genome = neat.DefaultGenome(1)
    genome.configure_new(gc)
    for _ in range(mutations):
        genome.mutate(gc)
    return genome


def neat_agent(
    seed: int = 3, mutations: int = 60, encoding: InputEncoding | None = None
) -> NeatAgent:
    """A NEAT agent whose genome grew hidden nodes and links by neat mutations (reading its
    grid through ``encoding``: the whole grid by default)."""
    n_in = (encoding or InputEncoding()).num_inputs
    text = tiny_config_text(node_add_prob=0.6, conn_add_prob=0.9, num_inputs=n_in)
    config = config_from_text(text, "test")
    genome = grown_genome(config, seed, mutations)
    return NeatAgent(genome, config, name="neat:test", encoding=encoding)


def make_champion(
    path: Path, view_radius: int = 6, inputs_radius: int | None = None, frame_skip: int = 5
) -> Path:
    """A champion.json (mutated genome with hidden nodes); ``inputs_radius`` sets the network's
    input count ((2r+1)^2) apart from the ``view_radius`` stored in its env settings."""
    r = view_radius if inputs_radius is None else inputs_radius
    text = tiny_config_text(node_add_prob=0.6, num_inputs=(2 * r + 1) ** 2)
    config = config_from_text(text, "test")
    genome = grown_genome(config, 5, 30)
    genome.fitness = 1.0
    path.parent.mkdir(parents=True, exist_ok=True)
    env = {"frame_skip": frame_skip, "view_radius": view_radius, "levels": ["1-1"]}
    save_champion(path, genome, config, text, fitness=1.0, generation=1, env_settings=env)
    return path
