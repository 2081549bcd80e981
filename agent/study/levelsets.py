"""The level sets of a comparison: levels played together and reported in one table.

``named_set`` (built-in levels and level files: ``--level``), ``generated_set`` (``--generated N``
levels, seeds ``--seed`` .. ``--seed + N - 1``) and ``smb_set`` (stages of the real game:
``--env smb --level 1-1``). Bad input raises ``CompareError`` with a one-line message that names
the flag.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from envs.levels.generator import (
    DEFAULT_DIFFICULTY,
    DEFAULT_LENGTH,
    generate_level,
    generated_seeds,
)
from envs.levels.level import Level, LevelError, load_level

__all__ = ["CompareError", "LevelSet", "generated_set", "level_sets", "named_set", "smb_set"]


class CompareError(ValueError):
    """Bad input to the comparison (a missing run, an unknown level); the message is one line."""

    @classmethod
    def of(cls, error: BaseException, prefix: str = "") -> CompareError:
        """``prefix`` + the first line of ``error``'s message."""
        lines = str(error).strip().splitlines() or [type(error).__name__]
        return cls(prefix + lines[0])


@dataclass
class LevelSet:
    """Levels played together and reported in one table."""

    name: str
    levels: list[Level]
    seeds: list[int] | None = None  # generated levels' seeds (None: named levels)
    difficulty: float | None = None
    length: int | None = None
    smb_stages: list[str] | None = None  # the real game's stages instead of ``levels``

    @property
    def env(self) -> str:
        return "world" if self.smb_stages is None else "smb"

    @property
    def level_names(self) -> list[str]:
        return [lv.name for lv in self.levels] if self.smb_stages is None else self.smb_stages

    def level_seed(self, i: int) -> int | None:
        """The generator seed of level ``i`` (None for hand-made levels and stages)."""
        if self.smb_stages is not None:
            return None
        if self.seeds is not None:
            return self.seeds[i]
        seed = self.levels[i].meta.get("seed")
        return None if seed is None else int(seed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "env": self.env,
            "levels": self.level_names,
            "seeds": self.seeds,
            "difficulty": self.difficulty,
            "length": self.length,
        }


def named_set(specs: Sequence[str], name: str = "levels") -> LevelSet:
    """Built-in level names or level files as a level set; ``CompareError`` if one is unknown."""
    levels = []
    for spec in specs:
        try:
            levels.append(load_level(spec))
        except (LevelError, OSError) as exc:
            raise CompareError.of(exc, f"--level {spec}: ") from None
    if not levels:
        raise CompareError("--level: no levels given")
    return LevelSet(name, levels)


def smb_set(specs: Sequence[str], name: str = "smb") -> LevelSet:
    """Stages of the real Super Mario Bros. (``"1-1"``; the ``nes`` extra) as a level set.

    Only stages whose end MarI/O knows (1-1, x 3186) can report progress, so only those."""
    from envs.smb.console import STAGE_END_X
    from envs.smb.ram import parse_stage

    stages = []
    for spec in specs:
        try:
            world, stage = parse_stage(spec)
        except ValueError as exc:
            raise CompareError.of(exc, f"--level {spec}: ") from None
        if f"{world}-{stage}" not in STAGE_END_X:
            raise CompareError(
                f"--level {spec}: with --env smb only {', '.join(STAGE_END_X)} has a known end "
                "to measure progress against"
            )
        stages.append(f"{world}-{stage}")
    if not stages:
        raise CompareError("--level: no stages given")
    return LevelSet(name, [], smb_stages=stages)


def generated_set(
    count: int,
    seed: int = 0,
    difficulty: float = DEFAULT_DIFFICULTY,
    length: int = DEFAULT_LENGTH,
    name: str | None = None,
) -> LevelSet:
    """``count`` generated levels with seeds ``seed .. seed + count - 1`` (``generated_seeds``)."""
    if count < 1:
        raise CompareError(f"--generated must be at least 1, got {count}")
    seeds = generated_seeds(seed, count)
    try:
        levels = [generate_level(s, difficulty, length) for s in seeds]
    except ValueError as exc:
        raise CompareError.of(exc, "--generated: ") from None
    return LevelSet(name or f"generated-s{seed}-n{count}", levels, seeds, difficulty, length)


def level_sets(
    levels: Sequence[str] | None = None,
    generated: int | None = None,
    seed: int = 0,
    difficulty: float = DEFAULT_DIFFICULTY,
    length: int = DEFAULT_LENGTH,
    env: str = "world",
) -> list[LevelSet]:
    """The level sets the command line asks for: ``--level`` (built-in levels and files, named
    ``levels``; with ``env="smb"`` stages of the real game), ``--generated N`` (a second set);
    level 1-1 when neither is given."""
    if env == "smb":
        if generated is not None:
            raise CompareError("--generated: the built-in world only, not --env smb")
        return [smb_set(levels or ["1-1"])]
    sets = [named_set(levels)] if levels else []
    if generated is not None:
        sets.append(generated_set(generated, seed, difficulty, length))
    return sets or [named_set(["1-1"])]
