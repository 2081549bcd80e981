"""The episode loop refuses an agent whose frame skip it could not divide by (0, negative, a
string, past ``MAX_FRAME_SKIP``), naming the agent, before any frame is played."""

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
