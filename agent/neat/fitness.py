"""How NEAT genomes are scored: the play settings, MarI/O's fitness, and a population's scores.

* ``FitnessSettings``: how a genome plays (frame skip, view radius, network updates per
  decision), when a run that makes no progress ends (MarI/O's timeout: ``timeout_frames`` plus
  ``timeout_growth`` times the frames played, the rule of ``envs.sim.rules``) and how runs are
  scored and combined over levels (mean or min). Two scores: ``"mario"`` (the default),
  MarI/O's fitness (``agent.episodes.mario_fitness``, the one copy of the formula: ``rightmost
  - frames / 2``, plus 1000 for the flag), whose scale is the level's length, so over several
  levels the long ones weigh most; and ``"progress"``, the same on every level: the share of
  the way to the flag (0..1) plus ``PROGRESS_FINISH_BONUS`` for finishing, so a short level
  counts as much as a long one (what a generalist trained on many levels needs).
* ``Evaluation``: one population's results on one level set, per (genome, level) run; what
  every evaluator returns (``agent.neat.evaluator``, ``agent.neat.smb_evaluator``) and every
  backend concatenates (``agent.neat.backends``).
* ``check_config_matches``: a NEAT config's inputs and outputs must fit the grid and buttons.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import neat
import numpy as np

from agent.episodes import EpisodeRules, mario_fitness
from agent.neat.inputs import InputEncoding
from envs.checks import check_int, check_number
from envs.gym.episodes import check_play_settings
from envs.sim.constants import BUTTONS

__all__ = [
    "PROGRESS_FINISH_BONUS",
    "SCORES",
    "ConfigMismatch",
    "Evaluation",
    "FitnessSettings",
    "assign_fitness",
    "check_config_matches",
    "fitness_of",
]


#: At most this many network updates per decision (each is a pass over the whole network).
MAX_ACTIVATIONS = 100
#: How runs can be scored (see the module doc).
SCORES = ("mario", "progress")
#: The ``"progress"`` score's bonus for finishing a level: as much as the whole way there.
PROGRESS_FINISH_BONUS = 1.0


class ConfigMismatch(ValueError):
    """A NEAT config whose inputs or outputs do not fit the environment."""


@dataclass(frozen=True)
class FitnessSettings:
    """How genomes are played and scored (MarI/O's choices by default)."""

    frame_skip: int = 5  # the network decides every 5th frame, buttons held in between
    view_radius: int = 6  # a 13 x 13 input grid
    timeout_frames: int = 20  # MarI/O's TimeoutConstant
    timeout_growth: float = 0.25  # the no-progress allowance grows by frames / 4
    completion_bonus: float = 1000.0
    frame_penalty: float = 0.5  # fitness loses frames * 0.5
    aggregate: str = "mean"  # "mean" or "min" over the evaluation levels
    activations_per_step: int = 1  # synchronous network updates per decision
    score: str = "mario"  # "mario": MarI/O's fitness; "progress": progress share + finish bonus
    view_box: tuple[int, int, int, int] | None = None  # the inputs: a box of the grid (behind,
    # ahead, above, below the player's cell; None: the whole grid), agent.neat.inputs
    view_planes: str = "mixed"  # "mixed": one input per cell; "split": solid and hazard planes

    def __post_init__(self) -> None:
        """Every field's type and range (a champion's ``env_settings`` may have been edited
        into anything): a one-line ``ValueError`` naming the field."""
        if self.aggregate not in ("mean", "min"):
            raise ValueError(f"aggregate must be 'mean' or 'min', got {self.aggregate!r}")
        if self.score not in SCORES:
            raise ValueError(f"score must be one of {', '.join(SCORES)}, got {self.score!r}")
        check_play_settings(self.frame_skip, self.view_radius, None)
        check_int("activations_per_step", self.activations_per_step, 1, MAX_ACTIVATIONS)
        check_int("timeout_frames", self.timeout_frames, 1)
        check_number("timeout_growth", self.timeout_growth, 0)
        check_number("completion_bonus", self.completion_bonus)
        check_number("frame_penalty", self.frame_penalty)
        object.__setattr__(self, "view_box", self.encoding.box)  # a JSON list read back: a tuple

    @classmethod
    def from_env_settings(cls, env_settings: dict[str, Any]) -> FitnessSettings:
        """The settings stored in a champion's ``env_settings`` (other keys ignored);
        ``ValueError`` or ``TypeError`` if they are not usable."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in env_settings.items() if k in known})

    @property
    def encoding(self) -> InputEncoding:
        """How a grid becomes the network's inputs (``agent.neat.inputs``)."""
        return InputEncoding.of_settings(self)

    @property
    def num_inputs(self) -> int:
        return self.encoding.num_inputs

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON values; the input encoding's only when it is not the default, so
        the files of runs that read the whole grid stay as they were."""
        d = dataclasses.asdict(self)
        d["view_box"] = None if self.view_box is None else list(self.view_box)
        for name in ("view_box", "view_planes"):
            if d[name] == getattr(FitnessSettings, name):
                del d[name]
        return d

    def episode_rules(self, max_frames: int = 0) -> EpisodeRules:
        """The episode loop's rules for these settings (``agent.episodes.Episodes``)."""
        return EpisodeRules(self.timeout_frames, self.timeout_growth, max_frames)

    def aggregate_levels(self, level_fitness: np.ndarray) -> np.ndarray:
        """(P, L) per-level fitness -> (P,): the mean or the minimum over the levels."""
        if self.aggregate == "mean":
            return level_fitness.mean(axis=1)
        return level_fitness.min(axis=1)


def fitness_of(
    rightmost_px: np.ndarray,
    frames: np.ndarray,
    completed: np.ndarray,
    s: FitnessSettings,
    progress: np.ndarray | None = None,
) -> np.ndarray:
    """The score of runs under ``s``: MarI/O's fitness (``s``'s frame penalty and flag bonus),
    or with ``s.score == "progress"`` the share of the way to the flag plus
    ``PROGRESS_FINISH_BONUS`` where it was reached (``progress`` is then required)."""
    if s.score == "progress":
        if progress is None or np.isnan(progress).any():
            raise ValueError("the progress score needs each run's progress to the flag")
        return np.asarray(progress, dtype=np.float64) + PROGRESS_FINISH_BONUS * completed
    return mario_fitness(rightmost_px, frames, completed, s.frame_penalty, s.completion_bonus)


_PER_RUN = ("fitness", "level_fitness", "completed", "rightmost", "frames", "progress")


@dataclass
class Evaluation:
    """Scores of one population on one level set; rows follow the genome order given."""

    fitness: np.ndarray  # (P,) aggregated over levels
    level_fitness: np.ndarray  # (P, L)
    completed: np.ndarray  # (P, L) bool
    rightmost: np.ndarray  # (P, L) px
    frames: np.ndarray  # (P, L) frames each run lasted
    progress: np.ndarray  # (P, L) share of the way to the flag, 0..1 (NaN: unknown)
    frames_simulated: int

    @classmethod
    def of_runs(
        cls,
        rightmost: np.ndarray,
        frames: np.ndarray,
        completed: np.ndarray,
        progress: np.ndarray,
        s: FitnessSettings,
    ) -> Evaluation:
        """The evaluation of (P, L) runs: their fitness, aggregated per genome as ``s`` says."""
        level_fitness = fitness_of(rightmost, frames, completed, s, progress)
        return cls(
            fitness=s.aggregate_levels(level_fitness),
            level_fitness=level_fitness,
            completed=completed,
            rightmost=rightmost,
            frames=frames,
            progress=progress,
            frames_simulated=int(frames.sum()),
        )

    @staticmethod
    def concat(parts: Sequence[Evaluation]) -> Evaluation:
        cat = {k: np.concatenate([getattr(p, k) for p in parts]) for k in _PER_RUN}
        return Evaluation(**cat, frames_simulated=sum(p.frames_simulated for p in parts))


def check_config_matches(
    config: neat.Config, view_radius: int = 6, inputs: InputEncoding | None = None
) -> None:
    """Raise ConfigMismatch unless the config's inputs and outputs fit the grid (or the input
    encoding ``inputs``) and the buttons."""
    gc = config.genome_config
    enc = inputs if inputs is not None else InputEncoding(view_radius)
    if gc.num_inputs != enc.num_inputs:
        raise ConfigMismatch(
            f"the config has num_inputs = {gc.num_inputs}, but the observation grid with "
            f"view radius {enc.radius} has {enc.num_inputs} cells"
            if enc.identity
            else f"the config has num_inputs = {gc.num_inputs}, but {enc.describe()}"
        )
    if gc.num_outputs != len(BUTTONS):
        raise ConfigMismatch(
            f"the config has num_outputs = {gc.num_outputs}, but the controller has "
            f"{len(BUTTONS)} buttons ({', '.join(BUTTONS)})"
        )


def assign_fitness(
    genomes: Sequence[tuple[int, Any]],
    evaluate: Callable[[list, neat.Config], Evaluation],
    config: neat.Config,
) -> Evaluation:
    """Evaluate ``genomes`` and set each one's ``fitness``, as neat-python's fitness function
    must; returns the evaluation."""
    genomes = list(genomes)
    result = evaluate(genomes, config)
    for (_, genome), fit in zip(genomes, result.fitness, strict=True):
        genome.fitness = float(fit)
    return result
