"""Headless pygame for the drawing tests, the repository root on ``sys.path`` (for ``play``),
and small levels built in memory."""

import os
import sys
from pathlib import Path

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402

from envs.levels.level import Level, parse_level  # noqa: E402

# 16x8 tiles: ground on row 7; on row 6 the player starts at column 2, a coin waits at
# column 4 and an enemy at column 12; the flag fills column 15 on rows 5-6.
SMALL = """; name: small
................
................
................
................
................
...............F
..S.C.......E..F
XXXXXXXXXXXXXXXX
"""


@pytest.fixture
def small_level() -> Level:
    return parse_level(SMALL, source="small.txt")
