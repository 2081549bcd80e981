"""Type and range checks of settings, for every setting read from a file or given by a caller.

A setting read back from a file (``model.json``, a champion's ``env_settings``, a demo's
metadata, a trainer's settings) may have been edited into any JSON value: a string, ``null``,
``NaN``, a huge number. These checks turn each into a one-line ``ValueError`` naming the setting
(``SettingError``), before the value can divide by zero, loop forever or size an allocation.

The bounds of the play settings every env takes (``envs.gym.episodes.check_play_settings``) are
here too: a decision at most every ``MAX_FRAME_SKIP`` frames (one second of game time) and a
view of at most ``MAX_VIEW_RADIUS`` tiles around the player.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

__all__ = [
    "MAX_FRAME_SKIP",
    "MAX_VIEW_RADIUS",
    "SettingError",
    "check_bool",
    "check_int",
    "check_number",
]

MAX_FRAME_SKIP = 60
MAX_VIEW_RADIUS = 32


class SettingError(ValueError):
    """A setting of the wrong type or out of its range; the message is one line."""


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_int(name: str, value: Any, lo: int | None = None, hi: int | None = None) -> int:
    """``value`` as an int if it is an integer (not a bool) within ``[lo, hi]``;
    ``SettingError`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise SettingError(f"{name} must be an integer, got {type(value).__name__} {_shown(value)}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise SettingError(f"{name} must be {_range(lo, hi)}, got {_shown(value)}")
    return int(value)


def check_number(
    name: str,
    value: Any,
    lo: float | None = None,
    hi: float | None = None,
    *,
    above: bool = False,
) -> float:
    """``value`` as a float if it is a finite int or float (not a bool) within ``[lo, hi]``
    (``above``: strictly greater than ``lo``); ``SettingError`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise SettingError(f"{name} must be a number, got {type(value).__name__} {_shown(value)}")
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        raise SettingError(f"{name} must be a finite number, got {_shown(value)}") from None
    if not math.isfinite(number):
        raise SettingError(f"{name} must be a finite number, got {_shown(value)}")
    low_bad = lo is not None and (number <= lo if above else number < lo)
    if low_bad or (hi is not None and number > hi):
        want = f"above {lo}" if above and hi is None else _range(lo, hi)
        if above and hi is not None:
            want = f"above {lo} and at most {hi}"
        raise SettingError(f"{name} must be {want}, got {_shown(value)}")
    return number


def check_bool(name: str, value: Any) -> bool:
    """``value`` if it is true or false; ``SettingError`` otherwise."""
    if not isinstance(value, bool):
        got = f"{type(value).__name__} {_shown(value)}"
        raise SettingError(f"{name} must be true or false, got {got}")
    return value


def _range(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"from {lo} to {hi}"
    if lo is not None:
        return f"at least {lo}"
    return f"at most {hi}"
