"""The emulator side of the real game: one NES (``Console``), one episode on it (``SmbRun``),
and a batch of runs with the episode protocol of the built-in world (``SmbWorlds``).

``Console`` is one emulator at the start of a stage: the title screen skipped once (the way
gym-super-mario-bros does it, with the stage written to RAM), then a snapshot that every
``restart`` restores, so one console plays any number of episodes.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from envs.sim.constants import COMPLETED, DEAD, RUNNING, TIMEOUT
from envs.sim.rules import out_of_time
from envs.smb.ram import (
    AREA,
    PLAYER_PAGE,
    PLAYER_X,
    PRELEVEL_TIMER,
    STAGE,
    START,
    WORLD,
    clock,
    flag_reached,
    is_dying,
    joypad_bytes,
    parse_stage,
    player_x,
    stage_area,
    tile_grid,
)

NES_EXTRA_HINT = 'the real game needs the nes extra: pip install -e ".[nes]"'


# --- the emulator ----------------------------------------------------------------------------
class NesMissing(ImportError):
    """The ``nes`` extra (nes-py, gym-super-mario-bros) is not installed."""


def nes_available() -> bool:
    """Whether the ``nes`` extra is installed (without importing it)."""
    return all(importlib.util.find_spec(m) is not None for m in ("nes_py", "gym_super_mario_bros"))


def rom_path() -> str:
    """The Super Mario Bros. ROM bundled with gym-super-mario-bros (found without importing
    the package, which would register old-gym environments)."""
    spec = importlib.util.find_spec("gym_super_mario_bros")
    if spec is None or not spec.submodule_search_locations:
        raise NesMissing(NES_EXTRA_HINT)
    path = Path(list(spec.submodule_search_locations)[0]) / "_roms" / "super-mario-bros.nes"
    if not path.is_file():
        raise NesMissing(f"{path}: the ROM is missing from gym-super-mario-bros; reinstall it")
    return str(path)


def _nes_env_class():
    """nes-py's ``NESEnv``, with nes-py 8's ROM header read as integers (in this process)."""
    if importlib.util.find_spec("nes_py") is None:
        raise NesMissing(NES_EXTRA_HINT)
    import contextlib
    import io
    import warnings

    # nes-py 8 imports the old gym, which prints a notice about NumPy 2 to stderr on import
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        import nes_py.nes_env as nes_env
    rom_class = getattr(nes_env, "ROM", None)
    # nes-py 8.x: ``16 * header[4]`` stays uint8 under NumPy 2 and ``* 2**10`` overflows.
    # nes-py 9 reads header bytes through ``_header_byte`` (ints) and needs nothing.
    if rom_class is not None and not hasattr(rom_class, "_header_byte"):
        if not getattr(rom_class, "_int_header", False):
            nes_env.ROM = _int_header_rom(rom_class)
    return nes_env.NESEnv


def _int_header_rom(base: type) -> type:
    class IntHeaderROM(base):  # type: ignore[misc, valid-type]
        """nes-py's ROM with the 16 header bytes as int64, so size arithmetic cannot wrap."""

        _int_header = True

        @property
        def header(self):
            return self.raw_data[:16].astype(np.int64)

    return IntHeaderROM


class Console:
    """One NES running Super Mario Bros. at the start of ``world``-``stage``.

    Creating it boots the ROM, skips the title screen with the stage written into RAM (as
    gym-super-mario-bros does: press start until the clock runs, with the pre-level timer run
    out), waits for the clock's first tick, and snapshots that moment; ``restart`` restores the
    snapshot. Emulation is deterministic: the same buttons from a restart give the same RAM and
    screen.
    """

    def __init__(self, world: int = 1, stage: int = 1):
        self.world, self.stage = parse_stage((world, stage))
        self.area = stage_area(self.world, self.stage)
        NESEnv = _nes_env_class()
        self._nes = NESEnv(rom_path())
        self._nes.reset()  # a power-on reset (there is no backup yet)
        self._skip_title()
        self._nes._backup()
        self.start_x = player_x(self.ram)

    @property
    def ram(self) -> np.ndarray:
        """The 2 KiB of work RAM (a live, writable view)."""
        return self._nes.ram

    @property
    def screen(self) -> np.ndarray:
        """The current frame, (240, 256, 3) uint8 RGB (a live view: copy to keep it)."""
        return self._nes.screen

    def frame(self, joypad: int = 0) -> None:
        """Emulate one frame with the joypad byte ``joypad`` held."""
        self._nes._frame_advance(joypad)

    def restart(self) -> None:
        """Back to the snapshot at the start of the stage."""
        self._nes._restore()

    def _write_stage(self) -> None:
        ram = self.ram
        ram[WORLD], ram[STAGE], ram[AREA] = self.world - 1, self.stage - 1, self.area

    def _skip_title(self) -> None:
        ram = self.ram
        self.frame(START)
        self.frame(0)
        while clock(ram) == 0:  # press start until the level's clock is set
            self.frame(START)
            self._write_stage()
            self.frame(0)
            ram[PRELEVEL_TIMER] = 0  # skip the "WORLD 1-1" card
        last = clock(ram)
        while clock(ram) >= last:  # until the clock ticks: the level is running
            last = clock(ram)
            self.frame(START)
            self.frame(0)

    def close(self) -> None:
        if getattr(self, "_nes", None) is not None:
            self._nes.close()
            self._nes = None

    def __del__(self) -> None:  # emulators hold C++ memory; free it with the console
        try:
            self.close()
        except Exception:  # noqa: BLE001 - never raise from a finaliser
            pass


# --- one episode on a console ----------------------------------------------------------------
class SmbRun:
    """One episode on a ``Console``: frames played, x, rightmost x, the frame of the last new
    rightmost, and the status (``envs.sim.constants``: RUNNING, DEAD, COMPLETED, TIMEOUT).

    ``advance`` holds a joypad byte for up to ``frames`` frames and stops at the frame the run
    ends (death, the flag), so ``frames`` counts exactly the frames played, as in the built-in
    world. Death is one life lost: the episode ends there.
    """

    def __init__(self, console: Console):
        self.console = console
        self.reset()

    def reset(self) -> None:
        self.console.restart()
        self.frames = 0
        self.x = self.rightmost = player_x(self.console.ram)
        self.last_progress = 0
        self.status = RUNNING

    @property
    def running(self) -> bool:
        return self.status == RUNNING

    @property
    def frames_since_progress(self) -> int:
        return self.frames - self.last_progress

    def advance(self, joypad: int, frames: int) -> None:
        console, ram = self.console, self.console.ram
        for _ in range(frames):
            if self.status != RUNNING:
                return
            console.frame(joypad)
            self.frames += 1
            x = int(ram[PLAYER_PAGE]) * 256 + int(ram[PLAYER_X])
            self.x = x
            if x > self.rightmost:
                self.rightmost = x
                self.last_progress = self.frames
            if is_dying(ram):
                self.status = DEAD
            elif flag_reached(ram):
                self.status = COMPLETED


#: Where MarI/O counts a stage as done (its fitness bonus): progress is known there only.
STAGE_END_X = {"1-1": 3186}


class SmbWorlds:
    """``n`` episodes on the real game, one console each, behind the episode protocol of
    ``envs.sim.world.World`` (``status``, ``frames``, ``frames_since_progress``, ``observe``,
    ``step``, ``out_of_time``, ``time_out``, ``records``), so ``agent.episodes`` plays both
    worlds with one loop. ``consoles`` are reused (one per stage and run), ``reset`` restarts
    them all."""

    def __init__(self, consoles: Sequence[Console]):
        self.consoles = list(consoles)
        self.runs = [SmbRun(c) for c in self.consoles]

    @classmethod
    def of(cls, stage: str, n: int = 1) -> SmbWorlds:
        return cls([Console(*parse_stage(stage)) for _ in range(n)])

    @property
    def n(self) -> int:
        return len(self.runs)

    def reset(self) -> None:
        for run in self.runs:
            run.reset()

    def status(self) -> np.ndarray:
        return np.array([r.status for r in self.runs], dtype=np.int32)

    def frames(self) -> np.ndarray:
        return np.array([r.frames for r in self.runs], dtype=np.int64)

    def frames_since_progress(self) -> np.ndarray:
        return np.array([r.frames_since_progress for r in self.runs], dtype=np.int64)

    def observe(self, radius: int = 6, out: np.ndarray | None = None) -> np.ndarray:
        size = 2 * radius + 1
        if out is None:
            out = np.empty((self.n, size, size), dtype=np.float32)
        for i, run in enumerate(self.runs):
            tile_grid(run.console.ram, radius, out=out[i])
        return out

    def step(self, actions: np.ndarray, frames: int = 1) -> None:
        for run, joypad in zip(self.runs, joypad_bytes(np.asarray(actions)), strict=True):
            run.advance(int(joypad), frames)

    def out_of_time(self, timeout: float, growth: float = 0.0) -> np.ndarray:
        late = out_of_time(self.frames(), self.frames_since_progress(), timeout, growth)
        return (self.status() == RUNNING) & late

    def time_out(self, mask: np.ndarray) -> None:
        for run, end in zip(self.runs, np.asarray(mask), strict=True):
            if end and run.running:
                run.status = TIMEOUT

    def records(self) -> list[dict]:
        out = []
        for run in self.runs:
            level = f"{run.console.world}-{run.console.stage}"
            end = STAGE_END_X.get(level)
            progress = None if end is None else min(1.0, run.rightmost / end)
            out.append(
                {
                    "level": level,
                    "completed": run.status == COMPLETED,
                    "dead": run.status == DEAD,
                    "timeout": run.status == TIMEOUT,
                    "progress": 1.0 if run.status == COMPLETED else progress,
                    "frames": run.frames,
                    "rightmost": float(run.rightmost),
                    "start_x": float(run.console.start_x),
                }
            )
        return out
