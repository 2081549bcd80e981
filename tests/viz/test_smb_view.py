"""The real game's window shares the watching keys of the built-in world's (``viz.keys``)."""

from __future__ import annotations

import numpy as np
import pygame
import pytest

NES_MISSING = 'the real game needs the nes extra: pip install -e ".[nes]"'


def test_pause_and_step_keys_in_the_real_games_window():
    """P, '.', O and + arrive together in the first frame: the game pauses, '.' steps exactly
    one frame, O and + toggle the overlay and the speed without breaking the loop; the other 5
    frames shown are paused, so 1 frame is played and the controller is asked once."""
    pytest.importorskip("nes_py", reason=NES_MISSING)
    from viz import smb_view

    game = smb_view.SmbGame("1-1")
    pygame.display.init()
    calls = []

    def idle(window, g):
        calls.append(window.fps)
        return np.zeros((1, 6), dtype=np.uint8)

    for key in (pygame.K_p, pygame.K_PERIOD, pygame.K_o, pygame.K_PLUS):
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key))
    assert smb_view.play_window(game, idle, "t", scale=1, fps=0, max_frames=6) == 0
    assert game.run.frames == 1 and len(calls) == 1
