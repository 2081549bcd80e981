"""A whole NEAT population compiled into padded arrays and activated in one batched call.

``neat.nn.RecurrentNetwork`` (neat-python 2.0) runs one genome at a time with Python dicts; with
a population of hundreds of genomes each playing one or more levels, that loop dominates the
generation. This module compiles every genome once per generation and then updates all network
instances together, reproducing ``RecurrentNetwork`` exactly (up to float rounding):

``RecurrentNetwork.create(genome, config)``
    * ``required = required_for_output(inputs, outputs, genome.connections)``: walked backwards
      from the outputs over *all* connection keys, disabled ones included.
    * A connection is kept if it is enabled and its input or its output node is required (so an
      edge from a required node into a dead-end node is kept and that node is evaluated, though
      it never reaches an output).
    * Only nodes with at least one kept incoming connection are evaluated. Every other node,
      including an output or hidden node with no incoming connection, stays 0.0 forever: unlike
      ``FeedForwardNetwork`` in 2.0 it is not a "bias neuron" giving ``activation(bias)``.

``RecurrentNetwork.activate(inputs)``
    Double-buffered, synchronous: the inputs are written into both buffers, then every evaluated
    node computes ``activation(bias + response * aggregation([w * v_prev]))`` from the previous
    values only. State persists across calls until ``reset()``.

Node index space of one genome (padded to the population maximum ``N``)::

    [0, n_in)                   inputs   (neat keys -1, -2, ...: key -1 - i is index i)
    [n_in, n_in + n_out)        outputs  (neat keys 0 .. n_out-1)
    [n_in + n_out, N)           hidden nodes sorted by key, then padding (always 0)

Only the ``M = N - n_in`` non-input nodes can be updated. Connections are kept as an edge list
sorted by destination (CSR rows over the block-diagonal ``(P*M, P*N)`` population matrix) rather
than a dense ``(P, M, N)`` weight stack: with ~170 inputs and at most a few hundred connections
per genome the dense stack is >97 % zeros, and gather + segmented sum beat the batched matmul on
CPU (see ``BatchedRecurrent``). Network instance ``b = p * k + j`` is the j-th of the ``k``
instances of genome ``p`` (``k = batch_per_genome``), so a genome's instances are adjacent rows
of every (B, ...) array.

``backend="torch"`` runs the same computation with torch tensors (any device, e.g. ``"cuda"``);
``"numpy"`` is the default. Activations with a vectorized form here are every neat-python 2.0
built-in plus MarI/O's ``mario_sigmoid`` (see ``register_custom``); other user-registered
activation or aggregation functions fall back to calling the Python function per element.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import neat
import numpy as np
from neat import activations as neat_act
from neat import aggregations as neat_agg

__all__ = [
    "PAD_KEY",
    "BatchedRecurrent",
    "CompiledPopulation",
    "compile_population",
    "mario_sigmoid",
    "register_custom",
]

#: Node key stored in ``CompiledPopulation.node_keys`` for padding slots.
PAD_KEY = np.iinfo(np.int64).min


def mario_sigmoid(z: float) -> float:
    """MarI/O's neuron activation ``2 / (1 + exp(-4.9 z)) - 1``, in (-1, 1).

    The exponent is clamped to +-60 like neat-python's own sigmoid: ``math.exp`` raises
    OverflowError past ~709, and exp(60) already saturates the result to float precision.
    """
    z = max(-60.0, min(60.0, 4.9 * z))
    return 2.0 / (1.0 + math.exp(-z)) - 1.0


def register_custom(config: Any) -> None:
    """Register this project's custom activations (``"mario_sigmoid"``) with a NEAT config.

    Accepts a ``neat.Config`` or its ``genome_config``. Call it after loading the config and
    before creating networks: neat-python accepts any name in ``activation_options`` when parsing,
    and only looks the function up when a network is built.
    """
    genome_config = getattr(config, "genome_config", config)
    genome_config.add_activation("mario_sigmoid", mario_sigmoid)


# --------------------------------------------------------------------------------------------
# Vectorized activations and aggregations. ``xp`` is the array module (numpy or torch); both
# provide exp/tanh/sin/abs/log/clip/where with the same signatures, so one definition serves
# both backends. Formulas (incl. clamping) mirror neat/activations.py exactly.
# --------------------------------------------------------------------------------------------

_SELU_LAMBDA = 1.0507009873554804934193349852946
_SELU_ALPHA = 1.6732632423543772848170429916717


def _v_sigmoid(z, xp):
    z = xp.clip(5.0 * z, -60.0, 60.0)
    return 1.0 / (1.0 + xp.exp(-z))


def _v_tanh(z, xp):
    return xp.tanh(xp.clip(2.5 * z, -60.0, 60.0))


def _v_sin(z, xp):
    return xp.sin(xp.clip(5.0 * z, -60.0, 60.0))


def _v_gauss(z, xp):
    z = xp.clip(z, -3.4, 3.4)
    return xp.exp(-5.0 * z * z)


def _v_relu(z, xp):
    return xp.where(z > 0.0, z, 0.0)


def _v_elu(z, xp):
    # exp only of the non-positive part: avoids overflow in the branch that is thrown away.
    return xp.where(z > 0.0, z, xp.exp(xp.clip(z, None, 0.0)) - 1.0)


def _v_lelu(z, xp):
    return xp.where(z > 0.0, z, 0.005 * z)


def _v_selu(z, xp):
    neg = _SELU_LAMBDA * _SELU_ALPHA * (xp.exp(xp.clip(z, None, 0.0)) - 1.0)
    return xp.where(z > 0.0, _SELU_LAMBDA * z, neg)


def _v_softplus(z, xp):
    z = xp.clip(5.0 * z, -60.0, 60.0)
    return 0.2 * xp.log(1.0 + xp.exp(z))


def _v_identity(z, xp):
    return z


def _v_clamped(z, xp):
    return xp.clip(z, -1.0, 1.0)


def _v_inv(z, xp):
    # neat returns 0.0 where 1/z raises ZeroDivisionError; divide by 1 there to stay warning-free.
    zero = z == 0.0
    return xp.where(zero, 0.0, 1.0 / xp.where(zero, 1.0, z))


def _v_log(z, xp):
    return xp.log(xp.clip(z, 1e-7, None))


def _v_exp(z, xp):
    return xp.exp(xp.clip(z, -60.0, 60.0))


def _v_abs(z, xp):
    return xp.abs(z)


def _v_hat(z, xp):
    return xp.clip(1.0 - xp.abs(z), 0.0, None)


def _v_square(z, xp):
    return z * z


def _v_cube(z, xp):
    return z * z * z


def _v_mario_sigmoid(z, xp):
    z = xp.clip(4.9 * z, -60.0, 60.0)
    return 2.0 / (1.0 + xp.exp(-z)) - 1.0


# Keyed by the Python function object, not the name: a config that re-registers a built-in name
# with its own function gets that function (through the slow fallback), not our formula.
_VECTOR_ACTIVATIONS: dict[Callable[[float], float], Callable[[Any, Any], Any]] = {
    neat_act.sigmoid_activation: _v_sigmoid,
    neat_act.tanh_activation: _v_tanh,
    neat_act.sin_activation: _v_sin,
    neat_act.gauss_activation: _v_gauss,
    neat_act.relu_activation: _v_relu,
    neat_act.elu_activation: _v_elu,
    neat_act.lelu_activation: _v_lelu,
    neat_act.selu_activation: _v_selu,
    neat_act.softplus_activation: _v_softplus,
    neat_act.identity_activation: _v_identity,
    neat_act.clamped_activation: _v_clamped,
    neat_act.inv_activation: _v_inv,
    neat_act.log_activation: _v_log,
    neat_act.exp_activation: _v_exp,
    neat_act.abs_activation: _v_abs,
    neat_act.hat_activation: _v_hat,
    neat_act.square_activation: _v_square,
    neat_act.cube_activation: _v_cube,
    mario_sigmoid: _v_mario_sigmoid,
}


# Non-sum aggregations as segmented reductions. ``g`` (k, E_g) holds the weighted incoming values
# of the nodes that use the aggregation, concatenated node by node along the last axis; ``seg`` is
# the ``_AggGroup`` describing the segments (each has >= 1 edge: only evaluated nodes get here).
# Each returns (k, R_g). Segments avoid padding every node to the largest fan-in.
def _a_product(g, seg, ops):
    return ops.seg_reduce(g, "prod", seg)


def _a_max(g, seg, ops):
    return ops.seg_reduce(g, "max", seg)


def _a_min(g, seg, ops):
    return ops.seg_reduce(g, "min", seg)


def _a_mean(g, seg, ops):
    return ops.seg_reduce(g, "sum", seg) / seg.count


def _a_maxabs(g, seg, ops):
    # Python's max(x, key=abs) returns the *first* element of largest |x| (x and -x can tie):
    # find the largest |x| per node, then the smallest edge position reaching it.
    a = ops.xp.abs(g)
    top = ops.take_along(ops.seg_reduce(a, "max", seg), seg.local_row, 1)
    first = ops.seg_reduce(ops.xp.where(a == top, seg.position, seg.num_edges), "min", seg)
    return ops.take_along(g, first, 1)


def _a_median(g, seg, ops):
    # neat's median2: mean of the two middle values for even counts (n <= 2 is the mean, the same
    # thing). Sort by value, then stably by node, so each node's segment is sorted in place.
    by_value = ops.argsort_stable(g, 1)
    by_node = ops.argsort_stable(ops.take_along(seg.local_row, by_value, 1), 1)
    s = ops.take_along(g, ops.take_along(by_value, by_node, 1), 1)
    lo = ops.take_along(s, seg.start + (seg.count_int - 1) // 2, 1)
    hi = ops.take_along(s, seg.start + seg.count_int // 2, 1)
    return ops.xp.where(lo == hi, lo, (lo + hi) / 2.0)


_VECTOR_AGGREGATIONS: dict[Callable[..., float], Callable[..., Any]] = {
    neat_agg.product_aggregation: _a_product,
    neat_agg.max_aggregation: _a_max,
    neat_agg.min_aggregation: _a_min,
    neat_agg.maxabs_aggregation: _a_maxabs,
    neat_agg.mean_aggregation: _a_mean,
    neat_agg.median_aggregation: _a_median,
}


class _NumpyOps:
    """The few operations whose numpy and torch spellings differ."""

    xp = np
    _UFUNCS = {"sum": np.add, "prod": np.multiply, "max": np.maximum, "min": np.minimum}

    def seg_reduce(self, x, op, seg):
        return self._UFUNCS[op].reduceat(x, seg.start_flat, axis=1)

    @staticmethod
    def argsort_stable(a, dim):
        return np.argsort(a, axis=dim, kind="stable")

    @staticmethod
    def take_along(a, idx, dim):
        return np.take_along_axis(a, idx, axis=dim)

    @staticmethod
    def swap(a):
        return a.transpose(1, 0, 2)


class _TorchOps:
    _REDUCE = {"sum": "sum", "prod": "prod", "max": "amax", "min": "amin"}

    def __init__(self, torch: Any) -> None:
        self.xp = torch

    def seg_reduce(self, x, op, seg):
        out = self.xp.zeros((x.shape[0], seg.num_rows), dtype=x.dtype, device=x.device)
        index = seg.local_row.expand(x.shape[0], -1)
        return out.scatter_reduce_(1, index, x, reduce=self._REDUCE[op], include_self=False)

    @staticmethod
    def argsort_stable(a, dim):
        return a.argsort(dim=dim, stable=True)

    def take_along(self, a, idx, dim):
        return self.xp.take_along_dim(a, idx, dim=dim)

    @staticmethod
    def swap(a):
        return a.permute(1, 0, 2)


# --------------------------------------------------------------------------------------------
# Compilation
# --------------------------------------------------------------------------------------------


@dataclass
class CompiledPopulation:
    """P networks padded to the same node count; arrays ready for batched activation.

    Shapes use P genomes, N = n_in + n_out + max_hidden nodes per genome, M = N - n_in updated
    (non-input) nodes per genome and E kept connections in the whole population. Arrays over
    M are indexed by ``node_index - num_inputs``.
    """

    genome_ids: np.ndarray  # (P,) int64: the genome keys, in the order given
    num_inputs: int
    num_outputs: int
    max_hidden: int
    node_keys: np.ndarray  # (P, N) int64 neat node key per slot, PAD_KEY for padding
    evaluated: np.ndarray  # (P, M) bool: has >= 1 kept incoming connection (else stays 0)
    bias: np.ndarray  # (P, M) float64 (0 where not evaluated: never used there)
    response: np.ndarray  # (P, M) float64 (likewise)
    activation_ids: np.ndarray  # (P, M) int16 into activation_names; -1 if not evaluated
    aggregation_ids: np.ndarray  # (P, M) int16 into aggregation_names; -1 if not evaluated
    activation_names: tuple[str, ...]
    aggregation_names: tuple[str, ...]
    activation_functions: tuple[Callable[[float], float], ...]  # the config's Python functions
    aggregation_functions: tuple[Callable[..., float], ...]
    # Kept connections sorted by (genome, destination node), in genome.connections order within a
    # destination, so sums add up in the same order as neat-python.
    edge_genome: np.ndarray  # (E,) int64
    edge_src: np.ndarray  # (E,) int64 source node index within its genome, in [0, N)
    edge_dst: np.ndarray  # (E,) int64 destination node index within its genome, in [n_in, N)
    edge_weight: np.ndarray  # (E,) float64
    row_ptr: np.ndarray  # (P*M + 1,) int64: node row r = p*M + m owns edges row_ptr[r]:row_ptr[r+1]

    @property
    def num_genomes(self) -> int:
        return len(self.genome_ids)

    @property
    def max_nodes(self) -> int:
        """N, the padded node count per genome (inputs included)."""
        return self.num_inputs + self.num_outputs + self.max_hidden

    @property
    def num_updated(self) -> int:
        """M, the padded count of non-input nodes per genome."""
        return self.num_outputs + self.max_hidden

    @property
    def num_edges(self) -> int:
        return len(self.edge_weight)

    def select(self, positions: np.ndarray) -> CompiledPopulation:
        """The genomes at ``positions`` (increasing), with the same padding, without compiling
        again: every array is sliced and the edges of the other genomes dropped."""
        pos = np.asarray(positions, dtype=np.int64)
        new_index = np.full(self.num_genomes, -1, dtype=np.int64)
        new_index[pos] = np.arange(len(pos))
        keep = new_index[self.edge_genome] >= 0
        edge_genome = new_index[self.edge_genome[keep]]
        edge_dst = self.edge_dst[keep]
        M = self.num_updated
        rows = edge_genome * M + (edge_dst - self.num_inputs)
        row_ptr = np.zeros(len(pos) * M + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=len(pos) * M), out=row_ptr[1:])
        return dataclasses.replace(
            self,
            genome_ids=self.genome_ids[pos],
            node_keys=self.node_keys[pos],
            evaluated=self.evaluated[pos],
            bias=self.bias[pos],
            response=self.response[pos],
            activation_ids=self.activation_ids[pos],
            aggregation_ids=self.aggregation_ids[pos],
            edge_genome=edge_genome,
            edge_src=self.edge_src[keep],
            edge_dst=edge_dst,
            edge_weight=self.edge_weight[keep],
            row_ptr=row_ptr,
        )

    def node_index(self, genome_pos: int, key: int) -> int:
        """Slot of neat node ``key`` in genome ``genome_pos`` (its position, not its id)."""
        hits = np.flatnonzero(self.node_keys[genome_pos] == key)
        if not len(hits):
            raise KeyError(f"genome at position {genome_pos} has no node {key}")
        return int(hits[0])


def required_for_output(
    input_keys: Sequence[int], output_keys: Sequence[int], connections: Any
) -> set[int]:
    """The set ``neat.graphs.required_for_output`` returns, in time linear in the connections.

    neat-python walks back from the outputs layer by layer, testing membership in the *list* of
    input keys for each candidate; with 169 inputs that dominated compiling a population. The
    result is the outputs plus every non-input node from which an output can be reached over
    connection keys (disabled ones included).
    """
    inputs = set(input_keys)
    sources: dict[int, list[int]] = {}
    for a, b in connections:
        sources.setdefault(b, []).append(a)
    required = set(output_keys)
    stack = list(output_keys)
    while stack:
        for a in sources.get(stack.pop(), ()):
            if a not in required and a not in inputs:
                required.add(a)
                stack.append(a)
    return required


def compile_population(
    genomes: Sequence[tuple[int, Any]], config: neat.Config | Any
) -> CompiledPopulation:
    """Compile ``(genome_id, genome)`` pairs (as given to a fitness function) for batching.

    Follows ``neat.nn.RecurrentNetwork.create`` (see the module docstring) for which nodes and
    connections are expressed. ``config`` is a ``neat.Config`` or its ``genome_config``.
    """
    gc = getattr(config, "genome_config", config)
    input_keys = list(gc.input_keys)
    output_keys = list(gc.output_keys)
    n_in, n_out = len(input_keys), len(output_keys)
    if not genomes:
        raise ValueError("compile_population needs at least one genome")
    pins = set(input_keys) | set(output_keys)

    act_names: dict[str, int] = {}
    agg_names: dict[str, int] = {}
    per_genome = []
    for _gid, genome in genomes:
        required = required_for_output(input_keys, output_keys, genome.connections)
        node_inputs: dict[int, list[tuple[int, float]]] = {}
        for cg in genome.connections.values():
            if not cg.enabled:
                continue
            i, o = cg.key
            if o not in required and i not in required:
                continue
            node_inputs.setdefault(o, []).append((i, float(cg.weight)))
        # Every hidden node gets a slot so the overlay can show the whole genome; a source key
        # missing from genome.nodes (never produced by neat itself) gets one too and stays 0.
        referenced = {k for links in node_inputs.values() for k, _ in links} | set(node_inputs)
        hidden = sorted((set(genome.nodes) | referenced) - pins)
        per_genome.append((genome, node_inputs, hidden))

    max_hidden = max(len(h) for _, _, h in per_genome)
    P = len(genomes)
    N = n_in + n_out + max_hidden
    M = N - n_in

    node_keys = np.full((P, N), PAD_KEY, dtype=np.int64)
    evaluated = np.zeros((P, M), dtype=bool)
    bias = np.zeros((P, M))
    response = np.zeros((P, M))
    act_ids = np.full((P, M), -1, dtype=np.int16)
    agg_ids = np.full((P, M), -1, dtype=np.int16)
    e_genome: list[int] = []
    e_src: list[int] = []
    e_dst: list[int] = []
    e_w: list[float] = []

    pin_index = {k: n for n, k in enumerate([*input_keys, *output_keys])}
    for p, (genome, node_inputs, hidden) in enumerate(per_genome):
        keys = [*input_keys, *output_keys, *hidden]
        node_keys[p, : len(keys)] = keys
        index = pin_index.copy()  # the pins' slots are the same in every genome
        index.update((k, n_in + n_out + j) for j, k in enumerate(hidden))
        # Destinations in index order, so edges come out grouped by CSR row without a sort.
        for o in sorted(node_inputs, key=index.__getitem__):
            m = index[o] - n_in
            node = genome.nodes[o]  # KeyError here is what RecurrentNetwork.create raises too
            evaluated[p, m] = True
            bias[p, m] = node.bias
            response[p, m] = node.response
            act_ids[p, m] = act_names.setdefault(node.activation, len(act_names))
            agg_ids[p, m] = agg_names.setdefault(node.aggregation, len(agg_names))
            for i, w in node_inputs[o]:
                e_genome.append(p)
                e_src.append(index[i])
                e_dst.append(index[o])
                e_w.append(w)

    edge_genome = np.asarray(e_genome, dtype=np.int64)
    edge_dst = np.asarray(e_dst, dtype=np.int64)
    rows = edge_genome * M + (edge_dst - n_in)
    row_ptr = np.zeros(P * M + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=P * M), out=row_ptr[1:])

    # Look the functions up now, like RecurrentNetwork.create: unknown names fail here.
    act_fns = tuple(gc.activation_defs.get(name) for name in act_names)
    agg_fns = tuple(gc.aggregation_function_defs.get(name) for name in agg_names)

    return CompiledPopulation(
        genome_ids=np.asarray([gid for gid, _ in genomes], dtype=np.int64),
        num_inputs=n_in,
        num_outputs=n_out,
        max_hidden=max_hidden,
        node_keys=node_keys,
        evaluated=evaluated,
        bias=bias,
        response=response,
        activation_ids=act_ids,
        aggregation_ids=agg_ids,
        activation_names=tuple(act_names),
        aggregation_names=tuple(agg_names),
        activation_functions=act_fns,
        aggregation_functions=agg_fns,
        edge_genome=edge_genome,
        edge_src=np.asarray(e_src, dtype=np.int64),
        edge_dst=edge_dst,
        edge_weight=np.asarray(e_w, dtype=np.float64),
        row_ptr=row_ptr,
    )


# --------------------------------------------------------------------------------------------
# Batched activation
# --------------------------------------------------------------------------------------------


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


class BatchedRecurrent:
    """``B = P * batch_per_genome`` recurrent networks stepped together.

    Each ``activate`` call is one synchronous update of every instance, equal to one
    ``neat.nn.RecurrentNetwork.activate`` call on that instance's genome. Instance
    ``b = p * k + j`` runs genome ``p`` of the compiled population.

    State is a (k, P*N) matrix: column ``p*N + n`` is node n of genome p, row j its j-th
    instance (so writing the inputs of one instance is a contiguous copy). Only the R evaluated
    nodes are computed: their weighted input sums are one gather + segmented sum over the kept
    connections (numpy: ``take`` + ``add.reduceat``; torch: ``index_select`` + ``index_add_``),
    which on CPU beat a dense per-genome (P, M, N) batched matmul 2-4x at P=300 and ~170 inputs,
    where >97 % of that matrix is zero. On CUDA ``index_add_`` uses atomics, so float32 sums may
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
            self._ops: Any = _TorchOps(torch)
            self._tdtype = {np.float32: torch.float32, np.float64: torch.float64}[self.dtype.type]
        else:
            self._torch = None
            self._ops = _NumpyOps()

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

        # numpy sums each node's segment with add.reduceat (starts); torch scatters with index_add_
        # (rows): on CPU torch's sparse CSR @ dense was 2-5x slower than index_add_ here.
        if backend == "numpy":
            self._starts = row_start
        else:
            self._edge_row = self._int(np.repeat(np.arange(self._num_eval), row_count))

        act_of = c.activation_ids.reshape(-1)[eval_rows]
        self._act_groups: list[_ActGroup] = []
        for a, fn in enumerate(c.activation_functions):
            pos = np.flatnonzero(act_of == a)
            if len(pos):
                self._act_groups.append(_ActGroup(self._int(pos), _VECTOR_ACTIVATIONS.get(fn), fn))

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
                    vector=_VECTOR_AGGREGATIONS.get(fn),
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
            return
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
        by_genome[:, :, :n_in] = ops.swap(x.reshape(P, k, n_in))

        if self._num_eval:
            # Everything below reads the previous values and writes only at the end: synchronous.
            if self._torch is None:
                weighted = np.take(values, self._edge_col, axis=1)
                weighted *= self._edge_w
                agg = np.add.reduceat(weighted, self._starts, axis=1)  # (k, R)
            else:
                weighted = self._torch.index_select(values, 1, self._edge_col) * self._edge_w
                agg = xp.zeros((k, self._num_eval), dtype=values.dtype, device=values.device)
                agg.index_add_(1, self._edge_row, weighted)
            for grp in self._agg_groups:
                g = values[:, grp.cols] * grp.weights  # (k, E_g)
                agg[:, grp.pos] = grp.vector(g, grp, ops) if grp.vector else self._py_agg(grp, g)

            z = self._bias + self._response * agg
            if len(self._act_groups) == 1 and self._act_groups[0].vector is not None:
                new = self._act_groups[0].vector(z, xp)  # the common single-function case
            else:
                new = xp.empty_like(z)
                for grp in self._act_groups:
                    zg = z[:, grp.pos]
                    new[:, grp.pos] = grp.vector(zg, xp) if grp.vector else self._py_act(grp, zg)
            values[:, self._eval_col] = new

        out = ops.swap(by_genome[:, :, n_in : n_in + n_out])
        return self._to_numpy(out.reshape(P * k, n_out)).copy()

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
        old = self._values.reshape(k, P, N)
        out._values.reshape(k, len(pos), N)[...] = old[:, self._to_backend(pos)]
        return out

    @property
    def node_values(self) -> np.ndarray:
        """Current node values, (B, N), in the compiled node order (inputs, outputs, hidden)."""
        P, N, _, k = self._shape
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
