"""What the comparison reads of an agent's files before playing it is checked: a champion's
``extra.seed`` that is not a non-negative integer is a one-line CompareError naming the file
(it was a TypeError from ``int()``), as a model.json's is a ModelError."""

from __future__ import annotations

import json

import pytest

from agent.study.agents import describe_run
from agent.study.levelsets import CompareError
from tests.helpers.champions import make_champion


@pytest.mark.parametrize("seed", [[1], "3", -1, 2.5])
def test_a_champion_with_a_bad_seed_is_named(tmp_path, seed):
    """Lists, strings, negative and fractional seeds are refused with the file's name."""
    path = make_champion(tmp_path / "run" / "champion.json")
    data = json.loads(path.read_text())
    data["extra"] = {"seed": seed}
    path.write_text(json.dumps(data))
    with pytest.raises(CompareError, match="champion.json: extra.seed must be") as info:
        describe_run(str(path.parent))
    assert "\n" not in str(info.value)


def test_a_good_seed_is_read(tmp_path):
    """A champion's integer seed is what describe_run reports."""
    path = make_champion(tmp_path / "run" / "champion.json")
    data = json.loads(path.read_text())
    data["extra"] = {"seed": 7}
    path.write_text(json.dumps(data))
    assert describe_run(str(path.parent)).seed == 7
