"""Glue between the environments and ``viz``: pygame is imported only when a frame is drawn."""

from __future__ import annotations

import numpy as np

from envs.sim.world import World


class Renderer:
    """Draws world ``i`` of a batch as an RGB array or into a human window."""

    def __init__(self, mode: str | None, scale: int = 2, fps: int = 60):
        self.mode = mode
        self.scale = scale
        self.fps = fps
        self._window = None

    def frame(self, world: World, i: int = 0) -> np.ndarray:
        from envs.render.frame import render_view, surface_to_array

        return surface_to_array(render_view(world.view(i), scale=self.scale))

    def show(self, world: World, i: int, hud: list[str]) -> None:
        from envs.render.frame import HumanWindow, render_view

        if self._window is None:
            self._window = HumanWindow(fps=self.fps)
        self._window.show(render_view(world.view(i), scale=self.scale), hud)
        self._window.poll()

    def close(self) -> None:
        if self._window is not None:
            self._window.close()
            self._window = None
