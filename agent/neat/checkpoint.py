"""Our own NEAT checkpoints: everything a resumed run needs to continue exactly as if unbroken.

neat-python's ``Checkpointer`` pickles the whole ``Config`` and ``DefaultSpeciesSet``; pickling
those objects *advances* their live ``itertools.count`` indexers (their ``__getstate__`` calls
``next``), so a run that checkpoints would number new nodes and species differently from one that
does not. It also forgets the reproduction's genome indexer and ancestry. This module saves the
state explicitly instead, reading each counter without disturbing it:

* ``generation``: the next generation to evaluate; ``population`` (genome id -> genome);
  the species (``Species`` objects: members, representative, fitness history, last improvement,
  which is all the stagnation state) and the species set's next id and genome -> species map;
  with a ``TargetSpeciesSet`` (``agent.neat.species``) also its moving compatibility threshold;
* the reproduction's next genome id, its ``InnovationTracker`` and ancestry;
* the genome config's next node id (``genome_config.node_indexer``, shared by all genomes);
* ``random.getstate()``: neat-python draws every mutation and parent choice from the global
  ``random`` module;
* the trainer's own state (metrics so far, the champion, frames simulated, wall seconds, ...),
  the config text and the train settings.

File layout: ``MAGIC`` (format and version), the payload length (8 bytes, big-endian), the
payload's SHA-256 (32 bytes), then the pickled payload. Files are written atomically
(``agent.files``). ``load_checkpoint`` checks all of it and raises ``CheckpointError`` with one
line naming the file for anything wrong: not a checkpoint, truncated, corrupted, unreadable.

Checkpoints written before the code moved into packages name their classes by the old modules
(``agent.checkpoint.TrainState``, ...); ``load_checkpoint`` finds them at their new homes
(``_NEW_HOME``), so old runs resume.

Checkpoints are pickles: load only checkpoints you wrote (never ones from strangers).
``load_checkpoint`` refuses one whose run directory (or itself) another user owns unless told
to trust it.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import random
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any, BinaryIO

import neat

from agent.files import atomic_write_with
from agent.runs import foreign_owner

__all__ = [
    "MAGIC",
    "CheckpointError",
    "TrainState",
    "capture_state",
    "load_checkpoint",
    "restore_population",
    "save_checkpoint",
]

MAGIC = b"MARIO-NEAT-LAB CHECKPOINT v1\n"
_HEADER = len(MAGIC) + 8 + 32

#: Where this project's classes (and functions) that a checkpoint may name live now ...
_NEW_HOME = {
    "TrainState": "agent.neat.checkpoint",
    "TrainSettings": "agent.neat.settings",
    "FitnessSettings": "agent.neat.fitness",
    "Evaluation": "agent.neat.fitness",
    "PopulationEvaluator": "agent.neat.evaluator",
    "SmbPopulationEvaluator": "agent.neat.smb_evaluator",
    "Champion": "agent.neat.champion",
    "CompiledPopulation": "agent.neat.network",
    "BatchedRecurrent": "agent.neat.batched",
    "KernelArrays": "agent.neat.batched",
    "mario_sigmoid": "agent.neat.activations",
    "NeatAgent": "agent.neat.policy",
    "NeatPolicy": "agent.neat.policy",
    "EvaluatorFactory": "agent.neat.backends",
}
#: ... and the modules where they used to live (flat ``agent/`` files, then split modules).
_OLD_MODULES = {
    "agent.checkpoint",
    "agent.neat_eval",
    "agent.neat_trainer",
    "agent.neat_agent",
    "agent.neat_rollout",
    "agent.champion",
    "agent.network",
    "agent.smb_eval",
    "agent.backends",
    "agent.neat.evaluator",
    "agent.neat.network",
    "agent.neat.trainer",
}


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message is one line naming the file."""


@dataclass
class TrainState:
    """Everything saved in a checkpoint (see the module doc)."""

    generation: int
    population: dict[int, Any]
    species: dict[int, Any]  # species id -> neat.species.Species
    genome_to_species: dict[int, int]
    next_species_id: int
    next_genome_id: int
    innovation_tracker: Any  # neat.innovation.InnovationTracker
    ancestors: dict[int, tuple]
    next_node_id: int | None  # None until the first node was added anywhere
    random_state: tuple
    config_text: str
    settings: dict[str, Any]
    trainer: dict[str, Any] = field(default_factory=dict)
    species_threshold: float | None = None  # a TargetSpeciesSet's threshold (None: fixed)


def _peek(counter: count) -> int:
    """The next value of an ``itertools.count``; the caller replaces the consumed counter."""
    return next(counter)


def capture_state(
    population: neat.Population,
    config_text: str,
    settings: dict[str, Any],
    trainer: dict[str, Any],
) -> TrainState:
    """Snapshot a ``neat.Population`` between generations without changing it.

    Each counter read by ``next`` is replaced by a fresh counter at the same value, so the run
    goes on exactly as if no snapshot had been taken.
    """
    species_set = population.species
    reproduction = population.reproduction
    gc = population.config.genome_config

    next_species = _peek(species_set.indexer)
    species_set.indexer = count(next_species)
    next_genome = _peek(reproduction.genome_indexer)
    reproduction.genome_indexer = count(next_genome)
    next_node = None
    if gc.node_indexer is not None:
        next_node = _peek(gc.node_indexer)
        gc.node_indexer = count(next_node)

    return TrainState(
        generation=population.generation,
        population=population.population,
        species=species_set.species,
        genome_to_species=species_set.genome_to_species,
        next_species_id=next_species,
        next_genome_id=next_genome,
        innovation_tracker=reproduction.innovation_tracker,
        ancestors=reproduction.ancestors,
        next_node_id=next_node,
        random_state=random.getstate(),
        config_text=config_text,
        settings=settings,
        trainer=trainer,
        species_threshold=getattr(species_set, "threshold", None),
    )


def restore_population(state: TrainState, config: neat.Config) -> neat.Population:
    """A ``neat.Population`` continuing from ``state`` (also restores the ``random`` state).

    ``config`` is parsed from the checkpoint's config text (or a compatible replacement).
    """
    species_set = config.species_set_type(config.species_set_config, None)
    species_set.species = state.species
    species_set.genome_to_species = state.genome_to_species
    species_set.indexer = count(state.next_species_id)
    threshold = getattr(state, "species_threshold", None)  # None in older checkpoints
    if threshold is not None and hasattr(species_set, "threshold"):
        species_set.threshold = threshold
    pop = neat.Population(config, initial_state=(state.population, species_set, state.generation))
    pop.reproduction.genome_indexer = count(state.next_genome_id)
    pop.reproduction.innovation_tracker = state.innovation_tracker
    pop.reproduction.ancestors = state.ancestors
    gc = config.genome_config
    gc.innovation_tracker = state.innovation_tracker
    gc.node_indexer = None if state.next_node_id is None else count(state.next_node_id)
    random.setstate(state.random_state)  # last: Population() may have seeded from the config
    return pop


class _HashingWriter:
    """Forwards writes to a file while hashing and counting them."""

    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self.f.write(data)


def save_checkpoint(path: str | Path, state: TrainState) -> None:
    """Write ``state`` atomically: a failure at any point leaves the previous file intact."""

    def write(f: BinaryIO) -> None:
        f.write(MAGIC + bytes(40))  # length and hash, filled in once the payload is written
        w = _HashingWriter(f)
        pickle.dump(state, w, protocol=pickle.HIGHEST_PROTOCOL)
        f.seek(len(MAGIC))
        f.write(w.size.to_bytes(8, "big") + w.sha.digest())

    atomic_write_with(path, write)


class _Unpickler(pickle.Unpickler):
    """Reads names of moved classes (``_OLD_MODULES``) at their new homes (``_NEW_HOME``)."""

    def find_class(self, module: str, name: str) -> Any:
        if module in _OLD_MODULES and name in _NEW_HOME:
            module = _NEW_HOME[name]
        return super().find_class(module, name)


def load_checkpoint(path: str | Path, *, trust: bool = False) -> TrainState:
    """Read and verify a checkpoint; ``CheckpointError`` (one line) if it cannot be used.

    Unpickling runs whatever code the pickle names, so a checkpoint whose run directory (or
    itself) another user owns is refused unless ``trust`` (``--trust-checkpoint``).
    """
    path = Path(path)
    why = None if trust else foreign_owner(path)
    if why is not None:
        raise CheckpointError(
            f"{path}: not loaded, {why}; checkpoints are pickles, which can run any code: "
            "give --trust-checkpoint only if you trust whoever wrote it"
        )
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint file") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read the checkpoint: {exc.strerror}") from None
    if not data.startswith(MAGIC):
        if data.startswith(MAGIC.split(b" v")[0]):
            raise CheckpointError(f"{path}: checkpoint from another version of this code")
        if len(data) < len(MAGIC) and MAGIC.startswith(data):
            raise CheckpointError(f"{path}: truncated checkpoint ({len(data)} bytes)")
        raise CheckpointError(f"{path}: not a checkpoint of this trainer")
    if len(data) < _HEADER:
        raise CheckpointError(f"{path}: truncated checkpoint ({len(data)} bytes)")
    size = int.from_bytes(data[len(MAGIC) : len(MAGIC) + 8], "big")
    digest = data[len(MAGIC) + 8 : _HEADER]
    payload = data[_HEADER:]
    if len(payload) < size:
        raise CheckpointError(
            f"{path}: truncated checkpoint ({len(payload)} of {size} payload bytes)"
        )
    if len(payload) > size:
        raise CheckpointError(f"{path}: corrupt checkpoint ({len(payload) - size} extra bytes)")
    if hashlib.sha256(payload).digest() != digest:
        raise CheckpointError(f"{path}: corrupt checkpoint (checksum mismatch)")
    try:
        state = _Unpickler(io.BytesIO(payload)).load()
    except Exception as exc:  # a matching checksum makes this a code-version problem
        raise CheckpointError(f"{path}: cannot unpickle the checkpoint: {exc}") from None
    if not isinstance(state, TrainState):
        raise CheckpointError(f"{path}: checkpoint holds {type(state).__name__}, not TrainState")
    return state
