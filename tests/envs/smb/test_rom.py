"""The ROM's level tables read without an emulator: enemy data pages, area links, the objects the
game would load, and the checks on the ROM file. Synthetic bytes, except the last tests, which
read the ROM gym-super-mario-bros bundles (skipped with the reason where it is not installed).
"""

from __future__ import annotations

import pytest

from envs.smb import rom as smbrom
from envs.smb.rom import AreaLink, EnemyObject, Rom, RomError, Spawn, parse_enemy_data, spawns


def test_page_flags_and_page_selects_place_objects():
    """Bit 7 of byte 1 moves the page counter on before the object is placed; a row-0x0F object
    sets the page outright and makes the next object's page bit count for nothing."""
    data = bytes(
        [0x6B, 0x06]  # column 6, row 11, goomba: page 0
        + [0x8B, 0x86]  # page bit: page 1, column 8
        + [0x0F, 0x05]  # page select: page 5
        + [0x23, 0x86]  # page bit ignored right after a page select: still page 5
        + [0x4B, 0x80]  # page bit counts again: page 6, green koopa
    )
    assert parse_enemy_data(data) == [
        EnemyObject(0x60, 11, 6, False),
        EnemyObject(256 + 0x80, 11, 6, False),
        EnemyObject(5 * 256 + 0x20, 3, 6, False),
        EnemyObject(6 * 256 + 0x40, 11, 0, False),
    ]


def test_area_links_take_three_bytes_and_their_page_bit_counts():
    """A row-0x0E object is a 3-byte link (pointer; world in bits 5-7 and entrance page in bits
    0-4 of byte 2), and its byte 1's bit 7 moves the page like any object's."""
    data = bytes([0x1E, 0xC2, 0x0B] + [0x6B, 0x06] + [0x3E, 0x25, 0x4B])
    assert parse_enemy_data(data) == [
        AreaLink(256 + 0x10, 0xC2, 1, 11),  # 0xC2 has bit 7: page 1 already
        EnemyObject(256 + 0x60, 11, 6, False),
        AreaLink(256 + 0x30, 0x25, 3, 11),
    ]
    links = parse_enemy_data(data)
    assert smbrom.area_links(links, 3) == [AreaLink(256 + 0x30, 0x25, 3, 11)]


def test_hard_mode_objects_are_flagged_and_cut_data_is_an_error():
    """Bit 6 of byte 1 marks a hard-mode-only object; an object or link cut short is a
    ``RomError``, not an index error."""
    assert parse_enemy_data(bytes([0x5B, 0x46])) == [EnemyObject(0x50, 11, 6, True)]
    with pytest.raises(RomError, match="cut short"):
        parse_enemy_data(bytes([0x5B]))
    with pytest.raises(RomError, match="area link"):
        parse_enemy_data(bytes([0x1E, 0xC2]))


def test_spawns_drop_objects_behind_the_screen_and_keep_hard_ones_for_hard_mode():
    """Objects left of the screen's right edge when their turn comes never load (the first
    screen's, and one listed after objects far to its right); hard-mode objects load only in
    secondary hard mode; single enemies below id 0x15 sit 8 px under their row."""
    objects = [
        EnemyObject(0x60, 11, 6, False),  # on the first screen: dropped
        EnemyObject(0x160, 11, 6, False),
        EnemyObject(0x400, 3, 6, True),  # hard mode only
        EnemyObject(0x300, 11, 0, False),  # behind the edge once 0x400 loaded: dropped
        EnemyObject(0x500, 5, 0x24, False),  # a lift: no 8 px
    ]
    assert spawns(objects) == [Spawn(6, 0x160, 184, False), Spawn(0x24, 0x500, 80, False)]
    hard = spawns(objects, secondary_hard=True)
    assert [s.x for s in hard] == [0x160, 0x400, 0x500]
    assert [s.x for s in spawns(objects, start_page=2)] == [0x500]  # entered on page 2


def test_groups_put_two_or_three_enemies_at_the_screen_edge():
    """Ids 0x37-0x3E: 2 or 3 goombas (buzzy beetles in the second quest) or green koopas,
    24 px apart from the screen's right edge (48 px before the object), on row 11 or 7."""
    at = 0x300
    out = {k: spawns([EnemyObject(at, 0, k, False)]) for k in range(0x37, 0x3F)}
    assert [len(v) for v in out.values()] == [2, 3, 2, 3, 2, 3, 2, 3]
    assert {s.kind for k in (0x37, 0x38, 0x39, 0x3A) for s in out[k]} == {smbrom.GOOMBA}
    assert {s.kind for k in (0x3B, 0x3C, 0x3D, 0x3E) for s in out[k]} == {smbrom.GREEN_KOOPA}
    assert [s.x for s in out[0x38]] == [at - 48, at - 24, at]
    assert {s.y for s in out[0x37]} == {0xB8} and {s.y for s in out[0x39]} == {0x78}
    assert all(s.group for v in out.values() for s in v)
    second_quest = spawns([EnemyObject(at, 0, 0x37, False)], primary_hard=True)
    assert {s.kind for s in second_quest} == {smbrom.BUZZY_BEETLE}


def test_a_file_that_is_not_the_game_is_refused(tmp_path):
    """No iNES header, another mapper or PRG size, a truncated file: ``RomError`` naming it."""
    bad = tmp_path / "x.nes"
    bad.write_bytes(b"hello")
    with pytest.raises(RomError, match="not an iNES ROM"):
        Rom.load(bad)
    bad.write_bytes(b"NES\x1a" + bytes([1, 1, 0, 0]) + bytes(8))
    with pytest.raises(RomError, match="not Super Mario Bros"):
        Rom.load(bad)
    bad.write_bytes(b"NES\x1a" + bytes([2, 1, 0, 0]) + bytes(8) + bytes(100))
    with pytest.raises(RomError, match="truncated"):
        Rom.load(bad)


def synthetic_rom(data: bytes) -> Rom:
    """A PRG-ROM whose every area's enemy data is ``data`` (at 0x9000)."""
    prg = bytearray(smbrom.PRG_SIZE)
    prg[0x1000 : 0x1000 + len(data) + 1] = data + b"\xff"
    for k in range(34):
        prg[smbrom.ENEMY_DATA_ADDR_LOW + k], prg[smbrom.ENEMY_DATA_ADDR_HIGH + k] = 0x00, 0x90
    return Rom(bytes(prg), "0" * 64)


def test_enemy_data_ends_at_its_terminator():
    """``enemy_data`` returns the bytes up to the 0xFF terminator, and refuses a list without
    one."""
    assert synthetic_rom(bytes([0x6B, 0x06])).enemy_data(0x25) == bytes([0x6B, 0x06])
    with pytest.raises(RomError, match="no terminator"):
        synthetic_rom(bytes([0x6B]) * 600).enemy_data(0x25)


# --- the bundled ROM ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_rom() -> Rom:
    pytest.importorskip("gym_super_mario_bros", reason="the nes extra brings the ROM")
    from envs.smb.console import rom_path

    return Rom.load(rom_path())


def test_the_bundled_roms_area_table(real_rom):
    """1-1 is ground area 5, 1-2 underground area 0, 1-4 a castle; 1-2's exit pipe leads to
    ground area 5 (1-1's) at page 11, in world 1 (the table the game reads at 0x1CBC)."""
    assert real_rom.area_pointer(1, 0) == 0x25
    assert smbrom.area_type(real_rom.area_pointer(1, 2)) == smbrom.UNDERGROUND
    assert smbrom.area_type(real_rom.area_pointer(1, 4)) == smbrom.CASTLE
    links = smbrom.area_links(parse_enemy_data(real_rom.enemy_data(0xC0)), 1)
    assert links[-1].pointer == 0x25 and links[-1].page == 11


def test_1_1s_enemies_as_the_game_loads_them(real_rom):
    """1-1 loads 16 goombas and one koopa; the first goomba is at x 352 (the list's very first
    goomba, at x 96, is on the first screen and never loads)."""
    loaded = spawns(parse_enemy_data(real_rom.enemy_data(0x25)))
    kinds = [s.kind for s in loaded]
    assert kinds.count(smbrom.GOOMBA) == 16 and kinds.count(smbrom.GREEN_KOOPA) == 1
    assert loaded[0] == Spawn(smbrom.GOOMBA, 352, 184, False)
