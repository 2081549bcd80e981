"""Drawing the platformer with pygame: procedural pixel art (``viz.art``) and frames.

Only this package imports pygame; the simulation in ``envs`` never does.
"""
