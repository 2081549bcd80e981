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
from itertools import chain
from operator import attrgetter
from typing import Any, Literal

import neat
import numpy as np
from neat import activations as neat_act
from neat import aggregations as neat_agg
from numba import njit

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
    # neat clamps 2.5 z to [-60, 60] first; tanh is already exactly +-1.0 beyond ~19.1 (float64)
    # and ~9 (float32), and NaN stays NaN, so the clamp changes no value and is left out.
    return xp.tanh(2.5 * z)


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


# neat-python's own scalar activations compiled by numba, for kernels that run a whole episode
# without leaving compiled code (``agent.neat.rollout``). They are the reference functions
# themselves, compiled, and give exactly their results (tested on 10^5 random values each). Left
# out: ``inv`` (its try/except does not compile), and ``square``, ``cube`` and ``gauss``, whose
# ``z ** n`` numba computes as products while Python calls ``pow``, which rounds differently now
# and then. A population using them, or any user function, takes the step-by-step path.
_COMPILED_ACTIVATIONS: tuple[Callable[[float], float], ...] = (
    neat_act.tanh_activation,
    neat_act.sigmoid_activation,
    mario_sigmoid,
    neat_act.relu_activation,
    neat_act.identity_activation,
    neat_act.clamped_activation,
    neat_act.sin_activation,
    neat_act.elu_activation,
    neat_act.lelu_activation,
    neat_act.selu_activation,
    neat_act.softplus_activation,
    neat_act.abs_activation,
    neat_act.hat_activation,
    neat_act.log_activation,
    neat_act.exp_activation,
)
_nb = [njit(cache=True, inline="always")(fn) for fn in _COMPILED_ACTIVATIONS]
(_nb_tanh, _nb_sigmoid, _nb_mario, _nb_relu, _nb_identity, _nb_clamped, _nb_sin, _nb_elu) = _nb[:8]
(_nb_lelu, _nb_selu, _nb_softplus, _nb_abs, _nb_hat, _nb_log, _nb_exp) = _nb[8:]


@njit(cache=True, inline="always")
def activate_code(code, z):
    """``_COMPILED_ACTIVATIONS[code](z)`` inside compiled code (tanh, the default, first)."""
    if code == 0:
        return _nb_tanh(z)
    if code == 1:
        return _nb_sigmoid(z)
    if code == 2:
        return _nb_mario(z)
    if code == 3:
        return _nb_relu(z)
    if code == 4:
        return _nb_identity(z)
    if code == 5:
        return _nb_clamped(z)
    if code == 6:
        return _nb_sin(z)
    if code == 7:
        return _nb_elu(z)
    if code == 8:
        return _nb_lelu(z)
    if code == 9:
        return _nb_selu(z)
    if code == 10:
        return _nb_softplus(z)
    if code == 11:
        return _nb_abs(z)
    if code == 12:
        return _nb_hat(z)
    if code == 13:
        return _nb_log(z)
    return _nb_exp(z)


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
    """The set ``neat.graphs.required_for_output`` returns, without its quadratic cost.

    neat-python walks back from the outputs layer by layer, testing membership in the *list* of
    input keys for each candidate; with 169 inputs that dominated compiling a population. The
    result is the outputs plus every non-input node from which an output can be reached over
    connection keys (disabled ones included). This is ``compile_population``'s own search
    (``_NodeUnits`` + ``_required_nodes``) run on one genome.
    """
    pairs = np.asarray([tuple(k) for k in connections], dtype=np.int64).reshape(-1, 2)
    units = _NodeUnits(
        np.zeros(2 * len(pairs), dtype=np.int64), pairs.T.reshape(-1), 1, input_keys, output_keys
    )
    src, dst = np.split(units.inverse, 2)
    required = _required_nodes(units, src, dst)
    return {int(k) for k in units.key[required]}


class _NodeUnits:
    """The distinct (genome, node key) pairs among some given pairs, and every genome's pins.

    Unit ``u = p * n_pins + j`` is pin j (inputs, then outputs, in the config's order) of genome
    p, present or not; the units after ``P * n_pins`` are the other (hidden) pairs, sorted by
    genome then key. ``inverse[i]`` is the unit of the i-th pair given.
    """

    def __init__(
        self,
        genome: np.ndarray,
        key: np.ndarray,
        num_genomes: int,
        input_keys: Sequence[int],
        output_keys: Sequence[int],
    ) -> None:
        pins = np.asarray([*input_keys, *output_keys], dtype=np.int64)
        n_pins, P = len(pins), num_genomes
        # Pin of each key (n_pins if none): a table over the pins' key range (neat's pins are
        # -n_in .. n_out-1), or a search if that range is sparse.
        lo, span = int(pins.min()), int(pins.max() - pins.min()) + 1
        if span <= 4 * n_pins:
            table = np.full(span + 1, n_pins)
            table[pins - lo] = np.arange(n_pins)
            off = key - lo
            pin = table[np.where((off >= 0) & (off < span), off, span)]
        else:
            order = np.argsort(pins, kind="stable")
            pin = order[np.minimum(np.searchsorted(pins, key, sorter=order), n_pins - 1)]
            pin[pins[pin] != key] = n_pins
        is_pin = pin < n_pins
        # Hidden pairs: distinct, sorted by (genome, key); one int64 code when it fits.
        hid = np.flatnonzero(~is_pin)
        hk, hg = key[hid], genome[hid]
        k_lo = int(hk.min()) if len(hid) else 0
        k_span = int(hk.max()) - k_lo + 1 if len(hid) else 1
        if k_span * P < 2**62:
            order = hid[np.argsort(hg * k_span + (hk - k_lo))]
        else:
            order = hid[np.lexsort((hk, hg))]
        g, k = genome[order], key[order]
        new = np.ones(len(order), dtype=bool)
        new[1:] = (g[1:] != g[:-1]) | (k[1:] != k[:-1])
        self.inverse = np.where(is_pin, genome * n_pins + pin, 0)
        self.inverse[order] = P * n_pins + np.cumsum(new) - 1
        self.num_pins = P * n_pins
        self.genome = np.concatenate([np.repeat(np.arange(P), n_pins), g[new]])
        self.key = np.concatenate([np.tile(pins, P), k[new]])
        self.pin_slot = np.tile(np.arange(n_pins), P)  # slot of each pin unit
        self.is_input = np.zeros(len(self.key), dtype=bool)
        self.is_input[: self.num_pins] = np.tile(np.arange(n_pins) < len(input_keys), P)
        self.is_output = np.zeros(len(self.key), dtype=bool)
        self.is_output[: self.num_pins] = ~self.is_input[: self.num_pins]

    def __len__(self) -> int:
        return len(self.key)


def _required_nodes(units: _NodeUnits, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """(U,) bool: the units ``required_for_output`` would return for their genome.

    ``src``/``dst`` (C,) are the units of every connection's ends (disabled ones included).
    Breadth-first backwards from the outputs over all genomes at once: each round marks the
    non-input sources of connections into required nodes, until a round marks nothing new.
    """
    required = units.is_output.copy()
    walkable = ~units.is_input[src]
    src, dst = src[walkable], dst[walkable]
    while True:
        new = required[dst] & ~required[src]
        if not new.any():
            return required
        required[src[new]] = True


def _ids(names: list[str]) -> tuple[dict[str, int], np.ndarray]:
    """Names numbered in order of first appearance, and each name's number."""
    numbers = {name: i for i, name in enumerate(dict.fromkeys(names))}
    if len(numbers) == 1:
        return numbers, np.zeros(len(names), dtype=np.int16)
    return numbers, np.fromiter(map(numbers.__getitem__, names), np.int16, len(names))


def compile_population(
    genomes: Sequence[tuple[int, Any]], config: neat.Config | Any
) -> CompiledPopulation:
    """Compile ``(genome_id, genome)`` pairs (as given to a fitness function) for batching.

    Follows ``neat.nn.RecurrentNetwork.create`` (see the module docstring) for which nodes and
    connections are expressed. ``config`` is a ``neat.Config`` or its ``genome_config``.

    Python reads each gene's fields once into flat arrays (connection ends from the
    ``genome.connections`` keys, under which neat-python keeps every gene); the required-node
    search, node slots and edge order are then array work over the whole population.
    """
    gc = getattr(config, "genome_config", config)
    input_keys = list(gc.input_keys)
    output_keys = list(gc.output_keys)
    n_in, n_out = len(input_keys), len(output_keys)
    if not genomes:
        raise ValueError("compile_population needs at least one genome")
    P = len(genomes)

    # Every gene's fields, flat, in genome order then the genes' dict order.
    conn_dicts = [g.connections for _, g in genomes]
    node_dicts = [g.nodes for _, g in genomes]
    cgs = list(chain.from_iterable(d.values() for d in conn_dicts))
    node_genes = list(chain.from_iterable(d.values() for d in node_dicts))
    C, n_nodes = len(cgs), len(node_genes)
    c_genome = np.repeat(np.arange(P), np.fromiter(map(len, conn_dicts), np.int64, P))
    n_genome = np.repeat(np.arange(P), np.fromiter(map(len, node_dicts), np.int64, P))
    c_key = np.fromiter(chain.from_iterable(chain.from_iterable(conn_dicts)), np.int64, 2 * C)
    c_key = c_key.reshape(C, 2)
    c_enabled = np.fromiter(map(attrgetter("enabled"), cgs), bool, C)
    c_weight = np.fromiter(map(attrgetter("weight"), cgs), np.float64, C)
    n_key = np.fromiter(chain.from_iterable(node_dicts), np.int64, n_nodes)

    units = _NodeUnits(
        np.concatenate([c_genome, c_genome, n_genome]),
        np.concatenate([c_key[:, 0], c_key[:, 1], n_key]),
        P,
        input_keys,
        output_keys,
    )
    src, dst, node_unit = np.split(units.inverse, [C, 2 * C])
    required = _required_nodes(units, src, dst)
    kept = c_enabled & (required[src] | required[dst])
    if units.is_input[dst[kept]].any():  # inputs have no gene: RecurrentNetwork.create fails too
        raise KeyError(int(units.key[dst[kept][np.argmax(units.is_input[dst[kept]])]]))

    # Slots: pins at fixed positions; every other node of genome.nodes, or at an end of a kept
    # connection (a source missing from genome.nodes gets one and stays 0), is hidden, in key
    # order within its genome (hidden units are sorted so).
    has_slot = np.zeros(len(units), dtype=bool)
    has_slot[node_unit] = True
    has_slot[src[kept]] = True
    has_slot[dst[kept]] = True
    has_slot[: units.num_pins] = False
    hidden = np.flatnonzero(has_slot)
    hidden_genome = units.genome[hidden]
    hidden_count = np.bincount(hidden_genome, minlength=P)
    max_hidden = int(hidden_count.max())
    N = n_in + n_out + max_hidden
    M = N - n_in
    first_hidden = np.concatenate(([0], np.cumsum(hidden_count)[:-1]))
    slot = np.zeros(len(units), dtype=np.int64)
    slot[: units.num_pins] = units.pin_slot
    slot[hidden] = n_in + n_out + np.arange(len(hidden)) - first_hidden[hidden_genome]

    node_keys = np.full((P, N), PAD_KEY, dtype=np.int64)
    node_keys[:, : n_in + n_out] = units.key[: n_in + n_out]
    node_keys[hidden_genome, slot[hidden]] = units.key[hidden]

    # Kept connections sorted by (genome, destination slot), stably: connection order within a
    # destination, as neat-python sums them.
    e_src, e_dst = src[kept], dst[kept]
    rows = c_genome[kept] * M + slot[e_dst] - n_in
    order = np.argsort(rows, kind="stable")
    rows, e_src, e_dst = rows[order], e_src[order], e_dst[order]
    row_ptr = np.zeros(P * M + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=P * M), out=row_ptr[1:])

    # Evaluated nodes: destinations of kept connections, in (genome, slot) order. Their genes
    # must exist: a KeyError here is what RecurrentNetwork.create raises too.
    eval_rows = np.flatnonzero(row_ptr[1:] > row_ptr[:-1])
    unit_of_row = np.empty(P * M, dtype=np.int64)
    unit_of_row[rows] = e_dst
    eval_units = unit_of_row[eval_rows]
    node_of_unit = np.full(len(units), -1, dtype=np.int64)
    node_of_unit[node_unit] = np.arange(n_nodes)
    eval_nodes = node_of_unit[eval_units]
    if (eval_nodes < 0).any():
        raise KeyError(int(units.key[eval_units[np.argmax(eval_nodes < 0)]]))
    R = len(eval_nodes)
    genes = [node_genes[i] for i in eval_nodes.tolist()]
    evaluated = np.zeros(P * M, dtype=bool)
    evaluated[eval_rows] = True
    bias = np.zeros(P * M)
    bias[eval_rows] = np.fromiter(map(attrgetter("bias"), genes), np.float64, R)
    response = np.zeros(P * M)
    response[eval_rows] = np.fromiter(map(attrgetter("response"), genes), np.float64, R)
    act_names, act_of = _ids(list(map(attrgetter("activation"), genes)))
    agg_names, agg_of = _ids(list(map(attrgetter("aggregation"), genes)))
    act_ids = np.full(P * M, -1, dtype=np.int16)
    act_ids[eval_rows] = act_of
    agg_ids = np.full(P * M, -1, dtype=np.int16)
    agg_ids[eval_rows] = agg_of

    # Look the functions up now, like RecurrentNetwork.create: unknown names fail here.
    act_fns = tuple(gc.activation_defs.get(name) for name in act_names)
    agg_fns = tuple(gc.aggregation_function_defs.get(name) for name in agg_names)

    return CompiledPopulation(
        genome_ids=np.asarray([gid for gid, _ in genomes], dtype=np.int64),
        num_inputs=n_in,
        num_outputs=n_out,
        max_hidden=max_hidden,
        node_keys=node_keys,
        evaluated=evaluated.reshape(P, M),
        bias=bias.reshape(P, M),
        response=response.reshape(P, M),
        activation_ids=act_ids.reshape(P, M),
        aggregation_ids=agg_ids.reshape(P, M),
        activation_names=tuple(act_names),
        aggregation_names=tuple(agg_names),
        activation_functions=act_fns,
        aggregation_functions=agg_fns,
        edge_genome=rows // M,
        edge_src=slot[e_src],
        edge_dst=slot[e_dst],
        edge_weight=c_weight[kept][order],
        row_ptr=row_ptr,
    )


# --------------------------------------------------------------------------------------------
# Batched activation
# --------------------------------------------------------------------------------------------


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
        table = {fn: code for code, fn in enumerate(_COMPILED_ACTIVATIONS)}
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
