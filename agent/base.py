"""The one interface every agent offers (NEAT champion, solver, later the LSTM policies).

An agent drives ``n`` worlds at once: ``reset(n)`` starts n fresh episodes, ``act(obs)`` maps
the (n, 2r+1, 2r+1) observation grids to (n, 6) uint8 buttons in NES order, held for the agent's
``frame_skip`` frames. ``play.py`` uses nothing else (and the comparison harness, issue 6,
should not either).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from envs.levels.level import Level


class AgentError(ValueError):
    """An agent that cannot be loaded (missing, corrupt or incompatible file)."""


@runtime_checkable
class Agent(Protocol):
    name: str
    frame_skip: int
    view_radius: int

    def reset(self, n: int) -> None: ...

    def act(self, observations: np.ndarray) -> np.ndarray: ...


def load_agent(spec: str | Path, levels: list[Level] | None = None) -> Agent:
    """An agent from ``"solver"``, a ``champion.json``, or a run directory holding a NEAT
    champion or a trained recurrent model (``model.json`` + ``model.pt``).

    ``levels`` are the levels the agent will play (the solver plans for them).
    """
    if str(spec) == "solver":
        from envs.solver import SolverAgent

        if not levels:
            raise AgentError("the solver agent needs the level it will play")
        agent = SolverAgent(levels)
        agent.name = "solver"  # type: ignore[attr-defined]
        agent.view_radius = 6  # type: ignore[attr-defined]
        return agent  # type: ignore[return-value]
    path = Path(spec)
    if path.is_dir() and (path / "model.json").is_file():  # an LSTM/GRU/RNN run
        from agent.rnn.policy import RecurrentAgent

        try:
            return RecurrentAgent.from_dir(path)
        except ValueError as error:  # ModelError: missing, corrupt or mismatched files
            raise AgentError(str(error)) from None
    if path.is_dir():
        path = path / "champion.json"
    if path.suffix == ".json":
        from agent.neat.policy import NeatAgent

        if not path.exists():  # a FIFO or a device is the loader's to refuse, by name
            raise AgentError(f"{spec}: no such agent file ({path} does not exist)")
        try:
            return NeatAgent.from_file(path)
        except ValueError as error:  # ChampionError and other validation failures
            raise AgentError(str(error)) from None
    raise AgentError(
        f"{spec}: not an agent (expected 'solver', a champion.json or a run directory with "
        "champion.json or model.json)"
    )
