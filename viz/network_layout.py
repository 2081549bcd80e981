"""Where to draw a NEAT network's nodes: inputs on the observation grid, outputs in a column on
the right, hidden nodes in the band between, pulled toward the nodes they connect (as MarI/O
does), then pushed apart so the wiring stays readable with 50+ hidden nodes.

Pure numpy and deterministic (no randomness): the same network and geometry give the same
layout. Nothing here imports pygame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agent.neat.network import PAD_KEY, CompiledPopulation

__all__ = [
    "NetworkGeometry",
    "genome_edges",
    "input_layout",
    "layout_hidden",
    "network_geometry",
]


@dataclass(frozen=True)
class NetworkGeometry:
    """Pixel positions of one genome's nodes inside a box.

    ``positions`` is (N, 2) in the compiled node order (inputs, outputs, hidden); padding slots
    hold NaN. ``cell`` is the side of one input cell; ``grid_origin`` the grid's top-left;
    ``hidden`` the indices of the real hidden nodes; ``src``/``dst``/``weight`` the genome's
    kept connections; ``input_cells`` the grid cell (flat index) each input sits on.
    """

    positions: np.ndarray
    cell: int
    grid_size: int
    grid_origin: tuple[int, int]
    output_x: int
    node_size: int
    hidden: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    weight: np.ndarray
    input_cells: np.ndarray


def genome_edges(
    compiled: CompiledPopulation, genome: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(src, dst, weight) of ``genome``'s kept connections, node indices within the genome."""
    mask = compiled.edge_genome == genome
    return compiled.edge_src[mask], compiled.edge_dst[mask], compiled.edge_weight[mask]


def layout_hidden(
    initial: np.ndarray,
    hidden: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    band: tuple[float, float, float, float],
    iterations: int = 6,
    min_gap: float = 6.0,
    settle: int = 12,
) -> np.ndarray:
    """Positions (N, 2) with the ``hidden`` rows moved inside ``band`` = (x0, y0, x1, y1).

    Each iteration moves every hidden node halfway to the mean position of the nodes it is
    linked to (either direction, self-links ignored), keeps it in the band, and pushes pairs
    closer than ``min_gap`` apart; ``settle`` more iterations only push apart. Fixed
    (input/output) rows are left as they are.
    """
    pos = np.array(initial, dtype=np.float64)
    h = len(hidden)
    if h == 0:
        return pos
    x0, y0, x1, y1 = band
    n = pos.shape[0]
    row_of = np.full(n, -1, dtype=np.int64)
    row_of[hidden] = np.arange(h)
    adj = np.zeros((h, n))
    keep = src != dst
    for a, b in ((src[keep], dst[keep]), (dst[keep], src[keep])):
        rows = row_of[a]
        ok = rows >= 0
        np.add.at(adj, (rows[ok], b[ok]), 1.0)
    deg = adj.sum(axis=1)
    linked = deg > 0
    # Start in the band's middle, spread vertically in node order (deterministic).
    pos[hidden, 0] = (x0 + x1) / 2
    pos[hidden, 1] = y0 + (np.arange(h) + 0.5) * (y1 - y0) / h
    for step in range(iterations + settle):
        moved = pos[hidden].copy()
        if step < iterations:  # pull toward linked nodes
            target = adj @ np.nan_to_num(pos) / np.maximum(deg, 1.0)[:, None]
            moved[linked] = 0.5 * moved[linked] + 0.5 * target[linked]
        if step == iterations and h > 1:  # pulled toward the edges: spread over the band
            for axis, lo, hi in ((0, x0, x1), (1, y0, y1)):
                a, b = moved[:, axis].min(), moved[:, axis].max()
                if b - a > 1e-9:
                    moved[:, axis] = lo + (moved[:, axis] - a) * (hi - lo) / (b - a)
        if h > 1 and step >= iterations:
            moved = _push_apart(moved, min_gap)
        if step >= iterations:  # free while pulled, then stretched into the band and kept there
            moved[:, 0] = np.clip(moved[:, 0], x0, x1)
            moved[:, 1] = np.clip(moved[:, 1], y0, y1)
        pos[hidden] = moved
    return pos


def _push_apart(points: np.ndarray, min_gap: float) -> np.ndarray:
    """``points`` with each pair closer than ``min_gap`` moved apart (half the overlap each);
    coincident points split vertically by index (deterministic)."""
    h = len(points)
    idx = np.arange(h)
    diff = points[:, None, :] - points[None, :, :]
    dist = np.sqrt((diff**2).sum(axis=2))
    np.fill_diagonal(dist, np.inf)
    same = dist < 1e-6
    if same.any():
        diff[..., 1] += same * np.sign(idx[:, None] - idx[None, :]) * 1e-3
        dist = np.where(same, 1e-3, dist)
    push = np.clip(min_gap - dist, 0.0, None) / dist / 2
    return (
        points
        + (diff * push[:, :, None]).sum(axis=1)
        / np.maximum(1.0, (push > 0).sum(axis=1))[:, None] ** 0.5
    )


def input_layout(agent: object) -> dict[str, object]:
    """``network_geometry``'s ``input_cells`` and ``grid_size`` for an agent whose inputs read
    cells of its observation grid (``input_cells``, ``view_radius``: ``agent.neat.policy``);
    empty (the inputs are the grid) for any other agent."""
    cells = getattr(agent, "input_cells", None)
    if cells is None:
        return {}
    return {"input_cells": cells, "grid_size": 2 * int(getattr(agent, "view_radius", 6)) + 1}


def network_geometry(
    compiled: CompiledPopulation,
    box: tuple[int, int, int, int],
    genome: int = 0,
    label_width: int = 0,
    input_cells: np.ndarray | None = None,
    grid_size: int | None = None,
) -> NetworkGeometry:
    """Node positions for ``genome`` drawn in ``box`` = (x, y, width, height) pixels.

    The (square) input grid fills the box's height on the left; outputs sit in a column
    ``label_width`` pixels short of the right edge (their names go there); hidden nodes go
    between. Input ``i`` sits on grid cell ``input_cells[i]`` of the ``grid_size`` x
    ``grid_size`` grid (an encoding that reads a box of the grid, or each cell twice,
    ``agent.neat.inputs``); by default the inputs are the square grid itself.
    """
    bx, by, bw, bh = box
    n_in, n_out = compiled.num_inputs, compiled.num_outputs
    if input_cells is None:
        side = int(round(np.sqrt(n_in)))
        if side * side != n_in:
            raise ValueError(f"{n_in} inputs are not a square observation grid")
        input_cells = np.arange(n_in)
    else:
        side = int(grid_size or 0)
        input_cells = np.asarray(input_cells, dtype=np.int64)
        if (
            len(input_cells) != n_in
            or side < 1
            or not (0 <= input_cells).all()
            or (input_cells >= side * side).any()
        ):
            raise ValueError(f"{n_in} inputs do not fit the cells of a {side} x {side} grid")
    cell = max(2, min(bh, bw // 3) // side)
    grid_px = cell * side
    gy = by + (bh - grid_px) // 2
    node = max(3, int(cell * 0.7))
    out_x = bx + bw - label_width - node
    n = compiled.max_nodes
    keys = compiled.node_keys[genome]
    pos = np.full((n, 2), np.nan)
    k = input_cells
    pos[:n_in, 0] = bx + (k % side + 0.5) * cell
    pos[:n_in, 1] = gy + (k // side + 0.5) * cell
    out_gap = grid_px / max(n_out, 1)
    pos[n_in : n_in + n_out, 0] = out_x + node / 2
    pos[n_in : n_in + n_out, 1] = gy + (np.arange(n_out) + 0.5) * out_gap
    hidden = np.arange(n_in + n_out, n)
    hidden = hidden[keys[hidden] != PAD_KEY]
    src, dst, weight = genome_edges(compiled, genome)
    band = (
        bx + grid_px + 2.0 * cell,
        gy + node / 2,
        out_x - 2.0 * cell,
        gy + grid_px - node / 2,
    )
    if band[2] < band[0]:
        mid = (band[0] + band[2]) / 2
        band = (mid, band[1], mid, band[3])
    pos = layout_hidden(pos, hidden, src, dst, band, min_gap=node * 1.5)
    return NetworkGeometry(
        pos, cell, side, (bx, gy), out_x, node, hidden, src, dst, weight, input_cells
    )
