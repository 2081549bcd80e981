"""The watching keys every window shares (the built-in world, races, the real game).

O toggles the overlay, H the help, P (and space while an agent plays) pauses, . steps one frame
while paused, + and - change the speed through ``SPEEDS``; Esc, Q or closing the window quits.
``HELP_LINES`` and ``controls_line`` say so on screen and on stdout.
Pure bookkeeping on the key names ``envs.render.frame.HumanWindow.poll`` returns: no drawing here.
"""

from __future__ import annotations

from dataclasses import dataclass

QUIT_KEYS = {"quit", "escape", "q"}
SPEEDS = (5, 15, 30, 60, 120, 240, 0)  # frames per second for +/-; 0: as fast as possible
FASTER_KEYS = {"+", "=", "[+]"}
SLOWER_KEYS = {"-", "[-]"}
HELP_LINES = (
    "arrows move   Z/space jump (A)   X/shift run (B)",
    "P pause (space too, watching an agent)   . one frame while paused",
    "+/- faster/slower   O overlay   R restart   N next level",
    "H this help   Esc/Q quit",
)


def controls_line(watching: bool, level_word: str = "level") -> str:
    """The keys, in one line, printed when a window opens."""
    keys = "P/space pause" if watching else "arrows move, Z/space jump, X/shift run, P pause"
    return f"{keys}, . step, +/- speed, R restart, N next {level_word}, O overlay, H help, Esc quit"


def next_speed(fps: int, faster: bool) -> int:
    """The next of ``SPEEDS`` up (toward unlimited, 0) or down from ``fps``."""
    order = list(SPEEDS)
    rank = [float("inf") if f == 0 else f for f in order]
    cur = float("inf") if fps == 0 else fps
    if faster:
        ups = [f for f, r in zip(order, rank, strict=True) if r > cur]
        return ups[0] if ups else fps
    downs = [f for f, r in zip(order, rank, strict=True) if r < cur]
    return downs[-1] if downs else fps


@dataclass
class WatchKeys:
    """The state the watching keys toggle, and what a key press does to it."""

    overlay_on: bool
    show_help: bool = False
    paused: bool = False

    def handle(self, pressed: set[str], window: object, pause_keys: set[str]) -> None:
        if "o" in pressed:
            self.overlay_on = not self.overlay_on
        if "h" in pressed:
            self.show_help = not self.show_help
        if pressed & pause_keys:
            self.paused = not self.paused
        if pressed & FASTER_KEYS:
            window.fps = next_speed(window.fps, True)  # type: ignore[attr-defined]
        if pressed & SLOWER_KEYS:
            window.fps = next_speed(window.fps, False)  # type: ignore[attr-defined]

    def advances(self, pressed: set[str]) -> bool:
        """Whether the game moves this frame (running, or one step while paused)."""
        return not self.paused or "." in pressed
