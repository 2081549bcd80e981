"""The agents of a comparison: what is known of each before it plays, read from its files, and
loading it.

``describe_run(spec)`` reads ``"solver"``, a run directory (NEAT: ``champion.json``; LSTM/GRU/
RNN: ``model.json``) or a ``champion.json``: its kind (``"neat"``, ``"ppo-lstm"``,
``"bc-gru"``, ...), network size, seed, and the training frames and wall seconds of the last
line of its ``metrics.jsonl`` through the shared keys (``agent.study.metrics``, which also reads
lines written before them). ``load(spec, levels, sample, seed)`` loads it through
``agent.base.load_agent``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.base import AgentError, load_agent
from agent.study.levelsets import CompareError
from agent.study.metrics import read_run_metrics
from envs.checks import SettingError, check_int
from envs.levels.level import Level

__all__ = ["RunInfo", "describe_run", "load", "unique_names"]


@dataclass
class RunInfo:
    """What the harness knows about one agent before playing it."""

    spec: str  # as given: "solver", a run directory or a champion.json
    name: str  # unique display name
    kind: str  # "solver", "neat", "ppo-lstm", "bc-gru", ...
    run_dir: str | None
    seed: int | None
    network: dict[str, int]  # {"nodes", "connections"} or {"parameters"}; {} for the solver
    train_frames: int | None
    train_wall_seconds: float | None
    metrics: list[dict[str, Any]] = field(default_factory=list)  # the shared view of each line

    @property
    def size_text(self) -> str:
        n = self.network
        if "parameters" in n:
            return f"{n['parameters']:,} params"
        if "nodes" in n:
            return f"{n['nodes']} nodes / {n['connections']} links"
        return "-"

    def to_dict(self) -> dict[str, Any]:
        training = None
        if self.train_frames is not None:
            training = {
                "frames": self.train_frames,
                "wall_seconds": self.train_wall_seconds,
                "metrics_lines": len(self.metrics),
            }
        return {
            "name": self.name,
            "spec": self.spec,
            "run_dir": self.run_dir,
            "kind": self.kind,
            "seed": self.seed,
            "network": self.network,
            "size": self.size_text,
            "training": training,
        }


def _recurrent(path: Path) -> tuple[str, int | None]:
    """The kind and seed of an LSTM/GRU/RNN run directory (from ``model.json``)."""
    from agent.rnn.model import read_model_json

    try:
        config, extra = read_model_json(path)
    except ValueError as exc:
        raise CompareError.of(exc) from None
    return f"{extra.get('trainer', 'rnn')}-{config.cell}", extra.get("seed")


def _neat(spec: str, path: Path, run_dir: Path) -> tuple[dict[str, int], int | None]:
    """The network size and seed of a NEAT champion (a run directory or its file)."""
    from agent.neat.champion import load_champion

    champ_path = path / "champion.json" if path.is_dir() else path
    if not champ_path.exists():  # a FIFO or a device is the loader's to refuse, by name
        raise CompareError(f"{spec}: not an agent (no champion.json or model.json in {run_dir})")
    try:
        champ = load_champion(champ_path)
    except ValueError as exc:
        raise CompareError.of(exc) from None
    nodes, links = champ.genome.size()
    seed = champ.extra.get("seed") if isinstance(champ.extra, dict) else None
    if seed is not None:
        try:
            check_int("extra.seed", seed, 0)
        except SettingError as exc:
            raise CompareError(f"{champ_path}: {exc}") from None
    return {"nodes": int(nodes), "connections": int(links)}, seed


def describe_run(spec: str) -> RunInfo:
    """Kind, size, seed and training figures of ``spec`` (read from its files)."""
    if spec == "solver":
        return RunInfo(spec, "solver", "solver", None, None, {}, None, None)
    path = Path(spec)
    if not path.exists():
        raise CompareError(f"{spec}: no such run directory or agent file")
    run_dir = path if path.is_dir() else path.parent
    network: dict[str, int] = {}  # a recurrent model's parameters: counted once it is loaded
    if path.is_dir() and (path / "model.json").is_file():
        kind, seed = _recurrent(path)
    else:
        network, seed = _neat(spec, path, run_dir)
        kind = "neat"
    try:
        metrics = read_run_metrics(run_dir, hint=kind)
    except ValueError as exc:
        raise CompareError.of(exc) from None
    last = metrics[-1] if metrics else {}
    if kind.startswith("rnn-") and last.get("trainer"):  # model.json did not say which trainer
        kind = f"{last['trainer']}-{kind.removeprefix('rnn-')}"
    frames, wall = last.get("frames"), last.get("wall_seconds")
    name = run_dir.resolve().name if path.is_dir() else f"{run_dir.resolve().name}/{path.stem}"
    return RunInfo(
        spec,
        name,
        kind,
        str(run_dir),
        None if seed is None else int(seed),
        network,
        None if frames is None else int(frames),
        None if wall is None else float(wall),
        metrics,
    )


def unique_names(runs: list[RunInfo]) -> None:
    """Rename repeated display names ``name#2``, ``name#3``, ... in place."""
    seen: dict[str, int] = {}
    for run in runs:
        k = seen.get(run.name, 0)
        seen[run.name] = k + 1
        if k:
            run.name = f"{run.name}#{k + 1}"


def load(spec: str, levels: list[Level], sample: bool = False, seed: int = 0) -> Any:
    """The agent ``spec`` for ``levels`` (the solver plans for them); with ``sample`` a
    recurrent policy samples its buttons from a generator seeded with ``seed``."""
    try:
        agent = load_agent(spec, levels)
        if sample and getattr(agent, "model", None) is not None:  # a recurrent policy
            from agent.rnn.policy import RecurrentAgent

            return RecurrentAgent.from_dir(spec, sample=True, seed=seed)
        return agent
    except (AgentError, OSError) as exc:
        raise CompareError.of(exc) from None
