"""Settings of the recurrent trainers: their JSON files and the levels a run trains on.

PPO (``configs/ppo.json``) and BC (``configs/bc.json``) settings files are ``{"model": {...},
SECTION: {...}}`` objects (plus an optional ``"comment"``); each section becomes a settings
dataclass, and an unknown key or a bad value (of the wrong type, not finite, out of range) is a
one-line ``agent.runs.TrainError`` naming the file and the field. ``training_levels`` turns
level names, files and a count of generated levels into the ``Level`` objects a run plays.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agent.files import FileRefused, read_json_file
from agent.rnn.model import ModelConfig, ModelError
from agent.runs import TrainError
from envs.checks import SettingError, check_bool, check_int, check_number
from envs.levels.generator import (
    DEFAULT_DIFFICULTY,
    DEFAULT_LENGTH,
    Difficulty,
    clear_of_held_out,
    difficulty_spread,
)
from envs.levels.level import Level, load_level

__all__ = [
    "JsonSettings",
    "level_names",
    "load_settings",
    "settings_from_dict",
    "training_levels",
    "training_seeds",
]

#: A settings file larger than this is refused unread.
MAX_SETTINGS_BYTES = 1 << 20


class JsonSettings:
    """``to_dict`` / ``from_dict`` of a trainer's settings dataclass (``WHAT`` names them in
    errors, e.g. "PPO"), and ``check_types``, which its ``__post_init__`` calls first."""

    WHAT = "trainer"

    def check_types(self) -> None:
        """Every field's value against its annotation (``int``, ``float``, ``bool``, ``str``,
        each maybe ``| None``): an int is not a bool, a float is a finite number (``lr:
        Infinity`` and ``target_kl: "x"`` are refused); a one-line ``TrainError`` naming the
        field otherwise."""
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            kinds = {k.strip() for k in str(f.type).split("|")}
            if value is None and "None" in kinds:
                continue
            name = f"{type(self).__name__}.{f.name}"
            try:
                if "bool" in kinds:
                    check_bool(name, value)
                elif "int" in kinds:
                    check_int(name, value)
                elif "float" in kinds:
                    check_number(name, value)
                elif "str" in kinds and not isinstance(value, str):
                    raise SettingError(f"{name} must be a string, got {value!r:.40}")
            except SettingError as exc:
                raise TrainError(str(exc)) from None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str | None = None) -> Any:
        """The settings from a JSON object; ``TrainError`` naming ``source`` otherwise."""
        return settings_from_dict(cls, d, source or f"{cls.WHAT.lower()} settings", cls.WHAT)


def settings_from_dict(cls: type, d: Any, source: str, what: str) -> Any:
    """A settings dataclass from a JSON object: unknown keys and bad values are TrainErrors
    naming ``source``."""
    if not isinstance(d, dict):
        raise TrainError(f"{source}: the {what} settings must be a JSON object")
    unknown = sorted(set(d) - {f.name for f in dataclasses.fields(cls)})
    if unknown:
        raise TrainError(f"{source}: unknown {what} setting(s) {', '.join(unknown)}")
    try:
        return cls(**d)
    except (TrainError, TypeError) as exc:
        raise TrainError(f"{source}: {exc}") from None


def load_settings(path: str | Path, section: str, cls: type) -> tuple[ModelConfig, Any]:
    """A ``{"model": {...}, SECTION: {...}}`` settings file: the model and ``cls`` settings."""
    path = Path(path)
    try:
        data = read_json_file(path, MAX_SETTINGS_BYTES, "settings file")
    except FileNotFoundError as exc:
        raise TrainError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except FileRefused as exc:
        raise TrainError(str(exc)) from None
    if not isinstance(data, dict) or set(data) - {"model", section, "comment"}:
        raise TrainError(f'{path}: expected an object with "model" and "{section}" sections')
    try:
        model = ModelConfig.from_dict(data.get("model", {}), str(path))
    except ModelError as exc:
        raise TrainError(str(exc)) from None
    return model, cls.from_dict(data.get(section, {}), str(path))


def _level_seed(seed: int, index: int) -> int:
    return int(np.random.SeedSequence([seed, 7919, index]).generate_state(1)[0])


def training_seeds(seed: int, count: int) -> list[int]:
    """The seeds of a run's ``count`` generated training levels, derived from the run's
    ``seed`` and kept clear of the held-out levels' (``clear_of_held_out``)."""
    return [clear_of_held_out(_level_seed(seed, i)) for i in range(count)]


def level_names(specs: Sequence[str | Path | Level]) -> list[str]:
    """What ``run.json`` records of level specs: names of Level objects, else the spec."""
    return [x.name if isinstance(x, Level) else str(x) for x in specs]


def training_levels(
    levels: Sequence[str | Path | Level] | None,
    generated: int | None = None,
    difficulty: Difficulty = DEFAULT_DIFFICULTY,
    length: int = DEFAULT_LENGTH,
    seed: int = 0,
) -> list[Level]:
    """The fixed levels plus ``generated`` generated ones (``training_seeds`` of ``seed``; a
    ``difficulty`` range ``(lo, hi)`` spreads them evenly over it, ``difficulty_spread``)."""
    out = [x if isinstance(x, Level) else load_level(x) for x in (levels or [])]
    if generated:
        from envs.levels.generator import generate_level

        try:
            spread = difficulty_spread(difficulty, generated)
            seeds = training_seeds(seed, generated)
            out += [generate_level(s, d, length) for s, d in zip(seeds, spread, strict=True)]
        except ValueError as exc:
            raise TrainError(f"generated levels: {exc}") from None
    if not out:
        raise TrainError("no training levels: give levels, generated levels, or both")
    return out
