"""Demonstrations: (observation, buttons) sequences for behaviour cloning, and their file format.

File format (``.npz``, written with ``numpy.savez_compressed``; read with ``allow_pickle=False``)
---------------------------------------------------------------------------------------------
=================  =================  ============================================================
array              shape, dtype       meaning
=================  =================  ============================================================
``obs``            (T, S, S) int8 or  the tile grid the player saw before each decision,
                   float32            S = 2 * view_radius + 1, values -1 (enemy/spikes), 0, 1
                                      (solid); written as int8 (exact and 4x smaller)
``actions``        (T, 6) uint8       the buttons held after seeing ``obs[t]`` (0/1, NES order
                                      A, B, UP, DOWN, LEFT, RIGHT), for ``frame_skip`` frames
``episode_starts`` (T,) bool          True where a new episode starts (``episode_starts[0]`` is
                                      True whenever T > 0)
``level_names``    (E,) str           the level of each episode, E = episode_starts.sum()
``metadata``       () str             a JSON object: ``format`` ("mario-neat-lab/demos"),
                                      ``version`` (1), ``view_radius``, ``frame_skip``,
                                      ``source`` ("solver", "agent:NAME", "human", "dagger",
                                      ...) and free-form extras (e.g. per-episode completion)
=================  =================  ============================================================

One row per agent step: step ``t`` of an episode pairs the observation with the buttons chosen
from it. ``load_demos`` checks every array (presence, shape, dtype, values) and raises
``DemoError`` (a ``ValueError``) with a one-line message naming the file. It is bounded: a
regular file only (not a FIFO or a device), each array's ``.npy`` header checked against the
bytes the archive holds for it before the array is read (a header claiming a huge shape is
refused, not allocated), ``MAX_DEMO_FILE_BYTES`` and ``MAX_DEMO_ARRAY_BYTES`` caps, no object
arrays, and metadata JSON of bounded depth whose ``frame_skip`` and ``view_radius`` are
range-checked (``envs.checks``).

Sources: :func:`record_solver_demos` (the search-based solver, an expert on any level),
:func:`record_agent_demos` (any agent of ``agent/base.py``, e.g. a NEAT champion) and
:class:`DemoRecorder` (human play: ``play.py`` feeds it step by step). The first two play
their episodes through the one episode loop (``agent.episodes.Episodes``), recording every
decision with a :class:`DecisionRecorder` hook.
"""

from __future__ import annotations

import json
import math
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from agent.episodes import EpisodeRules, Episodes
from agent.files import FileRefused, atomic_write_with, open_regular, parse_json
from envs.checks import MAX_FRAME_SKIP, MAX_VIEW_RADIUS, SettingError, check_int
from envs.gym.episodes import LevelSpec, resolve_levels
from envs.levels.level import Level
from envs.sim.constants import RUNNING
from envs.sim.world import LevelBank, World

__all__ = [
    "DEMO_FORMAT",
    "DecisionRecorder",
    "DemoError",
    "DemoRecorder",
    "Demos",
    "episode_worlds",
    "load_demos",
    "play_rules",
    "record_agent_demos",
    "record_solver_demos",
    "save_demos",
]

DEMO_FORMAT = "mario-neat-lab/demos"
DEMO_VERSION = 1
REQUIRED = ("obs", "actions", "episode_starts", "level_names", "metadata")
#: A demo file larger than this is refused unread (a million solver steps compress to ~10 MB).
MAX_DEMO_FILE_BYTES = 1 << 30
#: Its arrays together, uncompressed, at most this (13 x 13 int8 grids: 12 million steps).
MAX_DEMO_ARRAY_BYTES = 2 << 30


class DemoError(ValueError):
    """A demonstration file or dataset that cannot be used; the message is one line."""


@dataclass
class Demos:
    """A set of demonstration episodes, concatenated along time (see the module doc)."""

    obs: np.ndarray  # (T, S, S) int8 or float32
    actions: np.ndarray  # (T, 6) uint8
    episode_starts: np.ndarray  # (T,) bool
    level_names: list[str]  # one per episode
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_arrays(
            self.obs, self.actions, self.episode_starts, np.asarray(self.level_names), "demos"
        )
        self.level_names = [str(x) for x in self.level_names]

    def __len__(self) -> int:
        return int(self.actions.shape[0])

    @property
    def num_episodes(self) -> int:
        return int(self.episode_starts.sum())

    @property
    def view_radius(self) -> int:
        return (self.obs.shape[1] - 1) // 2

    @property
    def frame_skip(self) -> int:
        return int(self.metadata.get("frame_skip", 5))

    def episode_bounds(self) -> list[tuple[int, int]]:
        """``(begin, end)`` index pairs of the episodes, in order."""
        starts = np.flatnonzero(self.episode_starts).tolist()
        return list(zip(starts, [*starts[1:], len(self)], strict=True))

    def episodes(self) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """``(level_name, obs, actions)`` of each episode."""
        for name, (a, b) in zip(self.level_names, self.episode_bounds(), strict=True):
            yield name, self.obs[a:b], self.actions[a:b]

    def obs_float(self) -> np.ndarray:
        return self.obs.astype(np.float32, copy=False)

    @staticmethod
    def empty(view_radius: int = 6, metadata: dict[str, Any] | None = None) -> Demos:
        s = 2 * view_radius + 1
        return Demos(
            np.zeros((0, s, s), np.int8),
            np.zeros((0, 6), np.uint8),
            np.zeros(0, np.bool_),
            [],
            {"view_radius": view_radius, **(metadata or {})},
        )

    @staticmethod
    def from_episodes(
        episodes: Sequence[tuple[str, np.ndarray, np.ndarray]],
        metadata: dict[str, Any] | None = None,
        view_radius: int | None = None,
    ) -> Demos:
        """Demos from ``(level_name, obs (t, S, S), actions (t, 6))`` episodes (empty ones are
        dropped)."""
        episodes = [e for e in episodes if len(e[2]) > 0]
        if not episodes:
            return Demos.empty(6 if view_radius is None else view_radius, metadata)
        obs = np.concatenate([np.asarray(e[1]) for e in episodes]).astype(np.float32)
        if np.all(np.isin(obs, (-1.0, 0.0, 1.0))):
            obs = obs.astype(np.int8)
        actions = np.concatenate([np.asarray(e[2], dtype=np.uint8) for e in episodes])
        starts = np.zeros(len(actions), np.bool_)
        starts[np.cumsum([0] + [len(e[2]) for e in episodes[:-1]])] = True
        meta = {"view_radius": (obs.shape[1] - 1) // 2, **(metadata or {})}
        return Demos(obs, actions, starts, [e[0] for e in episodes], meta)

    def concat(self, other: Demos) -> Demos:
        """Both sets of episodes (metadata of ``self``; observation sizes must agree)."""
        if len(other) == 0:
            return self
        if len(self) == 0:
            return Demos(
                other.obs, other.actions, other.episode_starts, other.level_names, self.metadata
            )
        if self.obs.shape[1:] != other.obs.shape[1:]:
            raise DemoError(
                f"cannot join demos of {self.obs.shape[1:]} and {other.obs.shape[1:]} tiles"
            )
        dtype = np.int8 if self.obs.dtype == other.obs.dtype == np.int8 else np.float32
        return Demos(
            np.concatenate([self.obs.astype(dtype), other.obs.astype(dtype)]),
            np.concatenate([self.actions, other.actions]),
            np.concatenate([self.episode_starts, other.episode_starts]),
            self.level_names + other.level_names,
            self.metadata,
        )


# --------------------------------------------------------------------------------------------
# Validation, saving and loading
# --------------------------------------------------------------------------------------------


def _check_arrays(
    obs: np.ndarray,
    actions: np.ndarray,
    starts: np.ndarray,
    level_names: np.ndarray,
    where: str,
) -> None:
    def bad(message: str) -> DemoError:
        return DemoError(f"{where}: {message}")

    if obs.ndim != 3 or obs.shape[1] != obs.shape[2] or obs.shape[1] % 2 == 0:
        raise bad(f"obs must be (T, S, S) with S odd (2 * view_radius + 1), got {obs.shape}")
    if obs.dtype not in (np.int8, np.float32):
        raise bad(f"obs must be int8 or float32, got {obs.dtype}")
    t = obs.shape[0]
    if actions.shape != (t, 6):
        raise bad(f"actions must be (T, 6) = ({t}, 6) to match obs, got {actions.shape}")
    if actions.dtype != np.uint8:
        raise bad(f"actions must be uint8 (0/1 buttons), got {actions.dtype}")
    if starts.shape != (t,):
        raise bad(f"episode_starts must be (T,) = ({t},), got {starts.shape}")
    if starts.dtype != np.bool_:
        raise bad(f"episode_starts must be bool, got {starts.dtype}")
    if t and not starts[0]:
        raise bad("episode_starts[0] must be True (the first row starts an episode)")
    if t and actions.max() > 1:
        raise bad("actions must be 0 or 1")
    if t and (np.nanmax(np.abs(obs.astype(np.float32))) > 1 or np.isnan(obs).any()):
        raise bad("obs values must lie in [-1, 1]")
    if level_names.ndim != 1 or level_names.shape[0] != int(starts.sum()):
        raise bad(
            f"level_names must hold one name per episode ({int(starts.sum())}), "
            f"got shape {level_names.shape}"
        )


def save_demos(path: str | Path, demos: Demos) -> Path:
    """Write ``demos`` to ``path`` (``.npz``, atomically); returns the path."""
    path = Path(path)
    if path.suffix != ".npz":
        raise DemoError(f"{path}: demo files end in .npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        **demos.metadata,
        "format": DEMO_FORMAT,
        "version": DEMO_VERSION,
        "view_radius": demos.view_radius,
        "frame_skip": demos.frame_skip,
        "steps": len(demos),
        "episodes": demos.num_episodes,
    }
    arrays = {
        "obs": demos.obs,
        "actions": demos.actions,
        "episode_starts": demos.episode_starts,
        "level_names": np.asarray(demos.level_names, dtype=np.str_).reshape(-1),
        "metadata": np.asarray(json.dumps(meta)),
    }
    atomic_write_with(path, lambda f: np.savez_compressed(f, **arrays))
    return path


def load_demos(path: str | Path) -> Demos:
    """Read and validate a demo file; any problem raises ``DemoError`` naming the file.

    Bounded: only a regular file of at most ``MAX_DEMO_FILE_BYTES``, each array's header
    (shape and dtype) checked against the bytes the archive holds for it, and all arrays
    together at most ``MAX_DEMO_ARRAY_BYTES``, before any array is read."""
    path = Path(path)
    if not path.exists():
        raise DemoError(f"{path}: no such demo file")
    try:
        f = open_regular(path, MAX_DEMO_FILE_BYTES, "demo file")
    except FileRefused as exc:
        raise DemoError(str(exc)) from None
    except OSError as exc:
        raise DemoError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        with f:
            arrays = _read_arrays(f, path)
    except DemoError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        msg = " ".join(str(exc).split()) or type(exc).__name__
        raise DemoError(f"{path}: unreadable or truncated demo file ({msg})") from None
    meta_arr = arrays["metadata"]
    if meta_arr.shape != () or meta_arr.dtype.kind != "U":
        raise DemoError(f"{path}: metadata must be a JSON string")
    try:
        meta = parse_json(str(meta_arr))
    except ValueError as exc:
        raise DemoError(f"{path}: metadata is not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != DEMO_FORMAT:
        raise DemoError(f"{path}: metadata format is not {DEMO_FORMAT!r}")
    if meta.get("version") != DEMO_VERSION:
        raise DemoError(f"{path}: unsupported demo version {meta.get('version')!r:.40}")
    try:
        check_int("frame_skip", meta.get("frame_skip", 5), 1, MAX_FRAME_SKIP)
        check_int("view_radius", meta.get("view_radius", 1), 1, MAX_VIEW_RADIUS)
    except SettingError as exc:
        raise DemoError(f"{path}: metadata {exc}") from None
    names = arrays["level_names"]
    if names.dtype.kind != "U":
        raise DemoError(f"{path}: level_names must be strings, got {names.dtype}")
    _check_arrays(arrays["obs"], arrays["actions"], arrays["episode_starts"], names, str(path))
    radius = (arrays["obs"].shape[1] - 1) // 2
    if meta.get("view_radius", radius) != radius:
        raise DemoError(
            f"{path}: metadata says view_radius {meta.get('view_radius')}, obs are "
            f"{arrays['obs'].shape[1]}x{arrays['obs'].shape[1]} (view_radius {radius})"
        )
    return Demos(arrays["obs"], arrays["actions"], arrays["episode_starts"], names.tolist(), meta)


def _read_arrays(f: BinaryIO, path: Path) -> dict[str, np.ndarray]:
    """The arrays of an open demo file, each checked by its header first (``_array_bytes``)."""
    head = f.read(6)
    f.seek(0)
    if head.startswith(b"\x93NUMPY"):
        raise DemoError(f"{path}: not a demo file (a single .npy array, not an .npz archive)")
    with zipfile.ZipFile(f) as archive:
        names = {info.filename: info for info in archive.infolist()}
        missing = [k for k in REQUIRED if f"{k}.npy" not in names]
        if missing:
            raise DemoError(
                f"{path}: not a demo file, missing array(s) {', '.join(missing)} "
                f"(need {', '.join(REQUIRED)})"
            )
        total = 0
        for key in REQUIRED:
            total += _array_bytes(archive, names[f"{key}.npy"], key, path)
            if total > MAX_DEMO_ARRAY_BYTES:
                raise DemoError(
                    f"{path}: the arrays hold more than {MAX_DEMO_ARRAY_BYTES:,} bytes "
                    f"uncompressed (at {key})"
                )
    f.seek(0)
    with np.load(f, allow_pickle=False) as data:
        return {k: data[k] for k in REQUIRED}


def _array_bytes(archive: zipfile.ZipFile, info: zipfile.ZipInfo, key: str, path: Path) -> int:
    """The bytes array ``key`` will take, from its ``.npy`` header, which must describe exactly
    the data the archive holds for it (a header claiming a huge shape is refused unread)."""
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, _fortran, dtype = read_header(member)
        header = member.tell()
    if dtype.hasobject:
        raise DemoError(f"{path}: array {key} holds Python objects (not loaded: no pickles)")
    claimed = math.prod(shape) * dtype.itemsize
    held = info.file_size - header
    if claimed != held:
        raise DemoError(
            f"{path}: array {key}'s header claims shape {shape} of {dtype} ({claimed:,} "
            f"bytes), the file holds {held:,} bytes for it"
        )
    return info.file_size


# --------------------------------------------------------------------------------------------
# Recording
# --------------------------------------------------------------------------------------------


class DemoRecorder:
    """Collects one step at a time (e.g. from ``play.py --record-demo FILE``) and saves."""

    def __init__(
        self,
        view_radius: int = 6,
        frame_skip: int = 5,
        source: str = "human",
        metadata: dict[str, Any] | None = None,
    ):
        self.view_radius = view_radius
        self.frame_skip = frame_skip
        self.source = source
        self.metadata = dict(metadata or {})
        self._obs: list[np.ndarray] = []
        self._actions: list[np.ndarray] = []
        self._starts: list[bool] = []
        self._levels: list[str] = []

    def __len__(self) -> int:
        return len(self._actions)

    def add(
        self,
        obs: np.ndarray,
        buttons: np.ndarray | Sequence[int],
        episode_start: bool,
        level_name: str = "",
    ) -> None:
        """One step: the (S, S) grid seen and the 6 buttons then held; ``episode_start`` marks
        the first step of an episode (the first step recorded always starts one)."""
        s = 2 * self.view_radius + 1
        grid = np.asarray(obs, dtype=np.float32)
        if grid.shape != (s, s):
            raise DemoError(f"DemoRecorder: obs must be ({s}, {s}), got {grid.shape}")
        b = np.asarray(buttons).reshape(-1)
        if b.shape != (6,):
            raise DemoError(f"DemoRecorder: buttons must be 6 values, got shape {b.shape}")
        start = bool(episode_start) or not self._starts
        if start:
            self._levels.append(str(level_name))
        self._obs.append(grid.copy())
        self._actions.append((b != 0).astype(np.uint8))
        self._starts.append(start)

    def demos(self) -> Demos:
        s = 2 * self.view_radius + 1
        if not self._actions:
            obs = np.zeros((0, s, s), np.float32)
        else:
            obs = np.stack(self._obs)
        if np.all(np.isin(obs, (-1.0, 0.0, 1.0))):
            obs = obs.astype(np.int8)
        return Demos(
            obs,
            np.array(self._actions, dtype=np.uint8).reshape(-1, 6),
            np.array(self._starts, dtype=np.bool_),
            list(self._levels),
            {
                **self.metadata,
                "source": self.source,
                "view_radius": self.view_radius,
                "frame_skip": self.frame_skip,
            },
        )

    def save(self, path: str | Path) -> Path:
        return save_demos(path, self.demos())


class DecisionRecorder:
    """Records, per world, the grids seen and the buttons chosen at every decision it made while
    its episode was running: an ``on_decision`` hook of ``agent.episodes.Episodes`` (the buttons
    may also be labels, as DAgger's expert gives)."""

    def __init__(self, worlds: Any) -> None:
        self.worlds = worlds
        self.obs: list[list[np.ndarray]] = [[] for _ in range(worlds.n)]
        self.buttons: list[list[np.ndarray]] = [[] for _ in range(worlds.n)]

    def __call__(self, rows: np.ndarray, obs: np.ndarray, buttons: np.ndarray) -> None:
        # Called before the worlds step: status says which rows decide within their episode.
        live = self.worlds.status()[rows] == RUNNING
        for k in np.flatnonzero(live):
            self.obs[rows[k]].append(obs[k].copy())
            self.buttons[rows[k]].append(np.asarray(buttons[k], dtype=np.uint8).copy())

    def episode(self, i: int, view_radius: int) -> tuple[np.ndarray, np.ndarray]:
        """World ``i``'s (t, S, S) grids and (t, 6) buttons."""
        s = 2 * view_radius + 1
        if not self.obs[i]:
            return np.zeros((0, s, s), np.float32), np.zeros((0, 6), np.uint8)
        return np.stack(self.obs[i]), np.stack(self.buttons[i])


def episode_worlds(levels: Sequence[Level], slots: Sequence[int] | np.ndarray) -> World:
    """A batch of worlds at the start of their levels: world ``i`` plays ``levels[slots[i]]``."""
    world = World(LevelBank(list(levels)), len(slots))
    world.reset(np.asarray(slots, dtype=np.int32))
    return world


def play_rules(frame_skip: int, no_progress_frames: int | None, max_steps: int) -> EpisodeRules:
    """The episode rules of recorded, DAgger and evaluation play: the Gymnasium envs' fixed
    no-progress limit and a cap of ``max_steps`` decisions."""
    return EpisodeRules(timeout_frames=no_progress_frames, max_frames=max_steps * frame_skip)


def _play(
    agent: Any, level: Level, n: int, rules: EpisodeRules, view_radius: int
) -> list[tuple[np.ndarray, np.ndarray, bool, float]]:
    """``n`` episodes of ``agent`` on ``level`` in one batch of worlds; per episode: obs,
    actions, completed, progress."""
    world = episode_worlds([level], np.zeros(n, np.int32))
    recorder = DecisionRecorder(world)
    Episodes(world, agent, rules=rules, on_decision=recorder).run()
    return [
        (*recorder.episode(i, view_radius), rec["completed"], rec["progress"])
        for i, rec in enumerate(world.records())
    ]


def record_agent_demos(
    agent: Any,
    levels: LevelSpec | Sequence[LevelSpec],
    episodes: int = 1,
    *,
    only_completed: bool = False,
    no_progress_frames: int | None = 300,
    max_steps: int = 20_000,
    source: str | None = None,
) -> Demos:
    """``episodes`` episodes per level played by ``agent`` (any ``agent.base.Agent``).

    The agent's ``view_radius`` and ``frame_skip`` are used for the env. With ``only_completed``
    only the episodes that reach the flag are kept.
    """
    lv = resolve_levels(levels) or []
    view_radius = int(getattr(agent, "view_radius", 6))
    frame_skip = int(getattr(agent, "frame_skip", 5))
    kept: list[tuple[str, np.ndarray, np.ndarray]] = []
    done_flags: list[bool] = []
    for level in lv:
        rules = play_rules(frame_skip, no_progress_frames, max_steps)
        for obs, act, completed, _ in _play(agent, level, episodes, rules, view_radius):
            if only_completed and not completed:
                continue
            kept.append((level.name, obs, act))
            done_flags.append(completed)
    name = source or f"agent:{getattr(agent, 'name', type(agent).__name__)}"
    meta = {"source": name, "frame_skip": frame_skip, "completed": done_flags}
    return Demos.from_episodes(kept, meta, view_radius)


def record_solver_demos(
    levels: LevelSpec | Sequence[LevelSpec],
    *,
    view_radius: int = 6,
    frame_skip: int = 5,
    solver_config: Any = None,
) -> Demos:
    """The solver's plan for each level, played in the env and recorded (one episode a level).

    The solver is deterministic and open-loop, so more episodes per level would repeat the same
    one; behaviour cloning gets its variety from DAgger instead (``agent.rnn.bc``).
    """
    from envs.solver import SolverAgent, SolverConfig

    cfg = solver_config or SolverConfig(frame_skip=frame_skip)
    lv = resolve_levels(levels) or []
    kept: list[tuple[str, np.ndarray, np.ndarray]] = []
    flags = []
    for level in lv:
        agent = SolverAgent([level], cfg)
        agent.view_radius = view_radius  # type: ignore[attr-defined]
        agent.frame_skip = cfg.frame_skip
        plan_len = agent.solution(0).actions.shape[0]
        rules = play_rules(cfg.frame_skip, None, plan_len + 1)
        ((obs, act, completed, _),) = _play(agent, level, 1, rules, view_radius)
        kept.append((level.name, obs, act))
        flags.append(completed)
    meta = {"source": "solver", "frame_skip": cfg.frame_skip, "completed": flags}
    return Demos.from_episodes(kept, meta, view_radius)
