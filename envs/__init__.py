"""The platformer world: batched simulation, levels, generator, solver and Gymnasium envs.

``import envs`` registers ``Platformer-v0`` with Gymnasium; ``gymnasium.make_vec`` uses the
native vector environment.
"""

from gymnasium.envs.registration import register, registry

from envs.level import Level, LevelError, builtin_names, load_level, parse_level

if "Platformer-v0" not in registry:
    register(
        id="Platformer-v0",
        entry_point="envs.platformer:PlatformerEnv",
        vector_entry_point="envs.vector:make_vec",
    )

__all__ = ["Level", "LevelError", "builtin_names", "load_level", "parse_level"]
