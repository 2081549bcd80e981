"""Drawing the built-in world with pygame: the pixel art, frames of a world, the human window.
The one place the envs' ``render()`` draws from; pygame is imported only when this is used, and
``viz`` builds overlays, races and videos on top of it."""
