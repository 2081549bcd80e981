"""Sequence training for behaviour cloning: truncated BPTT over windows of laid-out episodes.

Each epoch shuffles the episodes, lays them end to end and cuts the result into ``streams``
parallel streams (``stream_windows``). The streams are walked in windows of ``window`` steps:
one minibatch = one window of every stream (``window_batches``). The recurrent state is carried
(detached) from one window to the next, and zeroed exactly where an episode starts (the
``episode_starts`` done mask of ``RecurrentPolicy.forward``), so gradients flow back at most
``window`` steps but the state the model sees is the one it would have at play time. A stream
that begins inside an episode starts from a zero state (one window per stream and epoch; the
cut points move every epoch). ``bc_update`` is one gradient step: binary cross-entropy on the 6
buttons, padding masked out.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from agent.rnn.model import RecurrentPolicy, State

__all__ = ["Batch", "bc_update", "stream_windows", "window_batches"]

#: One minibatch of windows: ``(index, starts, valid, new_epoch)``, the arrays (window, streams).
Batch = tuple[np.ndarray, np.ndarray, np.ndarray, bool]


def stream_windows(
    lengths: Sequence[int], order: Sequence[int], streams: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lay episodes (``lengths``, visited in ``order``) end to end in ``streams`` rows.

    Returns ``(index, starts, valid)``, each (L, streams), time-major: ``index`` points into the
    concatenated dataset (episodes in their stored order), ``starts`` is the done mask (True at
    every episode start and at the first step of each stream), ``valid`` marks real (unpadded)
    entries.
    """
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    idx = np.concatenate([offsets[e] + np.arange(lengths[e]) for e in order]).astype(np.int64)
    first = np.zeros(len(idx), np.bool_)
    pos = 0
    for e in order:
        first[pos] = True
        pos += lengths[e]
    total = len(idx)
    streams = max(1, min(streams, total))
    L = math.ceil(total / streams)
    pad = streams * L - total
    idx = np.concatenate([idx, np.zeros(pad, np.int64)])
    valid = np.concatenate([np.ones(total, np.bool_), np.zeros(pad, np.bool_)])
    first = np.concatenate([first, np.ones(pad, np.bool_)])
    idx, valid, first = (a.reshape(streams, L).T.copy() for a in (idx, valid, first))
    first[0] = True
    return idx, first, valid


def window_batches(
    lengths: Sequence[int], window: int, streams: int, rng: np.random.Generator
) -> Iterator[Batch]:
    """Endless minibatches ``(index, starts, valid, new_epoch)``, each (<= window, streams).

    Every epoch reshuffles the episodes into new streams (``stream_windows``); ``new_epoch``
    flags the first window of an epoch, where the carried recurrent state must be reset.
    """
    while True:
        idx, starts, valid = stream_windows(lengths, rng.permutation(len(lengths)), streams)
        for w in range(0, idx.shape[0], window):
            sl = slice(w, w + window)
            yield idx[sl], starts[sl], valid[sl], w == 0


def bc_update(
    model: RecurrentPolicy,
    opt: torch.optim.Optimizer,
    obs: torch.Tensor,
    actions: torch.Tensor,
    batch: Batch,
    state: State | None,
    max_grad_norm: float,
) -> tuple[dict[str, float], State]:
    """One gradient step of truncated BPTT on one minibatch of windows.

    ``obs`` (T, S, S) and ``actions`` (T, 6) are the whole dataset on the model's device;
    ``state`` is the (detached) state carried from the previous window of the same streams, or
    None at the start of an epoch. Returns the window's loss and accuracies and the new state.
    """
    idx, starts, valid, new_epoch = batch
    device = obs.device
    idx_t = torch.as_tensor(idx, device=device)
    v = torch.as_tensor(valid, dtype=torch.float32, device=device)
    if state is None or new_epoch:
        state = model.initial_state(idx.shape[1], device)
    model.train()
    y = actions[idx_t]
    logits, _, state = model(obs[idx_t], state, torch.as_tensor(starts, device=device))
    per = F.binary_cross_entropy_with_logits(logits, y, reduction="none").mean(-1)
    n = v.sum().clamp(min=1.0)
    loss = (per * v).sum() / n
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    opt.step()
    with torch.no_grad():
        right = ((logits > 0).float() == y).float()
        stats = {
            "loss": loss.item(),
            "accuracy": float((right.prod(-1) * v).sum() / n),
            "button_accuracy": float((right.mean(-1) * v).sum() / n),
            "steps": float(n),
        }
    return stats, tuple(x.detach() for x in state)
