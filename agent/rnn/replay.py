"""Prioritised level replay for PPO on a fixed list of levels (``ppo.level_replay``).

With thousands of generated levels drawn uniformly, most episodes replay levels the policy
already finishes, and the rare hard features (a pit under a low ceiling, an enemy group between
pipes) are met too seldom to be learnt. ``LevelReplay`` keeps, per level, a moving average of
how often its episodes failed, and draws the next levels with probability

    p_i = (1 - replay) / n  +  replay * score_i / sum(score)

so a share ``replay`` of the draws goes to the levels that fail most and the rest stays uniform
(every level keeps a chance, and a level's score can fall again once it is learnt). A level
never played scores 1: it is tried early. This is the failure-rate variant of prioritised level
replay (Jiang, Grefenstette and Rocktaschel, 2021, score by learning potential; here by the
plainer signal the episodes already give). The scores are part of PPO's checkpoint, so a
resumed run draws the same levels as an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["LevelReplay"]


class LevelReplay:
    """Failure-rate scores of ``n`` levels and the draw weights they give."""

    def __init__(self, n: int, replay: float, decay: float = 0.5) -> None:
        if n < 1:
            raise ValueError(f"level replay needs at least one level, got {n}")
        if not 0.0 <= replay <= 1.0:
            raise ValueError(f"level_replay must be within [0, 1], got {replay}")
        if not 0.0 < decay <= 1.0:
            raise ValueError(f"level replay decay must be within (0, 1], got {decay}")
        self.replay = float(replay)
        self.decay = float(decay)
        self.scores = np.ones(n, dtype=np.float64)

    def record(self, levels: Sequence[int] | np.ndarray, failed: Sequence[bool] | np.ndarray):
        """Episodes of ``levels`` ended, each failed or finished: move their scores."""
        for i, f in zip(np.asarray(levels, dtype=np.int64), np.asarray(failed), strict=True):
            self.scores[i] += self.decay * (float(f) - self.scores[i])

    def weights(self) -> np.ndarray:
        """Draw probabilities, summing to 1."""
        n = len(self.scores)
        total = self.scores.sum()
        focus = self.scores / total if total > 0 else np.full(n, 1.0 / n)
        w = (1.0 - self.replay) / n + self.replay * focus
        return w / w.sum()

    def state(self) -> list[float]:
        return self.scores.tolist()

    def load(self, scores: Sequence[float]) -> None:
        s = np.asarray(scores, dtype=np.float64)
        if s.shape != self.scores.shape or not np.isfinite(s).all():
            raise ValueError(f"level replay: expected {len(self.scores)} finite scores")
        self.scores = s
