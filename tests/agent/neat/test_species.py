"""The species set that steers its compatibility threshold toward a target species count: its
rule, its settings, how a config selects it, checkpoints, and the shipped config's species."""

from __future__ import annotations

import re

import neat
import pytest

from agent.neat.checkpoint import capture_state, restore_population
from agent.neat.config import DEFAULT_CONFIG, ConfigError, config_from_text
from agent.neat.species import TargetSpeciesSet
from agent.neat.trainer import TrainSettings, train
from tests.helpers.neat import CONFIG, grown_population, random_population

SECTION = """[TargetSpeciesSet]
compatibility_threshold = {start}
target_species          = {target}
threshold_step          = 0.5
threshold_min           = 0.5
"""


def target_config(tmp_path, start: float = 30.0, target: int = 6, extra: str = "") -> neat.Config:
    text = CONFIG.read_text()
    text = re.sub(
        r"\[DefaultSpeciesSet\][^\[]*", SECTION.format(start=start, target=target) + extra, text
    )
    path = tmp_path / "target.ini"
    path.write_text(text)
    return neat.Config(
        neat.DefaultGenome, neat.DefaultReproduction, TargetSpeciesSet, neat.DefaultStagnation, path
    )


def test_threshold_falls_until_the_target_is_reached_then_rises(tmp_path):
    """Below the target the threshold drops one step per speciation (and the species count
    grows as it does); once the count passes the target it rises one step; the shared config's
    threshold never changes."""
    config = target_config(tmp_path)
    population = dict(random_population(config, 60, seed=3, mutations=12))
    species = config.species_set_type(config.species_set_config, neat.reporting.ReporterSet())
    thresholds, counts = [], []
    for generation in range(80):
        before = species.threshold
        species.speciate(config, population, generation)
        counts.append(len(species.species))
        thresholds.append(species.threshold)
        if counts[-1] < 6:
            assert species.threshold == pytest.approx(max(0.5, before - 0.5))
        elif counts[-1] > 6:
            assert species.threshold == pytest.approx(before + 0.5)
        else:
            assert species.threshold == before
    assert counts[0] == 1 and max(counts) >= 6
    assert config.species_set_config.compatibility_threshold == 30.0


@pytest.mark.parametrize(
    ("start", "target", "extra", "message"),
    [
        (3.0, 0, "", "target_species must be at least 1"),
        (0.2, 5, "", "threshold_min must be positive and at most"),
        (3.0, 5, "surprise = 1\n", "surprise"),
    ],
)
def test_bad_settings_are_refused(tmp_path, start, target, extra, message):
    """Out-of-range settings and unknown keys of the section are errors naming them."""
    with pytest.raises(Exception, match=message):
        target_config(tmp_path, start, target, extra)


def test_the_config_names_its_species_set():
    """A [TargetSpeciesSet] section selects TargetSpeciesSet (the shipped config does), a
    [DefaultSpeciesSet] section neat-python's own; two species-set sections, none, or an unknown
    key in the section are one-line ConfigErrors naming the source."""
    shipped = config_from_text(DEFAULT_CONFIG.read_text(), "shipped")
    assert shipped.species_set_type is TargetSpeciesSet
    assert shipped.species_set_config.target_species == 10
    assert config_from_text(CONFIG.read_text(), "data").species_set_type is neat.DefaultSpeciesSet
    text = DEFAULT_CONFIG.read_text()
    both = text + "\n[DefaultSpeciesSet]\ncompatibility_threshold = 3.0\n"
    none = re.sub(r"\[TargetSpeciesSet\][^\[]*", "", text)
    extra = text.replace("target_species          = 10", "target_species = 10\nsurprise = 1")
    for bad, message in (
        (both, "expected one species-set section"),
        (none, "expected one species-set section"),
        (extra, "surprise"),
    ):
        with pytest.raises(ConfigError, match=message) as info:
            config_from_text(bad, "bad.ini")
        assert str(info.value).startswith("bad.ini: ") and "\n" not in str(info.value)


def test_the_moving_threshold_survives_a_checkpoint():
    """A snapshot keeps the species set's threshold where speciation moved it, and the restored
    population's species set continues from there (not from the config's start)."""
    pop, text = grown_population(seed=1, rounds=3, target_species=12)
    moved = pop.species.threshold
    assert moved < 3.0
    state = capture_state(pop, text, {"seed": 1}, {})
    assert state.species_threshold == moved
    restored = restore_population(state, config_from_text(text, "tiny"))
    assert restored.species.threshold == moved


@pytest.mark.slow
def test_the_shipped_config_keeps_species_on_generated_levels(tmp_path):
    """With configs/neat.ini (300 genomes) a 40-generation run on fresh generated levels keeps at
    least 5 species in every generation after generation 10, and never more than 30."""
    settings = TrainSettings(
        levels=[],
        generated=4,
        generated_length=100,
        difficulty=0.5,
        generations=40,
        seed=0,
        out=tmp_path / "run",
        checkpoint_every=1000,
        stop_when_solved=False,
    )
    species = [m["species"] for m in train(settings, progress=False).metrics]
    assert len(species) == 40
    assert min(species[10:]) >= 5 and max(species) <= 30, species
