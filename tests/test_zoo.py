"""The shipped agents in ``zoo/``: small run directories that play.py and compare.py accept as
they are, documented in ``zoo/README.md`` with the command that made them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.base import load_agent
from agent.episodes import play_levels
from envs.levels.level import builtin_names, load_level
from tests.helpers.cli import run_play, run_script

ROOT = Path(__file__).resolve().parents[1]
ZOO = ROOT / "zoo"
GENERALIST = ZOO / "neat-generalist"
LSTM = ZOO / "lstm-generalist"
SMB = ZOO / "smb-1-1"


def _documented_finishes(name: str) -> str:
    """The levels zoo/README.md's section ``## name`` says the agent finishes."""
    section = (ZOO / "README.md").read_text().split(f"## {name}\n", 1)[1].split("\n## ", 1)[0]
    line = next(x for x in section.splitlines() if x.startswith("- Shipped levels it finishes"))
    return line.split(":", 1)[1].strip().rstrip(".")


def test_the_generalist_is_a_small_documented_run_trained_on_generated_levels_only():
    """zoo/neat-generalist holds a champion, its metrics and config (no checkpoint), under
    1 MB; the champion was trained and validated on generated levels only; zoo/README.md names
    it with its command, seed and wall-clock."""
    files = {p.name: p.stat().st_size for p in GENERALIST.iterdir()}
    assert {"champion.json", "metrics.jsonl", "config.ini"} <= set(files)
    assert not any(name.endswith(".pkl") for name in files) and sum(files.values()) < 1_000_000
    champ = json.loads((GENERALIST / "champion.json").read_text())
    settings = champ["env_settings"]
    assert settings["levels"] == [] and settings["generated"] and settings["score"] == "progress"
    assert not set(builtin_names()) & set(champ["extra"]["levels_evaluated"])
    readme = (ZOO / "README.md").read_text()
    assert "zoo/neat-generalist" in readme and "train.py neat --generalist" in readme
    assert f"--seed {champ['extra']['seed']}" in readme and "wall-clock" in readme


def test_the_generalists_shipped_level_results_are_as_documented():
    """The champion, replayed on the 8 shipped levels, finishes exactly the levels zoo/README.md
    says it does (the "finishes" line)."""
    shipped = [load_level(name) for name in builtin_names()]
    episodes = play_levels(load_agent(GENERALIST, shipped), shipped).episodes
    done = [lv.name for lv, e in zip(shipped, episodes, strict=True) if e["completed"]]
    assert _documented_finishes("neat-generalist") == (", ".join(done) or "none")


def test_the_lstm_generalist_was_trained_on_generated_levels_only_and_plays_as_documented():
    """zoo/lstm-generalist's run trained on generated levels only (no shipped level in its
    settings or its model's level list), zoo/README.md gives its command and seed, and played
    greedily on the 8 shipped levels it finishes exactly the levels the README says."""
    run = json.loads((LSTM / "run.json").read_text())
    assert run["levels"] == [] and run["generated"] > 0
    model = json.loads((LSTM / "model.json").read_text())
    assert not set(builtin_names()) & set(model["extra"]["levels"])
    readme = (ZOO / "README.md").read_text()
    assert f"--seed {run['seed']} --out zoo/lstm-generalist" in readme
    shipped = [load_level(name) for name in builtin_names()]
    episodes = play_levels(load_agent(LSTM, shipped), shipped).episodes
    done = [lv.name for lv, e in zip(shipped, episodes, strict=True) if e["completed"]]
    assert _documented_finishes("lstm-generalist") == (", ".join(done) or "none")


@pytest.mark.slow
def test_the_smb_agent_evolved_in_the_fast_world_finishes_the_real_1_1():
    """zoo/smb-1-1 holds a champion, its metrics and config (no checkpoint), under 1 MB; every
    generation in its metrics ran in the fast world on smb: copies of 1-1 (none on the
    emulator), its fitness is the one the trainer measured on the NES when it resumed the run
    there (the fast world's is kept in extra.rescored), zoo/README.md gives its command and
    seed, and played once on the real 1-1 it reaches the flag (about 1,400 emulated frames)."""
    pytest.importorskip(
        "nes_py", reason='the real game needs the nes extra: pip install -e ".[nes]"'
    )
    from agent.neat.champion import load_champion
    from agent.neat.score import score

    files = {p.name: p.stat().st_size for p in SMB.iterdir()}
    assert set(files) == {"champion.json", "metrics.jsonl", "config.ini"}
    assert sum(files.values()) < 1_000_000
    champ = load_champion(SMB / "champion.json")
    assert champ.env_settings["env"] == "smb" and champ.env_settings["levels"] == ["1-1"]
    sim = champ.extra["rescored"]
    assert all(name.startswith("smb:1-1") for name in sim["levels"]) and sim["completed"][0]
    lines = [json.loads(x) for x in (SMB / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == champ.generation + 1  # the fast world's generations, nothing after
    readme = (ZOO / "README.md").read_text()
    assert f"--seed {champ.extra['seed']} --out RUN" in readme and "wall-clock" in readme
    _, ev = score(champ)
    assert ev.completed[0, 0] and float(ev.fitness[0]) == champ.fitness


@pytest.mark.slow
@pytest.mark.parametrize(
    ("agent", "level", "kind"), [(GENERALIST, "1-5", "neat"), (LSTM, "1-1", "ppo-lstm")]
)
def test_play_and_compare_accept_the_zoo_agents(tmp_path, agent, level, kind):
    """``play.py zoo/AGENT --level L`` opens (headless SDL) and quits at its frame cap with
    exit 0; compare.py plays it on L and records it as the agent it is (NEAT, PPO LSTM)."""
    proc = run_play(str(agent), "--level", level, "--max-frames", "30")
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "cmp"
    proc = run_script(
        "compare.py", str(agent), "--level", level, "--max-frames", "300", "--out", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads((out / "results.json").read_text())
    assert [a["kind"] for a in results["agents"]] == [kind]
