"""NEAT networks as agents: outputs above zero press buttons, as in MarI/O.

``NeatPolicy`` drives a batch of worlds with a whole compiled population (the evaluators' use);
``NeatAgent`` is one evolved genome as an ``agent.base.Agent`` (play, compare, watch), loaded
from a ``champion.json`` with ``NeatAgent.from_file``.
"""

from __future__ import annotations

from pathlib import Path

import neat
import numpy as np

from agent.neat.batched import BatchedRecurrent
from agent.neat.champion import load_champion
from agent.neat.fitness import FitnessSettings
from agent.neat.inputs import InputEncoding
from agent.neat.network import CompiledPopulation, compile_population


class NeatPolicy:
    """Buttons from a batch of compiled networks: one row of observations per instance.

    Each decision runs ``activations_per_step`` synchronous network updates on the flattened
    grid (read through ``encoding``, ``agent.neat.inputs``) and presses every button whose
    output is positive. With ``frame_skip`` and ``view_radius`` it is an agent of
    ``agent.episodes.Episodes`` over exactly ``net.num_instances`` worlds.
    """

    def __init__(
        self,
        net: BatchedRecurrent,
        activations_per_step: int = 1,
        *,
        frame_skip: int = 5,
        view_radius: int = 6,
        name: str = "neat-population",
        encoding: InputEncoding | None = None,
    ):
        self.net = net
        self.activations_per_step = activations_per_step
        self.frame_skip = frame_skip
        self.view_radius = view_radius
        self.name = name
        self.encoding = encoding or InputEncoding(view_radius)  # the grid -> the inputs
        self.outputs: np.ndarray | None = None  # last outputs, for overlays

    def reset(self, n: int) -> None:
        """Fresh episodes: every instance's node state back to 0."""
        if n != self.net.num_instances:
            raise ValueError(f"the policy has {self.net.num_instances} networks, not {n}")
        self.net.reset()

    def act(self, observations: np.ndarray) -> np.ndarray:
        x = self.encoding.encode(observations)
        for _ in range(self.activations_per_step):
            self.outputs = self.net.activate(x)
        return (self.outputs > 0.0).astype(np.uint8)


class NeatAgent:
    """One evolved genome driving ``n`` worlds (one network instance each)."""

    def __init__(
        self,
        genome: object,
        config: neat.Config,
        *,
        name: str = "neat",
        frame_skip: int = 5,
        view_radius: int = 6,
        activations_per_step: int = 1,
        backend: str = "numpy",
        device: str = "cpu",
        encoding: InputEncoding | None = None,
    ):
        self.genome = genome
        self.config = config
        self.name = name
        self.frame_skip = frame_skip
        self.view_radius = view_radius
        self.activations_per_step = activations_per_step
        self.backend = backend
        self.device = device
        self.encoding = encoding or InputEncoding(view_radius)
        self._compiled = compile_population([(0, genome)], config)
        self.policy: NeatPolicy | None = None

    def reset(self, n: int) -> None:
        net = BatchedRecurrent(
            self._compiled, n, device=self.device, backend=self.backend, dtype=np.float64
        )
        self.policy = NeatPolicy(net, self.activations_per_step, encoding=self.encoding)

    def act(self, observations: np.ndarray) -> np.ndarray:
        if self.policy is None or self.policy.net.num_instances != observations.shape[0]:
            self.reset(observations.shape[0])
        return self.policy.act(observations)

    @property
    def input_cells(self) -> np.ndarray:
        """The grid cell (flat index) each input reads, for drawing the inputs on the grid."""
        return self.encoding.cells

    @property
    def network(self) -> CompiledPopulation:
        """The compiled network (one genome): node order, links and weights, for drawing."""
        return self._compiled

    def node_values(self, i: int = 0) -> np.ndarray | None:
        """World ``i``'s current node values (inputs, outputs, hidden), or None before ``act``."""
        if self.policy is None or i >= self.policy.net.num_instances:
            return None
        return self.policy.net.node_values[i]

    @classmethod
    def from_file(cls, path: str | Path) -> NeatAgent:
        """Load a ``champion.json`` written by the trainer (validated, no pickle)."""
        champ = load_champion(path)
        s = FitnessSettings.from_env_settings(champ.env_settings)  # checked by load_champion
        return cls(
            champ.genome,
            champ.config,
            name=f"neat:{Path(path).parent.name or Path(path).stem}",
            frame_skip=s.frame_skip,
            view_radius=s.view_radius,
            activations_per_step=s.activations_per_step,
            encoding=s.encoding,
        )
