"""Sim to real from the command line: a run evolved in the built-in world on ``smb:1-1`` is
continued on the emulator with ``train.py neat --env smb --resume RUN`` (the same population,
the same stage), and no other change of environment is allowed on resume."""

from __future__ import annotations

import json

import pytest

import train
from agent.neat.champion import load_champion
from agent.neat.score import score
from agent.neat.trainer import CHAMPION_FILE, METRICS_FILE
from envs.smb.levels import CACHE_ENV
from tests.helpers.neat import tiny_config_text

NES_MISSING = 'the real game needs the nes extra: pip install -e ".[nes]"'


@pytest.mark.slow
def test_a_world_run_on_smb_levels_continues_on_the_emulator(tmp_path, monkeypatch, capsys):
    """One generation in the fast world on smb:1-1, then one on the real game from its
    checkpoint: the run's champion and settings say env smb, stage 1-1, the champion's fitness
    is the one it scores on the real game (a fast-world champion is played there again before
    the emulator's first generation), and the metrics hold both generations."""
    pytest.importorskip("nes_py", reason=NES_MISSING)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    config = tmp_path / "tiny.ini"
    config.write_text(tiny_config_text(pop_size=4))
    out = str(tmp_path / "run")
    common = ["--generations", "1", "--keep-going", "--quiet"]
    args = ["neat", "--level", "smb:1-1", "--config", str(config), "--out", out, *common]
    assert train.main(args) == 0, capsys.readouterr().err
    first = json.loads((tmp_path / "run" / CHAMPION_FILE).read_text())
    assert first["env_settings"]["env"] == "world"
    resume = ["neat", "--env", "smb", "--resume", out, "--backend", "local"]
    assert train.main([*resume, *common[2:], "--generations", "2"]) == 0, capsys.readouterr().err
    champ = json.loads((tmp_path / "run" / CHAMPION_FILE).read_text())
    assert champ["env_settings"]["env"] == "smb"
    assert champ["env_settings"]["levels"] == ["1-1"]
    assert len((tmp_path / "run" / METRICS_FILE).read_text().splitlines()) == 2
    _, real = score(load_champion(tmp_path / "run" / CHAMPION_FILE))
    assert champ["fitness"] == float(real.fitness[0])
    if champ["generation"] == 0:  # the fast world's champion, scored again on the emulator
        assert champ["extra"]["rescored"]["levels"] == ["smb:1-1"]


def test_other_environment_changes_are_refused_on_resume(tmp_path, capsys):
    """A run on the built-in 1-1 cannot be resumed on the emulator: exit 2, one line naming
    the setting."""
    config = tmp_path / "tiny.ini"
    config.write_text(tiny_config_text(pop_size=4))
    out = str(tmp_path / "run")
    args = ["neat", "--level", "1-1", "--config", str(config), "--out", out, "--generations", "1"]
    assert train.main([*args, "--keep-going", "--quiet"]) == 0
    capsys.readouterr()
    code = train.main(["neat", "--env", "smb", "--resume", out, "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "env" in err[0], err
