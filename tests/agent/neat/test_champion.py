"""champion.json: exact round trip through neat-python's RecurrentNetwork, and one-line
ChampionErrors for truncated, non-JSON, binary, edited and mismatched files."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import neat
import numpy as np
import pytest
from neat.innovation import InnovationTracker

from agent.neat import champion
from agent.neat.champion import FORMAT, ChampionError, load_champion, save_champion
from agent.neat.config import ConfigError, config_from_text
from tests.helpers.neat import set_key, tiny_config_text

ENV = {"frame_skip": 5, "view_radius": 6, "levels": ["1-1"]}


def evolved_genome(config_text: str, seed: int = 3) -> tuple[neat.DefaultGenome, neat.Config]:
    """A genome grown by many neat mutations: hidden nodes, recurrent links, disabled links."""
    config = config_from_text(config_text, "test")
    gc = config.genome_config
    gc.innovation_tracker = InnovationTracker()
    random.seed(seed)
    genome = neat.DefaultGenome(7)
    genome.configure_new(gc)
    for _ in range(40):
        genome.mutate(gc)
    genome.connections[next(iter(genome.connections))].enabled = False
    genome.fitness = 123.25
    return genome, config


@pytest.fixture
def saved(tmp_path) -> tuple[Path, neat.DefaultGenome, neat.Config, str]:
    text = tiny_config_text(
        node_add_prob=0.6,
        activation_options="tanh sigmoid relu mario_sigmoid",
        aggregation_options="sum max mean",
        activation_mutate_rate=0.3,
        aggregation_mutate_rate=0.3,
    )
    genome, config = evolved_genome(text)
    path = tmp_path / "champion.json"
    save_champion(
        path,
        genome,
        config,
        text,
        fitness=genome.fitness,
        generation=4,
        env_settings=ENV,
        extra={"completed": [False]},
    )
    return path, genome, config, text


def outputs(genome, config, inputs: np.ndarray) -> np.ndarray:
    net = neat.nn.RecurrentNetwork.create(genome, config)
    return np.array([net.activate(list(x)) for x in inputs])


def test_round_trip_gives_the_same_network(saved):
    """Loading champion.json rebuilds a neat genome whose RecurrentNetwork gives exactly the
    outputs of the original over 30 steps (recurrent state included), with the same genes,
    config text, fitness, generation and settings."""
    path, genome, config, text = saved
    champ = load_champion(path)
    assert len(genome.nodes) > 6 and any(not c.enabled for c in genome.connections.values())
    assert {ng.activation for ng in genome.nodes.values()} != {"tanh"}
    rng = np.random.default_rng(0)
    inputs = rng.choice([-1.0, 0.0, 1.0], size=(30, 169))
    expected = outputs(genome, config, inputs)
    assert np.array_equal(expected, outputs(champ.genome, champ.config, inputs))
    net = champ.network()
    assert np.array_equal(expected, np.array([net.activate(list(x)) for x in inputs]))
    assert str(champ.genome) == str(genome)
    assert [c.innovation for c in champ.genome.connections.values()] == [
        c.innovation for c in genome.connections.values()
    ]
    assert champ.config_text == text
    assert (champ.fitness, champ.generation) == (123.25, 4)
    assert champ.env_settings == ENV and champ.extra == {"completed": [False]}


def test_the_file_is_readable(saved):
    """One connection per line, the config as lines of text, no pickle."""
    path, genome, _, text = saved
    lines = path.read_text().splitlines()
    assert sum('"in": ' in line for line in lines) == len(genome.connections)
    assert sum('"bias": ' in line for line in lines) == len(genome.nodes)
    assert '    "[NEAT]",' in lines
    assert json.loads(path.read_text())["format"] == FORMAT


def edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def expect_error(path: Path, match: str) -> str:
    with pytest.raises(ChampionError, match=match) as info:
        load_champion(path)
    msg = str(info.value)
    assert msg.startswith(str(path)) and "\n" not in msg
    return msg


def test_truncated_and_garbage_files_are_rejected(saved, tmp_path):
    """Truncated JSON, text that is not JSON, binary garbage, a JSON list, another format and
    a missing file are one-line ChampionErrors."""
    path = saved[0]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    expect_error(path, "truncated")
    path.write_text("{nope")
    expect_error(path, "not valid JSON")
    path.write_bytes(bytes(range(256)) * 4)
    expect_error(path, "binary")
    path.write_text("[1, 2]")
    expect_error(path, "JSON object")
    path.write_text('{"format": "something else"}')
    expect_error(path, "not a NEAT champion")
    expect_error(tmp_path / "absent.json", "no such")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d["connections"][0].update({"out": 999}), "unknown node 999"),
        (lambda d: d["connections"][0].update({"in": -500}), "unknown input pin or node -500"),
        (lambda d: d["connections"][0].update({"weight": "1.5"}), "'weight'.*number"),
        (lambda d: d["connections"][0].update({"enabled": 1}), "'enabled'.*bool"),
        (lambda d: d["nodes"][0].pop("bias"), "missing field 'bias'"),
        (lambda d: d["nodes"].pop(0), "output node 0 is missing"),
        (lambda d: d["nodes"][1].update({"activation": "nope"}), "unknown activation"),
        (lambda d: d.pop("config"), "missing field 'config'"),
        (lambda d: d.update({"generation": 2.5}), "'generation'.*int"),
        (lambda d: d.update({"num_inputs": 100}), "100 inputs"),
        (lambda d: d.update({"num_outputs": 4}), "4 outputs"),
        (lambda d: d.update({"feed_forward": True}), "feed_forward"),
        (lambda d: d["connections"].append(dict(d["connections"][0])), "appears twice"),
        (lambda d: d["env_settings"].update({"frame_skip": 0}), "frame_skip must be from 1"),
        (lambda d: d["env_settings"].update({"frame_skip": "x"}), "frame_skip must be an int"),
        (lambda d: d["env_settings"].update({"frame_skip": 10**6}), "frame_skip must be from"),
        (lambda d: d["env_settings"].update({"view_radius": 10**6}), "view_radius must be from"),
        (lambda d: d["env_settings"].update({"frame_penalty": "nan"}), "frame_penalty.*number"),
        (lambda d: d["env_settings"].update({"timeout_growth": None}), "timeout_growth.*number"),
        (lambda d: d["env_settings"].update({"timeout_growth": -1}), "timeout_growth.*at least"),
        (lambda d: d["env_settings"].update({"timeout_frames": 2.5}), "timeout_frames.*integer"),
        (lambda d: d["env_settings"].update({"completion_bonus": 10**400}), "completion_bonus"),
        (lambda d: d["env_settings"].update({"activations_per_step": 10**9}), "activations_per"),
        (lambda d: d["env_settings"].update({"activations_per_step": 0}), "activations_per_step"),
        (lambda d: d["env_settings"].update({"aggregate": "max"}), "aggregate must be"),
        (lambda d: d["env_settings"].update({"levels": "1-1"}), "'levels' must be a list"),
        (lambda d: d["nodes"][1].update({"key": 10**30}), "keys must be below"),
        (lambda d: d["env_settings"].update({"view_box": [1, 7, 4, 3]}), "view_box ahead"),
        (lambda d: d["env_settings"].update({"view_box": "1,6,4,3"}), "4 whole numbers"),
        (lambda d: d["env_settings"].update({"view_box": [1.0, 6, 4, 3]}), "behind.*integer"),
        (lambda d: d["env_settings"].update({"view_planes": "rgb"}), "view_planes must be"),
        (lambda d: d["env_settings"].update({"view_planes": "split"}), "gives 338 inputs"),
        (lambda d: d["env_settings"].update({"view_box": [1, 6, 4, 3]}), "gives 64 inputs"),
    ],
)
def test_edited_files_are_rejected(saved, change, match):
    """Hand edits that break the genome (dangling links, wrong types, missing fields), its fit
    to the environment (input/output counts) or its play settings (every ``env_settings``
    field of the wrong type or out of range: a zero frame skip, a ``"nan"`` frame penalty, a
    null timeout growth) are one-line ChampionErrors naming the problem."""
    path = saved[0]
    edit(path, change)
    expect_error(path, match)


def test_config_text_must_match(saved):
    """A champion whose stored config disagrees with its genome (other input count, broken
    config) is rejected; so is one checked against another view radius."""
    path, *_ = saved
    edit(
        path, lambda d: d.update(config=set_key(tiny_config_text(), "num_inputs", 25).splitlines())
    )
    expect_error(path, "num_inputs")
    edit(path, lambda d: d.update(config=["[NEAT]", "pop_size = x"]))
    expect_error(path, "its config")
    with pytest.raises(ChampionError, match="radius 2"):
        load_champion(saved[0], view_radius=2)


def test_a_view_radius_that_does_not_fit_the_saved_box_is_a_champion_error(saved):
    """A champion whose inputs read a box of its grid (``env_settings.view_box``), checked
    against a smaller view radius than its box needs, is a one-line ChampionError naming the
    radius and the box side, not a bare ValueError."""
    path = saved[0]
    edit(path, lambda d: d["env_settings"].update({"view_box": [6, 6, 6, 6]}))
    assert load_champion(path).num_inputs == 169  # the whole grid's box: the grid
    with pytest.raises(ChampionError, match="view radius 2: view_box behind must be from 0 to 2"):
        load_champion(path, view_radius=2)


def test_config_from_text_errors_are_one_line():
    """Unparseable text and unknown sections are ConfigErrors of one line."""
    for text, match in (("no section", "cannot parse"), ("[Nope]\na = 1", "unknown section")):
        with pytest.raises(ConfigError, match=match) as info:
            config_from_text(text, "x.ini")
        assert str(info.value).startswith("x.ini: ") and "\n" not in str(info.value)


def test_nested_special_and_oversized_files_are_refused_unread(saved, tmp_path, monkeypatch):
    """Loading is bounded: JSON nested thousands deep (in ``extra`` or anywhere) is a one-line
    ChampionError, not a RecursionError; a FIFO is refused without blocking, a link to
    /dev/zero and a directory without reading, and a file over ``MAX_CHAMPION_BYTES`` by its
    size; NaN, Infinity and 1e400 are refused as numbers."""
    path = saved[0]
    text = path.read_text()
    for depth in (100, 100_000):
        deep = "[" * depth + "]" * depth
        path.write_text(text.replace('"extra": {', f'"extra": {{"deep": {deep},', 1))
        expect_error(path, "nested more than")
    for number in ("NaN", "Infinity", "1e400"):
        path.write_text(text.replace('"fitness": 123.25', f'"fitness": {number}', 1))
        expect_error(path, "not allowed")
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    expect_error(fifo, "not a regular file \\(a FIFO\\)")
    link = tmp_path / "zero.json"
    link.symlink_to("/dev/zero")
    expect_error(link, "character device")
    expect_error(tmp_path, "a directory")
    monkeypatch.setattr(champion, "MAX_CHAMPION_BYTES", 1000)
    path.write_text(text)
    expect_error(path, "more than a champion file may hold")
