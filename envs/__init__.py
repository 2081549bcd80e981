"""The platformer world: batched simulation, levels, generator, solver and Gymnasium envs.

``import envs`` registers ``Platformer-v0`` with Gymnasium; ``gymnasium.make_vec`` uses the
native vector environment. ``SuperMarioBros-Tiles-v0`` is the real game in the NES emulator
with the same observation and buttons (``envs.smb.env``; needs ``pip install -e ".[nes]"``).
"""

from gymnasium.envs.registration import register, registry

from envs.levels.level import Level, LevelError, builtin_names, load_level, parse_level

if "Platformer-v0" not in registry:
    register(
        id="Platformer-v0",
        entry_point="envs.gym.platformer:PlatformerEnv",
        vector_entry_point="envs.gym.vector:make_vec",
    )
if "SuperMarioBros-Tiles-v0" not in registry:
    # the real game (the ``nes`` extra); nes-py is imported only when the env is made
    register(id="SuperMarioBros-Tiles-v0", entry_point="envs.smb.env:SuperMarioBrosTilesEnv")

__all__ = ["Level", "LevelError", "builtin_names", "load_level", "parse_level"]
