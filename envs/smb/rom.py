"""Super Mario Bros.' ROM as data: the area tables and the enemy object lists of every area, read
from the bytes of the ROM gym-super-mario-bros bundles, without an emulator.

The layout is the one documented by the SMB disassembly (doppelganger's smbdis.asm) and the
level tools built on it (qalle2/nes-util's ``nes_smb_mapext.py``): the ROM is NROM-256, so the
32 KiB of PRG-ROM after the 16-byte iNES header sit at CPU addresses 0x8000-0xFFFF.

- An **area pointer** (``AreaAddrOffsets``, one per world and area number, RAM 0x750) holds the
  area type in bits 5-6 (0 water, 1 ground, 2 underground, 3 castle) and the area's index within
  its type in bits 0-4.
- An area's **enemy data** (``EnemyDataAddrLow/High`` at ``EnemyAddrHOffsets[type] + index``) is
  a list of 2-byte objects ended by 0xFF: byte 0 has the column within the page (high nibble) and
  the row (low nibble); byte 1 has a next-page flag (bit 7), a hard-mode-only flag (bit 6) and the
  enemy id (bits 0-5). Row 0x0F is a page select (byte 1 = the page), row 0x0E a 3-byte link to
  another area (byte 1 its area pointer, byte 2 the world in bits 5-7 and the entrance page in
  bits 0-4: the pipes and vines).

``spawns`` replays the game's enemy parser (``ProcessEnemyData``, ``HandleGroupEnemies``) for a
player who runs right from the start: which objects load, and where.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

# --- where things are in the PRG-ROM (offsets from its start) -------------------------------
PRG_START = 16  # after the iNES header
PRG_SIZE = 0x8000
CPU_BASE = 0x8000
WORLD_ADDR_OFFSETS = 0x1CB4  # 8 bytes: the first area number of each world
AREA_ADDR_OFFSETS = 0x1CBC  # the area pointers, world by world
ENEMY_ADDR_H_OFFSETS = 0x1CE0  # 4 bytes: where each area type starts in the address tables
ENEMY_DATA_ADDR_LOW = 0x1CE4
ENEMY_DATA_ADDR_HIGH = 0x1D06
MAX_ENEMY_DATA = 0x200  # no area's list is longer; a missing terminator means a wrong ROM

AREA_TYPES = ("water", "ground", "underground", "castle")
WATER, GROUND, UNDERGROUND, CASTLE = range(4)

# --- enemy ids (Enemy_ID, RAM 0x16) ----------------------------------------------------------
GREEN_KOOPA, BUZZY_BEETLE, HAMMER_BRO, GOOMBA, PIRANHA_PLANT = 0x00, 0x02, 0x05, 0x06, 0x0D
GROUP_FIRST, GROUP_LAST = 0x37, 0x3E  # 2 or 3 goombas or koopas in a row (HandleGroupEnemies)
SMALL_ENEMY_LIMIT = 0x15  # ids below this get 8 px added to their row's y (CheckpointEnemyID)

ENEMY_NAMES = {
    0x00: "green koopa", 0x01: "red koopa", 0x02: "buzzy beetle", 0x03: "red koopa",
    0x04: "green koopa", 0x05: "hammer bro", 0x06: "goomba", 0x07: "blooper",
    0x08: "bullet bill", 0x09: "yellow paratroopa", 0x0A: "cheep cheep", 0x0B: "cheep cheep",
    0x0C: "podoboo", 0x0D: "piranha plant", 0x0E: "green paratroopa", 0x0F: "red paratroopa",
    0x10: "green paratroopa", 0x11: "lakitu", 0x12: "spiny", 0x14: "flying cheep cheeps",
    0x15: "bowser's flame", 0x16: "fireworks", 0x17: "bullet bills", 0x18: "end of frenzy",
    0x1B: "firebar", 0x1C: "firebar", 0x1D: "firebar", 0x1E: "firebar", 0x1F: "long firebar",
    0x24: "balance lift", 0x25: "lift", 0x26: "lift", 0x27: "lift", 0x28: "lift",
    0x29: "falling lift", 0x2A: "lift", 0x2B: "small lift", 0x2C: "small lift",
    0x2D: "bowser", 0x2E: "power-up", 0x2F: "vine", 0x34: "warp zone", 0x35: "toad",
}  # fmt: skip


class RomError(ValueError):
    """The ROM cannot be read as Super Mario Bros.; the message says why, in one line."""


@dataclass(frozen=True)
class EnemyObject:
    """One enemy object of an area's enemy data."""

    x: int  # level pixel of its column: page * 256 + column * 16
    row: int  # the data row (0..15); its y is row * 16 on screen
    kind: int  # the enemy id (bits 0-5 of byte 1)
    hard: bool  # loaded only in secondary hard mode (5-3 onward)


@dataclass(frozen=True)
class AreaLink:
    """A row-0x0E object: where a pipe or vine of this area leads, in one world."""

    x: int
    pointer: int  # the destination's area pointer
    world: int  # 1-based
    page: int  # the entrance page in the destination


@dataclass(frozen=True)
class Spawn:
    """One enemy the game loads: its id and the top-left of its sprite on screen (pixels)."""

    kind: int
    x: int
    y: int
    group: bool  # one of a group, placed relative to the screen's right edge
    load_x: int = -1  # the x of the object that loads it (a group's members share one); -1: x


def area_type(pointer: int) -> int:
    return (pointer >> 5) & 3


def area_index(pointer: int) -> int:
    return pointer & 0x1F


@dataclass(frozen=True, eq=False)
class Rom:
    """The PRG-ROM of Super Mario Bros. and the file's SHA-256 (which names cached levels)."""

    prg: bytes
    sha256: str

    @classmethod
    def load(cls, path: str | Path) -> Rom:
        data = Path(path).read_bytes()
        if data[:4] != b"NES\x1a":
            raise RomError(f"{path}: not an iNES ROM (no NES header)")
        if data[4] != 2 or (data[6] >> 4) | (data[7] & 0xF0) != 0:
            raise RomError(f"{path}: not Super Mario Bros. (expected 32 KiB of PRG-ROM, mapper 0)")
        if len(data) < PRG_START + PRG_SIZE:
            raise RomError(f"{path}: truncated ROM ({len(data)} bytes)")
        return cls(data[PRG_START : PRG_START + PRG_SIZE], hashlib.sha256(data).hexdigest())

    def byte(self, address: int) -> int:
        """The byte at a CPU address (0x8000-0xFFFF)."""
        return self.prg[address - CPU_BASE]

    def area_pointer(self, world: int, area: int) -> int:
        """The area pointer of area number ``area`` (RAM 0x760, 0-based) of ``world`` (1-8)."""
        return self.prg[AREA_ADDR_OFFSETS + self.prg[WORLD_ADDR_OFFSETS + world - 1] + area]

    def enemy_data(self, pointer: int) -> bytes:
        """The enemy data of the area ``pointer`` points at, up to its 0xFF terminator."""
        k = self.prg[ENEMY_ADDR_H_OFFSETS + area_type(pointer)] + area_index(pointer)
        start = self.prg[ENEMY_DATA_ADDR_LOW + k] | self.prg[ENEMY_DATA_ADDR_HIGH + k] << 8
        if not CPU_BASE <= start < CPU_BASE + PRG_SIZE:
            raise RomError(f"area pointer {pointer:#04x}: enemy data address {start:#06x} off ROM")
        out = bytearray()
        address = start
        while self.byte(address) != 0xFF:
            out.append(self.byte(address))
            address += 1
            if len(out) > MAX_ENEMY_DATA or address >= CPU_BASE + PRG_SIZE:
                raise RomError(f"area pointer {pointer:#04x}: enemy data has no terminator")
        return bytes(out)


def parse_enemy_data(data: bytes) -> list[EnemyObject | AreaLink]:
    """The objects of an enemy list, in order, with their pages resolved as the game does.

    The game keeps a page counter: bit 7 of byte 1 moves it one page on (at most once per
    object), a row-0x0F object sets it outright and makes the next object's page bit count
    for nothing (the page select flag stays up until an object is consumed).
    """
    out: list[EnemyObject | AreaLink] = []
    page, page_select, i = 0, False, 0
    while i < len(data):
        if i + 1 >= len(data):
            raise RomError(f"enemy data: object at byte {i} is cut short")
        b0, b1 = data[i], data[i + 1]
        row = b0 & 0x0F
        if b1 & 0x80 and not page_select:
            page_select, page = True, page + 1
        if row == 0x0F and not page_select:
            page, page_select = b1 & 0x3F, True
            i += 2
            continue
        x = page * 256 + (b0 & 0xF0)
        if row == 0x0E:
            if i + 2 >= len(data):
                raise RomError(f"enemy data: area link at byte {i} is cut short")
            b2 = data[i + 2]
            out.append(AreaLink(x, b1, (b2 >> 5) + 1, b2 & 0x1F))
            i += 3
        else:
            out.append(EnemyObject(x, row, b1 & 0x3F, bool(b1 & 0x40)))
            i += 2
        page_select = False
    return out


def spawns(
    objects: list[EnemyObject | AreaLink],
    *,
    start_page: int = 0,
    secondary_hard: bool = False,
    primary_hard: bool = False,
) -> list[Spawn]:
    """The enemies the game loads for a player who runs right from ``start_page``.

    The parser reads one object at a time as the screen scrolls: an object left of the screen's
    right edge when its turn comes is dropped, one within 48 px beyond it is loaded (so the edge
    is then about 48 px left of it), hard-mode objects load only in secondary hard mode, and a
    group object puts 2 or 3 goombas (buzzy beetles in the second quest) or green koopas at the
    screen's right edge, 24 px apart, on row 0x0B or 0x07.
    """
    right = start_page * 256 + 255  # ScreenRight at the start: the screen's last pixel
    out: list[Spawn] = []
    for obj in objects:
        if isinstance(obj, AreaLink):
            continue
        if obj.x < right:
            continue  # behind the screen's right edge when reached: consumed without loading
        right = max(right, obj.x - 48)
        if obj.hard and not secondary_hard:
            continue
        kind = obj.kind
        if GROUP_FIRST <= kind <= GROUP_LAST:
            k = kind - GROUP_FIRST
            member = GREEN_KOOPA if k >= 4 else (BUZZY_BEETLE if primary_hard else GOOMBA)
            y = (0x70 if k & 2 else 0xB0) + 8
            for m in range(2 + (k & 1)):
                out.append(Spawn(member, obj.x - 48 + 24 * m, y, True, obj.x))
            continue
        if kind == GOOMBA and primary_hard:
            kind = BUZZY_BEETLE
        y = (obj.row * 16) & 0xFF
        out.append(Spawn(kind, obj.x, y + 8 if kind < SMALL_ENEMY_LIMIT else y, False))
    return out


def area_links(objects: list[EnemyObject | AreaLink], world: int) -> list[AreaLink]:
    """The links of an area that work in ``world`` (the game ignores the others)."""
    return [o for o in objects if isinstance(o, AreaLink) and o.world == world]
