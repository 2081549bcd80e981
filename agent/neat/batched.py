"""A compiled NEAT population stepped as one batch: every network instance in one call.

``BatchedRecurrent`` runs the ``CompiledPopulation`` of ``agent.neat.network`` with several
instances per genome (one per level it plays) and reproduces
``neat.nn.RecurrentNetwork.activate`` exactly (up to float rounding; float64 to ~1e-14):

``RecurrentNetwork.activate(inputs)``
    Double-buffered, synchronous: the inputs are written into both buffers, then every evaluated
    node computes ``activation(bias + response * aggregation([w * v_prev]))`` from the previous
    values only. State persists across calls until ``reset()``.

Network instance ``b = p * k + j`` is the j-th of the ``k`` instances of genome ``p``
(``k = batch_per_genome``), so a genome's instances are adjacent rows of every (B, ...) array.
``backend="torch"`` runs the same computation with torch tensors (any device, e.g. ``"cuda"``);
``"numpy"`` is the default. Activations and aggregations come from ``agent.neat.activations``;
user-registered functions without a vectorized form fall back to calling the Python function
per element. ``kernel_arrays`` hands the network to the compiled episode loop
(``agent.neat.rollout``) as flat arrays.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from neat import aggregations as neat_agg
from numba import njit

from agent.neat.activations import (
    COMPILED_ACTIVATIONS,
    VECTOR_ACTIVATIONS,
    VECTOR_AGGREGATIONS,
    NumpyOps,
    TorchOps,
)
from agent.neat.network import CompiledPopulation

__all__ = ["BatchedRecurrent", "KernelArrays"]


@njit(cache=True, nogil=True)
def _weighted_sums(
    x, values, edge_x_row, edge_x_col, edge_col, edge_w, row_start, row_end, bias, response, out
):
    """The numpy backend's weighted input sums: for instance row j of the state ``values``
    (k, P*N) and evaluated node r, ``s`` = the sum over r's edges e (``row_start[r]`` to
    ``row_end[r]``) of source value times ``edge_w[e]``, added one by one in edge order from
    0.0 as Python's ``sum`` does in neat's sum aggregation (float64 accumulator). A source is
    ``x[edge_x_row[e] + j, edge_x_col[e]]`` (an input of instance b = p*k + j, read straight
    from the (B, n_in) inputs) when ``edge_x_col[e] >= 0``, else ``values[j, edge_col[e]]``.
    Writes ``out[j, r]`` = s, or ``bias[r] + response[r] * s`` when ``bias`` is not empty."""
    affine = bias.shape[0] > 0
    for j in range(values.shape[0]):
        for r in range(row_start.shape[0]):
            s = 0.0
            for e in range(row_start[r], row_end[r]):
                if edge_x_col[e] >= 0:
                    s += x[edge_x_row[e] + j, edge_x_col[e]] * edge_w[e]
                else:
                    s += values[j, edge_col[e]] * edge_w[e]
            out[j, r] = bias[r] + response[r] * s if affine else s


@njit(cache=True, nogil=True)
def _store_and_read(values, eval_flat, new, n_in, n_per_genome, out):
    """Write the new values ``new`` (k, R) of the evaluated nodes into the state ``values``
    (k, P*N) at the flat positions ``eval_flat``, then read every instance's outputs into
    ``out`` (B, n_out): ``out[p*k + j, o] = values[j, p*N + n_in + o]``."""
    flat = values.reshape(-1)
    src = new.reshape(-1)
    for i in range(eval_flat.shape[0]):
        flat[eval_flat[i]] = src[i]
    k = values.shape[0]
    for b in range(out.shape[0]):
        p, j = b // k, b % k
        base = p * n_per_genome + n_in
        for o in range(out.shape[1]):
            out[b, o] = values[j, base + o]


@dataclass
class _AggGroup:
    """Evaluated nodes sharing one non-sum aggregation, with their incoming edges concatenated."""

    pos: Any  # (R_g,) positions of the nodes among the evaluated nodes
    cols: Any  # (E_g,) value column (source node) of each incoming edge, node by node, neat order
    weights: Any  # (E_g,) their weights
    local_row: Any  # (1, E_g) node 0..R_g-1 of each edge
    position: Any  # (1, E_g) 0..E_g-1
    start: Any  # (1, R_g) first position of each node's segment
    start_flat: np.ndarray  # (R_g,) the same, flat, on the CPU (numpy reduceat)
    count: Any  # (1, R_g) incoming edge count, in the value dtype
    count_int: Any  # (1, R_g) the same as int64
    num_rows: int
    num_edges: int
    vector: Callable[..., Any] | None
    python: Callable[..., float]


@dataclass
class _ActGroup:
    pos: Any  # (R_a,) positions among the evaluated nodes of those with this activation
    vector: Callable[[Any, Any], Any] | None
    python: Callable[[float], float]


@dataclass(frozen=True)
class KernelArrays:
    """A numpy, float64 ``BatchedRecurrent`` as flat arrays that compiled code can step.

    Instance ``b = p * k + j`` keeps its state in ``values[j, p*N : (p+1)*N]`` (the network's
    own state array, shared: a kernel stepping it moves the network on, except for the nodes that
    reach no output, which are left out). Genome ``p``'s listed nodes are ``eval_start[p]`` to
    ``eval_start[p+1]``; node ``r`` sits at column ``eval_col[r]``
    and sums its edges ``row_start[r]`` to ``row_end[r]`` in neat-python's order; an edge reads
    input cell ``edge_input[e]`` when that is >= 0, else state column ``edge_col[e]``. Genome
    ``p`` reads the input cells ``cells[cell_start[p] : cell_start[p+1]]``.
    """

    batch_per_genome: int
    max_nodes: int
    num_inputs: int
    num_outputs: int
    values: np.ndarray  # (k, P*N) float64
    eval_start: np.ndarray  # (P+1,) int64
    eval_col: np.ndarray  # (R,) int64
    row_start: np.ndarray  # (R,) int64
    row_end: np.ndarray  # (R,) int64
    edge_input: np.ndarray  # (E,) int64
    edge_col: np.ndarray  # (E,) int64
    edge_weight: np.ndarray  # (E,) float64
    bias: np.ndarray  # (R,) float64
    response: np.ndarray  # (R,) float64
    activation: np.ndarray  # (R,) int8 codes of ``activate_code``
    cell_start: np.ndarray  # (P+1,) int64
    cells: np.ndarray  # (C,) int64 flat input-grid cells


class BatchedRecurrent:
    """``B = P * batch_per_genome`` recurrent networks stepped together.

    Each ``activate`` call is one synchronous update of every instance, equal to one
    ``neat.nn.RecurrentNetwork.activate`` call on that instance's genome. Instance
    ``b = p * k + j`` runs genome ``p`` of the compiled population.

    State is a (k, P*N) matrix: column ``p*N + n`` is node n of genome p, row j its j-th
    instance (so writing the inputs of one instance is a contiguous copy). Only the R evaluated
    nodes are computed: their weighted input sums are one gather + segmented sum over the kept
    connections (numpy: the compiled kernel ``_weighted_sums``, which adds in neat-python's order
    and reads input sources straight from the inputs, so the state's input columns are written
    only when read; torch: ``index_select`` + ``index_add_``). Both beat a dense per-genome
    (P, M, N) batched matmul at P=300 and ~170 inputs, where >97 % of that matrix is zero (numpy
    ``take`` + ``add.reduceat`` did 2-4x, the kernel 3-4x more). On CUDA ``index_add_`` uses
    atomics, so float32 sums may
    differ in the last bits from run to run unless torch's deterministic mode is on. Non-sum
    aggregations, used only if some node has one, are segmented reductions over those nodes'
    edges. Activations are applied per function to the nodes using it (one call on everything if
    the population uses a single function).

    ``dtype`` float32 (default) or float64; float64 reproduces neat-python to ~1e-14.
    """

    def __init__(
        self,
        compiled: CompiledPopulation,
        batch_per_genome: int = 1,
        device: str = "cpu",
        backend: Literal["numpy", "torch"] = "numpy",
        dtype: Any = np.float32,
    ) -> None:
        if batch_per_genome < 1:
            raise ValueError("batch_per_genome must be >= 1")
        if backend not in ("numpy", "torch"):
            raise ValueError(f"unknown backend {backend!r}")
        if backend == "numpy" and device != "cpu":
            raise ValueError("the numpy backend runs on the CPU only; use backend='torch'")
        self.compiled = c = compiled
        self.batch_per_genome = k = int(batch_per_genome)
        self.backend = backend
        self.device = device
        self.dtype = np.dtype(dtype)
        P, N, M = c.num_genomes, c.max_nodes, c.num_updated
        self._shape = (P, N, M, k)

        if backend == "torch":
            import torch

            self._torch = torch
            self._ops: Any = TorchOps(torch)
            self._tdtype = {np.float32: torch.float32, np.float64: torch.float64}[self.dtype.type]
        else:
            self._torch = None
            self._ops = NumpyOps()

        # Evaluated nodes are exactly the CSR rows with edges; the others are never written.
        eval_rows = np.flatnonzero(c.evaluated.reshape(-1))
        row_start = c.row_ptr[eval_rows]
        row_count = np.diff(c.row_ptr)[eval_rows]
        self._num_eval = len(eval_rows)
        self._eval_col = self._int(eval_rows // M * N + c.num_inputs + eval_rows % M)
        self._bias = self._float(c.bias.reshape(-1)[eval_rows])
        self._response = self._float(c.response.reshape(-1)[eval_rows])
        edge_col = c.edge_genome * N + c.edge_src
        self._edge_col = self._int(edge_col)
        self._edge_w = self._float(c.edge_weight)

        # numpy sums each node's segment (row_start:row_end) in _weighted_sums; torch scatters with
        # index_add_ (rows): on CPU torch's sparse CSR @ dense was 2-5x slower than index_add_.
        if backend == "numpy":
            self._row_start = np.ascontiguousarray(row_start, dtype=np.int64)
            self._row_end = self._row_start + row_count
            from_input = c.edge_src < c.num_inputs
            self._edge_x_row = c.edge_genome * k
            self._edge_x_col = np.where(from_input, c.edge_src, -1)
            self._inputs: np.ndarray | None = None  # last inputs, not yet in the state
            self._no_affine = np.empty(0, dtype=self.dtype)
            col = np.asarray(self._eval_col)
            self._eval_flat = (np.arange(k)[:, None] * (P * N) + col[None, :]).reshape(-1)
        else:
            self._edge_row = self._int(np.repeat(np.arange(self._num_eval), row_count))

        act_of = c.activation_ids.reshape(-1)[eval_rows]
        self._act_groups: list[_ActGroup] = []
        for a, fn in enumerate(c.activation_functions):
            pos = np.flatnonzero(act_of == a)
            if len(pos):
                self._act_groups.append(_ActGroup(self._int(pos), VECTOR_ACTIVATIONS.get(fn), fn))

        agg_of = c.aggregation_ids.reshape(-1)[eval_rows]
        self._agg_groups: list[_AggGroup] = []
        for a, fn in enumerate(c.aggregation_functions):
            pos = np.flatnonzero(agg_of == a)
            if fn is neat_agg.sum_aggregation or not len(pos):
                continue  # the segmented sum above already covers every node
            first, count = row_start[pos], row_count[pos]
            start = np.concatenate(([0], np.cumsum(count)[:-1]))
            local_row = np.repeat(np.arange(len(pos)), count)
            edges = first[local_row] + np.arange(count.sum()) - start[local_row]
            self._agg_groups.append(
                _AggGroup(
                    pos=self._int(pos),
                    cols=self._int(edge_col[edges]),
                    weights=self._float(c.edge_weight[edges]),
                    local_row=self._int(local_row[None, :]),
                    position=self._int(np.arange(len(edges))[None, :]),
                    start=self._int(start[None, :]),
                    start_flat=start,
                    count=self._float(count[None, :]),
                    count_int=self._int(count[None, :]),
                    num_rows=len(pos),
                    num_edges=len(edges),
                    vector=VECTOR_AGGREGATIONS.get(fn),
                    python=fn,
                )
            )

        slow = [g.python.__name__ for g in self._act_groups if g.vector is None]
        slow += [g.python.__name__ for g in self._agg_groups if g.vector is None]
        if slow:
            warnings.warn(
                f"no vectorized form for {sorted(set(slow))}: calling the Python function per "
                "element (slow)",
                stacklevel=2,
            )

        shape = (k, P * N)
        if self._torch is not None:
            self._values = self._torch.zeros(shape, dtype=self._tdtype, device=device)
        else:
            self._values = np.zeros(shape, dtype=self.dtype)

    # -- backend helpers -----------------------------------------------------------------------

    def _to_backend(self, a: np.ndarray) -> Any:
        if self._torch is None:
            return a
        return self._torch.as_tensor(a, device=self.device)

    def _float(self, a: np.ndarray) -> Any:
        return self._to_backend(np.ascontiguousarray(a, dtype=self.dtype))

    def _int(self, a: np.ndarray) -> Any:
        return self._to_backend(np.ascontiguousarray(a, dtype=np.int64))

    def _to_numpy(self, a: Any) -> np.ndarray:
        if self._torch is None:
            return np.asarray(a)
        return a.detach().cpu().numpy()

    # -- public API ----------------------------------------------------------------------------

    @property
    def num_instances(self) -> int:
        """B = P * batch_per_genome."""
        return self.compiled.num_genomes * self.batch_per_genome

    def reset(self, mask: np.ndarray | None = None) -> None:
        """Zero the node state of all instances, or of the instances where ``mask`` (B,) is True."""
        if mask is None:
            self._values[...] = 0.0
            if self._torch is None:
                self._inputs = None
            return
        self._store_inputs()
        P, N, _, k = self._shape
        m = np.asarray(mask, dtype=bool).reshape(P, k).T  # (k, P), like the state's first axes
        self._values.reshape(k, P, N)[self._to_backend(np.ascontiguousarray(m))] = 0.0

    def activate(self, inputs: Any) -> np.ndarray:
        """One synchronous update of every instance; ``inputs`` (B, n_in) -> outputs (B, n_out)."""
        P, _, _, k = self._shape
        n_in = self.compiled.num_inputs
        torch = self._torch
        if torch is not None and isinstance(inputs, torch.Tensor):
            x = inputs.to(device=self.device, dtype=self._tdtype)
        elif torch is None:
            # Inputs are read where they are (no copy) unless they need a conversion: float32
            # into a float64 state is exact either way.
            x = np.asarray(inputs)
            if x.dtype != self.dtype and not (x.dtype == np.float32 and self.dtype == np.float64):
                x = x.astype(self.dtype)
        else:
            x = self._to_backend(np.asarray(inputs, dtype=self.dtype))
        if tuple(x.shape) != (P * k, n_in):
            raise ValueError(f"expected inputs of shape {(P * k, n_in)}, got {tuple(x.shape)}")
        # Overflow to inf (float32 square/cube/product) is the arithmetic's answer, not a bug
        # worth a warning every frame.
        with np.errstate(over="ignore", invalid="ignore"):
            return self._step(x)

    def _step(self, x: Any) -> np.ndarray:
        c = self.compiled
        P, N, _, k = self._shape
        n_in, n_out = c.num_inputs, c.num_outputs
        ops, xp = self._ops, self._ops.xp
        values = self._values  # (k, P*N)
        by_genome = values.reshape(k, P, N)
        numpy = self._torch is None
        if numpy:
            # The kernel reads input sources from x itself; the state's input columns are only
            # filled when something reads them (node_values, select, non-sum aggregations).
            self._inputs = x
            if self._agg_groups:
                self._store_inputs()
        else:
            by_genome[:, :, :n_in] = ops.swap(x.reshape(P, k, n_in))

        if self._num_eval:
            # Everything below reads the previous values and writes only at the end: synchronous.
            fused = numpy and not self._agg_groups  # bias + response * sum done by the kernel
            if numpy:
                agg = np.empty((k, self._num_eval), dtype=self.dtype)
                _weighted_sums(
                    *(x, values, self._edge_x_row, self._edge_x_col, self._edge_col, self._edge_w),
                    *(self._row_start, self._row_end),
                    *((self._bias, self._response) if fused else (self._no_affine,) * 2),
                    agg,
                )
            else:
                weighted = self._torch.index_select(values, 1, self._edge_col) * self._edge_w
                agg = xp.zeros((k, self._num_eval), dtype=values.dtype, device=values.device)
                agg.index_add_(1, self._edge_row, weighted)
            for grp in self._agg_groups:
                g = values[:, grp.cols] * grp.weights  # (k, E_g)
                agg[:, grp.pos] = grp.vector(g, grp, ops) if grp.vector else self._py_agg(grp, g)

            z = agg if fused else self._bias + self._response * agg
            if len(self._act_groups) == 1 and self._act_groups[0].vector is not None:
                new = self._act_groups[0].vector(z, xp)  # the common single-function case
            else:
                new = xp.empty_like(z)
                for grp in self._act_groups:
                    zg = z[:, grp.pos]
                    new[:, grp.pos] = grp.vector(zg, xp) if grp.vector else self._py_act(grp, zg)
            if not numpy:
                values[:, self._eval_col] = new
        if numpy:
            out = np.empty((P * k, n_out), dtype=self.dtype)
            stored = new if self._num_eval else np.empty((k, 0), dtype=self.dtype)
            _store_and_read(values, self._eval_flat, stored, n_in, N, out)
            return out

        out = ops.swap(by_genome[:, :, n_in : n_in + n_out])
        return self._to_numpy(out.reshape(P * k, n_out)).copy()

    def _store_inputs(self) -> None:
        """Copy the last inputs into the state's input columns (numpy backend)."""
        if self._torch is None and self._inputs is not None:
            P, N, _, k = self._shape
            n_in = self.compiled.num_inputs
            self._values.reshape(k, P, N)[:, :, :n_in] = self._inputs.reshape(P, k, n_in).swapaxes(
                0, 1
            )
            self._inputs = None

    def select(self, positions: np.ndarray) -> BatchedRecurrent:
        """A network over the genomes at ``positions`` (increasing) that carries on exactly
        where these left off: same arrays, same node state."""
        pos = np.asarray(positions, dtype=np.int64)
        out = BatchedRecurrent(
            self.compiled.select(pos),
            self.batch_per_genome,
            device=self.device,
            backend=self.backend,
            dtype=self.dtype,
        )
        P, N, _, k = self._shape
        self._store_inputs()
        old = self._values.reshape(k, P, N)
        out._values.reshape(k, len(pos), N)[...] = old[:, self._to_backend(pos)]
        return out

    def kernel_arrays(self) -> KernelArrays | None:
        """This network as flat arrays for a compiled episode loop (``agent.neat.rollout``), or
        None where only ``activate`` can run it: the torch backend, float32 state, a non-sum
        aggregation, or an activation without a compiled form.

        Only the evaluated nodes from which an output can be reached over kept connections are
        listed: the others (a quarter of them in an evolved population) never change an output,
        so the loop skips them and their state is left as it was."""
        c = self.compiled
        if self._torch is not None or self.dtype != np.float64 or self._agg_groups:
            return None
        table = {fn: code for code, fn in enumerate(COMPILED_ACTIVATIONS)}
        if any(fn not in table for fn in c.activation_functions):
            return None
        P, N, M, k = self._shape
        n_in = c.num_inputs
        eval_rows = np.flatnonzero(c.evaluated.reshape(-1))
        live = self._reaches_output()[:, n_in:].reshape(-1)[eval_rows]
        rows = eval_rows[live]
        codes = np.array([table[fn] for fn in c.activation_functions], dtype=np.int8)
        # The input cells each genome's listed nodes read: the grid is computed only there.
        edge_row = np.repeat(np.arange(len(eval_rows)), self._row_end - self._row_start)
        read = (self._edge_x_col >= 0) & live[edge_row]
        cell_keys = np.unique(c.edge_genome[read] * n_in + c.edge_src[read])
        genomes = np.arange(P + 1)
        self._store_inputs()
        return KernelArrays(
            batch_per_genome=k,
            max_nodes=N,
            num_inputs=n_in,
            num_outputs=c.num_outputs,
            values=self._values,
            eval_start=np.searchsorted(rows // M, genomes),
            eval_col=np.asarray(self._eval_col)[live],
            row_start=self._row_start[live],
            row_end=self._row_end[live],
            edge_input=self._edge_x_col,
            edge_col=np.asarray(self._edge_col),
            edge_weight=np.asarray(self._edge_w),
            bias=np.asarray(self._bias)[live],
            response=np.asarray(self._response)[live],
            activation=codes[c.activation_ids.reshape(-1)[rows]],
            cell_start=np.searchsorted(cell_keys // n_in, genomes),
            cells=cell_keys % n_in,
        )

    def _reaches_output(self) -> np.ndarray:
        """(P, N) bool: nodes from which an output can be reached over kept connections
        (outputs included), found backwards from the outputs for all genomes at once."""
        c = self.compiled
        reach = np.zeros((c.num_genomes, c.max_nodes), dtype=bool)
        reach[:, c.num_inputs : c.num_inputs + c.num_outputs] = True
        inner = c.edge_src >= c.num_inputs
        g, src, dst = c.edge_genome[inner], c.edge_src[inner], c.edge_dst[inner]
        while True:
            new = reach[g, dst] & ~reach[g, src]
            if not new.any():
                return reach
            reach[g[new], src[new]] = True

    @property
    def node_values(self) -> np.ndarray:
        """Current node values, (B, N), in the compiled node order (inputs, outputs, hidden)."""
        P, N, _, k = self._shape
        self._store_inputs()
        v = self._to_numpy(self._values).reshape(k, P, N)
        return v.transpose(1, 0, 2).reshape(P * k, N).copy()

    def _py_act(self, grp: _ActGroup, z: Any) -> Any:
        out = np.frompyfunc(grp.python, 1, 1)(self._to_numpy(z).astype(np.float64))
        return self._float(out.astype(np.float64))

    def _py_agg(self, grp: _AggGroup, g: Any) -> Any:
        g = self._to_numpy(g).astype(np.float64)
        out = np.empty((g.shape[0], grp.num_rows))
        ends = np.append(grp.start_flat[1:], grp.num_edges)
        for r, (s0, s1) in enumerate(zip(grp.start_flat, ends, strict=True)):
            for j in range(g.shape[0]):
                out[j, r] = grp.python(g[j, s0:s1].tolist())
        return self._float(out)
