"""The species set that steers its compatibility threshold toward a target species count."""

from __future__ import annotations

import re

import neat
import pytest

from agent.neat.species import TargetSpeciesSet
from tests.helpers.neat import CONFIG, random_population

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
