"""The real game as a game of the one window loop (``viz.smb_view``): the watching keys,
records through ``agent.episodes``, MarI/O's timeout for agents, and N to the next stage.
Needs the ``nes`` extra except for the stage arithmetic."""

from __future__ import annotations

import numpy as np
import pygame
import pytest

from viz.smb_view import next_stage, stage_cycle
from viz.window import play_window

NES_MISSING = 'the real game needs the nes extra: pip install -e ".[nes]"'


class Idle:
    """An agent that presses nothing, deciding every 5th frame."""

    name, frame_skip, view_radius = "idle", 5, 6

    def __init__(self) -> None:
        self.calls = 0

    def reset(self, n: int) -> None:
        pass

    def act(self, obs: np.ndarray) -> np.ndarray:
        self.calls += 1
        return np.zeros((len(obs), 6), dtype=np.uint8)


def test_stages_follow_in_game_order():
    """N after one stage: the next stage of the world, then the next world; 8-4 wraps to 1-1;
    several stages given cycle among themselves; bad names are refused."""
    assert [next_stage(s) for s in ("1-1", "1-4", "8-4")] == ["1-2", "2-1", "1-1"]
    assert stage_cycle(["1-1", "3-2"]).next().current == "3-2"
    with pytest.raises(ValueError, match="worlds 1 to 8"):
        stage_cycle(["9-1"])


def test_pause_and_step_keys_in_the_real_games_window():
    """P, '.', O and + arrive together in the first frame: the game pauses, '.' steps exactly
    one frame, O and + toggle without breaking the loop; the other 5 frames shown are paused."""
    pytest.importorskip("nes_py", reason=NES_MISSING)
    from viz.smb_view import SmbGame

    game = SmbGame("1-1")
    pygame.display.init()
    for key in (pygame.K_p, pygame.K_PERIOD, pygame.K_o, pygame.K_PLUS):
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key))
    assert play_window(game, scale=1, fps=0, max_frames=6) == 0
    assert game.run.frames == 1 and not game.watching


@pytest.mark.slow
def test_an_idle_agent_times_out_as_in_training():
    """An agent that never moves ends by MarI/O's timeout (20 + frames/4 frames without
    progress, checked at its decisions: at frame 30, 30 >= 27.5): a record with the headless
    keys, rightmost and timeout; N then plays the next stage with the same agent."""
    pytest.importorskip("nes_py", reason=NES_MISSING)
    from viz.headless import play_episodes
    from viz.smb_view import SmbGame

    agent = Idle()
    game = SmbGame("1-1", agent)
    ((record,),) = list(play_episodes(game, 1))
    assert record["timeout"] and not record["completed"] and not record["dead"]
    assert record["frames"] == 30 and record["agent"] == "idle" and record["level"] == "1-1"
    assert record["rightmost"] == game.console.start_x and 0 <= record["progress"] < 5
    assert game.end_message() == "Time up!" and agent.calls == 6  # frames 0, 5, ..., 25
    nxt = game.next_level()
    assert nxt.level == "1-2" and nxt.agent is agent and nxt.title.endswith("Bros. 1-2")
