"""Recording an area's block buffer from the running game: the emulator renders the level, we read.

The game keeps only two screens of metatiles (RAM 0x500, a ring of 32 columns x 13 rows); its
area parser writes each new column just ahead of the scrolling screen (the next column to be
written is page ``ram[0x725]``, column ``ram[0x726]``). ``record_area`` carries the player to
the right and copies every column the parser finishes, so the level comes out exactly as the
game builds it, by the game's own code.

To scroll without playing, the player is held above the top of the screen (vertical high byte
0, where the game runs no block or enemy collision) and moved right at a fixed speed: nothing in
the level is touched, no block bumped, no coin taken, no enemy met, so the buffer holds the
level as it is at the start. The enemy slots (RAM 0x0F, 0x16, 0x6E/0x87, 0xCF) are logged as
they fill, which lets tests check the enemy spawns read from the ROM against the game.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from envs.smb.console import Console
from envs.smb.ram import (
    AREA,
    ENEMY_FLAGS,
    ENEMY_PAGE,
    ENEMY_TYPES,
    ENEMY_X,
    ENEMY_Y,
    PAGE_TILES,
    PLAYER_STATE,
    TILES,
    clock,
    player_x,
)

# --- RAM used here (smbdis.asm names) ---------------------------------------------------------
PARSER_PAGE, PARSER_COLUMN = 0x725, 0x726  # CurrentPageLoc, CurrentColumnPos: next column
SCREEN_LEFT_PAGE, SCREEN_LEFT_X = 0x71A, 0x71C
PLAYER_Y_POS, PLAYER_Y_HIGH = 0xCE, 0xB5  # Player_Y_Position (top of the 32 px box), _HighPos
PLAYER_Y_SPEED, PLAYER_Y_FORCE, PLAYER_X_SPEED = 0x9F, 0x433, 0x57
PLAYER_AIR_STATE = 0x1D  # Player_State: 0 on the ground
AREA_TYPE, AREA_OFFSET = 0x74E, 0x74F  # the area pointer's type and index, as loaded
AREA_POINTER, ENTRANCE_PAGE, ALT_ENTRANCE = 0x750, 0x751, 0x752
OPER_TASK, DISABLE_SCREEN = 0x772, 0x774
SECONDARY_HARD, PRIMARY_HARD = 0x6CC, 0x76A
NORMAL = 0x08  # GameEngineSubroutine: the player is in control
ENEMY_SLOTS = 6  # five enemies and the special slot
ROWS = 13
RING = 32  # columns in the two-page buffer
RIGHT_B = 0x80 | 0x02
FLOAT_SPEED = 0x40  # x speed written each frame (1/16 px); the game moves about 3 px a frame
SETTLE_FRAMES = 600  # at most this long for the player to land (entrances drop or rise)
STALL_FRAMES = 300  # a new column comes every 5-8 frames while scrolling


class RecordingError(RuntimeError):
    """The game did not do what the recorder expected; the message says what, in one line."""


@dataclass
class Recording:
    """What the emulator showed of one area: its columns and where the player stood."""

    pointer: int  # the area pointer (type << 5 | index)
    first_col: int  # the area column of the screen's left edge at the start
    columns: np.ndarray  # (13, n) uint8 metatiles of area columns first_col .. first_col+n-1
    start_x: int  # the player's x in the area (pixels) once in control and on the ground
    start_y: int  # Player_Y_Position then: the top of the 32 px box, screen pixels
    clock: int  # the game clock then
    secondary_hard: bool
    primary_hard: bool
    spawns: list[tuple[int, int, int, int]] = field(default_factory=list)  # (frame, id, x, y)

    @property
    def width(self) -> int:
        return int(self.columns.shape[1])


def buffer_column(ram: np.ndarray, col: int) -> np.ndarray:
    """The 13 metatiles of area column ``col`` in the ring buffer (whatever it holds now)."""
    base = TILES + (col // 16) % 2 * PAGE_TILES + col % 16
    return np.array(ram[base : base + ROWS * 16 : 16], dtype=np.uint8)  # a copy, not a view


def parser_column(ram: np.ndarray) -> int:
    """The next area column the parser will write; those below it (up to 31 back) are done."""
    return int(ram[PARSER_PAGE]) * 16 + int(ram[PARSER_COLUMN])


def screen_left(ram: np.ndarray) -> int:
    return int(ram[SCREEN_LEFT_PAGE]) * 256 + int(ram[SCREEN_LEFT_X])


def loaded_pointer(ram: np.ndarray) -> int:
    """The area the game has loaded, as an area pointer (RAM 0x750 itself changes as the
    enemy parser passes pipe links)."""
    return (int(ram[AREA_TYPE]) << 5) | int(ram[AREA_OFFSET])


def enter_area(console: Console, pointer: int, page: int) -> None:
    """Send the running game to area ``pointer`` at entrance ``page``, the way a pipe does: the
    area pointer and entrance page written, then the game mode's task reset to its first step
    (InitializeArea), which loads the area and brings the player out of its pipe."""
    ram = console.ram
    ram[AREA_POINTER], ram[ENTRANCE_PAGE], ram[ALT_ENTRANCE] = pointer, page, 2
    ram[OPER_TASK], ram[DISABLE_SCREEN] = 0, 1
    for _ in range(SETTLE_FRAMES):
        console.frame(0)
        if int(ram[OPER_TASK]) == 3 and loaded_pointer(ram) == pointer:
            return
    raise RecordingError(f"area {pointer:#04x} did not load")


def settle(console: Console) -> None:
    """Wait (no buttons) until the player is in control and standing on something."""
    ram = console.ram
    for _ in range(SETTLE_FRAMES):
        if int(ram[PLAYER_STATE]) == NORMAL and int(ram[PLAYER_AIR_STATE]) == 0:
            return
        console.frame(0)
    raise RecordingError("the player never landed after the area's entrance")


def record_area(
    console: Console,
    *,
    until=None,
    max_columns: int = 32 * 16,
    speed: int = FLOAT_SPEED,
    on_frame=None,
) -> Recording:
    """Carry the player right from where he stands and record every column the game builds.

    ``until(columns)`` (the metatiles recorded so far, (13, n)) says when to stop; without it
    the recording runs to ``max_columns``. ``on_frame(ram)``, if given, sees every frame.
    """
    ram = console.ram
    settle(console)
    first = screen_left(ram) // 16
    rec = Recording(
        pointer=loaded_pointer(ram),
        first_col=first,
        columns=np.zeros((ROWS, 0), dtype=np.uint8),
        start_x=player_x(ram),
        start_y=int(ram[PLAYER_Y_POS]),
        clock=clock(ram),
        secondary_hard=bool(ram[SECONDARY_HARD]),
        primary_hard=bool(ram[PRIMARY_HARD]),
    )
    cols: list[np.ndarray] = []
    flags = [0] * ENEMY_SLOTS
    frame = 0

    def collect() -> None:
        done = parser_column(ram)
        nxt = first + len(cols)
        if nxt < done - (RING - 1):
            raise RecordingError(f"column {nxt} was overwritten before it could be read")
        for col in range(nxt, done):
            cols.append(buffer_column(ram, col))
        for k in range(ENEMY_SLOTS):
            flag = int(ram[ENEMY_FLAGS + k])
            if flag and not flags[k]:
                x = int(ram[ENEMY_PAGE + k]) * 256 + int(ram[ENEMY_X + k])
                rec.spawns.append((frame, int(ram[ENEMY_TYPES + k]), x, int(ram[ENEMY_Y + k])))
            flags[k] = flag

    collect()
    grew_at, seen = 0, len(cols)
    while len(cols) < max_columns:
        if until is not None and cols and until(np.stack(cols, axis=1)):
            break
        ram[PLAYER_Y_HIGH], ram[PLAYER_Y_POS] = 0, 0x80  # above the screen: no collisions
        ram[PLAYER_Y_SPEED], ram[PLAYER_Y_FORCE], ram[PLAYER_X_SPEED] = 0, 0, speed
        console.frame(RIGHT_B)
        frame += 1
        if on_frame is not None:
            on_frame(ram)
        collect()
        if len(cols) > seen:
            grew_at, seen = frame, len(cols)
        elif frame - grew_at > STALL_FRAMES:
            raise RecordingError(f"the screen stopped scrolling at column {first + seen}")
    rec.columns = np.stack(cols[:max_columns], axis=1) if cols else rec.columns
    return rec


def stage_console(world: int, stage: int) -> Console:
    """A console at the start of ``world``-``stage`` (the title screen skipped)."""
    console = Console(world, stage)
    if int(console.ram[AREA]) != console.area:
        raise RecordingError(f"{world}-{stage}: the game did not start area {console.area}")
    return console
