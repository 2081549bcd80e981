"""The one episode loop: N worlds, agents deciding in batches, until every episode ends.

Evaluation, demonstrations, DAgger, the comparison harness, races, headless play and the
watching windows all play episodes through ``Episodes``; only NEAT's population evaluator runs
its own compiled copy of this loop (``agent.neat.rollout``), for speed, with the same rules.

* **Worlds** are anything with the episode protocol of ``envs.sim.world.World``: ``n``,
  ``status()``, ``frames()``, ``observe(radius)``, ``step(actions, frames)``,
  ``out_of_time(timeout, growth)``, ``time_out(mask)`` and ``records()``. The built-in world's
  batch has it, and so has ``envs.smb.console.SmbWorlds``, the real game.
* **Agents** are ``agent.base.Agent``: ``reset(n)``, batched ``act(obs)``, ``frame_skip``,
  ``view_radius``. One agent drives every world, or each of several agents drives its own
  rows (a race). An agent decides when its worlds' frame count is a multiple of its
  ``frame_skip``, always for all its rows at once (finished ones too, so a recurrent agent's
  rows stay aligned); its buttons are held in between.
* **Rules** (``EpisodeRules``): a world's episode ends when it does (death, the flag, the
  level's time limit), when its no-progress allowance runs out (``envs.sim.rules``; MarI/O's is
  ``timeout_frames`` 20 plus a quarter of the frames played, checked at each decision), or when
  the loop has played ``max_frames`` frames.

``play_levels(agent, levels, episodes)`` is the batch evaluation the comparison uses; the
records it returns (``episode_record``) are those ``play.py --headless --json`` prints.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from envs.checks import MAX_FRAME_SKIP, check_int
from envs.gym.episodes import RewardConfig
from envs.levels.level import Level
from envs.sim.constants import BUTTONS, RUNNING, TILE_PX
from envs.sim.world import LevelBank, World

__all__ = [
    "MARIO_COMPLETION_BONUS",
    "MARIO_FRAME_PENALTY",
    "ENDINGS",
    "BatchEvaluation",
    "EpisodeRules",
    "Episodes",
    "Worlds",
    "episode_ending",
    "episode_record",
    "mario_fitness",
    "play_levels",
]

#: MarI/O's fitness: ``rightmost - frames / 2``, plus 1000 for reaching the flag.
MARIO_FRAME_PENALTY = 0.5
MARIO_COMPLETION_BONUS = 1000.0


def mario_fitness(
    rightmost: Any,
    frames: Any,
    completed: Any,
    frame_penalty: float = MARIO_FRAME_PENALTY,
    completion_bonus: float = MARIO_COMPLETION_BONUS,
) -> Any:
    """MarI/O's fitness of runs (numbers or arrays): rightmost x (px) minus ``frame_penalty``
    per frame played, plus ``completion_bonus`` where the flag was reached."""
    return rightmost - frame_penalty * frames + completion_bonus * completed


class Worlds(Protocol):
    """The episode protocol (``envs.sim.world.World``, ``envs.smb.console.SmbWorlds``)."""

    @property
    def n(self) -> int: ...

    def status(self) -> np.ndarray: ...

    def frames(self) -> np.ndarray: ...

    def observe(self, radius: int = 6, out: np.ndarray | None = None) -> np.ndarray: ...

    def step(self, actions: np.ndarray, frames: int = 1) -> None: ...

    def out_of_time(self, timeout: float, growth: float = 0.0) -> np.ndarray: ...

    def time_out(self, mask: np.ndarray) -> None: ...

    def records(self) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class EpisodeRules:
    """When the loop ends an episode, beyond the world's own endings."""

    timeout_frames: float | None = None  # no-progress allowance (None: none)
    timeout_growth: float = 0.0  # ... growing by this many frames per frame played
    max_frames: int = 0  # stop every episode after this many frames (0: no cap)

    @classmethod
    def mario(cls, timeout_frames: float = 20, growth: float = 0.25, max_frames: int = 0):
        """MarI/O's timeout, as NEAT trains: 20 frames plus a quarter of the frames played."""
        return cls(timeout_frames, growth, max_frames)


@dataclass
class _Group:
    agent: Any
    rows: np.ndarray
    skip: int
    radius: int


class Episodes:
    """One episode in each of ``worlds``' worlds, played by ``agents``.

    ``agents`` is one agent (it drives every world) or a sequence of agents with ``rows`` (one
    array of world indices each; default: agent i drives world i). ``on_decision(rows, obs,
    buttons)``, when given, sees every decision: the rows that decided, the grids they saw and
    the buttons chosen. ``act_calls`` and ``act_seconds`` count and time the agents' ``act``.
    """

    def __init__(
        self,
        worlds: Worlds,
        agents: Any,
        *,
        rows: Sequence[Sequence[int]] | None = None,
        rules: EpisodeRules | None = None,
        on_decision: Callable[[np.ndarray, np.ndarray, np.ndarray], None] | None = None,
    ) -> None:
        self.worlds = worlds
        self.rules = rules or EpisodeRules()
        self.on_decision = on_decision
        many = isinstance(agents, list | tuple)
        agent_list = list(agents) if many else [agents]
        if rows is None:
            rows = [[i] for i in range(len(agent_list))] if many else [range(worlds.n)]
        if len(rows) != len(agent_list):
            raise ValueError(f"{len(agent_list)} agents but {len(rows)} row groups")
        for a in agent_list:  # the loop divides by it: a loaded agent's may have been edited
            check_int(f"{getattr(a, 'name', 'agent')}: frame_skip", a.frame_skip, 1, MAX_FRAME_SKIP)
        self.groups = [
            _Group(a, np.asarray(list(r), dtype=np.intp), int(a.frame_skip), _radius(a))
            for a, r in zip(agent_list, rows, strict=True)
        ]
        self.held = np.zeros((worlds.n, len(BUTTONS)), dtype=np.uint8)
        self.act_calls = 0
        self.act_seconds = 0.0
        self.played = 0  # frames the loop has stepped (the running worlds' frames)
        self.reset_agents()

    @property
    def agents(self) -> list[Any]:
        return [g.agent for g in self.groups]

    def reset_agents(self) -> None:
        """Fresh episodes for the agents (the worlds are reset by their owner)."""
        for g in self.groups:
            g.agent.reset(len(g.rows))
        self.held[:] = 0
        self.played = 0

    def running(self) -> np.ndarray:
        return self.worlds.status() == RUNNING

    @property
    def done(self) -> bool:
        if self.rules.max_frames and self.played >= self.rules.max_frames:
            return True
        return not bool(self.running().any())

    def _decide(self, running: np.ndarray, frames: np.ndarray) -> None:
        grids: dict[int, np.ndarray] = {}
        for g in self.groups:
            live = running[g.rows]
            if not live.any() or int(frames[g.rows[live][0]]) % g.skip:
                continue
            if g.radius not in grids:
                grids[g.radius] = self.worlds.observe(g.radius)
            obs = grids[g.radius][g.rows]
            t0 = time.perf_counter()
            buttons = np.asarray(g.agent.act(obs), dtype=np.uint8).reshape(len(g.rows), -1)
            self.act_seconds += time.perf_counter() - t0
            self.act_calls += 1
            self.held[g.rows] = buttons
            if self.on_decision is not None:
                self.on_decision(g.rows, obs, buttons)

    def _frames_to_next_decision(self, running: np.ndarray, frames: np.ndarray) -> int:
        gaps = [
            g.skip - int(frames[g.rows[running[g.rows]][0]]) % g.skip
            for g in self.groups
            if running[g.rows].any()
        ]
        return min(gaps) if gaps else 1

    def advance(self, frames: int | None = None) -> np.ndarray:
        """Decide where due, then play ``frames`` frames (None: up to the next decision) in the
        running worlds; returns the buttons held. Ends episodes by the rules."""
        running = self.running()
        now = self.worlds.frames()
        self._decide(running, now)
        step = self._frames_to_next_decision(running, now) if frames is None else int(frames)
        if self.rules.max_frames:
            step = min(step, self.rules.max_frames - self.played)
        if step <= 0:
            return self.held
        self.worlds.step(self.held, step)
        self.played += step
        r = self.rules
        if r.timeout_frames is not None:
            now = self.worlds.frames()
            at_decision = np.zeros(self.worlds.n, dtype=np.bool_)
            for g in self.groups:
                at_decision[g.rows] = now[g.rows] % g.skip == 0
            late = self.worlds.out_of_time(r.timeout_frames, r.timeout_growth) & at_decision
            if late.any():
                self.worlds.time_out(late)
        return self.held

    def run(
        self, on_step: Callable[[np.ndarray], None] | None = None, frame_by_frame: bool = False
    ) -> Episodes:
        """Play until every episode has ended (or ``max_frames``); ``on_step(held)`` after every
        step (one frame each with ``frame_by_frame``, as a video needs)."""
        while not self.done:
            held = self.advance(1 if frame_by_frame else None)
            if on_step is not None:
                on_step(held)
        return self


def _radius(agent: Any) -> int:
    return int(getattr(agent, "view_radius", 6))


def episode_record(agent_name: str, record: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The record of one episode as ``play.py --headless --json`` prints it: agent, level,
    completed, progress (% of the way to the flag, None where unknown), frames, MarI/O's
    fitness, plus ``extra``."""
    progress = record.get("progress")
    return {
        "agent": agent_name,
        "level": record["level"],
        "completed": bool(record["completed"]),
        "progress": None if progress is None else round(100.0 * progress, 2),
        "frames": int(record["frames"]),
        "fitness": round(
            float(mario_fitness(record["rightmost"], record["frames"], record["completed"])), 2
        ),
        **extra,
    }


#: How an episode ended (``episode_ending``): the flag, a pit, an enemy or spikes, the time
#: limit or the loop's no-progress rule, or the loop's frame cap while still running.
ENDINGS = ("finished", "fell", "hit", "timeout", "cut")


def episode_ending(record: dict[str, Any]) -> str:
    """One of ``ENDINGS`` for a world's record (worlds that cannot tell a pit from an enemy,
    the real game's, report every death as ``hit``)."""
    if record["completed"]:
        return "finished"
    if record["dead"]:
        return "fell" if record.get("fell") else "hit"
    return "timeout" if record.get("timeout") else "cut"


def episode_return(record: dict[str, Any], start_x: float, frame_skip: int, reward=None) -> float:
    """The Gymnasium envs' default reward summed over an episode: tiles of progress from
    ``start_x`` (px), the flag bonus, the death penalty (``envs.gym.episodes.RewardConfig``)."""
    r = reward or RewardConfig()
    gained = (record["rightmost"] - start_x) / TILE_PX
    ret = r.progress_per_tile * gained - r.step_penalty * (record["frames"] / frame_skip)
    return ret + r.completion_bonus * record["completed"] - r.death_penalty * record["dead"]


@dataclass
class BatchEvaluation:
    """Every episode of ``play_levels`` and how long the agent took to decide."""

    episodes: list[dict[str, Any]]  # level-major within each episode index: world i
    act_calls: int  # batched ``act`` calls
    act_seconds: float  # inside ``act`` only
    worlds: int  # the batch size of each call

    @property
    def seconds_per_decision(self) -> float:
        """Inference seconds per world per decision (batched over ``worlds`` worlds)."""
        return self.act_seconds / max(self.act_calls * self.worlds, 1)


def evaluate_worlds(
    worlds: Worlds,
    agent: Any,
    rules: EpisodeRules,
    level_count: int,
    start_x: Sequence[float],
    reward: RewardConfig | None = None,
) -> BatchEvaluation:
    """Play one episode in every world with ``agent``; one record per world (see
    ``play_levels``), world i being episode ``i // level_count``."""
    loop = Episodes(worlds, agent, rules=rules).run()
    skip = int(agent.frame_skip)
    out = []
    for i, rec in enumerate(worlds.records()):
        done = rec["completed"]
        out.append(
            episode_record(
                agent.name,
                rec,
                episode=i // level_count,
                rightmost=round(rec["rightmost"], 2),
                frames_to_finish=rec["frames"] if done else None,
                dead=rec["dead"],
                ending=episode_ending(rec),
                **{"return": round(episode_return(rec, start_x[i], skip, reward), 3)},
            )
        )
    return BatchEvaluation(out, loop.act_calls, loop.act_seconds, worlds.n)


def play_levels(
    agent: Any,
    levels: Sequence[Level],
    episodes: int = 1,
    max_frames: int = 0,
    reward: RewardConfig | None = None,
    rules: EpisodeRules | None = None,
) -> BatchEvaluation:
    """Play ``episodes`` episodes of ``agent`` on each of ``levels`` in one batch of worlds.

    World ``i`` plays ``levels[i % len(levels)]`` (the solver agent maps its worlds to levels
    the same way). Each result is ``episode_record`` plus ``episode`` (its index),
    ``rightmost`` (pixels), ``frames_to_finish`` (None unless completed), ``dead``, ``ending``
    (``episode_ending``) and ``return`` (the Gymnasium env's default reward summed over the
    episode). Episodes end at death, the flag or the level's time limit, by ``rules``
    (default: none of the loop's own), or after ``max_frames`` frames (0: none; they count as
    not completed).
    """
    if not levels:
        raise ValueError("play_levels needs at least one level")
    if episodes < 1:
        raise ValueError(f"episodes must be at least 1, got {episodes}")
    levels = list(levels)
    n = len(levels) * episodes
    world = World(LevelBank(levels), n)
    world.reset(np.arange(n, dtype=np.int32) % len(levels))
    rules = rules or EpisodeRules()
    if max_frames:
        rules = EpisodeRules(rules.timeout_frames, rules.timeout_growth, max_frames)
    start = world.rightmost_px().copy()
    return evaluate_worlds(world, agent, rules, len(levels), start, reward)
