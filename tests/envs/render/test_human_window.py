"""``HumanWindow`` under SDL's dummy driver: frames shown at their size, keys read as names."""

import pygame

from envs.render.frame import HumanWindow, render_view
from tests.helpers.levels import world_for


def test_human_window_shows_frames_and_reads_keys(small_level):
    """show() opens a frame-sized window; poll() reports new presses once and quit; held()
    follows key down/up events; close() shuts the display and later polls report quit."""
    window = HumanWindow(fps=0)
    try:
        frame = render_view(world_for(small_level).view(0), scale=2)
        window.show(frame, ["small  0%", "60 fps"], message="hello")
        assert pygame.display.get_surface().get_size() == frame.get_size()
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RIGHT))
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_LSHIFT))
        assert window.poll() == {"right", "shift"}
        assert window.held() == {"right", "shift"}
        assert window.poll() == set()  # a press is reported once, the key stays held
        pygame.event.post(pygame.event.Event(pygame.KEYUP, key=pygame.K_RIGHT))
        pygame.event.post(pygame.event.Event(pygame.QUIT))
        assert window.poll() == {"quit"}
        assert window.held() == {"shift"}
    finally:
        window.close()
    assert not pygame.display.get_init()
    assert window.poll() == {"quit"}
