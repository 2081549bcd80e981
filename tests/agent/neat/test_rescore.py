"""A resumed run whose scores are measured differently (another physics profile, another
environment) scores its kept champion again there, so the champion it reports was measured
where it now trains (``agent.neat.rescore``)."""

from __future__ import annotations

import dataclasses
import json

from agent.neat.champion import load_champion
from agent.neat.checkpoint import load_checkpoint
from agent.neat.rescore import SCORED_UNDER
from agent.neat.score import score
from agent.neat.trainer import CHAMPION_FILE, CHECKPOINT_FILE, train
from envs.sim import profiles
from envs.sim import world as sim_world
from tests.helpers.neat import settings_for

#: The lab's physics with a third of the top speeds: every genome scores lower under it.
SLOW = dataclasses.replace(
    profiles.DEFAULT,
    walk_max=profiles.DEFAULT.walk_max // 3,
    run_max=profiles.DEFAULT.run_max // 3,
)


def test_a_champion_scored_under_other_physics_is_scored_again_on_resume(tmp_path, monkeypatch):
    """Two generations under the lab's physics, then a resume under slower physics: the
    champion of the first session is played again before the next generation, so the run's
    champion (in champion.json and in the checkpoint) has the fitness it scores under the new
    physics, not the higher one it had; resuming again with nothing changed plays nothing."""
    first = train(settings_for(tmp_path, "run", generations=2), progress=False)
    before = load_champion(first.out / CHAMPION_FILE)
    monkeypatch.setattr(sim_world, "profile_for", lambda name: SLOW)
    _, slow = score(before)
    assert slow.fitness[0] < before.fitness  # the change matters: the old score is stale
    lines: list[str] = []
    train(settings_for(tmp_path, "run", generations=3), resume=first.out, log=lines.append)
    after = load_champion(first.out / CHAMPION_FILE)
    _, rescored = score(after)
    assert after.fitness == float(rescored.fitness[0])  # measured where it now trains
    assert any("scored again here" in line for line in lines), lines
    if after.generation == before.generation:  # still the first session's genome
        assert after.extra["rescored"]["fitness"] == before.fitness
    state = load_checkpoint(first.out / CHECKPOINT_FILE)
    assert state.trainer["champion"]["fitness"] == after.fitness
    key = state.trainer["champion"][SCORED_UNDER]
    again: list[str] = []
    train(settings_for(tmp_path, "run", generations=4), resume=first.out, log=again.append)
    assert not any("scored again" in line for line in again)
    assert load_checkpoint(first.out / CHECKPOINT_FILE).trainer["champion"][SCORED_UNDER] == key


def test_an_unchanged_resume_keeps_the_champion_file_as_it_was(tmp_path):
    """With the same physics and levels, a resume plays the champion no second time: its
    champion.json is byte for byte what the first session wrote, until a better genome."""
    first = train(settings_for(tmp_path, "run", generations=2), progress=False)
    text = (first.out / CHAMPION_FILE).read_text()
    state = load_checkpoint(first.out / CHECKPOINT_FILE)
    assert state.trainer["champion"][SCORED_UNDER]
    frames = state.trainer["frames_simulated"]
    # generations=2 again: nothing to evolve, so nothing may be played or written either
    again = train(settings_for(tmp_path, "run", generations=2), resume=first.out, progress=False)
    assert (first.out / CHAMPION_FILE).read_text() == text
    assert again.frames_simulated == frames
    assert "rescored" not in json.loads(text)["extra"]
