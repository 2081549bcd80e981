"""Level files: parsing, metadata, round trips, built-in names, and every kind of bad input."""

from pathlib import Path

import numpy as np
import pytest

from envs.levels.level import LevelError, builtin_names, load_level, parse_level
from envs.sim.constants import BRICK, COIN, FLAG, GROUND, HARD, PIPE_L, PIPE_R, QUESTION, SPIKES

GOOD = """; name: tiny
; author: tests
; this comment is not metadata
................
................
................
................
....?B#.........
................
..S...C.^..E[]F.
XXXXXXXXXXXXXXXX
"""


def write(tmp_path: Path, text: str | bytes, name: str = "lvl.txt") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_parse_reads_every_legend_character():
    """Each legend character maps to its tile; S and E become spawns over air."""
    level = parse_level(GOOD)
    assert (level.height, level.width) == (8, 16)
    assert level.name == "tiny" and level.meta["author"] == "tests"
    assert level.start == (6, 2)
    assert level.enemies == ((6, 11),)
    t = level.tiles
    assert (t[4, 4], t[4, 5], t[4, 6]) == (QUESTION, BRICK, HARD)
    assert (t[6, 6], t[6, 8], t[6, 12], t[6, 13], t[6, 14]) == (COIN, SPIKES, PIPE_L, PIPE_R, FLAG)
    assert (t[7] == GROUND).all()
    assert t[6, 2] == 0 and t[6, 11] == 0
    assert level.flag_col == 14


def test_text_round_trip():
    """parse_level(level.to_text()) gives back an equal level."""
    level = parse_level(GOOD)
    assert parse_level(level.to_text()) == level


def test_builtin_levels_exist_and_load():
    """At least eight built-in levels 1-1 ... 1-8 ship and all parse."""
    names = builtin_names()
    assert [f"1-{i}" for i in range(1, 9)] == [n for n in names if n.startswith("1-")][:8]
    for name in names:
        level = load_level(name)
        assert level.name == name
        assert 8 <= level.height <= 32 and level.width >= 16


def test_builtin_levels_rise_in_size_and_include_long_ones():
    """Two or more built-in levels are at least 200 columns long."""
    widths = [load_level(n).width for n in builtin_names()]
    assert sum(w >= 200 for w in widths) >= 2


def test_load_by_path(tmp_path):
    """A level file loads by path and takes its name from the metadata."""
    level = load_level(write(tmp_path, GOOD))
    assert level.name == "tiny"
    assert np.array_equal(level.tiles, parse_level(GOOD).tiles)


def test_name_defaults_to_file_stem(tmp_path):
    """Without a name line the file's stem is the level's name."""
    level = load_level(write(tmp_path, GOOD.replace("; name: tiny\n", ""), "my-level.txt"))
    assert level.name == "my-level"


def replace_line(text: str, lineno: int, new: str) -> str:
    lines = text.splitlines()
    lines[lineno - 1] = new
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            replace_line(GOOD, 6, "..............."),
            r"lvl\.txt:6:16: row has 15 columns, expected 16",
        ),
        (replace_line(GOOD, 8, "....?B#...Q....."), r"lvl\.txt:8:11: unknown tile character 'Q'"),
        (GOOD.replace("..S", "..."), r"lvl\.txt: no player start 'S'"),
        (replace_line(GOOD, 5, ".....S.........."), r"lvl\.txt:10:3: a second player start"),
        (GOOD.replace("F.", ".."), r"lvl\.txt: no goal flag 'F'"),
        ("\n".join(GOOD.splitlines()[:-2]) + "\n", r"lvl\.txt:4: grid has 6 rows; a level needs 8"),
        (
            "".join(line[:10] + "\n" for line in GOOD.splitlines()[3:]),
            r"columns wide; .* at least 16",
        ),
        ("", r"lvl\.txt: empty level file"),
        ("; name: only comments\n\n", r"lvl\.txt: empty level file"),
        (GOOD.replace("; author: tests", "; time: soon"), r"lvl\.txt: metadata 'time'"),
    ],
    ids=[
        "uneven-row",
        "unknown-char",
        "no-start",
        "two-starts",
        "no-flag",
        "too-few-rows",
        "too-narrow",
        "empty",
        "comments-only",
        "bad-time",
    ],  # fmt: skip
)
def test_bad_levels_name_file_line_and_column(tmp_path, text, expected):
    """Each malformed file raises LevelError whose message locates the problem."""
    with pytest.raises(LevelError, match=expected):
        load_level(write(tmp_path, text))


def test_binary_file_is_rejected(tmp_path):
    """A binary file is reported as not a text level file."""
    with pytest.raises(LevelError, match=r"lvl\.txt: not a text level file"):
        load_level(write(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe"))
    with pytest.raises(LevelError, match="undecodable byte"):
        load_level(write(tmp_path, b"\xff\xfe\xfa" * 20))


def test_too_many_rows(tmp_path):
    """A grid taller than 32 rows is refused."""
    text = "\n".join(["................"] * 33 + ["..S..........F..", "XXXXXXXXXXXXXXXX"])
    with pytest.raises(LevelError, match="35 rows; a level needs 8 to 32"):
        load_level(write(tmp_path, text))


def test_unknown_builtin_name_lists_known_names():
    """An unknown built-in name fails with the list of known names."""
    with pytest.raises(LevelError, match=r"unknown level 'nope'; built-in levels: 1-1, 1-2"):
        load_level("nope")


def test_missing_file_is_reported(tmp_path):
    """A path that does not exist is reported as such."""
    with pytest.raises(LevelError, match="no such level file"):
        load_level(tmp_path / "missing.txt")


def test_byte_order_mark_is_ignored(tmp_path):
    """A UTF-8 byte-order mark (as some Windows editors write) does not break parsing."""
    level = load_level(write(tmp_path, "\ufeff" + GOOD))
    assert level == parse_level(GOOD)


def test_time_limit_out_of_range_is_a_level_error(tmp_path):
    """A huge 'time' is refused with a located LevelError, not an overflow later."""
    with pytest.raises(LevelError, match="metadata 'time' must be a whole number"):
        load_level(write(tmp_path, GOOD.replace("; author: tests", "; time: 99999999")))


def test_levels_differing_only_in_metadata_are_not_equal():
    """Two grids alike but with different time limits are different levels."""
    assert parse_level(GOOD) != parse_level(GOOD.replace("; author: tests", "; time: 5"))
