"""The episode loop: it refuses an agent whose frame skip it could not divide by (0, negative,
a string, past ``MAX_FRAME_SKIP``), naming the agent, before any frame is played; its records
tell how each episode ended."""

from __future__ import annotations

import numpy as np
import pytest

from agent.episodes import Episodes
from tests.helpers.levels import small_level, world_for


class _Still:
    name = "still"
    view_radius = 6

    def __init__(self, frame_skip) -> None:
        self.frame_skip = frame_skip

    def reset(self, n: int) -> None:
        pass

    def act(self, observations: np.ndarray) -> np.ndarray:
        return np.zeros((len(observations), 6), np.uint8)


@pytest.mark.parametrize("skip", [0, -1, "5", 10**6, 2.5])
def test_an_unusable_frame_skip_is_refused_by_name(skip):
    """frame_skip 0 made the loop divide by zero (or never decide): a one-line ValueError
    naming the agent instead; the world has not moved."""
    world = world_for(small_level())
    frames = world.frames().copy()
    with pytest.raises(ValueError, match="still: frame_skip must be") as info:
        Episodes(world, _Still(skip))
    assert "\n" not in str(info.value)
    assert np.array_equal(world.frames(), frames)


def test_a_usable_frame_skip_plays():
    """A frame skip within range builds the loop as before."""
    assert Episodes(world_for(small_level()), _Still(4)).groups[0].skip == 4


class _Right(_Still):
    name = "right"

    def act(self, observations: np.ndarray) -> np.ndarray:
        buttons = np.zeros((len(observations), 6), np.uint8)
        buttons[:, 5] = 1
        return buttons


def _rows(ground: str, row6: str) -> list[str]:
    return ["." * 16] * 5 + ["...............F", row6, ground]


def test_each_way_an_episode_ends_is_told_apart():
    """``ending`` names how each episode ended: walking right reaches the flag (finished),
    drops into a pit (fell) or into an enemy (hit); standing still until the no-progress rule
    ends it is a timeout; ``dead`` stays true for both deaths."""
    from agent.episodes import EpisodeRules, play_levels
    from tests.helpers.levels import level_from_rows

    levels = [
        level_from_rows(*_rows("X" * 16, "..S............F"), name="flag"),
        level_from_rows(*_rows("XXXX....XXXXXXXX", "..S............F"), name="pit"),
        level_from_rows(*_rows("X" * 16, "..S...E........F"), name="enemy"),
    ]
    ev = play_levels(_Right(5), levels, rules=EpisodeRules(timeout_frames=600)).episodes
    assert [e["ending"] for e in ev] == ["finished", "fell", "hit"]
    assert [e["dead"] for e in ev] == [False, True, True]
    still = play_levels(_Still(5), levels[:1], rules=EpisodeRules(timeout_frames=60)).episodes
    assert still[0]["ending"] == "timeout" and not still[0]["dead"]
