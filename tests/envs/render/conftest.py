"""The small level of ``tests.helpers.levels`` as a fixture (pygame is headless: tests/conftest)."""

import pytest

from envs.levels.level import Level
from tests.helpers import levels


@pytest.fixture
def small_level() -> Level:
    return levels.small_level()
