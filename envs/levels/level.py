"""Levels: the plain-text format, its parser with located errors, and the built-in level names.

A level file holds one character per 16-px tile, rows top to bottom. Lines starting with ``;``
are comments; ``; key: value`` comments before the grid are metadata (``name``, ``time`` in
seconds, anything else is kept as text). See ``docs/levels.md`` for the legend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from envs.sim.constants import (
    DEFAULT_TIME_SECONDS,
    ENEMY_CHAR,
    FLAG,
    FLAG_CHAR,
    FPS,
    LEGEND,
    LEGEND_CHARS,
    MAX_ROWS,
    MIN_COLS,
    MIN_ROWS,
    START_CHAR,
    TILE_CHAR,
    TILE_PX,
)

LEVEL_DIR = Path(__file__).parent
MAX_TIME_SECONDS = 1_000_000  # keeps the limit in frames within int32
#: A level file larger than this is refused unread (32 rows of 10,000 columns is 320 KB).
MAX_LEVEL_BYTES = 4 << 20


def time_seconds_for(length: int) -> int:
    """The time limit of a made level ``length`` columns long (the generator's and the memory
    levels'): the whole length at 1 px/frame (slower than walking, 1.5), plus 20 s for detours."""
    return math.ceil(length * TILE_PX / FPS) + 20


class LevelError(ValueError):
    """A level that cannot be used; the message names the file, line and column."""


@dataclass(frozen=True, eq=False)
class Level:
    """One parsed level: the tile codes plus where the player and the enemies start."""

    name: str
    tiles: np.ndarray  # (rows, cols) uint8 tile codes; spawn cells hold air
    start: tuple[int, int]  # (row, col) of the player's start cell
    enemies: tuple[tuple[int, int], ...] = ()  # (row, col) of each enemy's spawn cell
    meta: dict[str, str] = field(default_factory=dict)
    source: str = "<memory>"

    @property
    def height(self) -> int:
        return int(self.tiles.shape[0])

    @property
    def width(self) -> int:
        return int(self.tiles.shape[1])

    @property
    def flag_col(self) -> int:
        """The leftmost flag column: reaching it completes the level."""
        return int(np.flatnonzero((self.tiles == FLAG).any(axis=0))[0])

    @property
    def time_seconds(self) -> int:
        return int(self.meta.get("time", DEFAULT_TIME_SECONDS))

    def to_text(self) -> str:
        """The level in the file format; ``parse_level(level.to_text())`` gives it back."""
        grid = [[TILE_CHAR[int(c)] for c in row] for row in self.tiles]
        for r, c in self.enemies:
            grid[r][c] = ENEMY_CHAR
        grid[self.start[0]][self.start[1]] = START_CHAR
        head = [f"; name: {self.name}"]
        head += [f"; {k}: {v}" for k, v in self.meta.items() if k != "name"]
        return "\n".join(head + ["".join(row) for row in grid]) + "\n"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Level)
            and self.name == other.name
            and self.start == other.start
            and self.enemies == other.enemies
            and self.meta == other.meta
            and np.array_equal(self.tiles, other.tiles)
        )

    __hash__ = None  # type: ignore[assignment]


def parse_level(text: str, source: str = "<string>", default_name: str = "level") -> Level:
    """Parse level text; raise :class:`LevelError` naming ``source``, line and column on error."""
    text = text.removeprefix("\ufeff")  # a byte-order mark from some Windows editors
    if "\x00" in text:
        raise LevelError(f"{source}: not a text level file (binary data)")
    meta: dict[str, str] = {}
    rows: list[tuple[int, str]] = []  # (1-based line number, row text)
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if line.startswith(";"):
            body = line[1:].strip()
            if not rows and ":" in body:
                key, _, value = body.partition(":")
                if key.strip() and " " not in key.strip():
                    meta[key.strip().lower()] = value.strip()
            continue
        if not line:
            if rows:
                rows.append((lineno, line))  # a blank line inside the grid is an uneven row
            continue
        rows.append((lineno, line))
    while rows and not rows[-1][1]:
        rows.pop()
    if not rows:
        raise LevelError(f"{source}: empty level file (no grid rows)")

    first_line, first = rows[0]
    width = len(first)
    for lineno, row in rows:
        if len(row) != width:
            raise LevelError(
                f"{source}:{lineno}:{min(len(row), width) + 1}: row has {len(row)} columns, "
                f"expected {width} like line {first_line}"
            )
    if not MIN_ROWS <= len(rows) <= MAX_ROWS:
        raise LevelError(
            f"{source}:{first_line}: grid has {len(rows)} rows; a level needs {MIN_ROWS} to "
            f"{MAX_ROWS}"
        )
    if width < MIN_COLS:
        raise LevelError(
            f"{source}:{first_line}: grid is {width} columns wide; a level needs at least "
            f"{MIN_COLS}"
        )

    tiles = np.zeros((len(rows), width), dtype=np.uint8)
    start: tuple[int, int] | None = None
    start_at = ""
    enemies: list[tuple[int, int]] = []
    for r, (lineno, row) in enumerate(rows):
        for c, ch in enumerate(row):
            if ch == START_CHAR:
                if start is not None:
                    raise LevelError(
                        f"{source}:{lineno}:{c + 1}: a second player start '{START_CHAR}' "
                        f"(the first is at {start_at}); a level has exactly one"
                    )
                start, start_at = (r, c), f"line {lineno}, column {c + 1}"
            elif ch == ENEMY_CHAR:
                enemies.append((r, c))
            elif ch in LEGEND:
                tiles[r, c] = LEGEND[ch]
            else:
                raise LevelError(
                    f"{source}:{lineno}:{c + 1}: unknown tile character {ch!r} "
                    f"(the legend is {LEGEND_CHARS})"
                )
    if start is None:
        raise LevelError(f"{source}: no player start '{START_CHAR}'")
    if not (tiles == FLAG).any():
        raise LevelError(f"{source}: no goal flag '{FLAG_CHAR}'")
    if "time" in meta:
        try:
            if not 0 < int(meta["time"]) <= MAX_TIME_SECONDS:
                raise ValueError
        except ValueError:
            raise LevelError(
                f"{source}: metadata 'time' must be a whole number of seconds from 1 to "
                f"{MAX_TIME_SECONDS}, got {meta['time']!r}"
            ) from None
    name = meta.get("name") or default_name
    return Level(name, tiles, start, tuple(enemies), meta, source)


def builtin_names() -> list[str]:
    """Names of the levels shipped in ``envs/levels/``, in order (1-1, 1-2, ...)."""
    return sorted(p.stem for p in LEVEL_DIR.glob("*.txt"))


def load_level(name_or_path: str | Path) -> Level:
    """Load a built-in level by name (``"1-1"``), a stage of the real game (``"smb:1-1"``, made
    from the installed ROM: ``envs/smb/levels.py``) or a level file by path."""
    spec = str(name_or_path)
    if spec.startswith("smb:"):
        from envs.smb.levels import StageError, stage_level  # lazily: the nes extra is optional

        try:
            return stage_level(spec, lambda text, source: parse_level(text, source=source))
        except StageError as exc:
            raise LevelError(str(exc)) from None
    path = Path(spec)
    if spec in builtin_names():
        path = LEVEL_DIR / f"{spec}.txt"
    elif not (path.suffix or path.exists() or "/" in spec or "\\" in spec):
        raise LevelError(
            f"unknown level {spec!r}; built-in levels: {', '.join(builtin_names())} "
            "(and smb:1-1 ... for the real game's stages)"
        )
    if not path.exists():
        raise LevelError(f"{spec}: no such level file")
    if not path.is_file():  # a FIFO would block the read, a device never end
        raise LevelError(f"{spec}: not a regular file, not a level file")
    size = path.stat().st_size
    if size > MAX_LEVEL_BYTES:
        raise LevelError(f"{spec}: {size:,} bytes, more than a level file may hold")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LevelError(
            f"{spec}: not a text level file (undecodable byte at offset {exc.start})"
        ) from None
    return parse_level(text, source=spec, default_name=path.stem)
