"""Tiny trained runs for the comparison tests, metrics lines in the shared keys and in the old
per-trainer keys, the schema every results.json must have, and a write killed mid-way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from agent.neat.trainer import train
from agent.runs import SHARED_KEYS
from agent.study.harness import RESULTS_FORMAT
from tests.helpers.neat import settings_for


def make_neat_run(tmp: Path, name: str = "neat-tiny", seed: int = 0) -> tuple[Path, Path]:
    """A NEAT run dir (2 generations, 12 genomes) and the tiny level file it trained on."""
    train(settings_for(tmp, name, generations=2, seed=seed), progress=False)
    return tmp / name, tmp / "setup" / "tiny.txt"


def shared_metrics_line(trainer: str, iteration: int, frames: int, wall: float, **kw) -> dict:
    """A metrics line as ``agent.runs.MetricsWriter`` writes it: ``trainer`` and every shared
    key (``kw`` sets any of them, or adds trainer-specific ones)."""
    line = dict.fromkeys(SHARED_KEYS)
    line.update(trainer=trainer, iteration=iteration, frames=frames, wall_seconds=wall, **kw)
    return line


def write_metrics(run: Path, lines: list[dict]) -> None:
    """``run/metrics.jsonl`` holding ``lines``, one JSON object each."""
    (run / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))


def make_lstm_run(tmp: Path, name: str = "ppo-tiny", seed: int = 3) -> Path:
    """An untrained 8-unit LSTM saved as a PPO run, with two metrics lines in the shared keys
    (1280 frames and 1.1 s in all)."""
    from agent.rnn.model import ModelConfig, RecurrentPolicy, save_model

    config = ModelConfig(hidden=8, encoder=8, encoder_type="mlp")
    run = tmp / name
    save_model(run, RecurrentPolicy(config), config, {"trainer": "ppo", "seed": seed})
    write_metrics(run, [
        shared_metrics_line("ppo", 1, 640, 0.5, episodes=2, completion_rate=0.0, progress=0.2),
        shared_metrics_line("ppo", 2, 1280, 1.1, episodes=0),
    ])  # fmt: skip
    return run


def last_training_frames(run: Path) -> int:
    """The training frames of a run's last metrics line, read independently of the harness:
    ``frames`` in the shared keys; in old lines NEAT's ``frames_simulated``, BC's
    ``env_frames``, PPO's ``frames``."""
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    if "trainer" in last:
        return int(last["frames"])
    return int(next(last[k] for k in ("frames_simulated", "env_frames", "frames") if k in last))


EPISODE_KEYS = {
    "agent": str,
    "run_dir": (str, type(None)),
    "kind": str,
    "seed": (int, type(None)),
    "level_set": str,
    "level": str,
    "level_seed": (int, type(None)),
    "episode": int,
    "completed": bool,
    "progress": (int, float),
    "rightmost": (int, float),
    "frames": int,
    "frames_to_finish": (int, type(None)),
    "dead": bool,
    "return": (int, float),
    "fitness": (int, float),
}


AGENT_KEYS = {
    "name": str,
    "spec": str,
    "run_dir": (str, type(None)),
    "kind": str,
    "seed": (int, type(None)),
    "network": dict,
    "size": str,
    "training": (dict, type(None)),
    "inference_seconds_per_step": float,
    "inference_batch": int,
}


STAT_KEYS = ("completion", "progress", "frames_to_finish")


def _check_types(obj: dict[str, Any], keys: dict[str, Any], where: str) -> None:
    assert set(keys) <= set(obj), f"{where}: missing {set(keys) - set(obj)}"
    for key, types in keys.items():
        assert isinstance(obj[key], types), f"{where}.{key}: {obj[key]!r}"


def check_results_schema(results: dict[str, Any]) -> None:
    """Assert that ``results`` (results.json's content) has the documented shape."""
    assert results["format"] == RESULTS_FORMAT and results["version"] == 1
    episodes = results["settings"]["episodes"]
    names = {a["name"] for a in results["agents"]}
    for a in results["agents"]:
        _check_types(a, AGENT_KEYS, f"agent {a.get('name')}")
        assert a["inference_seconds_per_step"] > 0
        if a["training"] is not None:
            assert isinstance(a["training"]["frames"], int) and a["training"]["frames"] > 0
            assert isinstance(a["training"]["wall_seconds"], float)
    sets = {s["name"]: s for s in results["level_sets"]}
    for e in results["episodes"]:
        _check_types(e, EPISODE_KEYS, "episode")
        assert e["agent"] in names and e["level"] in sets[e["level_set"]]["levels"]
        assert 0.0 <= e["progress"] <= 1.0 and 0 <= e["episode"] < episodes
        assert (e["frames_to_finish"] is not None) == e["completed"]
        if e["completed"]:
            assert e["frames_to_finish"] == e["frames"] and e["progress"] == 1.0
    for lset in results["level_sets"]:
        count = len([e for e in results["episodes"] if e["level_set"] == lset["name"]])
        assert count == len(names) * len(lset["levels"]) * episodes
        rows = results["summary"][lset["name"]]
        assert {r["agent"] for r in rows if r["ci_over"] == "levels"} == names
        for r in rows:
            for key in STAT_KEYS:
                assert r[key] is None or set(r[key]) == {"mean", "ci95", "n"}


KILLED_WRITE = """
import os, signal, sys
from agent.files import atomic_write_with

def write(f):
    f.write(b"half a checkpoint")
    f.flush()
    os.kill(os.getpid(), signal.SIGKILL)

atomic_write_with(sys.argv[1], write)
"""


def killed_write(path: Path) -> Path:
    """Kill (SIGKILL) a process in the middle of ``atomic_write_with(path)``; return the
    temporary file it left behind."""
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    proc = subprocess.run([sys.executable, "-c", KILLED_WRITE, str(path)], env=env, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    (tmp,) = [p for p in path.parent.iterdir() if p.name.startswith(f".{path.name}.")]
    return tmp
