"""The arithmetic of a recurrent PPO update, apart from the trainer that runs it.

* ``Rollout``: one rollout of ``num_steps`` x ``num_envs``, time-major, with the recurrent
  state before its first step and the episode-start mask of every step.
* ``compute_gae``: generalised advantage estimates, cut at episode starts.
* ``env_minibatches``: the envs (not the time steps) shuffled into groups, so a minibatch holds
  whole sequences that can be re-run through the recurrent core.
* ``bernoulli_log_prob`` / ``bernoulli_entropy``: the policy, six independent buttons.
* ``clipped_surrogate`` and ``ppo_loss``: the clipped surrogate objective (which an update
  *raises*), the clipped value loss and the entropy bonus, as one loss to *minimise*.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from agent.rnn.model import State

__all__ = [
    "Rollout",
    "bernoulli_entropy",
    "bernoulli_log_prob",
    "clipped_surrogate",
    "compute_gae",
    "env_minibatches",
    "ppo_loss",
]


def bernoulli_log_prob(logits: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """log p(actions) under 6 independent Bernoullis, summed over the last axis."""
    return -F.binary_cross_entropy_with_logits(logits, actions, reduction="none").sum(-1)


def bernoulli_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of 6 independent Bernoullis, summed over the last axis."""
    p = torch.sigmoid(logits)
    return (p * F.softplus(-logits) + (1 - p) * F.softplus(logits)).sum(-1)


def compute_gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    starts: torch.Tensor,
    next_value: torch.Tensor,
    next_start: torch.Tensor,
    gamma: float,
    lam: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimates and returns over a (T, N) rollout.

    ``starts[t]`` marks ``obs[t]`` as the first of an episode, so the episode of step ``t``
    ended after it when ``starts[t + 1]`` (``next_start`` after the last step); nothing is then
    bootstrapped across the boundary.
    """
    T = rewards.shape[0]
    adv = torch.zeros_like(rewards)
    last = torch.zeros_like(next_value)
    for t in reversed(range(T)):
        if t == T - 1:
            nonterminal, nxt = 1.0 - next_start.float(), next_value
        else:
            nonterminal, nxt = 1.0 - starts[t + 1].float(), values[t + 1]
        delta = rewards[t] + gamma * nxt * nonterminal - values[t]
        last = delta + gamma * lam * nonterminal * last
        adv[t] = last
    return adv, adv + values


def env_minibatches(num_envs: int, minibatches: int, generator: torch.Generator) -> list:
    """Env indices shuffled and split into equal groups: a minibatch holds whole sequences."""
    perm = torch.randperm(num_envs, generator=generator)
    return list(perm.view(minibatches, -1))


def clipped_surrogate(ratio: torch.Tensor, advantages: torch.Tensor, clip: float) -> torch.Tensor:
    """PPO's clipped surrogate objective ``mean(min(r A, clip(r, 1 - c, 1 + c) A))``: what the
    policy part of an update raises."""
    return torch.min(advantages * ratio, advantages * ratio.clamp(1 - clip, 1 + clip)).mean()


def ppo_loss(
    newlogp: torch.Tensor,
    oldlogp: torch.Tensor,
    advantages: torch.Tensor,
    entropy: torch.Tensor,
    values: torch.Tensor,
    old_values: torch.Tensor,
    returns: torch.Tensor,
    *,
    clip_coef: float,
    ent_coef: float,
    vf_coef: float,
    norm_adv: bool = True,
    clip_vloss: bool = True,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The loss of one minibatch (to minimise) and its parts.

    ``loss = -clipped_surrogate + vf_coef * value_loss - ent_coef * mean entropy``; advantages
    normalised over the minibatch with ``norm_adv``; the value loss is clipped around the
    rollout's values with ``clip_vloss`` (cleanrl). Returns the loss and ``pg`` (the policy
    loss, minus the surrogate), ``v``, ``ent``, ``kl`` (approximate KL) and ``clip`` (the share
    of ratios outside the clip range).
    """
    logratio = newlogp - oldlogp
    ratio = logratio.exp()
    with torch.no_grad():
        approx_kl = ((ratio - 1) - logratio).mean()
        clipfrac = ((ratio - 1.0).abs() > clip_coef).float().mean()
    a = advantages
    if norm_adv:
        a = (a - a.mean()) / (a.std() + 1e-8)
    pg = -clipped_surrogate(ratio, a, clip_coef)
    if clip_vloss:
        v_clip = old_values + (values - old_values).clamp(-clip_coef, clip_coef)
        v_loss = 0.5 * torch.max((values - returns) ** 2, (v_clip - returns) ** 2).mean()
    else:
        v_loss = 0.5 * ((values - returns) ** 2).mean()
    ent = entropy.mean()
    loss = pg - ent_coef * ent + vf_coef * v_loss
    return loss, {"pg": pg, "v": v_loss, "ent": ent, "kl": approx_kl, "clip": clipfrac}


@dataclass
class Rollout:
    """One rollout of ``num_steps`` x ``num_envs``, time-major; ``starts[t, i]`` = 1 where
    ``obs[t, i]`` is the first observation of an episode; ``init_state`` is the recurrent state
    of every env before ``obs[0]``."""

    obs: torch.Tensor  # (T, N, S, S)
    actions: torch.Tensor  # (T, N, 6)
    logprobs: torch.Tensor  # (T, N) under the policy that acted
    values: torch.Tensor  # (T, N)
    starts: torch.Tensor  # (T, N) float 0/1
    rewards: torch.Tensor  # (T, N) scaled, with truncation bootstraps
    init_state: State
    advantages: torch.Tensor | None = None
    returns: torch.Tensor | None = None
    episodes: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
