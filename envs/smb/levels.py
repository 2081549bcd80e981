"""The real game's stages as built-in levels: ``load_level("smb:1-1")`` gives Super Mario Bros.
1-1 as a ``Level`` of the fast world, made from the installed ROM and cached locally.

How a stage is made (docs/smb.md has the why):

- **Terrain** comes from the game itself: ``envs.smb.recorder`` runs the stage in the emulator,
  carries the player right above the screen and copies each column of the block buffer (RAM
  0x500) as the game's area parser writes it. ``envs.smb.metatiles`` maps each metatile to the
  legend. The grid has 15 rows: the NES screen's 15 tile rows, so a level pixel y is the screen
  y (the top two rows, under the score line, hold nothing; the 13 rows below are the buffer's).
- **Enemies** come from the ROM's enemy data (``envs.smb.rom``), replayed as the game loads it
  for a player running right: goombas, koopas (buzzy beetles, paratroopas and hammer bros too)
  become walking enemies ``E`` in the cell their sprite lands in. Everything else (lifts,
  lakitus, bullet bills, cheep cheeps, the springboards' bounce) has no counterpart here and
  is counted in the level's ``left-out`` metadata; so are piranha plants (the game puts one in
  every pipe but 1-1's), which ``smb:W-S+plants`` instead turns into spikes ``^`` on top of
  their pipes (stricter than the game: see ``plant_pipes``).
- **Start**: where the player stands once the game hands him control; **flag**: the flagpole's
  column (ball and shaft); the level ends ``TAIL`` columns after it (the castle's door).
- **Stages**: every stage whose main area is overworld-style (ground). A stage that is
  underground or underwater (1-2, 2-2, 4-2, 7-2) gives its outdoor part: the area its exit pipe
  leads to, from the entrance page on (in all four the end of 1-1's area, from page 11). Castles
  (x-4) have no outdoor part.

Levels are cached as level files under ``cache_dir()`` (``$MARIO_NEAT_LAB_CACHE``, else
``$XDG_CACHE_HOME/mario-neat-lab`` or ``~/.cache/mario-neat-lab``), keyed by the ROM's SHA-256
and ``READER_VERSION``, written atomically; nothing derived from the ROM is shipped.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from envs.sim.constants import AIR, COIN, ENEMY_CHAR, SHIFTS_KEY, SPIKES, START_CHAR, TILE_CHAR
from envs.sim.profiles import JITTER_MARK, jitter_seed
from envs.smb import rom as smbrom
from envs.smb.console import NES_EXTRA_HINT, NesMissing, nes_available, rom_path
from envs.smb.metatiles import tiles_of
from envs.smb.ram import parse_stage, stage_area

T = TypeVar("T")
PREFIX = "smb:"
READER_VERSION = 2  # bump when the levels made from the same ROM would change
CACHE_ENV = "MARIO_NEAT_LAB_CACHE"
HUD_ROWS = 2  # screen rows above the block buffer (the score line)
ROWS = HUD_ROWS + 13
TAIL = 12  # columns kept after the flag column: the castle's door is 6-8 on
CLOCK_FRAMES = 24  # frames per tick of the game clock
FLAGPOLE = (0x24, 0x25)
PIPE_TOPS = (0x10, 0x12)  # the left half of a pipe's end (warp or not)
PLANTS = "+plants"  # the name suffix of the levels with piranha plants as spikes
START_MARK = "@"  # smb:1-1@170: the stage from a later start (column 170), a curriculum
SPRING = 0x68  # the springboard's lower half


WALKERS = {
    smbrom.GOOMBA: "goomba", 0x00: "koopa", 0x01: "koopa", 0x03: "koopa", 0x04: "koopa",
    smbrom.BUZZY_BEETLE: "buzzy beetle", smbrom.HAMMER_BRO: "hammer bro",
    0x0E: "paratroopa", 0x0F: "paratroopa", 0x10: "paratroopa",
}  # fmt: skip
# Ids that are not enemies at all (markers the parser uses); not counted as left out.
MARKERS = {0x16, 0x18, 0x34, 0x35, 0x36}


class StageError(ValueError):
    """A stage that cannot be made into a level; the message says why, in one line."""


@dataclass(frozen=True)
class StageSource:
    """Where a stage's level comes from: an area and the page the player enters it on."""

    world: int
    stage: int
    pointer: int
    page: int
    outdoor: bool  # the outdoor part of an underground or underwater stage

    @property
    def name(self) -> str:
        return f"{self.world}-{self.stage}"


def stage_source(rom: smbrom.Rom, world: int, stage: int) -> StageSource:
    """The area a stage's level is read from; ``StageError`` for stages with no overworld."""
    src = _source(rom, world, stage)
    if src is None:
        kind = smbrom.area_type(rom.area_pointer(world, stage_area(world, stage)))
        raise StageError(
            f"{PREFIX}{world}-{stage}: a {smbrom.AREA_TYPES[kind]} stage with no overworld "
            f"part; stages: {', '.join(stage_names(rom))}"
        )
    return src


def _source(rom: smbrom.Rom, world: int, stage: int) -> StageSource | None:
    pointer = rom.area_pointer(world, stage_area(world, stage))
    kind = smbrom.area_type(pointer)
    if kind == smbrom.GROUND:
        return StageSource(world, stage, pointer, 0, False)
    if kind == smbrom.CASTLE:
        return None
    objects = smbrom.parse_enemy_data(rom.enemy_data(pointer))
    exits = [
        link
        for link in smbrom.area_links(objects, world)
        if smbrom.area_type(link.pointer) == smbrom.GROUND
    ]
    if not exits:
        return None
    return StageSource(world, stage, exits[-1].pointer, exits[-1].page, True)  # the exit pipe


def stage_names(rom: smbrom.Rom) -> list[str]:
    """Every stage with a level (``smb:W-S``), in order."""
    return [
        f"{PREFIX}{w}-{s}"
        for w in range(1, 9)
        for s in range(1, 5)
        if _source(rom, w, s) is not None
    ]


# --- from a recording to a level -------------------------------------------------------------
def build_level(src: StageSource, rec, rom: smbrom.Rom, *, plants: bool = False) -> str:
    """The level file text of ``src`` from the emulator's recording ``rec`` (an
    ``envs.smb.recorder.Recording``) and the ROM's enemy data; ``plants`` puts the piranha
    plants in as spikes (see ``plant_pipes``)."""
    poles = np.flatnonzero(np.isin(rec.columns, FLAGPOLE).any(axis=0))
    if not len(poles):
        raise StageError(f"{PREFIX}{src.name}: no flagpole in the recorded area")
    width = min(rec.width, int(poles[0]) + TAIL)
    metatiles = rec.columns[:, :width]
    try:
        body = tiles_of(metatiles)
    except ValueError as exc:
        raise StageError(f"{PREFIX}{src.name}: {exc}") from None
    tiles = np.zeros((ROWS, width), dtype=np.uint8)
    tiles[HUD_ROWS:] = body
    x0 = rec.first_col * 16
    start = ((rec.start_y + 16) // 16, (rec.start_x - x0 + 7) // 16)
    if tiles[start] != AIR:
        raise StageError(f"{PREFIX}{src.name}: the start cell {start} is not empty")
    pipes = [] if (src.world, src.stage) == (1, 1) else plant_pipes(tiles, metatiles, start)
    if plants:
        for row, c in pipes:
            tiles[row, c : c + 2] = SPIKES
    loaded = smbrom.spawns(
        smbrom.parse_enemy_data(rom.enemy_data(src.pointer)),
        start_page=src.page,
        secondary_hard=rec.secondary_hard,
        primary_hard=rec.primary_hard,
    )
    enemies, counts, left_out, shifts = place_enemies(tiles, loaded, x0, start)
    if pipes and not plants:
        left_out["piranha plant"] = len(pipes)
    springs = int(np.isin(metatiles, SPRING).any(axis=0).sum())
    if springs:
        left_out["springboard (as a block)"] = springs
    where = f"area {src.pointer:#04x}" + (f" from page {src.page}" if src.page else "")
    meta = {
        "name": f"{PREFIX}{src.name}{PLANTS if plants else ''}",
        "time": str(math.ceil(rec.clock * CLOCK_FRAMES / 60)),
        "description": f"Super Mario Bros. {src.name}"
        + (" (its outdoor part)" if src.outdoor else "")
        + f", {where}, read from the ROM by the emulator (ROM sha256 {rom.sha256[:12]})",
        "enemies": _summary(counts) or "none",
        "hazards": f"{len(pipes)} piranha plants (spikes on their pipes)" if plants else "none",
        "left-out": _summary(left_out) or "nothing",
    }
    if shifts:
        meta[SHIFTS_KEY] = " ".join(f"{r},{c}:{dx}:{wake}" for (r, c), (dx, wake) in shifts)
    return level_text(tiles, start, enemies, meta)


def place_enemies(
    tiles: np.ndarray, loaded: list[smbrom.Spawn], x0: int, start: tuple[int, int]
) -> tuple[list[tuple[int, int]], dict[str, int], dict[str, int], list]:
    """The cells of the walking enemies among ``loaded`` (sprites at screen pixels, the area's
    x minus ``x0``): the cell holding the sprite's centre once it has dropped its 8 px onto the
    row below its spawn point; with counts by kind, of what is left out (other enemies, and
    walkers whose cell is not empty), and the shifts of those not loaded as a cell's enemy is
    (a group's: ``((row, col), (dx, wake))``, the sprite dx px from the cell's left and loaded
    when the screen reaches ``wake`` px past it: ``SHIFTS_KEY``)."""
    enemies: list[tuple[int, int]] = []
    counts: dict[str, int] = {}
    left_out: dict[str, int] = {}
    shifts: list = []
    for spawn in loaded:
        col, row = (spawn.x - x0 + 8) // 16, (spawn.y + 8) // 16
        if not 0 <= col < tiles.shape[1]:
            continue  # beyond the castle: never met
        name = WALKERS.get(spawn.kind)
        if 0 < row < ROWS and tiles[row, col] == COIN and tiles[row - 1, col] == AIR:
            row -= 1  # on a coin: start a cell higher and drop through it (coins do not hold)
        if name is None or not 0 <= row < ROWS or tiles[row, col] != AIR or (row, col) == start:
            if spawn.kind not in MARKERS:
                what = smbrom.ENEMY_NAMES.get(spawn.kind, f"enemy {spawn.kind:#04x}")
                left_out[what] = left_out.get(what, 0) + 1
        elif (row, col) not in enemies:
            enemies.append((row, col))
            counts[name] = counts.get(name, 0) + 1
            dx = spawn.x - x0 - 16 * col
            wake = 0 if spawn.load_x < 0 else spawn.load_x - spawn.x
            if dx or wake:
                shifts.append(((row, col), (dx, wake)))
    return sorted(enemies), counts, left_out, sorted(shifts)


def level_text(tiles: np.ndarray, start: tuple[int, int], enemies, meta: dict[str, str]) -> str:
    """The level file (docs/levels.md) of a grid of tile codes, its start, enemies and metadata."""
    grid = [[TILE_CHAR[int(t)] for t in row] for row in tiles]
    for r, c in enemies:
        grid[r][c] = ENEMY_CHAR
    grid[start[0]][start[1]] = START_CHAR
    head = [f"; {k}: {v}" for k, v in meta.items()]
    return "\n".join(head + ["".join(row) for row in grid]) + "\n"


def plant_pipes(tiles: np.ndarray, metatiles: np.ndarray, start: tuple[int, int]) -> list:
    """The (row, col) of the left one of the two cells above every pipe end that holds a
    piranha plant.

    The game's pipe object puts a plant in every upward pipe it draws (all but 1-1's:
    ``VerticalPipe`` skips world 1, area 0), when an enemy slot is free. A plant rises and sinks
    again, and never rises while the player is close (on its pipe or beside it); the built-in
    world has no such enemy, so ``+plants`` levels make the two cells above the pipe deadly at
    all times: stricter than the game, where standing on a pipe is safe. The pipe the player
    starts on holds none (its plant stays down while he is there), nor does a pipe under a
    block.
    """
    out = []
    for c in range(tiles.shape[1] - 1):
        for r in np.flatnonzero(np.isin(metatiles[:, c], PIPE_TOPS)):
            row = int(r) + HUD_ROWS - 1
            cells = ((row, c), (row, c + 1))
            if start not in cells and all(tiles[cell] == AIR for cell in cells):
                out.append((row, c))
    return out


def _summary(counts: dict[str, int]) -> str:
    """``"3 goombas, 1 springboard (as a block)"``: most common first, plurals on the name."""
    parts = []
    for kind, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        name, paren, note = kind.partition(" (")
        plural = "s" if n > 1 and not name.endswith("s") else ""
        parts.append(f"{n} {name}{plural}{paren}{note}")
    return ", ".join(parts)


def read_stage(src: StageSource, rom: smbrom.Rom, *, plants: bool = False) -> str:
    """Run the stage in the emulator and make its level file text (a few seconds)."""
    from envs.smb import recorder

    console = recorder.stage_console(src.world, src.stage)
    try:
        if src.outdoor:
            recorder.enter_area(console, src.pointer, src.page)
        elif recorder.loaded_pointer(console.ram) != src.pointer:
            raise StageError(f"{PREFIX}{src.name}: the game loaded another area")

        def past_flag(cols: np.ndarray) -> bool:
            poles = np.flatnonzero(np.isin(cols, FLAGPOLE).any(axis=0))
            return bool(len(poles)) and cols.shape[1] >= poles[0] + TAIL

        try:
            rec = recorder.record_area(console, until=past_flag)
        except recorder.RecordingError as exc:
            raise StageError(f"{PREFIX}{src.name}: {exc}") from None
    finally:
        console.close()
    return build_level(src, rec, rom, plants=plants)


# --- the cache ---------------------------------------------------------------------------------
def cache_dir() -> Path:
    """Where made levels are kept (see the module docstring)."""
    root = os.environ.get(CACHE_ENV)
    if root:
        return Path(root).expanduser() / "smb-levels"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "mario-neat-lab" / "smb-levels"


def cache_path(rom: smbrom.Rom, stage: str) -> Path:
    return cache_dir() / f"v{READER_VERSION}-{rom.sha256[:16]}" / f"{stage}.txt"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename, so
    a reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_rom(what: str = "smb levels") -> smbrom.Rom:
    """The installed ROM; ``StageError`` (naming ``what`` it was needed for) without it."""
    try:
        return smbrom.Rom.load(rom_path())
    except (NesMissing, OSError, smbrom.RomError) as exc:
        raise StageError(f"{what}: {exc}") from None


def stage_level(name: str, parse: Callable[[str, str], T], *, refresh: bool = False) -> T:
    """The level of stage ``name`` (``"smb:1-1"`` or ``"1-1"``) as ``parse(text, source)`` gives
    it (``envs.levels.level.parse_level``, passed in so this module does not import the level
    module that dispatches here): from the cache, else made from the ROM by the emulator and
    cached. ``refresh`` (or a cache file that does not parse) makes it again. ``smb:1-1~K`` is
    the same level named so, which plays with timing jitter seed K (``envs.sim.profiles``)."""
    base, at, col = name.rpartition(START_MARK)
    if at and base:
        if not col.isdigit():
            raise StageError(f"{name}: a later start is {START_MARK}COLUMN, got {col!r}")
        return stage_level(
            base,
            lambda text, source: parse(later_start(text, base, name, int(col)), source),
            refresh=refresh,
        )
    try:
        seed = jitter_seed(name)
    except ValueError as exc:
        raise StageError(str(exc)) from None
    if seed:
        base = name.rpartition(JITTER_MARK)[0]
        return stage_level(
            base, lambda text, source: parse(renamed(text, name), source), refresh=refresh
        )
    spec = name.removeprefix(PREFIX)
    plants = spec.endswith(PLANTS)
    try:
        world, stage = parse_stage(spec.removesuffix(PLANTS))
    except ValueError:
        raise StageError(
            f"{PREFIX}{spec}: not a stage (expected {PREFIX}W-S or {PREFIX}W-S{PLANTS}, worlds "
            "1-8, stages 1-4)"
        ) from None
    rom = load_rom(f"{PREFIX}{spec}")
    try:
        src = stage_source(rom, world, stage)
    except smbrom.RomError as exc:  # tables that do not hold together: not the game's ROM
        raise StageError(f"{PREFIX}{spec}: {exc}") from None
    path = cache_path(rom, src.name + (PLANTS if plants else ""))
    if not refresh and path.is_file():
        try:
            return parse(path.read_text(encoding="utf-8"), str(path))
        except (OSError, UnicodeDecodeError, ValueError):
            pass  # a damaged cache file: make the level again
    if not nes_available():
        raise StageError(f"{PREFIX}{src.name}: {NES_EXTRA_HINT}")
    try:
        text = read_stage(src, rom, plants=plants)
    except smbrom.RomError as exc:
        raise StageError(f"{PREFIX}{spec}: {exc}") from None
    try:
        write_atomic(path, text)
    except OSError:
        pass  # an unwritable cache costs time, not correctness
    return parse(text, str(path))


def later_start(text: str, base: str, name: str, col: int) -> str:
    """The level text of stage ``base`` renamed ``name``, its start moved to column ``col``:
    the air cell on the first solid cell from the top, on that column (``StageError`` for a
    column with none, or off the level). A curriculum: a run can practise the end of a stage."""
    head = [line for line in text.splitlines() if line.startswith(";")]
    rows = [list(line.replace(START_CHAR, TILE_CHAR[AIR])) for line in text.splitlines()
            if line and not line.startswith(";")]  # fmt: skip
    if not 0 <= col < len(rows[0]):
        raise StageError(f"{name}: column {col} is off the level (0..{len(rows[0]) - 1})")
    for r in range(1, len(rows)):
        if rows[r][col] != TILE_CHAR[AIR] and rows[r - 1][col] == TILE_CHAR[AIR]:
            rows[r - 1][col] = START_CHAR
            break
    else:
        raise StageError(f"{name}: no ground to start on in column {col}")
    return renamed("\n".join(head + ["".join(row) for row in rows]) + "\n", name)


def renamed(text: str, name: str) -> str:
    """The level text ``text`` with its ``; name:`` line naming ``name``."""
    lines = text.splitlines()
    lines = [f"; name: {name}" if line.startswith("; name:") else line for line in lines]
    return "\n".join(lines) + "\n"


def smb_stage_names() -> list[str]:
    """The ``smb:`` level names of the installed ROM (empty without it)."""
    try:
        return stage_names(load_rom())
    except StageError:
        return []
