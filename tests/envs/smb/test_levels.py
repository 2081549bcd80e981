"""From a recording of the game to a built-in level, the level cache and the ``smb:`` names,
without the emulator: synthetic recordings and ROM stubs (the cache-hit tests read the bundled
ROM's hash, and are skipped with the reason where it is not installed)."""

from __future__ import annotations

import numpy as np
import pytest

from envs.levels.level import LevelError, load_level, parse_level
from envs.sim.constants import COIN, E_ACTIVE, EX, FLAG, GROUND, PIPE_L, SPIKES, UNIT
from envs.sim.world import LevelBank, World
from envs.smb import levels as smblevels
from envs.smb.console import NesMissing
from envs.smb.levels import (
    HUD_ROWS,
    ROWS,
    TAIL,
    StageError,
    StageSource,
    build_level,
    level_text,
    place_enemies,
    plant_pipes,
    stage_level,
    write_atomic,
)
from envs.smb.recorder import Recording
from envs.smb.rom import GOOMBA, Spawn

GROUND_ROWS = 2


class StubRom:
    """The two things ``build_level`` asks of a ROM: an area's enemy data and the hash."""

    sha256 = "ab" * 32

    def __init__(self, enemy_data: bytes = b""):
        self.data = enemy_data

    def enemy_data(self, pointer: int) -> bytes:
        return self.data


def flat_recording(width: int = 40, flag: int = 24, first_col: int = 0) -> Recording:
    """13-row metatile columns: ground on the two bottom rows, a pipe at columns 8-9 (end on
    buffer row 9), the flagpole at ``flag`` (ball on row 1, shaft to row 10) on a hard block."""
    cols = np.zeros((13, width), dtype=np.uint8)
    cols[11:] = 0x54
    cols[9, 8], cols[9, 9], cols[10, 8], cols[10, 9] = 0x12, 0x13, 0x14, 0x15
    cols[1, flag], cols[2:11, flag], cols[10, flag] = 0x24, 0x25, 0x61
    return Recording(
        pointer=0x25,
        first_col=first_col,
        columns=cols,
        start_x=first_col * 16 + 40,
        start_y=176,
        clock=400,
        secondary_hard=False,
        primary_hard=False,
    )


SOURCE = StageSource(2, 1, 0x25, 0, False)
SOURCE_1_1 = StageSource(1, 1, 0x25, 0, False)  # the one stage without piranha plants


def built(rec: Recording, data: bytes = b"", src: StageSource = SOURCE, **kw):
    return parse_level(build_level(src, rec, StubRom(data), **kw))


def test_a_recording_becomes_a_15_row_level_cut_after_the_flag():
    """The 13 buffer rows sit under 2 empty rows (the screen's score line), so level rows are
    screen rows; the level ends TAIL columns after the flagpole's column, which is all F but
    its base block; the start is the cell of the player's feet; time is the clock's 24-frame
    ticks in seconds."""
    level = built(flat_recording(), src=SOURCE_1_1)
    assert level.height == ROWS == HUD_ROWS + 13 and level.width == 24 + TAIL
    assert not level.tiles[:HUD_ROWS].any()
    assert (level.tiles[-GROUND_ROWS:] == GROUND).all()
    assert level.flag_col == 24 and (level.tiles[HUD_ROWS + 1 : HUD_ROWS + 10, 24] == FLAG).all()
    assert level.start == (12, 2) and level.time_seconds == 160
    assert level.tiles[11, 8] == PIPE_L and level.meta["left-out"] == "nothing"


def test_an_outdoor_part_starts_at_its_first_column():
    """A recording that starts further into its area (an entrance page) is shifted to column 0:
    the start and the enemies are placed relative to the first column."""
    rec = flat_recording(first_col=176)
    data = bytes([0x0F, 12, 0x9B, 0x06])  # page 12 (its page bit then counts for nothing)
    src = StageSource(1, 2, 0x25, 11, True)
    level = parse_level(build_level(src, rec, StubRom(data)))
    assert level.start == (12, 2)
    assert level.enemies == ((12, 25),)  # area x 12 * 256 + 144: column 201, 25 after 176
    assert "outdoor part" in level.meta["description"] and "page 11" in level.meta["description"]


def test_walking_enemies_land_in_the_cell_under_their_spawn_point():
    """A walker's cell is the one holding its sprite's centre once it has dropped the 8 px below
    its row; others are counted as left out by name; one on a coin starts a cell higher; one
    inside a block is left out; two in one cell become one."""
    tiles = np.zeros((ROWS, 30), dtype=np.uint8)
    tiles[13:] = GROUND
    tiles[12, 20] = COIN
    tiles[12, 25] = GROUND
    loaded = [
        Spawn(GOOMBA, 96, 184, False),  # (12, 6)
        Spawn(GOOMBA, 100, 184, False),  # the same cell
        Spawn(0x11, 160, 24, False),  # a lakitu
        Spawn(0x35, 160, 24, False),  # toad: a marker, not an enemy
        Spawn(GOOMBA, 320, 184, False),  # on a coin
        Spawn(GOOMBA, 400, 184, False),  # in the ground
        Spawn(GOOMBA, 4000, 184, False),  # beyond the level
    ]
    enemies, counts, left_out, shifts = place_enemies(tiles, loaded, 0, (12, 2))
    assert enemies == [(11, 20), (12, 6)]
    assert counts == {"goomba": 2} and left_out == {"lakitu": 1, "goomba": 1}
    assert shifts == []  # cell-aligned sprites, each loaded by itself


def test_a_groups_members_keep_the_games_spacing_and_load_together():
    """A group object (loaded at x 208) puts goombas at 160, 184 and 208: the level has them
    in cells 10, 12 and 13 with their sprites 0, -8 and 0 px from the cells' left and woken
    48, 24 and 0 px sooner than an enemy of their own cell, and the fast world starts them
    at those pixels, asleep until the camera reaches the group's load point."""
    tiles = np.zeros((ROWS, 30), dtype=np.uint8)
    tiles[13:] = GROUND
    tiles[10:13, 28] = FLAG
    loaded = [Spawn(GOOMBA, 160 + 24 * m, 184, True, 208) for m in range(3)]
    enemies, _, _, shifts = place_enemies(tiles, loaded, 0, (12, 2))
    assert enemies == [(12, 10), (12, 12), (12, 13)]
    assert shifts == [((12, 10), (0, 48)), ((12, 12), (-8, 24))]  # the last: as its cell
    text = smblevels.level_text(
        tiles,
        (12, 2),
        enemies,
        {
            "name": "smb:group",
            "enemy-shifts": (" ".join(f"{r},{c}:{dx}:{w}" for (r, c), (dx, w) in shifts)),
        },
    )
    world = World(LevelBank([parse_level(text)]), 1)
    world.reset()
    xs = world.E[0, :3, EX] // UNIT - 1  # the sprites' left edges
    assert xs.tolist() == [160, 184, 208]
    assert (world.E[0, :3, EX] - world.E[0, :3, E_ACTIVE]).tolist() == [208 * UNIT + UNIT] * 3


def test_piranha_plants_sit_on_every_pipe_but_the_starting_one():
    """``plant_pipes`` finds the two cells above each pipe end (warp or decoration), not above
    a pipe with something on it and not where the player starts; ``+plants`` levels put spikes
    there, plain ones list the plants as left out."""
    rec = flat_recording()
    rec.columns[9, 14:16], rec.columns[10, 14:16] = (0x10, 0x11), (0x14, 0x15)  # a warp pipe
    rec.columns[9, 18:20], rec.columns[8, 18] = (0x12, 0x13), 0x52  # a brick on a pipe
    tiles = np.zeros((ROWS, rec.width), dtype=np.uint8)
    tiles[HUD_ROWS:] = smblevels.tiles_of(rec.columns)
    assert plant_pipes(tiles, rec.columns, (12, 2)) == [(10, 8), (10, 14)]
    assert plant_pipes(tiles, rec.columns, (10, 9)) == [(10, 14)]
    plain, spiky = built(rec), built(rec, plants=True)
    assert not (plain.tiles == SPIKES).any() and plain.meta["left-out"] == "2 piranha plants"
    assert (spiky.tiles[10, [8, 9, 14, 15]] == SPIKES).all() and spiky.name.endswith("+plants")
    assert spiky.meta["hazards"].startswith("2 piranha plants")


def test_recordings_the_reader_cannot_use_are_one_line_errors():
    """No flagpole, a metatile the block buffer never holds, or a start inside a block:
    ``StageError`` naming the stage."""
    rec = flat_recording()
    rec.columns[:, 24] = 0
    with pytest.raises(StageError, match=r"^smb:2-1: no flagpole"):
        build_level(SOURCE, rec, StubRom())
    rec = flat_recording()
    rec.columns[3, 5] = 0x02  # a bush
    with pytest.raises(StageError, match=r"^smb:2-1: metatile 0x02"):
        build_level(SOURCE, rec, StubRom())
    rec = flat_recording()
    rec.columns[10, 2] = 0x61
    with pytest.raises(StageError, match="start cell"):
        build_level(SOURCE, rec, StubRom())


def test_level_text_round_trips_through_the_parser():
    """``level_text`` writes what ``parse_level`` reads back: tiles, start, enemies, metadata."""
    tiles = np.zeros((ROWS, 20), dtype=np.uint8)
    tiles[13:] = GROUND
    tiles[3, 19] = FLAG
    meta = {"name": "smb:9-9", "time": "100", "note": "x"}
    level = parse_level(level_text(tiles, (12, 1), [(12, 5), (12, 7)], meta))
    assert np.array_equal(level.tiles, tiles) and level.start == (12, 1)
    assert level.enemies == ((12, 5), (12, 7)) and level.meta == meta


# --- the cache ---------------------------------------------------------------------------------
def test_atomic_writes_leave_the_old_file_or_the_new_one(tmp_path, monkeypatch):
    """A write replaces the file in one rename and leaves no temporary behind; a write that
    fails keeps the old file and removes its temporary."""
    path = tmp_path / "deep" / "1-1.txt"
    write_atomic(path, "old\n")
    write_atomic(path, "new\n")
    assert path.read_text() == "new\n" and sorted(p.name for p in path.parent.iterdir()) == [
        "1-1.txt"
    ]

    def broken(*args):
        raise OSError("disk full")

    monkeypatch.setattr(smblevels.os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, "newer\n")
    assert path.read_text() == "new\n" and len(list(path.parent.iterdir())) == 1


def test_the_cache_folder_follows_the_environment(tmp_path, monkeypatch):
    """``$MARIO_NEAT_LAB_CACHE`` wins, then ``$XDG_CACHE_HOME/mario-neat-lab``."""
    monkeypatch.setenv(smblevels.CACHE_ENV, str(tmp_path / "a"))
    assert smblevels.cache_dir() == tmp_path / "a" / "smb-levels"
    monkeypatch.delenv(smblevels.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert smblevels.cache_dir() == tmp_path / "x" / "mario-neat-lab" / "smb-levels"


def test_bad_stage_names_are_one_line_level_errors():
    """``load_level`` turns every ``smb:`` problem into a one-line ``LevelError``: not a stage,
    and (where the ROM is installed) a castle, which lists the stages there are."""
    for name in ("smb:9-1", "smb:1-x", "smb:"):
        with pytest.raises(LevelError, match=r"not a stage") as info:
            load_level(name)
        assert "\n" not in str(info.value)


def test_without_the_nes_extra_the_error_says_how_to_install_it(monkeypatch):
    """No gym-super-mario-bros (so no ROM): a one-line ``LevelError`` with the install hint."""

    def missing():
        raise NesMissing('the real game needs the nes extra: pip install -e ".[nes]"')

    monkeypatch.setattr(smblevels, "rom_path", missing)
    with pytest.raises(LevelError, match=r"^smb:1-1: the real game needs .*\[nes\]") as info:
        load_level("smb:1-1")
    assert "\n" not in str(info.value)


@pytest.fixture
def rom_cache(tmp_path, monkeypatch):
    pytest.importorskip("gym_super_mario_bros", reason="the nes extra brings the ROM")
    monkeypatch.setenv(smblevels.CACHE_ENV, str(tmp_path))
    return smblevels.load_rom()


def test_a_cached_level_loads_without_the_emulator(rom_cache, monkeypatch):
    """A level in the cache (keyed by the ROM's hash) is read back as it is, with no emulator;
    a cache file that does not parse is made again; so is any with ``refresh``."""
    text = build_level(SOURCE_1_1, flat_recording(), StubRom())
    path = smblevels.cache_path(rom_cache, "1-1")
    write_atomic(path, text)
    made = []

    def read_stage(src, rom, plants=False):
        made.append(src.name)
        return text

    monkeypatch.setattr(smblevels, "read_stage", read_stage)
    monkeypatch.setattr(smblevels, "nes_available", lambda: True)
    level = load_level("smb:1-1")
    assert made == [] and level.start == (12, 2) and str(path) == level.source
    path.write_text("not a level")
    assert load_level("smb:1-1").width == 24 + TAIL and made == ["1-1"]
    stage_level("1-1", lambda text, source: text, refresh=True)
    assert made == ["1-1", "1-1"]


def test_a_missing_level_needs_the_emulator(rom_cache, monkeypatch):
    """With the ROM but without nes-py, a level not yet cached is a one-line error with the
    install hint (nothing is written); castles have no level and say which stages have."""
    monkeypatch.setattr(smblevels, "nes_available", lambda: False)
    with pytest.raises(LevelError, match=r"^smb:3-1: the real game needs"):
        load_level("smb:3-1")
    assert not smblevels.cache_dir().exists()
    with pytest.raises(LevelError, match=r"^smb:1-4: a castle stage .*smb:1-1, smb:1-2"):
        load_level("smb:1-4")


def test_a_later_start_moves_the_start_onto_the_columns_first_floor():
    """``later_start`` (the ``smb:W-S@C`` curriculum levels): the start leaves its cell and
    stands on the first solid cell from the top of column C, the level is renamed; a column
    off the level or with nothing to stand on is a StageError naming the level."""
    sky = "." * 16 + "\n"
    text = "; name: smb:t\n; time: 10\n" + sky * 6 + "..S..#.........F\n" + "XXXXX.XXXXXXXXXX\n"
    moved = parse_level(smblevels.later_start(text, "smb:t", "smb:t@5", 5))
    assert moved.name == "smb:t@5" and moved.start == (5, 5)  # on the block
    assert parse_level(smblevels.later_start(text, "smb:t", "smb:t@1", 1)).start == (6, 1)
    with pytest.raises(smblevels.StageError, match="smb:t@99"):
        smblevels.later_start(text, "smb:t", "smb:t@99", 99)
    with pytest.raises(smblevels.StageError, match="no ground"):
        smblevels.later_start(text.replace("XXXXX.XX", "XXXX..XX"), "smb:t", "smb:t@4", 4)
