"""NEAT genomes compiled into padded arrays: a whole population's networks, ready to batch.

``neat.nn.RecurrentNetwork`` (neat-python 2.0) runs one genome at a time with Python dicts; with
a population of hundreds of genomes each playing one or more levels, that loop dominates the
generation. ``compile_population`` turns every genome into rows of shared arrays once per
generation (``CompiledPopulation``), following ``RecurrentNetwork.create`` exactly; the batched
network that steps them is ``agent.neat.batched.BatchedRecurrent``.

``RecurrentNetwork.create(genome, config)``
    * ``required = required_for_output(inputs, outputs, genome.connections)``: walked backwards
      from the outputs over *all* connection keys, disabled ones included.
    * A connection is kept if it is enabled and its input or its output node is required (so an
      edge from a required node into a dead-end node is kept and that node is evaluated, though
      it never reaches an output).
    * Only nodes with at least one kept incoming connection are evaluated. Every other node,
      including an output or hidden node with no incoming connection, stays 0.0 forever: unlike
      ``FeedForwardNetwork`` in 2.0 it is not a "bias neuron" giving ``activation(bias)``.

Node index space of one genome (padded to the population maximum ``N``)::

    [0, n_in)                   inputs   (neat keys -1, -2, ...: key -1 - i is index i)
    [n_in, n_in + n_out)        outputs  (neat keys 0 .. n_out-1)
    [n_in + n_out, N)           hidden nodes sorted by key, then padding (always 0)

Only the ``M = N - n_in`` non-input nodes can be updated. Connections are kept as an edge list
sorted by destination (CSR rows over the block-diagonal ``(P*M, P*N)`` population matrix) rather
than a dense ``(P, M, N)`` weight stack: with ~170 inputs and at most a few hundred connections
per genome the dense stack is >97 % zeros (see ``BatchedRecurrent`` for why that matters).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter
from typing import Any

import neat
import numpy as np

__all__ = ["PAD_KEY", "CompiledPopulation", "compile_population", "required_for_output"]

#: Node key stored in ``CompiledPopulation.node_keys`` for padding slots.
PAD_KEY = np.iinfo(np.int64).min


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
