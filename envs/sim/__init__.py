"""The rules of the built-in world: constants, the batched physics kernels, the world state
and the episode rules beyond physics (the no-progress timeout). Never imports pygame."""
