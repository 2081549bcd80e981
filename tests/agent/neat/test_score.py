"""Scoring a champion headless (``python -m agent.neat.score``): the trainer's own scores back,
and one-line errors with exit status 2 for bad input."""

from __future__ import annotations

import json

import pytest

from agent.neat.champion import load_champion
from agent.neat.score import main, score
from agent.neat.trainer import CHAMPION_FILE, train
from tests.helpers.neat import settings_for


@pytest.fixture(scope="module")
def champion(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("score")
    result = train(settings_for(tmp, "run", generations=2), progress=False)
    return result.out / CHAMPION_FILE


@pytest.mark.slow
def test_scoring_gives_the_trained_fitness_back(champion, capsys):
    """On the levels it was trained on, the champion scores the fitness the trainer recorded;
    the printout names each level with its fitness, and the aggregate."""
    champ = load_champion(champion)
    names, ev = score(champ)
    assert names == champ.env_settings["levels"]
    assert float(ev.fitness[0]) == champ.fitness
    assert ev.level_fitness[0].tolist() == champ.extra["level_fitness"]
    assert main([str(champion)]) == 0
    out = capsys.readouterr().out
    assert f"fitness {champ.fitness:.1f}" in out and "mean fitness" in out
    assert main([str(champion), "--level", "1-1", "--level", "1-2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("  1-1: fitness") and lines[2].startswith("  1-2: fitness")


@pytest.mark.slow
def test_bad_input_is_one_line_and_status_2(champion, tmp_path, capsys):
    """A missing level, a broken champion file and an unknown flag each print one line on
    stderr and exit with status 2."""
    assert main([str(champion), "--level", "no/such/level.txt"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("python -m agent.neat.score: error:")
    broken = tmp_path / "champion.json"
    data = json.loads(champion.read_text())
    data["connections"][0]["out"] = 999
    broken.write_text(json.dumps(data))
    assert main([str(broken)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown node 999" in err[0]
    with pytest.raises(SystemExit) as info:
        main([str(champion), "--nope"])
    assert info.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
