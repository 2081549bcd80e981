"""A NEAT population's episodes played inside one compiled loop: observe, think, act, in lockstep.

``agent.neat.evaluator.play_population`` steps the worlds and the networks from Python, one numpy
or numba call after another per decision. At a few dozen microseconds of work per decision for 300
genomes, those calls and the arrays between them cost as much as the work itself. Here the whole
loop runs in compiled code: at each decision every running world, in order, reads the grid cells
its genome looks at (``envs.sim.view.observe_cells``), runs its network's synchronous updates,
presses the buttons whose outputs are positive and holds them for ``frame_skip`` frames
(``envs.sim.physics.step_world``), then MarI/O's no-progress timeout is checked
(``envs.sim.rules.out_of_time``). The physics, the grid and the timeout rule are the one copy in
``envs.sim``; the network arrays are those of ``agent.neat.batched.BatchedRecurrent``
(``kernel_arrays``), and activations are neat-python's own functions compiled
(``agent.neat.activations``), so fitness equals the step-by-step path's and neat-python's. (A
node's inputs are added one by one in gene order, as neat's ``sum`` aggregation does on Python
3.11; from 3.12 Python's ``sum`` compensates rounding, so there node values can differ in the
last bits, and a button only if an output lies within that of zero.)
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
from neat import activations as neat_activations
from numba import njit

from agent.neat import activations
from agent.neat.activations import activate_code
from agent.neat.batched import KernelArrays
from agent.neat.fitness import FitnessSettings
from agent.neat.inputs import READ_HAZARD, READ_SOLID, READ_VALUE
from envs.sim import constants, levelinfo, physics, profiles, rules, view
from envs.sim.constants import BUTTONS, P_FRAMES, P_LAST_PROGRESS, P_STATUS, RUNNING, TIMEOUT
from envs.sim.physics import controls, step_world
from envs.sim.rules import out_of_time
from envs.sim.view import observe_cells
from envs.sim.world import World

__all__ = ["play_compiled"]


@njit(cache=True, nogil=True, inline="always")
def _decide(w, net, shape, grid, new, actions, updates):
    """World ``w``'s network: ``updates`` synchronous updates from the inputs in ``grid[w]``
    (an edge from an input reads grid cell ``edge_input[e]`` the way ``edge_read[e]`` says),
    then its buttons into ``actions[w]`` (pressed where the output is positive)."""
    values, eval_start, eval_col, row_start, row_end, edge_input, edge_col = net[:7]
    edge_weight, bias, response, activation = net[7:11]
    edge_read = net[13]
    k, N, n_in = shape
    p, j = w // k, w % k
    r0, r1 = eval_start[p], eval_start[p + 1]
    for _ in range(updates):
        for r in range(r0, r1):
            s = 0.0  # neat's sum: the weighted inputs added one by one, in gene order
            for e in range(row_start[r], row_end[r]):
                c = edge_input[e]
                if c >= 0:
                    v = grid[w, c]  # the input's cell, read as agent.neat.inputs says
                    if edge_read[e] == READ_SOLID:
                        v = 1.0 if v > 0.5 else 0.0
                    elif edge_read[e] == READ_HAZARD:
                        v = 1.0 if v < -0.5 else 0.0
                    s += v * edge_weight[e]
                else:
                    s += values[j, edge_col[e]] * edge_weight[e]
            new[w, r - r0] = activate_code(activation[r], bias[r] + response[r] * s)
        for r in range(r0, r1):  # written after all are computed: every node read old values
            values[j, eval_col[r]] = new[w, r - r0]
    base = p * N + n_in
    for o in range(actions.shape[1]):
        actions[w, o] = 1 if values[j, base + o] > 0.0 else 0


def _sources_stamp() -> str:
    """A hash of the other sources compiled into the loop (the physics, the view, their
    constants and level-info columns, the profiles those come from, the timeout rule, the
    activation table, neat-python's activations).

    numba's cache only notices edits to the file a cached function is written in; everything
    ``_play`` calls is inlined into it, and this stamp sits in its closure, which numba does hash
    into the cache key. So an edit to any of those files recompiles the loop instead of leaving
    it running the old code from its cache."""
    digest = hashlib.sha256()
    sources = (physics, view, constants, levelinfo, profiles, rules)
    for module in (*sources, activations, neat_activations):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()


def _compile_loop(stamp: str):
    """The loop kernel, its cache keyed by ``stamp`` as well as by its own code."""

    @njit(cache=True, nogil=True)
    def _play(worlds, net, shape, rules, max_eval):
        """Every world (network instance w drives world w), in lockstep until each run has ended.

        ``worlds`` = (P, E, D, tiles, dyn, LD); ``net`` = the ``KernelArrays`` arrays in field order
        from ``values`` (input indices mapped to grid cells), then each edge's read; ``shape`` =
        (k, N, n_in); ``rules`` = (view radius, frame skip, timeout, timeout growth, updates per
        decision, buttons)."""
        stamp  # noqa: B018 -- referenced, so in the closure and in numba's cache key
        P, E, D, tiles, dyn, LD = worlds
        cell_start, cells = net[11], net[12]
        radius, frame_skip, timeout, growth, updates, n_buttons = rules
        size = 2 * radius + 1
        n = P.shape[0]
        grid = np.zeros((n, size * size), dtype=np.float32)
        new = np.empty((n, max(max_eval, 1)), dtype=net[0].dtype)
        actions = np.zeros((n, n_buttons), dtype=np.uint8)
        live = np.empty(n, dtype=np.int64)
        n_live = 0
        for w in range(n):
            if P[w, P_STATUS] == RUNNING:
                live[n_live] = w
                n_live += 1
        while n_live > 0:
            for t in range(n_live):
                w = live[t]
                p = w // shape[0]
                mine = cells[cell_start[p] : cell_start[p + 1]]
                observe_cells(w, P, E, tiles, LD, radius, mine, grid[w])
                _decide(w, net, shape, grid, new, actions, updates)
                a, b, d, down = controls(actions, w)
                step_world(w, P, E, D, tiles, dyn, LD, a, b, d, down, frame_skip)
                frames = P[w, P_FRAMES]
                late = out_of_time(frames, frames - P[w, P_LAST_PROGRESS], timeout, growth)
                if late and P[w, P_STATUS] == RUNNING:
                    P[w, P_STATUS] = TIMEOUT
            kept = 0
            for t in range(n_live):
                if P[live[t], P_STATUS] == RUNNING:
                    live[kept] = live[t]
                    kept += 1
            n_live = kept

    return _play


_play = _compile_loop(_sources_stamp())


def play_compiled(net: KernelArrays, world: World, settings: FitnessSettings) -> int:
    """Play network instance b in world b until every run ends; returns frames simulated.

    ``settings``: frame skip, view radius, timeout, network updates per decision. The same rules
    as ``agent.neat.evaluator.play_population``: a run ends when its world does or when it has
    gone ``timeout_frames + timeout_growth * frames`` frames without a new rightmost position,
    checked at each decision.
    """
    s = settings
    n = world.n
    k = net.batch_per_genome
    if net.values.shape[1] * k != n * net.max_nodes:
        raise ValueError(
            f"the network has {net.values.shape[1] // net.max_nodes * k} instances, "
            f"the world batch {n}"
        )
    if s.num_inputs != net.num_inputs:
        raise ValueError(
            f"{s.encoding.describe()} (view radius {s.view_radius}), but the network has "
            f"{net.num_inputs}"
        )
    if net.num_outputs != len(BUTTONS):
        raise ValueError(
            f"the network has {net.num_outputs} outputs, the controller {len(BUTTONS)} buttons"
        )
    b = world.bank
    max_eval = int(np.diff(net.eval_start).max()) if len(net.eval_start) > 1 else 0
    fields = [f.name for f in dataclasses.fields(net)]
    arrays = {name: getattr(net, name) for name in fields[fields.index("values") :]}
    enc = s.encoding  # input i reads grid cell enc.cells[i] through enc.reads[i]
    from_input = net.edge_input >= 0
    src = np.where(from_input, net.edge_input, 0)
    arrays["edge_input"] = np.where(from_input, enc.cells[src], -1)
    arrays["cells"] = enc.cells[net.cells]
    edge_read = np.where(from_input, enc.reads[src], READ_VALUE).astype(np.int8)
    rules = (s.view_radius, s.frame_skip, float(s.timeout_frames), float(s.timeout_growth))
    args = (
        (world.P, world.E, world.D, b.tiles, b.dyn, b.info),
        (*arrays.values(), edge_read),
        (k, net.max_nodes, net.num_inputs),
        (*rules, s.activations_per_step, len(BUTTONS)),
        max_eval,
    )
    _play(*args)
    return int(world.frames().sum())
