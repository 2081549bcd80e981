"""Tiny trained runs for the comparison tests, and the schema every results.json must have."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.neat.trainer import train
from agent.study.harness import RESULTS_FORMAT
from tests.helpers.neat import settings_for


def make_neat_run(tmp: Path, name: str = "neat-tiny", seed: int = 0) -> tuple[Path, Path]:
    """A NEAT run dir (2 generations, 12 genomes) and the tiny level file it trained on."""
    train(settings_for(tmp, name, generations=2, seed=seed), progress=False)
    return tmp / name, tmp / "setup" / "tiny.txt"


def make_lstm_run(tmp: Path, name: str = "ppo-tiny", seed: int = 3) -> Path:
    """An untrained 8-unit LSTM saved as a PPO run, with two PPO-style metrics lines."""
    from agent.rnn.model import ModelConfig, RecurrentPolicy, save_model

    config = ModelConfig(hidden=8, encoder=8, encoder_type="mlp")
    run = tmp / name
    save_model(run, RecurrentPolicy(config), config, {"trainer": "ppo", "seed": seed})
    lines = [
        {"update": 1, "frames": 640, "wall_seconds": 0.5, "completion_rate": 0.0,
         "episode_return": 1.5},
        {"update": 2, "frames": 1280, "wall_seconds": 1.1, "completion_rate": None,
         "episode_return": None},
    ]  # fmt: skip
    (run / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return run


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
