"""A trained recurrent policy as an agent (the ``agent.base.Agent`` interface).

``RecurrentAgent.from_dir("runs/ppo-...")`` loads ``model.pt`` + ``model.json``; ``reset(n)`` zeroes
the recurrent state of ``n`` worlds; ``act(obs)`` runs one time step for all of them and returns
the (n, 6) uint8 buttons: pressed where the button's probability is above 0.5, or sampled from
it with ``sample=True``. ``state`` (the recurrent state) and ``probabilities`` (the last (n, 6)
button probabilities) are exposed for overlays. Works for every cell type (LSTM, GRU, RNN).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from agent.rnn.model import ModelConfig, RecurrentPolicy, State, load_model, resolve_device

__all__ = ["RecurrentAgent"]


class RecurrentAgent:
    """A ``RecurrentPolicy`` driving ``n`` worlds, one recurrent state per world."""

    def __init__(
        self,
        model: RecurrentPolicy,
        config: ModelConfig | None = None,
        device: str | torch.device = "cpu",
        sample: bool = False,
        *,
        seed: int | None = None,
        name: str | None = None,
        frame_skip: int = 5,
        generator: torch.Generator | None = None,
    ):
        self.config = config or model.config
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.sample = sample
        self.name = name or f"{self.config.cell}"
        self.frame_skip = int(frame_skip)
        self.view_radius = self.config.view_radius
        if generator is not None:  # the caller's (e.g. a trainer's checkpointed generator)
            self._gen = generator
        else:
            self._gen = torch.Generator(device=self.device)
            if seed is not None:
                self._gen.manual_seed(seed)
            else:
                self._gen.seed()
        self.state: State | None = None
        self.probabilities: np.ndarray | None = None  # (n, 6), last act's button probabilities
        self.values: np.ndarray | None = None  # (n,), the value head's last estimates
        self.n = 0

    @classmethod
    def from_dir(
        cls,
        run_dir: str | Path,
        device: str | torch.device = "cpu",
        sample: bool = False,
        *,
        seed: int | None = None,
    ) -> RecurrentAgent:
        """The policy saved in ``run_dir`` (``model.pt`` + ``model.json``); ``ModelError`` if
        missing or invalid."""
        run_dir = Path(run_dir)
        dev = resolve_device(device)
        model, config, extra = load_model(run_dir, device=dev)
        name = f"{config.cell}:{run_dir.resolve().name}"
        return cls(
            model,
            config,
            dev,
            sample,
            seed=seed,
            name=name,
            frame_skip=int(extra.get("frame_skip", 5)),
        )

    def reset(self, n: int) -> None:
        """Start ``n`` fresh episodes: zero recurrent state for each world."""
        self.n = int(n)
        self.state = self.model.initial_state(self.n, self.device)
        self.probabilities = None
        self.values = None

    def reset_worlds(self, mask: np.ndarray) -> None:
        """Zero the state of the worlds where ``mask`` is True (their episodes restarted)."""
        if self.state is None:
            return
        keep = torch.as_tensor(~np.asarray(mask, dtype=np.bool_), device=self.device).float()
        self.state = self.model.mask_state(self.state, keep)

    @torch.no_grad()
    def act(self, observations: np.ndarray) -> np.ndarray:
        """(n, S, S) grids -> (n, 6) uint8 buttons; advances each world's recurrent state."""
        obs = np.asarray(observations, dtype=np.float32)
        s = self.config.obs_size
        if obs.ndim == 2:
            obs = obs[None]
        if obs.ndim != 3 or obs.shape[1:] != (s, s):
            raise ValueError(
                f"{self.name}: observations must be (n, {s}, {s}) grids, got {obs.shape}"
            )
        if self.state is None or self.n != obs.shape[0]:
            self.reset(obs.shape[0])
        x = torch.as_tensor(obs, device=self.device)
        logits, values, self.state = self.model.step(x, self.state)
        probs = torch.sigmoid(logits)
        if self.sample:
            pressed = torch.bernoulli(probs, generator=self._gen)
        else:
            pressed = probs > 0.5
        self.probabilities = probs.cpu().numpy()
        self.values = values.cpu().numpy()
        return pressed.to(torch.uint8).cpu().numpy()

    def state_arrays(self, i: int = 0) -> list[np.ndarray]:
        """World ``i``'s recurrent state as flat arrays (the hidden state, then the cell
        state for an LSTM), layers concatenated; empty before ``reset``/``act``."""
        if self.state is None or i >= self.n:
            return []
        return [s[:, i].reshape(-1).detach().cpu().numpy() for s in self.state]

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, **self.config.to_dict(), "sample": self.sample}
