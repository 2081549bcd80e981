"""The shared command-line vocabulary (``agent.cli``): bounded argument types, the check that
an output can be written, and the warnings about levels that load but cannot be played."""

from __future__ import annotations

import argparse

import pytest

from agent import cli
from envs.levels.level import parse_level
from tests.helpers.cli import make_full, make_read_only


def test_bounded_types_name_the_limit():
    """``whole``, ``seed`` and ``unit_interval`` accept their range and refuse anything else
    (too big, too small, not a number, NaN) with a message naming the limit."""
    assert cli.whole(1, 10)("10") == 10 and cli.seed(str(cli.SEED_MAX)) == cli.SEED_MAX
    assert cli.unit_interval("0") == 0.0 and cli.unit_interval("1") == 1.0
    for parse, text, says in (
        (cli.whole(1, 10), "11", "at most 10"),
        (cli.whole(1, 10), "0", "at least 1"),
        (cli.whole(1, 10), "1e11", "expected a whole number"),
        (cli.seed, str(10**26), "at most 4,294,967,295"),
        (cli.seed, "-1", "at least 0"),
        (cli.unit_interval, "nan", "within 0..1"),
        (cli.unit_interval, "1.5", "within 0..1"),
        (cli.unit_interval, "hard", "expected a number"),
    ):
        with pytest.raises(argparse.ArgumentTypeError, match=says):
            parse(text)


def test_a_difficulty_range_parses_only_where_asked_for():
    """``--difficulty`` takes ``LO:HI`` only in parsers built with ``ranges`` (train.py rnn);
    elsewhere a range is refused as not a number."""
    ranged, plain = argparse.ArgumentParser(), argparse.ArgumentParser()
    cli.add_level_options(ranged, ranges=True)
    cli.add_level_options(plain)
    assert ranged.parse_args(["--difficulty", "0.2:0.9"]).difficulty == (0.2, 0.9)
    assert ranged.parse_args(["--difficulty", "0.4"]).difficulty == 0.4
    assert plain.parse_args(["--difficulty", "0.4"]).difficulty == 0.4
    with pytest.raises(argparse.ArgumentTypeError, match="expected a number"):
        plain._option_string_actions["--difficulty"].type("0.2:0.9")


def test_check_writable_tries_the_directory_for_real(tmp_path, monkeypatch):
    """An output in an existing folder, or in folders still to be made, passes and leaves
    nothing behind; a read-only or full folder, or a file where a folder should be, is one
    line naming the flag and the folder."""
    cli.check_writable(tmp_path / "x.gif", "--record")
    cli.check_writable(tmp_path / "new" / "deeper", "--out")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="--out .*file is not a directory"):
        cli.check_writable(tmp_path / "file" / "run", "--out")
    ro, full = tmp_path / "ro", tmp_path / "full"
    ro.mkdir()
    full.mkdir()
    with monkeypatch.context() as mp:
        make_read_only(mp, ro)
        with pytest.raises(ValueError, match=f"--record {ro}/x.gif: cannot write in {ro}"):
            cli.check_writable(ro / "x.gif", "--record")
        with pytest.raises(ValueError, match="cannot write in .*Permission denied"):
            cli.check_writable(ro / "run", "--out")  # the run directory would go in ro
    ro.chmod(0o755)
    with monkeypatch.context() as mp:
        make_full(mp, full)
        with pytest.raises(ValueError, match="No space left on device"):
            cli.check_writable(full / "demo.npz", "--record-demo")


def test_levels_that_cannot_be_played_are_warned_about():
    """A flag left of (or at) the start, at column 0 say, completes every episode at once; a
    flag beyond what full running speed reaches in the time limit cannot be reached. An
    ordinary level draws no warning."""
    rows = ["." * 40] * 6 + ["X" * 40] * 2
    ok = parse_level("\n".join(rows[:5] + ["..S" + "." * 35 + "F."] + rows[6:]))
    assert cli.level_warnings(ok) == []
    at_zero = parse_level("\n".join(rows[:5] + ["F.S" + "." * 37] + rows[6:]))
    assert "completed at its first frame" in cli.level_warnings(at_zero)[0]
    assert "column 0" in cli.level_warnings(at_zero)[0]
    far = parse_level("; time: 1\n" + "\n".join(rows[:5] + ["S" + "." * 38 + "F"] + rows[6:]))
    (warning,) = cli.level_warnings(far)  # 38 tiles at 2.5 px/frame: 239 frames > 60
    assert "cannot be finished in its time limit" in warning and "limit is 60" in warning
