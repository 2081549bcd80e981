"""A resumed run's champion, scored again where the run is now trained.

The champion is kept by its fitness: a genome of a later generation replaces it only by scoring
higher. A fitness is a measurement under one environment (the built-in world or the emulator),
one set of levels and one physics profile (``envs.sim.profiles``, which is code and may change
between two sessions of a run); one measured under another is not comparable. So every champion
records what it was scored under (``scoring_key``, a hash), and a resume whose key differs
(``train.py neat --env smb --resume RUN`` of a run evolved in the fast world on ``smb:`` stages,
or a resume after the physics changed) plays the champion again, on the current generation's
levels, before the first generation: ``rescore_champion``. Its fitness, per-level scores and
finishes are replaced by the new ones (the old ones are kept in ``champion.json``'s
``extra["rescored"]``), so the champion that a run reports was measured where it now trains.

A champion of a checkpoint from before the key (none recorded) is scored again too when the
run has fixed levels only: nothing else changed, so the rescore gives back its own fitness
unless the physics did. With generated levels its fitness belongs to the levels of its own
generation and is left as it was.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

from agent.neat.fitness import Evaluation
from agent.neat.settings import Plan
from envs.sim import world as sim_world

__all__ = ["GENERATED", "SCORED_UNDER", "needs_rescore", "rescore_champion", "scoring_key"]

#: The champion dict's (and checkpoint's) record of what its fitness was measured under.
SCORED_UNDER = "scored_under"
#: The name the physics profile of generated levels is looked up by (any non-``smb:`` name).
GENERATED = "generated"


def scoring_key(plan: Plan) -> str:
    """A hash of everything a training fitness depends on besides the genome: the environment,
    the fitness settings, the fixed levels' content and (in the built-in world) the physics
    profile of every level family played, as the level bank reads it."""
    s = plan.settings
    parts: dict[str, Any] = {"env": s.env, "fitness": dataclasses.asdict(plan.fitness)}
    if s.env == "smb":
        parts["levels"] = [str(x) for x in plan.fixed_levels]  # the ROM's stages
    else:
        parts["levels"] = [level.to_text() for level in plan.fixed_levels]
        names = [level.name for level in [*plan.fixed_levels, *plan.validation_levels]]
        names += [GENERATED] if s.generated else []
        parts["physics"] = [sim_world.profile_for(n).row().tolist() for n in names]
    text = json.dumps(parts, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def needs_rescore(plan: Plan, champ: dict[str, Any] | None) -> bool:
    """Whether the champion dict ``champ`` was scored under another ``scoring_key`` (one from
    before the key: only on fixed levels alone, see the module doc)."""
    if champ is None:
        return False
    before = champ.get(SCORED_UNDER)
    if before is None:
        return not plan.settings.generated
    return before != scoring_key(plan)


def rescore_champion(
    plan: Plan,
    champ: dict[str, Any] | None,
    levels: Sequence[Any],
    evaluate: Callable[[list[tuple[int, Any]]], Evaluation],
    validate: Callable[[list[tuple[int, Any]]], Evaluation] | None = None,
) -> tuple[bool, int]:
    """Score the champion dict ``champ`` (``agent.neat.reporters.RunState.champion``) again on
    ``levels`` with ``evaluate`` (and on the validation levels with ``validate``) when it was
    scored under another ``scoring_key``; update it in place. Returns (whether its scores
    changed, frames simulated)."""
    if not needs_rescore(plan, champ):
        if champ is not None:
            champ[SCORED_UNDER] = scoring_key(plan)
        return False, 0
    key, before = scoring_key(plan), champ.get(SCORED_UNDER)
    genome = champ["genome"]
    pair = [(int(genome.key) if genome.key is not None else 0, genome)]
    ev = evaluate(pair)
    frames = int(ev.frames_simulated)
    old = {k: champ[k] for k in ("fitness", "levels", "level_fitness", "completed")}
    champ.update(
        fitness=float(ev.fitness[0]),
        levels=[getattr(x, "name", str(x)) for x in levels],
        level_fitness=[float(x) for x in ev.level_fitness[0]],
        completed=[bool(x) for x in ev.completed[0]],
    )
    if validate is not None and "validation_fitness" in champ:
        old["validation_fitness"] = champ["validation_fitness"]
        vev = validate(pair)
        frames += int(vev.frames_simulated)
        champ["validation_fitness"] = float(vev.fitness[0])
        champ["validation_completed"] = [bool(x) for x in vev.completed[0]]
    genome.fitness = champ["fitness"]
    champ[SCORED_UNDER] = key
    changed = any(champ[k] != v for k, v in old.items())
    if changed:
        champ["rescored"] = {**old, "scored_under": before, "rescored_in": plan.settings.env}
    return changed, frames
