"""Behaviour cloning with BPTT (as in MariFlow), plus DAgger with the solver as the expert.

Training (``train_bc``, run by ``BCTrainer``)
---------------------------------------------
1. **Data.** Demonstrations (``agent.rnn.demos``): a file, a ``Demos`` object, or, by default, the
   solver's run of every training level (``record_solver_demos``).
2. **Sequence training, truncated BPTT** (``agent.rnn.bptt``): windows of ``window`` steps of
   ``batch_windows`` parallel streams of laid-out episodes, the recurrent state carried from
   window to window and zeroed at episode starts; ``updates`` gradient steps per round.
3. **DAgger** (Ross et al., 2011), ``dagger_iters`` rounds: the student drives
   ``dagger_episodes`` episodes per level (the first one purely the student's, the others
   mixing in the expert's buttons with probability ``beta``, decayed per round); the expert
   (``agent.rnn.dagger.SolverExpert``) labels every state the student reaches; the labelled
   episodes join the dataset; training resumes on it all.

Every ``eval_every`` gradient steps the greedy student plays one episode per level; the metrics
line (``agent.runs.SHARED_KEYS``) then has ``iteration`` = gradient steps so far, ``frames`` =
game frames used so far (demonstrations + DAgger rounds + evaluations), ``episodes`` and
``completion_rate`` / ``progress`` / ``max_progress`` of that evaluation, and the first
completion of an evaluation or pure-student DAgger episode.

Run directory: ``run.json``, ``metrics.jsonl`` and TensorBoard events, ``model.pt`` +
``model.json`` (rewritten at the end of each round), ``dataset.npz`` (the aggregated dataset,
in the demo format), ``checkpoint-latest.pt`` (after the demonstrations are in and after every
round).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agent.rnn.bptt import bc_update, window_batches
from agent.rnn.dagger import SolverExpert, play_student
from agent.rnn.demos import (
    DemoError,
    Demos,
    load_demos,
    play_rules,
    record_solver_demos,
    save_demos,
)
from agent.rnn.model import (
    ModelConfig,
    RecurrentPolicy,
    resolve_device,
    save_model,
    torch_bytes,
    torch_threads,
)
from agent.rnn.runfiles import (
    CHECKPOINT_FILE,
    RunTrainer,
    checkpoint_error,
    cpu_state_dict,
    plan_run,
    upgrade_metrics,
)
from agent.rnn.settings import JsonSettings, load_settings
from agent.runs import TrainError
from envs.checks import MAX_FRAME_SKIP
from envs.levels.generator import DEFAULT_DIFFICULTY, DEFAULT_LENGTH, Difficulty
from envs.levels.level import Level
from envs.solver import SolverConfig

__all__ = [
    "DATASET_FILE",
    "BCConfig",
    "BCResult",
    "BCTrainer",
    "load_bc_config",
    "train_bc",
]

DATASET_FILE = "dataset.npz"
BC_CHECKPOINT_FORMAT = "mario-neat-lab/bc-checkpoint"
DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "bc.json"

#: Keys of metrics lines written before the shared keys, and their names now.
_OLD_KEYS = {
    "update": "iteration",
    "env_frames": "frames",
    "eval_completion_rate": "completion_rate",
    "eval_progress": "progress",
}


@dataclass
class BCConfig(JsonSettings):
    """Behaviour-cloning and DAgger settings."""

    WHAT = "BC"

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
        self.check_types()
        for name in (
            "window", "batch_windows", "updates", "dagger_episodes", "eval_every", "max_steps",
        ):  # fmt: skip
            v = getattr(self, name)
            if v < 1:
                raise TrainError(f"BCConfig.{name} must be a positive integer, got {v!r}")
        if self.dagger_iters < 0 or self.label_expansions < 1 or self.lr <= 0:
            raise TrainError("BCConfig: dagger_iters >= 0, label_expansions >= 1, lr > 0")
        if self.weight_decay < 0 or self.max_grad_norm <= 0:
            raise TrainError("BCConfig: weight_decay >= 0, max_grad_norm > 0")
        for name in ("beta", "beta_decay"):
            if not 0.0 <= (v := getattr(self, name)) <= 1.0:
                raise TrainError(f"BCConfig.{name} must be within [0, 1], got {v}")
        if not 1 <= self.frame_skip <= MAX_FRAME_SKIP:
            raise TrainError(f"BCConfig.frame_skip must be from 1 to {MAX_FRAME_SKIP}")
        if self.no_progress_frames is not None and self.no_progress_frames < 1:
            raise TrainError("BCConfig.no_progress_frames must be positive or null")


def load_bc_config(path: str | Path | None = None) -> tuple[ModelConfig, BCConfig]:
    """The ``{"model": {...}, "bc": {...}}`` settings file (default ``configs/bc.json``)."""
    return load_settings(DEFAULT_CONFIG if path is None else path, "bc", BCConfig)


@dataclass
class BCResult:
    out: Path
    metrics: list[dict[str, Any]]
    updates: int  # gradient steps
    epochs: int  # passes over the (growing) dataset
    dagger_iters: int
    dataset_steps: int
    env_frames: int  # the metrics' ``frames``: demonstrations + DAgger rounds + evaluations
    wall_seconds: float
    first_completion_frames: int | None  # env_frames when the student first completed a level
    first_completion_seconds: float | None
    completed: list[bool]  # the final student's greedy episode per training level
    model_dir: Path
    stopped_early: bool = False


def train_bc(
    model_config: ModelConfig | None = None,
    bc_config: BCConfig | None = None,
    levels: Sequence[str | Path | Level] | None = None,
    demos: Demos | str | Path | None = None,
    dagger_iters: int | None = None,
    seed: int | None = None,
    out_dir: str | Path | None = None,
    device: str | torch.device = "auto",
    *,
    generated: int | None = None,
    difficulty: Difficulty = DEFAULT_DIFFICULTY,
    length: int = DEFAULT_LENGTH,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    callback: Callable[[dict[str, Any]], bool | None] | None = None,
    threads: int | None = 1,
    resume: str | Path | None = None,
) -> BCResult:
    """Behaviour cloning from ``demos`` (None: the solver's run of each level), then DAgger.

    ``levels`` (default ``["1-1"]`` unless ``generated``) are where DAgger's student plays and
    is evaluated. ``dagger_iters`` overrides ``bc_config.dagger_iters``. ``seed`` (default 0;
    on resume the run's own). ``callback(metrics)`` after every metrics line; True stops the
    run (the model is saved). ``threads``: torch CPU threads while training (see
    ``agent.rnn.model.torch_threads``).

    ``resume`` = a run directory continues that run from its last finished round (a checkpoint
    is written after the demonstrations are in and after every round): the run's own settings
    are used, as for PPO, except ``dagger_iters`` (more rounds may be added), ``device`` and
    ``progress``. With the same seed, a resumed run ends where an uninterrupted one does.
    """
    dev = resolve_device(device)
    if resume is not None and demos is not None:
        raise TrainError("demos cannot be given on resume: the run's dataset.npz holds them")
    plan = plan_run(
        "bc", BCConfig, model_config, bc_config, levels=levels, generated=generated,
        difficulty=difficulty, length=length, seed=seed, out_dir=out_dir, resume=resume,
        run_files=(), check_settings=False,
    )  # fmt: skip
    cfg = plan.settings
    if plan.saved is not None and bc_config is not None:
        # of the BC settings, only the number of rounds may change on resume
        if dataclasses.replace(bc_config, dagger_iters=cfg.dagger_iters) != cfg:
            raise TrainError(
                f"{plan.out}: the run was trained with other bc settings; they cannot change "
                "on resume (start a new run instead)"
            )
        dagger_iters = bc_config.dagger_iters if dagger_iters is None else dagger_iters
    if dagger_iters is not None:
        if dagger_iters < 0:
            raise TrainError(f"dagger_iters must be >= 0, got {dagger_iters}")
        cfg = plan.settings = dataclasses.replace(cfg, dagger_iters=dagger_iters)
    level_objs = plan.levels()
    # a new run records where its demonstrations came from once it has them
    run = plan.run_json("bc", **({"demos": plan.saved["demos"]} if plan.saved else {}))
    with torch_threads(threads):
        trainer = BCTrainer(plan.model, cfg, level_objs, run, plan.out, dev, progress, log)
        trainer.files.run_id = plan.run_id
        return trainer.run(plan.checkpoint, callback, demos)


class BCTrainer(RunTrainer):
    """The state of one BC/DAgger run: model, optimizer, generators, dataset, expert, counters.

    ``train_bc`` drives it (``run``): ``start`` (fresh, or from a checkpoint), then per round
    ``dagger_round`` (rounds after the first) and ``train_round`` (gradient steps, evaluations,
    metrics lines), ``save`` and ``checkpoint``; ``close`` at the end.
    """

    TRAINER = "bc"
    cfg: BCConfig

    def build(self) -> None:
        cfg, device = self.cfg, self.device
        self.rng = np.random.default_rng(self.seed)
        self.gen = torch.Generator(device=device).manual_seed(self.seed + 1)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            self.model = RecurrentPolicy(self.mcfg)
            # PPO's small policy-head gain (0.01, for a maximum-entropy start) makes Adam push
            # the recurrent core into saturation before the head grows when cloning: gain 1.
            torch.nn.init.orthogonal_(self.model.policy_head.weight, 1.0)
            self.model.to(device)
        self.opt = torch.optim.Adam(
            self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay
        )
        self.expert = SolverExpert(
            SolverConfig(frame_skip=cfg.frame_skip, max_expansions=cfg.label_expansions)
        )
        self.rules = play_rules(cfg.frame_skip, cfg.no_progress_frames, cfg.max_steps)
        self.rounds = cfg.dagger_iters + 1

    # -- state -----------------------------------------------------------------------------

    def _fresh(self, demos: Demos | str | Path | None) -> None:
        cfg, radius = self.cfg, self.mcfg.view_radius
        if demos is None:
            self.data = record_solver_demos(
                self.levels, view_radius=radius, frame_skip=cfg.frame_skip
            )
            self.files.runinfo["demos"] = "solver"
        else:
            self.data, self.files.runinfo["demos"] = _given_demos(demos, radius, cfg.frame_skip)
        self.demo_frames = len(self.data) * cfg.frame_skip
        self.counters = {"env_frames": self.demo_frames, "epoch": 0, "updates": 0}
        self.first: dict[str, Any] = {}
        self.last_eval: dict[str, Any] = {"completed": [False] * len(self.levels)}
        self.next_round = 0
        self.wall_before = 0.0

    def _restore(self, ck: dict[str, Any]) -> None:
        self.data = _resumed_dataset(self.out, ck)
        try:
            if ck.get("format") != BC_CHECKPOINT_FORMAT:
                raise ValueError(f"not a BC checkpoint (format {ck.get('format')!r})")
            t = json.loads(ck["trainer"])
            self.model.load_state_dict(ck["model"])
            self.opt.load_state_dict(ck["optimizer"])
            if ck["device_type"] != self.device.type:
                raise ValueError(f"the run was trained on {ck['device_type']}, resume it there")
            self.gen.set_state(ck["generator"])
            self.rng.bit_generator.state = t["rng"]
            self.counters, self.first, self.last_eval = t["counters"], t["first"], t["last_eval"]
            self.files.history = upgrade_metrics(
                t["metrics"], "bc", _OLD_KEYS, episodes=len(self.levels)
            )
            self.demo_frames, self.wall_before = t["demo_frames"], t["wall_seconds"]
            self.expert.searches, self.expert.labels, self.expert.seconds = t["expert"]
            self.next_round = int(t["round"]) + 1
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise checkpoint_error(self.out, exc) from None

    def start(self, ckpt: dict[str, Any] | None, demos: Demos | str | Path | None = None) -> None:
        """Fresh state and the first dataset (``ckpt`` None: ``demos``, or the solver's run of
        each level) or the checkpoint's state and dataset; then open the run directory and
        write run.json and the metrics kept so far."""
        self.t0 = time.perf_counter()
        if ckpt is None:
            self._fresh(demos)
        else:
            self._restore(ckpt)
        self.open_files(
            total=self.rounds * self.cfg.updates, unit="update", desc="bc",
            initial=min(self.next_round, self.rounds) * self.cfg.updates,
        )  # fmt: skip

    def save(self, round_: int) -> None:
        """model.pt + model.json and dataset.npz as they are at the end of ``round_``."""
        extra = {
            "trainer": "bc",
            "frame_skip": self.cfg.frame_skip,
            "levels": [lv.name for lv in self.levels],
            "round": round_,
            "updates": self.counters["updates"],
            "seed": self.seed,
        }
        save_model(self.out, self.model, self.mcfg, extra)
        save_demos(self.out / DATASET_FILE, self.data)

    def checkpoint(self, round_: int) -> None:
        """After ``save``: the state at the end of ``round_`` (-1: before the first round)."""
        state = {
            "round": round_,
            "counters": self.counters,
            "demo_frames": self.demo_frames,
            "metrics": self.metrics,
            "first": self.first,
            "last_eval": self.last_eval,
            "rng": self.rng.bit_generator.state,
            "expert": [self.expert.searches, self.expert.labels, self.expert.seconds],
            "dataset_steps": len(self.data),
            "dataset_episodes": self.data.num_episodes,
            "wall_seconds": self.wall(),
        }
        ck = {
            "format": BC_CHECKPOINT_FORMAT,
            "run_id": self.files.run_id,
            "model": cpu_state_dict(self.model),
            "optimizer": self.opt.state_dict(),
            "generator": self.gen.get_state(),
            "device_type": self.device.type,
            "trainer": json.dumps(state),
        }
        self.files.dir.write_with(CHECKPOINT_FILE, lambda f: f.write(torch_bytes(ck)))

    # -- main loop -------------------------------------------------------------------------

    def run(
        self,
        ckpt: dict[str, Any] | None,
        callback: Callable[[dict[str, Any]], bool | None] | None,
        demos: Demos | str | Path | None = None,
    ) -> BCResult:
        """Start (``demos``: see ``start``), then play the rounds left (a DAgger round, then
        training, save, checkpoint) until the last, or until ``callback(metrics)`` says stop."""
        stopped = False
        try:
            self.start(ckpt, demos)
            if ckpt is None:
                # The starting state, so a run stopped in round 0 can resume: the dataset the
                # checkpoint reads back, the checkpoint, and only then the model (a directory
                # holding a model is a run that no fresh run may replace).
                save_demos(self.out / DATASET_FILE, self.data)
                self.checkpoint(-1)
                self.save(-1)
            for round_ in range(self.next_round, self.rounds):
                dagger = self.dagger_round(round_) if round_ > 0 else {}
                stopped = self.train_round(round_, dagger, callback)
                self.save(round_)
                if stopped:  # mid-round: the checkpoint stays at the last whole round
                    break
                self.checkpoint(round_)
        finally:
            self.close()
        return BCResult(
            out=self.out,
            metrics=self.metrics,
            updates=self.counters["updates"],
            epochs=self.counters["epoch"],
            dagger_iters=max((m["round"] for m in self.metrics), default=0),
            dataset_steps=len(self.data),
            env_frames=self.counters["env_frames"],
            wall_seconds=self.wall(),
            first_completion_frames=self.first.get("frames"),
            first_completion_seconds=self.first.get("wall_seconds"),
            completed=list(self.last_eval["completed"]),
            model_dir=self.out,
            stopped_early=stopped,
        )

    def _first_completion(self) -> None:
        if not self.first:
            self.first = {
                "frames": self.counters["env_frames"],
                "wall_seconds": round(self.wall(), 3),
            }

    def dagger_round(self, round_: int) -> dict[str, Any]:
        """The student's labelled episodes join the dataset; returns the round's figures."""
        cfg, expert = self.cfg, self.expert
        beta = cfg.beta * cfg.beta_decay ** (round_ - 1)
        searches, secs = expert.searches, expert.seconds
        r = play_student(
            self.model, self.levels, cfg.dagger_episodes, self.rules, frame_skip=cfg.frame_skip,
            device=self.device, expert=expert, beta=beta, rng=self.rng, sample=cfg.sample,
            gen=self.gen,
        )  # fmt: skip
        assert r.demos is not None
        self.data = self.data.concat(r.demos)
        self.counters["env_frames"] += r.frames
        dagger = {
            "dagger_beta": beta,
            "dagger_steps": len(r.demos),
            "dagger_completion_rate": float(np.mean(r.completed)),
            "dagger_progress": float(np.mean(r.progress)),
            "expert_searches": expert.searches - searches,
            "expert_seconds": round(expert.seconds - secs, 3),
        }
        if r.completed[np.arange(len(r.completed)) % cfg.dagger_episodes == 0].any():
            self._first_completion()  # a pure-student episode reached the flag
        self.bar.line(
            f"dagger {round_}: beta {beta:.2f}  +{len(r.demos)} labelled steps  "
            f"student done {100 * dagger['dagger_completion_rate']:.0f}%  "
            f"{dagger['expert_searches']} searches in {dagger['expert_seconds']:.1f} s"
        )
        return dagger

    def train_round(
        self,
        round_: int,
        dagger: dict[str, Any],
        callback: Callable[[dict[str, Any]], bool | None] | None,
    ) -> bool:
        """``updates`` gradient steps on the dataset, a metrics line (with an evaluation) every
        ``eval_every``; True when ``callback`` stopped the run."""
        cfg, dev = self.cfg, self.device
        obs = torch.as_tensor(self.data.obs_float(), device=dev)
        acts = torch.as_tensor(self.data.actions, dtype=torch.float32, device=dev)
        lengths = [b - a for a, b in self.data.episode_bounds()]
        batches = window_batches(lengths, cfg.window, cfg.batch_windows, self.rng)
        state = None
        done = 0
        while done < cfg.updates:
            chunk = min(cfg.eval_every, cfg.updates - done)
            acc = {"loss": 0.0, "accuracy": 0.0, "button_accuracy": 0.0}
            n_steps = 0.0
            for _ in range(chunk):
                batch = next(batches)
                self.counters["epoch"] += int(batch[3])
                st, state = bc_update(
                    self.model, self.opt, obs, acts, batch, state, cfg.max_grad_norm
                )
                for k in acc:
                    acc[k] += st[k] * st["steps"]
                n_steps += st["steps"]
            done += chunk
            self.counters["updates"] += chunk
            self.check_finite(self.counters["updates"])
            m = self._metrics_line(
                round_, {k: v / max(n_steps, 1.0) for k, v in acc.items()}, dagger
            )
            dagger = {}
            self.bar.advance(chunk)
            self.bar.line(
                f"round {round_} update {m['iteration']:5d}  loss {m['loss']:.4f}  "
                f"acc {100 * m['accuracy']:5.1f}%  data {len(self.data):,} steps  "
                f"eval done {100 * m['completion_rate']:5.1f}%  "
                f"progress {100 * m['progress']:5.1f}%"
            )
            if callback is not None and callback(m):
                return True
        return False

    def _metrics_line(
        self, round_: int, fit: dict[str, float], dagger: dict[str, Any]
    ) -> dict[str, Any]:
        """Evaluate the greedy student on every level, then write the metrics line."""
        ev = play_student(
            self.model, self.levels, 1, self.rules, frame_skip=self.cfg.frame_skip,
            device=self.device,
        )  # fmt: skip
        self.counters["env_frames"] += ev.frames
        self.last_eval = {
            "completed": [bool(x) for x in ev.completed],
            "progress": [float(x) for x in ev.progress],
            "frames": ev.frames,
        }
        if ev.completed.any():
            self._first_completion()
        frames, wall = self.counters["env_frames"], self.wall()
        before = self.metrics[-1] if self.metrics else {}
        seconds = wall - (before.get("wall_seconds") or 0.0)
        line = {
            "iteration": self.counters["updates"],
            "frames": frames,
            "wall_seconds": round(wall, 4),
            "frames_per_second": round(
                (frames - (before.get("frames") or 0)) / max(seconds, 1e-9), 1
            ),
            "episodes": len(ev.records),
            "completion_rate": float(np.mean(ev.completed)),
            "progress": float(np.mean(ev.progress)),
            "max_progress": float(np.max(ev.progress)),
            "first_completion_frames": self.first.get("frames"),
            "first_completion_seconds": self.first.get("wall_seconds"),
            "round": round_,
            "epoch": self.counters["epoch"],
            **fit,
            "dataset_steps": len(self.data),
            "dataset_episodes": self.data.num_episodes,
            **dagger,
            "demo_frames": self.demo_frames,
            "expert_searches_total": self.expert.searches,
        }
        return self.files.write(line)


def _given_demos(demos: Demos | str | Path, radius: int, fs: int) -> tuple[Demos, str]:
    """The demonstrations given to a new run, checked against the model and the frame skip."""
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
