"""The platformer world: batched simulation, levels, generator, solver and Gymnasium envs."""
