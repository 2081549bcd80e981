"""Behaviour cloning with BPTT (as in MariFlow), plus DAgger with the solver as the expert.

Training (``train_bc``)
-----------------------
1. **Data.** Demonstrations (``agent.rnn.demos``): a file, a ``Demos`` object, or, by default, the
   solver's run of every training level (``record_solver_demos``).
2. **Sequence training, truncated BPTT.** Each epoch shuffles the episodes, lays them end to end
   and cuts the result into ``batch_windows`` parallel streams. The streams are walked in
   windows of ``window`` steps: one minibatch = one window of every stream, i.e.
   ``batch_windows`` whole windows. The recurrent state is carried (detached) from one window
   to the next, and zeroed exactly where an episode starts (``episode_starts`` is the done mask
   of ``RecurrentPolicy.forward``), so gradients flow back at most ``window`` steps but the
   state the model sees is the one it would have at play time. A stream that begins inside an
   episode starts from a zero state (one window per stream and epoch; the cut points move every
   epoch). Loss: binary cross-entropy on the 6 buttons, padding masked out.
3. **DAgger** (Ross et al., 2011), ``dagger_iters`` times: the student drives ``dagger_episodes``
   episodes per level (the first one purely the student's, the others mixing in the expert's
   buttons with probability ``beta``, decayed per iteration); the expert labels every state
   the student reaches; the labelled episodes join the dataset; training resumes on it all.

The expert from an arbitrary state
----------------------------------
``envs.solver.solve`` plans from a level's *start*. The student's states are elsewhere, so the
expert calls ``envs.solver.solve_from``, the same weighted A* rooted at a clone of the student's
world: that world's exact state (enemies, used blocks, timer included). The label of a state
is the first step of that plan.
:class:`SolverExpert` keeps the plan while the student follows it: after labelling, it
simulates the labelled step from a clone and remembers the resulting state; if the student's
next state is bit-identical (it pressed buttons with the same effect), the plan's next step is
still an optimal-as-planned continuation and is used without searching again. Any difference
triggers a new search. Labels are therefore exactly "what the solver would do from here", up
to the solver's own limits: a budget of ``label_expansions`` expanded nodes per search (when
it runs out, the first step towards the best partial path is used), and in a doomed state
(every branch dies) the label is "no buttons".

Run directory: ``run.json``, ``metrics.jsonl`` (one line per epoch; evaluation fields every
``eval_every`` epochs and at the end of each round), ``model.pt`` + ``model.json`` (rewritten at
the end of each round), ``dataset.npz`` (the aggregated dataset, in the demo format).
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from agent.files import atomic_write_text, atomic_write_with
from agent.rnn.demos import DemoError, Demos, load_demos, record_solver_demos, save_demos
from agent.rnn.model import (
    ModelConfig,
    RecurrentPolicy,
    State,
    resolve_device,
    save_model,
    torch_threads,
)
from agent.rnn.ppo import (
    CHECKPOINT_FILE,
    METRICS_FILE,
    RUN_FILE,
    TrainError,
    _append_metrics,
    _write_metrics,
    check_fresh_out,
    load_checkpoint,
    load_settings,
    resume_settings,
    settings_from_dict,
    training_levels,
)
from envs.levels.level import Level
from envs.sim.world import World
from envs.solver import SolverConfig, solve_from

__all__ = [
    "DATASET_FILE",
    "BCConfig",
    "BCResult",
    "SolverExpert",
    "bc_update",
    "evaluate_policy",
    "load_bc_config",
    "stream_windows",
    "window_batches",
    "train_bc",
]

DATASET_FILE = "dataset.npz"
BC_CHECKPOINT_FORMAT = "mario-neat-lab/bc-checkpoint"
DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "bc.json"


@dataclass
class BCConfig:
    """Behaviour-cloning and DAgger settings."""

    window: int = 32  # BPTT window (time steps per sequence in a minibatch)
    batch_windows: int = 16  # windows per minibatch (parallel streams)
    lr: float = 1e-3
    weight_decay: float = 0.0
    updates: int = 600  # gradient steps per round (round 0: the demos; then per DAgger iter)
    max_grad_norm: float = 1.0
    dagger_iters: int = 4
    dagger_episodes: int = 2  # student episodes per level per DAgger iteration
    beta: float = 0.5  # chance the expert's buttons are played (not the first episode)
    beta_decay: float = 0.5  # beta of DAgger iteration k: beta * beta_decay ** (k - 1)
    sample: bool = False  # the student samples its buttons (else presses those above 0.5)
    label_expansions: int = 20_000  # solver budget per expert label search
    eval_every: int = 100  # gradient steps per metrics line and evaluation
    frame_skip: int = 5
    no_progress_frames: int | None = 300
    max_steps: int = 3000  # cap on a DAgger/evaluation episode's steps

    def __post_init__(self) -> None:
        for name in ("window", "batch_windows", "updates", "dagger_episodes", "eval_every"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise TrainError(f"BCConfig.{name} must be a positive integer, got {v!r}")
        if self.dagger_iters < 0 or self.label_expansions < 1 or self.lr <= 0:
            raise TrainError("BCConfig: dagger_iters >= 0, label_expansions >= 1, lr > 0")
        if not 0.0 <= self.beta <= 1.0:
            raise TrainError(f"BCConfig.beta must be within [0, 1], got {self.beta}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "bc settings") -> BCConfig:
        return settings_from_dict(cls, d, source, "BC")


def load_bc_config(path: str | Path | None = None) -> tuple[ModelConfig, BCConfig]:
    """The ``{"model": {...}, "bc": {...}}`` settings file (default ``configs/bc.json``)."""
    return load_settings(DEFAULT_CONFIG if path is None else path, "bc", BCConfig)


# --------------------------------------------------------------------------------------------
# The expert: the solver's search from any world state
# --------------------------------------------------------------------------------------------


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
        """The (len(rows), 6) expert buttons for worlds ``rows`` of ``world`` (not stepped)."""
        rows = [int(i) for i in rows]
        out = np.zeros((len(rows), 6), dtype=np.uint8)
        for k, i in enumerate(rows):
            plan = self._plans[i]
            if not self._on_plan(world, i) or plan is None or self._cursor[i] >= len(plan):
                t0 = time.perf_counter()
                plan = solve_from(world.take([i]), self.config).actions
                self.seconds += time.perf_counter() - t0
                self.searches += 1
                self._plans[i], self._cursor[i] = plan, 0
            c = self._cursor[i]
            if c < len(plan):
                out[k] = plan[c]
            sim = world.take([i])
            sim.step(out[k : k + 1], self.config.frame_skip)
            self._expected[i] = (sim.P[0].copy(), sim.E[0].copy(), sim.D[0].copy())
            self._cursor[i] = c + 1
            self.labels += 1
        return out


# --------------------------------------------------------------------------------------------
# Sequence training
# --------------------------------------------------------------------------------------------


def stream_windows(
    lengths: Sequence[int], order: Sequence[int], streams: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lay episodes (``lengths``, visited in ``order``) end to end in ``streams`` rows.

    Returns ``(index, starts, valid)``, each (L, streams), time-major: ``index`` points into the
    concatenated dataset (episodes in their stored order), ``starts`` is the done mask (True at
    every episode start and at the first step of each stream), ``valid`` marks real (unpadded)
    entries.
    """
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    idx = np.concatenate([offsets[e] + np.arange(lengths[e]) for e in order]).astype(np.int64)
    first = np.zeros(len(idx), np.bool_)
    pos = 0
    for e in order:
        first[pos] = True
        pos += lengths[e]
    total = len(idx)
    streams = max(1, min(streams, total))
    L = math.ceil(total / streams)
    pad = streams * L - total
    idx = np.concatenate([idx, np.zeros(pad, np.int64)])
    valid = np.concatenate([np.ones(total, np.bool_), np.zeros(pad, np.bool_)])
    first = np.concatenate([first, np.ones(pad, np.bool_)])
    idx, valid, first = (a.reshape(streams, L).T.copy() for a in (idx, valid, first))
    first[0] = True
    return idx, first, valid


def window_batches(
    lengths: Sequence[int], cfg: BCConfig, rng: np.random.Generator
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, bool]]:
    """Endless minibatches ``(index, starts, valid, new_epoch)``, each (<= window, streams).

    Every epoch reshuffles the episodes into new streams (``stream_windows``); ``new_epoch``
    flags the first window of an epoch, where the carried recurrent state must be reset.
    """
    while True:
        idx, starts, valid = stream_windows(
            lengths, rng.permutation(len(lengths)), cfg.batch_windows
        )
        for w in range(0, idx.shape[0], cfg.window):
            sl = slice(w, w + cfg.window)
            yield idx[sl], starts[sl], valid[sl], w == 0


def bc_update(
    model: RecurrentPolicy,
    opt: torch.optim.Optimizer,
    obs: torch.Tensor,
    actions: torch.Tensor,
    batch: tuple[np.ndarray, np.ndarray, np.ndarray, bool],
    state: State | None,
    cfg: BCConfig,
) -> tuple[dict[str, float], State]:
    """One gradient step of truncated BPTT on one minibatch of windows.

    ``obs`` (T, S, S) and ``actions`` (T, 6) are the whole dataset on the model's device;
    ``state`` is the (detached) state carried from the previous window of the same streams, or
    None at the start of an epoch. Returns the window's loss and accuracies and the new state.
    """
    idx, starts, valid, new_epoch = batch
    device = obs.device
    idx_t = torch.as_tensor(idx, device=device)
    v = torch.as_tensor(valid, dtype=torch.float32, device=device)
    if state is None or new_epoch:
        state = model.initial_state(idx.shape[1], device)
    model.train()
    y = actions[idx_t]
    logits, _, state = model(obs[idx_t], state, torch.as_tensor(starts, device=device))
    per = F.binary_cross_entropy_with_logits(logits, y, reduction="none").mean(-1)
    n = v.sum().clamp(min=1.0)
    loss = (per * v).sum() / n
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
    opt.step()
    with torch.no_grad():
        right = ((logits > 0).float() == y).float()
        stats = {
            "loss": loss.item(),
            "accuracy": float((right.prod(-1) * v).sum() / n),
            "button_accuracy": float((right.mean(-1) * v).sum() / n),
            "steps": float(n),
        }
    return stats, tuple(x.detach() for x in state)


# --------------------------------------------------------------------------------------------
# Student play: evaluation and DAgger rollouts
# --------------------------------------------------------------------------------------------


def _env(levels: list[Level], n_per_level: int, frame_skip: int, radius: int, npf: int | None):
    from envs.gym.vector import PlatformerVectorEnv

    n = n_per_level * len(levels)
    env = PlatformerVectorEnv(
        n, levels, frame_skip=frame_skip, view_radius=radius, no_progress_frames=npf
    )
    env.reset(seed=0)
    level_of = np.repeat(np.arange(len(levels)), n_per_level)
    for k, level in enumerate(levels):
        obs, _ = env.reset(options={"reset_mask": level_of == k, "level": level})
    return env, obs, level_of


def _student_play(
    model: RecurrentPolicy,
    levels: list[Level],
    n_per_level: int,
    cfg: BCConfig,
    device: torch.device,
    *,
    expert: SolverExpert | None = None,
    beta: float = 0.0,
    rng: np.random.Generator | None = None,
    sample: bool = False,
    gen: torch.Generator | None = None,
) -> dict[str, Any]:
    """Every world plays one episode (world j: level j // n_per_level). With ``expert``, each
    visited state is labelled; worlds with j % n_per_level > 0 play the expert's buttons with
    probability ``beta``."""
    radius = model.config.view_radius
    env, obs, level_of = _env(levels, n_per_level, cfg.frame_skip, radius, cfg.no_progress_frames)
    n = len(level_of)
    running = np.ones(n, np.bool_)
    length = np.zeros(n, np.int64)
    completed = np.zeros(n, np.bool_)
    progress = np.zeros(n)
    obs_log, label_log = [], []
    mix = (np.arange(n) % n_per_level > 0) & (beta > 0)
    if expert is not None:
        expert.reset(n)
    state = model.initial_state(n, device)
    model.eval()
    with torch.no_grad():
        for _ in range(cfg.max_steps):
            logits, _, state = model.step(torch.as_tensor(obs, device=device), state)
            probs = torch.sigmoid(logits)
            if sample:
                act = torch.bernoulli(probs, generator=gen)
            else:
                act = (probs > 0.5).float()
            act_np = act.to(torch.uint8).cpu().numpy()
            if expert is not None:
                live = np.flatnonzero(running)
                labels = np.zeros((n, 6), np.uint8)
                labels[live] = expert.label(env.world, live)
                obs_log.append(obs.copy())
                label_log.append(labels)
                if rng is not None and mix.any():
                    use = mix & (rng.random(n) < beta)
                    act_np[use] = labels[use]
            length += running
            obs, _, term, trunc, info = env.step(act_np)
            ended = running & (term | trunc)
            completed[ended] = info["completed"][ended]
            progress[ended] = info["progress"][ended]
            running &= ~ended
            if not running.any():
                break
    if running.any():
        progress[running] = env.batch.infos()["progress"][running]
    env.close()
    result: dict[str, Any] = {
        "completed": completed,
        "progress": progress,
        "frames": int(length.sum()) * cfg.frame_skip,
        "level_of": level_of,
    }
    if expert is not None:
        o, lab = np.stack(obs_log), np.stack(label_log)
        result["demos"] = Demos.from_episodes(
            [(levels[level_of[j]].name, o[: length[j], j], lab[: length[j], j]) for j in range(n)],
            {"source": "dagger", "frame_skip": cfg.frame_skip},
            radius,
        )
    return result


def evaluate_policy(
    model: RecurrentPolicy,
    levels: Sequence[Level],
    cfg: BCConfig | None = None,
    device: torch.device | str = "cpu",
) -> dict[str, Any]:
    """One greedy episode (buttons above 0.5) per level: completion, progress, frames played."""
    cfg = cfg or BCConfig()
    r = _student_play(model, list(levels), 1, cfg, torch.device(device))
    return {
        "completed": [bool(x) for x in r["completed"]],
        "progress": [float(x) for x in r["progress"]],
        "frames": r["frames"],
    }


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


@dataclass
class BCResult:
    out: Path
    metrics: list[dict[str, Any]]
    updates: int  # gradient steps
    epochs: int  # passes over the (growing) dataset
    dagger_iters: int
    dataset_steps: int
    env_frames: int  # demonstrations + DAgger rollouts + evaluations, in game frames
    wall_seconds: float
    first_completion_frames: int | None  # env_frames when the student first completed a level
    first_completion_seconds: float | None
    completed: list[bool]  # the final student's greedy episode per training level
    model_dir: Path
    stopped_early: bool = False


def _as_demos(demos: Demos | str | Path | None, levels: list[Level], radius: int, fs: int):
    if demos is None:
        return record_solver_demos(levels, view_radius=radius, frame_skip=fs), "solver"
    if isinstance(demos, Demos):
        d, source = demos, "object"
    else:
        d, source = load_demos(demos), str(demos)
    if d.view_radius != radius:
        s = 2 * radius + 1
        raise DemoError(
            f"{source}: demos of {d.obs.shape[1]}x{d.obs.shape[1]} tiles, the model sees {s}x{s} "
            f"(view_radius {radius})"
        )
    if len(d) == 0:
        raise DemoError(f"{source}: no demonstration steps")
    if d.frame_skip != fs:
        raise DemoError(f"{source}: recorded with frame_skip {d.frame_skip}, training uses {fs}")
    return d, source


def _resumed_dataset(out: Path, ckpt: dict[str, Any]) -> Demos:
    """The dataset as it was at the checkpoint. Rounds only append episodes, so it is the first
    ``dataset_steps`` steps of ``dataset.npz`` even when a later round saved more."""
    try:
        t = json.loads(ckpt["trainer"])
        steps, episodes = int(t["dataset_steps"]), int(t["dataset_episodes"])
    except (KeyError, TypeError, ValueError):
        raise TrainError(f"{out / CHECKPOINT_FILE}: not a BC checkpoint") from None
    d = load_demos(out / DATASET_FILE)
    if len(d) < steps or int(d.episode_starts[:steps].sum()) != episodes:
        raise TrainError(
            f"{out / DATASET_FILE}: holds {len(d)} steps in {d.num_episodes} episodes, which do "
            f"not begin with the checkpoint's {steps} steps in {episodes} episodes"
        )
    return Demos(
        d.obs[:steps], d.actions[:steps], d.episode_starts[:steps], d.level_names[:episodes],
        d.metadata,
    )  # fmt: skip


def train_bc(
    model_config: ModelConfig | None = None,
    bc_config: BCConfig | None = None,
    levels: Sequence[str | Path | Level] | None = None,
    demos: Demos | str | Path | None = None,
    dagger_iters: int | None = None,
    seed: int = 0,
    out_dir: str | Path | None = None,
    device: str | torch.device = "auto",
    *,
    generated: int | None = None,
    difficulty: float = 0.3,
    length: int = 150,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    callback: Callable[[dict[str, Any]], bool | None] | None = None,
    threads: int | None = 1,
    resume: str | Path | None = None,
) -> BCResult:
    """Behaviour cloning from ``demos`` (None: the solver's run of each level), then DAgger.

    ``levels`` (default ``["1-1"]`` unless ``generated``) are where DAgger's student plays and
    is evaluated. ``dagger_iters`` overrides ``bc_config.dagger_iters``. ``callback(metrics)``
    after every metrics line; True stops the run (the model is saved). ``threads``: torch CPU
    threads while training (see ``agent.rnn.model.torch_threads``).

    ``resume`` = a run directory continues that run from its last finished round (a checkpoint
    is written after the demonstrations are in and after every round): the run's own settings
    are used, as for PPO, except ``dagger_iters`` (more rounds may be added), ``device`` and
    ``progress``. With the same seed, a resumed run ends where an uninterrupted one does.
    """
    with torch_threads(threads):
        return _train_bc(
            model_config, bc_config, levels, demos, dagger_iters, seed, out_dir, device,
            generated, difficulty, length, progress, log, callback, resume,
        )  # fmt: skip


def _train_bc(
    model_config, bc_config, levels, demos, dagger_iters, seed, out_dir, device,
    generated, difficulty, length, progress, log, callback, resume,
) -> BCResult:  # fmt: skip
    dev = resolve_device(device)
    ckpt = None
    if resume is not None:
        if demos is not None:
            raise TrainError("demos cannot be given on resume: the run's dataset.npz holds them")
        given = {"levels": levels, "generated": generated, "seed": seed}
        out, run, mcfg, cfg = resume_settings(
            resume, out_dir, "bc", BCConfig, model_config, None, given
        )
        if bc_config is not None:  # of the BC settings, only the number of rounds may change
            if dataclasses.replace(bc_config, dagger_iters=cfg.dagger_iters) != cfg:
                raise TrainError(
                    f"{out}: the run was trained with other bc settings; they cannot change "
                    "on resume (start a new run instead)"
                )
            dagger_iters = bc_config.dagger_iters if dagger_iters is None else dagger_iters
        # Level objects given on resume stand in for their names (levels made in memory)
        specs, generated, difficulty, length, seed = (
            list(levels) if levels is not None else list(run["levels"]),
            run["generated"],
            run["difficulty"],
            run["length"],
            run["seed"],
        )
        ckpt = load_checkpoint(out)
    else:
        mcfg = model_config or ModelConfig()
        cfg = bc_config or BCConfig()
        seed = 0 if seed is None else seed
        out = (
            Path(out_dir)
            if out_dir is not None
            else Path("runs") / time.strftime("bc-%Y%m%d-%H%M%S")
        )
        specs = list(levels) if levels is not None else []
        if not specs and not generated:
            specs = ["1-1"]
        check_fresh_out(out, (RUN_FILE, METRICS_FILE, "model.pt", DATASET_FILE, CHECKPOINT_FILE))
    if dagger_iters is not None:
        if dagger_iters < 0:
            raise TrainError(f"dagger_iters must be >= 0, got {dagger_iters}")
        cfg = dataclasses.replace(cfg, dagger_iters=dagger_iters)
    if seed < 0:
        raise TrainError(f"seed must be >= 0, got {seed}")
    level_objs = training_levels(specs, generated, difficulty, length, seed)
    names = [x.name if isinstance(x, Level) else str(x) for x in specs]
    t0 = time.perf_counter()
    if ckpt is not None:
        data, source = _resumed_dataset(out, ckpt), run["demos"]
    else:
        data, source = _as_demos(demos, level_objs, mcfg.view_radius, cfg.frame_skip)

    run = {
        "algo": "bc",
        "model": mcfg.to_dict(),
        "bc": cfg.to_dict(),
        "levels": names,
        "generated": generated,
        "difficulty": difficulty,
        "length": length,
        "seed": seed,
        "demos": source,
    }
    rng = np.random.default_rng(seed)
    gen = torch.Generator(device=dev).manual_seed(seed + 1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = RecurrentPolicy(mcfg)
        # PPO's small policy-head gain (0.01, for a maximum-entropy start) makes Adam push the
        # recurrent core into saturation before the head grows when cloning: start at gain 1.
        torch.nn.init.orthogonal_(model.policy_head.weight, 1.0)
        model.to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    expert = SolverExpert(
        SolverConfig(frame_skip=cfg.frame_skip, max_expansions=cfg.label_expansions)
    )

    demo_frames = len(data) * cfg.frame_skip
    counters = {"env_frames": demo_frames, "epoch": 0, "updates": 0}
    metrics: list[dict[str, Any]] = []
    first: dict[str, Any] = {}
    last_eval: dict[str, Any] = {"completed": [False] * len(level_objs)}
    stopped = False
    start_round, wall_before = 0, 0.0
    if ckpt is not None:
        try:
            if ckpt.get("format") != BC_CHECKPOINT_FORMAT:
                raise ValueError(f"not a BC checkpoint (format {ckpt.get('format')!r})")
            t = json.loads(ckpt["trainer"])
            model.load_state_dict(ckpt["model"])
            opt.load_state_dict(ckpt["optimizer"])
            if ckpt["device_type"] != dev.type:
                raise ValueError(f"the run was trained on {ckpt['device_type']}, resume it there")
            gen.set_state(ckpt["generator"])
            rng.bit_generator.state = t["rng"]
            counters, metrics, first, last_eval = (
                t["counters"],
                t["metrics"],
                t["first"],
                t["last_eval"],
            )
            demo_frames, wall_before = t["demo_frames"], t["wall_seconds"]
            expert.searches, expert.labels, expert.seconds = t["expert"]
            start_round = int(t["round"]) + 1
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise TrainError(
                f"{out / CHECKPOINT_FILE}: does not fit this run ({first_line})"
            ) from None
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / RUN_FILE, json.dumps(run, indent=2) + "\n")
    _write_metrics(out, metrics)  # on resume, drops lines written after the checkpoint

    def wall() -> float:
        return wall_before + time.perf_counter() - t0

    def save(round_: int) -> None:
        extra = {
            "trainer": "bc",
            "frame_skip": cfg.frame_skip,
            "levels": [lv.name for lv in level_objs],
            "round": round_,
            "updates": counters["updates"],
            "seed": seed,
        }
        save_model(out, model, mcfg, extra)
        save_demos(out / DATASET_FILE, data)

    def checkpoint(round_: int) -> None:
        """After ``save``: the state at the end of ``round_`` (-1: before the first round)."""
        state = {
            "round": round_,
            "counters": counters,
            "demo_frames": demo_frames,
            "metrics": metrics,
            "first": first,
            "last_eval": last_eval,
            "rng": rng.bit_generator.state,
            "expert": [expert.searches, expert.labels, expert.seconds],
            "dataset_steps": len(data),
            "dataset_episodes": data.num_episodes,
            "wall_seconds": wall(),
        }
        ck = {
            "format": BC_CHECKPOINT_FORMAT,
            "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "optimizer": opt.state_dict(),
            "generator": gen.get_state(),
            "device_type": dev.type,
            "trainer": json.dumps(state),
        }
        atomic_write_with(out / CHECKPOINT_FILE, lambda f: torch.save(ck, f))

    bar = None
    rounds = cfg.dagger_iters + 1
    if progress and log is None:
        from tqdm import tqdm

        bar = tqdm(
            total=rounds * cfg.updates,
            initial=min(start_round, rounds) * cfg.updates,
            desc="bc",
            unit="update",
            file=sys.stderr,
        )

    def emit(line: str) -> None:
        if not progress:
            return
        if log is not None:
            log(line)
        elif bar is not None:
            bar.write(line, file=sys.stdout)

    if ckpt is None:
        save(-1)
        checkpoint(-1)  # the starting state: a run stopped in its first round can resume
    try:
        for round_ in range(start_round, rounds):
            dagger: dict[str, Any] = {}
            if round_ > 0:
                beta = cfg.beta * cfg.beta_decay ** (round_ - 1)
                searches, secs = expert.searches, expert.seconds
                r = _student_play(
                    model,
                    level_objs,
                    cfg.dagger_episodes,
                    cfg,
                    dev,
                    expert=expert,
                    beta=beta,
                    rng=rng,
                    sample=cfg.sample,
                    gen=gen,
                )
                data = data.concat(r["demos"])
                counters["env_frames"] += r["frames"]
                dagger = {
                    "dagger_beta": beta,
                    "dagger_steps": len(r["demos"]),
                    "dagger_completion_rate": float(np.mean(r["completed"])),
                    "dagger_progress": float(np.mean(r["progress"])),
                    "expert_searches": expert.searches - searches,
                    "expert_seconds": round(expert.seconds - secs, 3),
                }
                if r["completed"][np.arange(len(r["completed"])) % cfg.dagger_episodes == 0].any():
                    if not first:  # a pure-student episode reached the flag
                        first = {"frames": counters["env_frames"], "wall_seconds": round(wall(), 3)}
                emit(
                    f"dagger {round_}: beta {beta:.2f}  +{len(r['demos'])} labelled steps  "
                    f"student done {100 * dagger['dagger_completion_rate']:.0f}%  "
                    f"{dagger['expert_searches']} searches in {dagger['expert_seconds']:.1f} s"
                )
            obs = torch.as_tensor(data.obs_float(), device=dev)
            acts = torch.as_tensor(data.actions, dtype=torch.float32, device=dev)
            lengths = [b - a for a, b in data.episode_bounds()]
            batches = window_batches(lengths, cfg, rng)
            state = None
            done_updates = 0
            while done_updates < cfg.updates:
                chunk = min(cfg.eval_every, cfg.updates - done_updates)
                acc: dict[str, float] = {"loss": 0.0, "accuracy": 0.0, "button_accuracy": 0.0}
                n_steps = 0.0
                for _ in range(chunk):
                    batch = next(batches)
                    counters["epoch"] += int(batch[3])
                    st, state = bc_update(model, opt, obs, acts, batch, state, cfg)
                    for k in acc:
                        acc[k] += st[k] * st["steps"]
                    n_steps += st["steps"]
                done_updates += chunk
                counters["updates"] += chunk
                m: dict[str, Any] = {
                    "round": round_,
                    "update": counters["updates"],
                    "epoch": counters["epoch"],
                    **{k: v / max(n_steps, 1.0) for k, v in acc.items()},
                    "dataset_steps": len(data),
                    "dataset_episodes": data.num_episodes,
                    **dagger,
                }
                dagger = {}
                ev = evaluate_policy(model, level_objs, cfg, dev)
                counters["env_frames"] += ev["frames"]
                last_eval = ev
                m["eval_completion_rate"] = float(np.mean(ev["completed"]))
                m["eval_progress"] = float(np.mean(ev["progress"]))
                if any(ev["completed"]) and not first:
                    first = {"frames": counters["env_frames"], "wall_seconds": round(wall(), 3)}
                m.update(
                    env_frames=counters["env_frames"],
                    demo_frames=demo_frames,
                    expert_searches_total=expert.searches,
                    wall_seconds=round(wall(), 4),
                    first_completion_frames=first.get("frames"),
                    first_completion_seconds=first.get("wall_seconds"),
                )
                metrics.append(m)
                _append_metrics(out, m)
                if bar is not None:
                    bar.update(chunk)
                emit(
                    f"round {round_} update {m['update']:5d}  loss {m['loss']:.4f}  "
                    f"acc {100 * m['accuracy']:5.1f}%  data {len(data):,} steps  "
                    f"eval done {100 * m['eval_completion_rate']:5.1f}%  "
                    f"progress {100 * m['eval_progress']:5.1f}%"
                )
                if callback is not None and callback(m):
                    stopped = True
                    break
            save(round_)
            if stopped:  # mid-round: the checkpoint stays at the last whole round
                break
            checkpoint(round_)
    finally:
        if bar is not None:
            bar.close()
    return BCResult(
        out=out,
        metrics=metrics,
        updates=counters["updates"],
        epochs=counters["epoch"],
        dagger_iters=max((m["round"] for m in metrics), default=0),
        dataset_steps=len(data),
        env_frames=counters["env_frames"],
        wall_seconds=wall(),
        first_completion_frames=first.get("frames"),
        first_completion_seconds=first.get("wall_seconds"),
        completed=list(last_eval["completed"]),
        model_dir=out,
        stopped_early=stopped,
    )
