"""What a NEAT network sees: which cells of the tile grid feed its inputs, and how each is read.

The observation is MarI/O's grid around the player (``(2r + 1)^2`` cells for view radius ``r``:
1 solid, -1 enemy or spikes, 0 empty; ``envs.sim.view.observe_cells``). An
``InputEncoding`` turns one grid into the network's inputs:

* ``box`` = ``(behind, ahead, above, below)`` (None, or ``(r, r, r, r)``: the whole grid,
  MarI/O's 169 inputs): only the cells from ``behind`` columns behind the player's cell to
  ``ahead`` columns ahead of it and from ``above`` rows above to ``below`` rows below, in
  row-major order; for example ``(1, 6, 4, 3)`` is an 8 x 8 box that looks 6 tiles ahead and 1
  back (as Chrispresso's GA read a 7 x 10 box ahead of Mario instead of a square around him);
* ``planes``: ``"mixed"`` (MarI/O's: one input per cell, the grid's value) or ``"split"`` (two
  per cell: first the whole box as a solid plane, 1 where solid, else 0; then as a hazard plane,
  1 where an enemy or spikes are, else 0), so one link can react to a wall and another, of the
  same sign, to an enemy.

Every input reads one grid cell (``cells``) through one of three reads (``reads``: 0 the value,
1 "is solid", 2 "is a hazard"); ``encode`` applies them to a batch of grids and the compiled
episode loop (``agent.neat.rollout``) the same reads cell by cell, so both give the same inputs.
The default encoding is the identity: inputs are the grid itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from envs.checks import SettingError, check_int

__all__ = ["PLANES", "READ_HAZARD", "READ_SOLID", "READ_VALUE", "InputEncoding", "parse_box"]

#: How the cells are read (see the module doc).
PLANES = ("mixed", "split")
READ_VALUE, READ_SOLID, READ_HAZARD = 0, 1, 2


@dataclass(frozen=True)
class InputEncoding:
    """The inputs of a network from a grid of view radius ``radius`` (see the module doc)."""

    radius: int = 6
    box: tuple[int, int, int, int] | None = None
    planes: str = "mixed"

    def __post_init__(self) -> None:
        """Checks (one-line ``ValueError``): the box inside the grid, a known plane layout."""
        check_int("view_radius", self.radius, 1)
        if self.planes not in PLANES:
            raise SettingError(
                f"view_planes must be one of {', '.join(PLANES)}, got {self.planes!r:.40}"
            )
        if self.box is not None:
            box = self.box
            if not isinstance(box, (list, tuple)) or len(box) != 4:
                raise SettingError(
                    "view_box must be 4 whole numbers (behind, ahead, above, below), got "
                    f"{box!r:.40}"
                )
            for name, v in zip(("behind", "ahead", "above", "below"), box, strict=True):
                check_int(f"view_box {name}", v, 0, self.radius)
            box = tuple(int(v) for v in box)
            # the box of the whole grid is the grid: the same inputs, saved as no box
            object.__setattr__(self, "box", None if box == (self.radius,) * 4 else box)

    @property
    def size(self) -> int:
        """The side of the observed grid."""
        return 2 * self.radius + 1

    @cached_property
    def box_cells(self) -> np.ndarray:
        """Flat grid indices of the box's cells, row-major (the whole grid without a box)."""
        r, s = self.radius, self.size
        if self.box is None:
            return np.arange(s * s, dtype=np.int64)
        behind, ahead, above, below = self.box
        rows = np.arange(r - above, r + below + 1)
        cols = np.arange(r - behind, r + ahead + 1)
        return (rows[:, None] * s + cols[None, :]).reshape(-1).astype(np.int64)

    @cached_property
    def box_shape(self) -> tuple[int, int]:
        """(rows, columns) of the box."""
        if self.box is None:
            return self.size, self.size
        behind, ahead, above, below = self.box
        return above + below + 1, behind + ahead + 1

    @cached_property
    def cells(self) -> np.ndarray:
        """(num_inputs,) int64: the grid cell each input reads."""
        n = 1 if self.planes == "mixed" else 2
        return np.tile(self.box_cells, n)

    @cached_property
    def reads(self) -> np.ndarray:
        """(num_inputs,) int8: how each input reads its cell (``READ_*``)."""
        m = len(self.box_cells)
        if self.planes == "mixed":
            return np.full(m, READ_VALUE, dtype=np.int8)
        return np.repeat(np.array([READ_SOLID, READ_HAZARD], dtype=np.int8), m)

    @property
    def num_inputs(self) -> int:
        return len(self.cells)

    @property
    def identity(self) -> bool:
        """Whether the inputs are the grid itself (no box, mixed planes)."""
        return self.box is None and self.planes == "mixed"

    def encode(self, grids: np.ndarray) -> np.ndarray:
        """(B, S, S) or (B, S*S) grids -> (B, num_inputs) inputs (the grids' dtype)."""
        flat = np.asarray(grids).reshape(len(grids), -1)
        if flat.shape[1] != self.size * self.size:
            raise ValueError(
                f"expected grids of {self.size} x {self.size} cells (view radius {self.radius}), "
                f"got {flat.shape[1]} cells"
            )
        if self.identity:
            return flat
        x = flat[:, self.cells]
        if self.planes == "split":
            solid = self.reads == READ_SOLID
            x = np.where(solid, x > 0.5, x < -0.5).astype(flat.dtype)
        return x

    def describe(self) -> str:
        """A phrase for messages: the grid or the box, the planes, the number of inputs."""
        rows, cols = self.box_shape
        where = f"the {self.size} x {self.size} grid"
        if self.box is not None:
            names = ("behind", "ahead", "above", "below")
            sides = ", ".join(f"{n} {v}" for n, v in zip(names, self.box, strict=True))
            where = f"a box of {rows} x {cols} cells of {where} ({sides})"
        planes = "" if self.planes == "mixed" else " in solid and hazard planes"
        return f"{where}{planes} gives {self.num_inputs} inputs"

    @classmethod
    def of_settings(cls, settings: Any) -> InputEncoding:
        """The encoding of a ``FitnessSettings`` (its ``view_radius``, ``view_box`` and
        ``view_planes``)."""
        return cls(settings.view_radius, settings.view_box, settings.view_planes)


def parse_box(text: str) -> tuple[int, int, int, int]:
    """``"1,6,4,3"`` -> (1, 6, 4, 3): a command line's ``--view-box``; ``ValueError`` else."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        box = tuple(int(p) for p in parts)
    except ValueError:
        box = ()
    if len(box) != 4 or min(box) < 0:
        raise ValueError(
            f"expected 4 whole numbers >= 0, BEHIND,AHEAD,ABOVE,BELOW (for example 1,6,4,3), "
            f"got {text!r}"
        )
    return box  # type: ignore[return-value]
