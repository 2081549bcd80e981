"""Speciation that holds a target number of species (the original NEAT's dynamic threshold).

neat-python's ``DefaultSpeciesSet`` uses one fixed ``compatibility_threshold``: too high and the
population collapses into one species (and loses NEAT's protection of new structure), too low
and there are more species than the population can feed. As in Stanley's NEAT and SharpNEAT,
``TargetSpeciesSet`` moves its threshold after every speciation: down by ``threshold_step``
(to no less than ``threshold_min``) when there are fewer species than ``target_species``, up by
the same step when there are more. A config selects it with a ``[TargetSpeciesSet]`` section in
place of ``[DefaultSpeciesSet]``::

    [TargetSpeciesSet]
    compatibility_threshold = 3.0   # where the threshold starts
    target_species          = 15
    threshold_step          = 0.3
    threshold_min           = 0.3

The threshold is state of the run: ``threshold`` reads it, and checkpoints save and restore it.
Each species set keeps its own copy of the section's settings, so the shared config is never
changed.
"""

from __future__ import annotations

import copy
from typing import Any

from neat.config import ConfigParameter, DefaultClassConfig
from neat.species import DefaultSpeciesSet

__all__ = ["TargetSpeciesSet"]


class TargetSpeciesSet(DefaultSpeciesSet):
    """``DefaultSpeciesSet`` whose compatibility threshold steers the species count to a target."""

    def __init__(self, config: Any, reporters: Any) -> None:
        super().__init__(config, reporters)
        self.species_set_config = copy.copy(config)  # the threshold moves here only

    @classmethod
    def parse_config(cls, param_dict: dict[str, str]) -> DefaultClassConfig:
        config = DefaultClassConfig(
            param_dict,
            [
                ConfigParameter("compatibility_threshold", float),
                ConfigParameter("target_species", int),
                ConfigParameter("threshold_step", float),
                ConfigParameter("threshold_min", float),
            ],
            "TargetSpeciesSet",
        )
        if config.target_species < 1:
            raise ValueError(f"target_species must be at least 1, got {config.target_species}")
        if not config.threshold_step > 0:
            raise ValueError(f"threshold_step must be positive, got {config.threshold_step}")
        if not 0 < config.threshold_min <= config.compatibility_threshold:
            raise ValueError(
                "threshold_min must be positive and at most compatibility_threshold, got "
                f"{config.threshold_min}"
            )
        return config

    @property
    def threshold(self) -> float:
        """The compatibility threshold the next speciation uses."""
        return float(self.species_set_config.compatibility_threshold)

    @threshold.setter
    def threshold(self, value: float) -> None:
        self.species_set_config.compatibility_threshold = float(value)

    def speciate(self, config: Any, population: dict, generation: int) -> None:
        """neat-python's speciation at the current threshold, then one step toward the target."""
        super().speciate(config, population, generation)
        c = self.species_set_config
        n = len(self.species)
        if n < c.target_species:
            # rounded, so a threshold stepped down and up again returns exactly where it was
            self.threshold = round(max(c.threshold_min, self.threshold - c.threshold_step), 9)
        elif n > c.target_species:
            self.threshold = round(self.threshold + c.threshold_step, 9)
