"""DAgger's expert and the student's play: DAgger rounds and evaluations of a cloned policy.

The expert from an arbitrary state
----------------------------------
``envs.solver.solve`` plans from a level's *start*. The student's states are elsewhere, so the
expert calls ``envs.solver.solve_from``, the same weighted A* rooted at a clone of the student's
world: that world's exact state (enemies, used blocks, timer included). The label of a state
is the first step of that plan. (Searching a decision's states together, in lockstep with one
``World.step`` per round for all of them, ``envs.solver.solve_many``, was measured slower, 0.6x:
a search is bound by its per-node Python work, not by the simulation; BENCHMARKS.md. The
searches stay one at a time; the labelled steps of all states are simulated in one call.)
:class:`SolverExpert` keeps the plan while the student follows it: after labelling, it
simulates the labelled step from a clone and remembers the resulting state; if the student's
next state is bit-identical (it pressed buttons with the same effect), the plan's next step is
still an optimal-as-planned continuation and is used without searching again. Any difference
triggers a new search. Labels are therefore exactly "what the solver would do from here", up
to the solver's own limits: a budget of expanded nodes per search (when it runs out, the first
step towards the best partial path is used), and in a doomed state (every branch dies) the
label is "no buttons".

The student's play
------------------
``play_student`` plays one episode in each of a batch of worlds through the one episode loop
(``agent.episodes.Episodes``), with the rules of the Gymnasium envs (a fixed no-progress
limit, see ``agent.rnn.demos.play_rules``). In a DAgger round the student is wrapped in a
:class:`DaggerStudent`, an agent that holds the worlds and the expert: it labels every state a
running world decides in and, in the worlds that mix, plays the expert's buttons instead of the
student's with probability ``beta``. ``evaluate_policy`` is the greedy student alone.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from agent.episodes import EpisodeRules, Episodes
from agent.rnn.demos import DecisionRecorder, Demos, episode_worlds, play_rules
from agent.rnn.model import RecurrentPolicy
from agent.rnn.policy import RecurrentAgent
from envs.levels.level import Level
from envs.sim.constants import RUNNING
from envs.sim.world import World
from envs.solver import SolverConfig, solve_from

__all__ = [
    "DaggerStudent",
    "SolverExpert",
    "StudentPlay",
    "evaluate_policy",
    "play_student",
]


class SolverExpert:
    """Labels the states of N worlds with the solver's next step (see the module doc)."""

    def __init__(self, config: SolverConfig | None = None):
        self.config = config or SolverConfig(max_expansions=20_000)
        self.searches = 0  # solver searches run
        self.labels = 0  # states labelled
        self.seconds = 0.0  # time spent searching
        self.reset(0)

    def reset(self, n: int) -> None:
        self._plans: list[np.ndarray | None] = [None] * n
        self._cursor = [0] * n
        self._expected: list[tuple[np.ndarray, np.ndarray, np.ndarray] | None] = [None] * n

    def _on_plan(self, world: World, i: int) -> bool:
        exp = self._expected[i]
        if exp is None or self._plans[i] is None:
            return False
        P, E, D = exp
        return (
            np.array_equal(world.P[i], P)
            and np.array_equal(world.E[i], E)
            and np.array_equal(world.D[i], D)
        )

    def label(self, world: World, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """The (len(rows), 6) expert buttons for worlds ``rows`` of ``world`` (not stepped).

        The rows off their plan are searched one at a time (``solve_from``); the labelled
        steps of all rows are simulated in one call."""
        rows = [int(i) for i in rows]
        out = np.zeros((len(rows), 6), dtype=np.uint8)
        if not rows:
            return out
        stale = [
            i
            for i in rows
            if not self._on_plan(world, i)
            or self._plans[i] is None
            or self._cursor[i] >= len(self._plans[i])
        ]
        for i in stale:
            t0 = time.perf_counter()
            self._plans[i], self._cursor[i] = solve_from(world.take([i]), self.config).actions, 0
            self.seconds += time.perf_counter() - t0
            self.searches += 1
        for k, i in enumerate(rows):
            plan, c = self._plans[i], self._cursor[i]
            if c < len(plan):
                out[k] = plan[c]
            self._cursor[i] = c + 1
        sim = world.take(rows)
        sim.step(out, self.config.frame_skip)
        for k, i in enumerate(rows):
            self._expected[i] = (sim.P[k].copy(), sim.E[k].copy(), sim.D[k].copy())
        self.labels += len(rows)
        return out


class DaggerStudent:
    """The student of a DAgger round, as an agent of the episode loop.

    Each decision: the student chooses its buttons; the expert labels the state of every
    running world (recorded with the grid seen, ``labels``); in the worlds where ``mix`` is
    set, the expert's buttons are played instead with probability ``beta`` (one draw of ``rng``
    per world and decision).
    """

    def __init__(
        self,
        student: RecurrentAgent,
        world: World,
        expert: SolverExpert,
        mix: np.ndarray,
        beta: float,
        rng: np.random.Generator | None,
    ) -> None:
        self.student, self.world, self.expert = student, world, expert
        self.mix = np.asarray(mix, dtype=np.bool_) & (beta > 0)
        self.beta, self.rng = beta, rng
        self.name = f"dagger:{student.name}"
        self.frame_skip = student.frame_skip
        self.view_radius = student.view_radius
        self.labels = DecisionRecorder(world)

    def reset(self, n: int) -> None:
        self.student.reset(n)
        self.expert.reset(n)
        self.labels = DecisionRecorder(self.world)

    def act(self, observations: np.ndarray) -> np.ndarray:
        buttons = self.student.act(observations)
        n = len(buttons)
        live = np.flatnonzero(self.world.status() == RUNNING)
        labels = np.zeros((n, 6), np.uint8)
        labels[live] = self.expert.label(self.world, live)
        self.labels(np.arange(n), observations, labels)
        if self.rng is not None and self.mix.any():
            use = self.mix & (self.rng.random(n) < self.beta)
            buttons[use] = labels[use]
        return buttons


@dataclass
class StudentPlay:
    """One episode in each world of ``play_student``: world j played ``levels[level_of[j]]``."""

    records: list[dict[str, Any]]  # World.records(): completed, progress (0..1), frames, ...
    frames: int  # game frames simulated, all worlds together
    level_of: np.ndarray
    demos: Demos | None = None  # the expert-labelled episodes of a DAgger round

    @property
    def completed(self) -> np.ndarray:
        return np.array([r["completed"] for r in self.records], dtype=np.bool_)

    @property
    def progress(self) -> np.ndarray:
        return np.array([r["progress"] for r in self.records], dtype=np.float64)


def play_student(
    model: RecurrentPolicy,
    levels: Sequence[Level],
    n_per_level: int,
    rules: EpisodeRules,
    *,
    frame_skip: int,
    device: torch.device | str = "cpu",
    expert: SolverExpert | None = None,
    beta: float = 0.0,
    rng: np.random.Generator | None = None,
    sample: bool = False,
    gen: torch.Generator | None = None,
) -> StudentPlay:
    """Every world plays one episode (world j: level ``j // n_per_level``) by ``rules``.

    The student presses the buttons above 0.5 (``sample``: draws them with ``gen``). With
    ``expert`` it is a DAgger round: every visited state is labelled (``StudentPlay.demos``),
    and worlds with ``j % n_per_level > 0`` play the expert's buttons with probability
    ``beta``.
    """
    levels = list(levels)
    level_of = np.repeat(np.arange(len(levels)), n_per_level)
    world = episode_worlds(levels, level_of)
    student = RecurrentAgent(
        model, device=device, sample=sample, frame_skip=frame_skip, generator=gen
    )
    agent: Any = student
    if expert is not None:
        mix = np.arange(len(level_of)) % n_per_level > 0
        agent = DaggerStudent(student, world, expert, mix, beta, rng)
    with torch.no_grad():
        Episodes(world, agent, rules=rules).run()
    play = StudentPlay(world.records(), int(world.frames().sum()), level_of)
    if expert is not None:
        radius = model.config.view_radius
        play.demos = Demos.from_episodes(
            [
                (levels[level_of[j]].name, *agent.labels.episode(j, radius))
                for j in range(len(level_of))
            ],
            {"source": "dagger", "frame_skip": frame_skip},
            radius,
        )
    return play


def evaluate_policy(
    model: RecurrentPolicy,
    levels: Sequence[Level],
    *,
    frame_skip: int = 5,
    no_progress_frames: int | None = 300,
    max_steps: int = 3000,
    device: torch.device | str = "cpu",
) -> dict[str, Any]:
    """One greedy episode (buttons above 0.5) per level: completion, progress, frames played."""
    rules = play_rules(frame_skip, no_progress_frames, max_steps)
    r = play_student(model, levels, 1, rules, frame_skip=frame_skip, device=device)
    return {
        "completed": [bool(x) for x in r.completed],
        "progress": [float(x) for x in r.progress],
        "frames": r.frames,
    }
