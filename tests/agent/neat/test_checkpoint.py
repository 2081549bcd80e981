"""Checkpoints and atomic writes: a failed write keeps the previous file, damaged files are
refused with one line, and taking a snapshot does not disturb the run."""

from __future__ import annotations

import hashlib
import random

import neat
import pytest

from agent.files import atomic_write_bytes, atomic_write_text
from agent.neat.checkpoint import (
    MAGIC,
    CheckpointError,
    capture_state,
    load_checkpoint,
    restore_population,
    save_checkpoint,
)
from agent.neat.config import config_from_text
from tests.helpers.neat import grown_population, write_as_old_module


def state_of(pop: neat.Population, text: str, **trainer: object):
    return capture_state(pop, text, {"seed": 0}, dict(trainer))


def test_atomic_write_failure_keeps_the_old_file(tmp_path):
    """When the writer raises midway, the previous file is untouched and no temporary file is
    left behind; a successful write replaces the content."""
    path = tmp_path / "f.txt"
    atomic_write_text(path, "old")

    def boom(f):
        f.write(b"half of the new")
        raise RuntimeError("disk on fire")

    from agent.files import atomic_write_with

    with pytest.raises(RuntimeError):
        atomic_write_with(path, boom)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]
    atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"new"


def test_failed_checkpoint_keeps_the_previous_one(tmp_path):
    """A pickler that raises halfway through (an unpicklable object in the trainer state)
    leaves the previous checkpoint loadable and identical, and no temporary file."""
    pop, text = grown_population()
    path = tmp_path / "checkpoint-latest.pkl"
    save_checkpoint(path, state_of(pop, text, note="first"))
    before = path.read_bytes()
    with pytest.raises(Exception, match="pickle"):
        save_checkpoint(path, state_of(pop, text, note="second", bad=lambda: None))
    assert path.read_bytes() == before
    assert load_checkpoint(path).trainer == {"note": "first"}
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_damaged_checkpoints_are_refused(tmp_path):
    """Truncated (anywhere), bit-flipped, foreign, empty and missing files each raise a one-line
    CheckpointError naming the file."""
    pop, text = grown_population()
    good = tmp_path / "good.pkl"
    save_checkpoint(good, state_of(pop, text))
    data = good.read_bytes()
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x40
    cases = {
        "half.pkl": (data[: len(data) // 2], "truncated"),
        "header.pkl": (data[: len(MAGIC) + 5], "truncated"),
        "magic.pkl": (data[:10], "truncated"),
        "empty.pkl": (b"", "truncated"),
        "flipped.pkl": (bytes(flipped), "checksum"),
        "longer.pkl": (data + b"x", "extra bytes"),
        "foreign.pkl": (b"\x80\x04K\x01." + bytes(100), "not a checkpoint"),
    }
    for name, (content, match) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(CheckpointError, match=match) as info:
            load_checkpoint(path)
        assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)
    with pytest.raises(CheckpointError, match="no such"):
        load_checkpoint(tmp_path / "absent.pkl")


def test_snapshot_does_not_disturb_the_run(tmp_path):
    """capture_state + save leave every counter (genome, node, species ids) and the random state
    where they were, and a restored population continues exactly like the original."""
    pop, text = grown_population()
    path = tmp_path / "c.pkl"
    state = state_of(pop, text)
    save_checkpoint(path, state)
    again = state_of(pop, text)
    assert (state.next_genome_id, state.next_node_id, state.next_species_id) == (
        again.next_genome_id,
        again.next_node_id,
        again.next_species_id,
    )
    assert state.next_node_id is not None

    def step(p: neat.Population) -> list[str]:
        config = p.config
        for i, genome in enumerate(p.population.values()):
            genome.fitness = float((i * 7) % 11)
        p.population = p.reproduction.reproduce(config, p.species, config.pop_size, p.generation)
        p.species.speciate(config, p.population, p.generation)
        return [f"{k} {g}" for k, g in p.population.items()] + [str(sorted(p.species.species))]

    random.seed(99)  # disturb the global state: restore must bring it back
    restored = restore_population(load_checkpoint(path), config_from_text(text, "tiny"))
    after_restore = step(restored)
    random.setstate(state.random_state)
    assert step(pop) == after_restore


def test_atomic_writes_get_the_usual_file_mode(tmp_path):
    """Files written atomically get 0666 minus the umask, like open(), not mkstemp's 0600."""
    import os

    from agent.files import atomic_write_text

    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "f.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o644


def test_checkpoints_naming_old_modules_still_load(tmp_path):
    """A checkpoint pickled when TrainState lived in ``agent.checkpoint`` loads as today's
    TrainState with the same contents; a class that exists nowhere stays a one-line
    CheckpointError."""
    pop, text = grown_population()
    state = state_of(pop, text, note="old")
    path = tmp_path / "old.pkl"
    write_as_old_module(path, state)
    loaded = load_checkpoint(path)
    assert type(loaded).__module__ == "agent.neat.checkpoint"
    assert loaded.trainer == {"note": "old"} and loaded.generation == state.generation
    assert [str(g) for g in loaded.population.values()] == [
        str(g) for g in state.population.values()
    ]

    data = path.read_bytes()
    payload = data[len(MAGIC) + 40 :].replace(b"TrainState", b"TrainStatX")
    digest = hashlib.sha256(payload).digest()
    path.write_bytes(MAGIC + len(payload).to_bytes(8, "big") + digest + payload)
    with pytest.raises(CheckpointError, match="cannot unpickle") as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)
