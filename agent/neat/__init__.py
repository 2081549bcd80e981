"""NEAT, MarI/O-style: genomes compiled into batched networks, the compiled rollout, the
population evaluators (built-in world, real game), the evaluation backends (processes, Ray), the
trainer with its reporters, champion files, checkpoints, and the NEAT policy as an agent."""
