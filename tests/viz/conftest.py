"""Headless pygame for the drawing tests, the repository root on ``sys.path`` (for ``play``),
and the small level of ``tests.helpers.levels`` as a fixture."""

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

from envs.levels.level import Level  # noqa: E402
from tests.helpers import levels  # noqa: E402


@pytest.fixture
def small_level() -> Level:
    return levels.small_level()
