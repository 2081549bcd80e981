"""Episode rules beyond the physics: when a run that makes no progress is over.

MarI/O ends a run once the player has gone ``timeout + frames / 4`` frames without a new
rightmost position (its ``TimeoutConstant`` of 20 plus a quarter of the frames played); the
Gymnasium envs end one after a fixed ``no_progress_frames`` (growth 0). This is the one copy of
that rule: the compiled NEAT rollout, the episode loop of ``agent.episodes`` and the envs'
``EpisodeBatch`` all call ``out_of_time``, on scalars or on arrays of worlds.
"""

from __future__ import annotations

from numba import njit

__all__ = ["out_of_time"]


@njit(cache=True, nogil=True, inline="always")
def out_of_time(frames, since_progress, timeout, growth):
    """True where a run of ``frames`` frames whose rightmost position last improved
    ``since_progress`` frames ago has used up its no-progress allowance
    (``timeout + growth * frames`` frames)."""
    return since_progress >= timeout + growth * frames
