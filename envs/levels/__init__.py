"""Levels: the text format and the shipped levels (``1-1.txt`` ..), the seeded generator and
the memory-level family, all proven finishable by ``envs.solver``."""
