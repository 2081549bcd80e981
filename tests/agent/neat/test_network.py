"""BatchedRecurrent against neat-python's own RecurrentNetwork, genome by genome.

Populations are grown with neat-python's mutation operators (which draw from the global
``random`` module, so each test seeds it), then every batched instance is compared with a
``neat.nn.RecurrentNetwork`` built from the same genome and fed the same inputs: outputs, and
the value of every node the reference network holds.
"""

from __future__ import annotations

import math
import random
import warnings
from pathlib import Path

import neat
import numpy as np
import pytest
from neat.activations import ActivationFunctionSet
from neat.graphs import creates_cycle
from neat.innovation import InnovationTracker

from agent.neat.activations import mario_sigmoid, register_custom
from agent.neat.batched import BatchedRecurrent
from agent.neat.network import (
    PAD_KEY,
    CompiledPopulation,
    compile_population,
    required_for_output,
)

DATA = Path(__file__).parent / "data"
BACKENDS = ["numpy", "torch"]

# Bounded or piecewise-linear activations: in float32 these stay within 1e-5 of neat-python's
# float64 over 20 recurrent steps. sin(5z), the exponential ones and products of large values
# amplify float32 rounding chaotically, so the full set is checked in float64 instead.
FLOAT32_ACTIVATIONS = [
    "sigmoid",
    "tanh",
    "clamped",
    "gauss",
    "hat",
    "mario_sigmoid",
    "relu",
    "identity",
    "abs",
]


def load_config(**genome_overrides: object) -> neat.Config:
    config = neat.Config(
        neat.DefaultGenome,
        neat.DefaultReproduction,
        neat.DefaultSpeciesSet,
        neat.DefaultStagnation,
        str(DATA / "recurrent.ini"),
    )
    register_custom(config)
    gc = config.genome_config
    # Set by Population/Reproduction in a real run; mutations assert it exists.
    gc.innovation_tracker = InnovationTracker()
    for name, value in genome_overrides.items():
        setattr(gc, name, value)
    return config


def mutated_population(
    config: neat.Config, size: int, seed: int, max_mutations: int = 60
) -> list[tuple[int, neat.DefaultGenome]]:
    random.seed(seed)  # neat-python draws every mutation from the global `random` module
    gc = config.genome_config
    genomes = []
    for key in range(size):
        genome = neat.DefaultGenome(key)
        genome.configure_new(gc)
        for _ in range(random.randint(0, max_mutations)):
            genome.mutate(gc)
        genomes.append((key, genome))
    return genomes


def reference_nets(genomes, config, k: int = 1) -> list[neat.nn.RecurrentNetwork]:
    """One RecurrentNetwork per batched instance b = p * k + j."""
    return [neat.nn.RecurrentNetwork.create(g, config) for _, g in genomes for _ in range(k)]


def step_and_compare(
    batched: BatchedRecurrent,
    nets: list[neat.nn.RecurrentNetwork],
    x: np.ndarray,
    atol: float,
    rtol: float,
) -> None:
    """Activate both sides once; compare outputs and every node the reference holds."""
    out = batched.activate(x)
    ref = np.array([net.activate(x[b].tolist()) for b, net in enumerate(nets)])
    np.testing.assert_allclose(out, ref, atol=atol, rtol=rtol)
    compiled = batched.compiled
    k = batched.batch_per_genome
    values = batched.node_values
    for b, net in enumerate(nets):
        for key, v in net.values[net.active].items():
            got = values[b, compiled.node_index(b // k, key)]
            assert got == pytest.approx(v, abs=atol, rel=rtol), (b, key)


def describe(genomes) -> dict[str, int]:
    """Counts of the structures the equivalence test is meant to exercise."""
    stats = dict(self_loops=0, cycle_edges=0, disabled=0, hidden=0)
    for _, g in genomes:
        keys = list(g.connections)
        for (i, o), cg in g.connections.items():
            stats["self_loops"] += i == o
            others = [key for key in keys if key != (i, o)]
            stats["cycle_edges"] += i != o and creates_cycle(others, (i, o))
            stats["disabled"] += not cg.enabled
        stats["hidden"] += sum(k >= 4 for k in g.nodes)
    return stats


@pytest.mark.parametrize("backend", BACKENDS)
def test_float32_matches_recurrent_network(backend: str) -> None:
    """Float32 batched activation equals RecurrentNetwork.activate within 1e-5 for every genome
    of a heavily mutated population (recurrent edges, self-loops, disabled genes, all
    aggregations), for 20 steps, and again for 10 steps after reset()."""
    config = load_config(activation_options=FLOAT32_ACTIVATIONS)
    genomes = mutated_population(config, size=30, seed=1)
    stats = describe(genomes)
    assert min(stats.values()) > 0, stats
    compiled = compile_population(genomes, config)
    assert len(compiled.aggregation_names) == 7  # every aggregation occurs somewhere

    batched = BatchedRecurrent(compiled, backend=backend)
    nets = reference_nets(genomes, config)
    rng = np.random.default_rng(1)
    for _ in range(20):
        x = rng.uniform(-1, 1, (30, 8)).astype(np.float32)
        step_and_compare(batched, nets, x, atol=1e-5, rtol=1e-5)

    batched.reset()
    assert not batched.node_values.any()
    for net in nets:
        net.reset()
    for _ in range(10):
        x = rng.uniform(-1, 1, (30, 8)).astype(np.float32)
        step_and_compare(batched, nets, x, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_float64_matches_recurrent_network_all_options(backend: str) -> None:
    """With dtype float64 the batched networks reproduce RecurrentNetwork to 1e-9 for the whole
    activation/aggregation menu of the test config (sin, elu, selu, softplus, lelu, ... too)."""
    config = load_config()
    genomes = mutated_population(config, size=30, seed=2)
    compiled = compile_population(genomes, config)
    assert len(compiled.activation_names) >= 12

    batched = BatchedRecurrent(compiled, backend=backend, dtype=np.float64)
    nets = reference_nets(genomes, config)
    rng = np.random.default_rng(2)
    for step in range(25):
        if step == 15:
            batched.reset()
            for net in nets:
                net.reset()
        step_and_compare(batched, nets, rng.uniform(-2, 2, (30, 8)), atol=1e-9, rtol=1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_activation_function(backend: str, dtype: type) -> None:
    """Each of neat-python 2.0's built-in activations and mario_sigmoid has a vectorized form
    (no slow-path warning) equal to the Python function, incl. its clamping and special cases
    (inv(0) = 0, log of non-positive values, exp/sigmoid saturation)."""
    config = load_config()
    gc = config.genome_config
    names = [*ActivationFunctionSet().functions, "mario_sigmoid"]
    genomes = []
    for p, name in enumerate(names):
        genome = neat.DefaultGenome(p)
        genome.nodes[0] = neat.DefaultGenome.create_node(gc, 0)
        genome.nodes[0].activation = name
        genome.nodes[0].aggregation = "sum"
        genome.nodes[0].bias = 0.0
        genome.nodes[0].response = 1.0
        genome.add_connection(gc, -1, 0, 1.0, True, innovation=1)
        genomes.append((p, genome))
    z = np.array([-200, -61, -13, -3.5, -1, -0.3, -1e-8, 0, 1e-8, 0.2, 0.5, 1, 2.7, 12.5, 61, 200])
    z = z.astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fallback to the Python function would warn
        batched = BatchedRecurrent(
            compile_population(genomes, config),
            batch_per_genome=len(z),
            backend=backend,
            dtype=dtype,
        )
    x = np.zeros((len(names) * len(z), 8), dtype=dtype)
    x[:, 0] = np.tile(z, len(names))
    out = batched.activate(x)[:, 0].reshape(len(names), len(z))
    rtol = 1e-12 if dtype == np.float64 else 2e-6
    for p, name in enumerate(names):
        fn = gc.activation_defs.get(name)
        expected = [fn(float(v)) for v in z]
        np.testing.assert_allclose(out[p], expected, rtol=rtol, atol=rtol, err_msg=name)


@pytest.mark.parametrize("backend", BACKENDS)
def test_padding_and_degenerate_genomes(backend: str) -> None:
    """Genomes of very different sizes share one padded layout: a genome with no connections and
    one whose outputs are unconnected output 0 (RecurrentNetwork does not evaluate nodes without
    kept incoming edges, so not even activation(bias)); padding slots stay 0; a hidden node
    feeding an output only through a *disabled* edge still counts as required, so its inputs are
    kept and it is evaluated (neat-python's required_for_output walks disabled edges too)."""
    config = load_config()
    gc = config.genome_config

    def genome(key: int, hidden: list[int], edges: list[tuple[int, int, float, bool]]):
        g = neat.DefaultGenome(key)
        for n in [0, 1, 2, 3, *hidden]:
            g.nodes[n] = neat.DefaultGenome.create_node(gc, n)
            g.nodes[n].activation = "tanh"
            g.nodes[n].aggregation = "sum"
            g.nodes[n].bias = 0.5  # nonzero: an unevaluated node would show activation(0.5)
        for i, o, w, enabled in edges:
            g.add_connection(gc, i, o, w, enabled, innovation=1)
        return g

    empty = genome(0, [], [])
    # hidden nodes fed by inputs and by each other, never reaching an output
    unreached = genome(1, [10, 11], [(-1, 10, 1.0, True), (10, 11, 0.7, True), (11, 10, 0.3, True)])
    # hidden 20 reaches output 0 only through a disabled edge
    disabled_path = genome(2, [20], [(-2, 20, 1.5, True), (20, 0, 1.0, False)])
    chain = list(range(100, 140))
    big_edges = [(-1 - i % 8, h, 0.3, True) for i, h in enumerate(chain)]
    big_edges += [(a, b, -0.4, True) for a, b in zip(chain, chain[1:], strict=False)]
    big_edges += [(h, h, 0.2, True) for h in chain[::5]] + [(chain[-1], 0, 1.0, True)]
    big_edges += [(h, 1 + i % 3, 0.1, True) for i, h in enumerate(chain[::7])]
    big_edges += [(0, 0, 0.5, True), (0, chain[0], -0.6, True)]  # output self-loop, output->hidden
    big = genome(3, chain, big_edges)
    genomes = [(0, empty), (1, unreached), (2, disabled_path), (3, big)]

    compiled = compile_population(genomes, config)
    assert compiled.max_hidden == 40 and compiled.max_nodes == 8 + 4 + 40
    assert (compiled.node_keys[0, 12:] == PAD_KEY).all()
    assert not compiled.evaluated[0].any() and not compiled.evaluated[1].any()
    assert compiled.evaluated[2, compiled.node_index(2, 20) - 8]
    assert not compiled.evaluated[2, 0]  # output 0: its only incoming edge is disabled

    batched = BatchedRecurrent(compiled, backend=backend)
    nets = reference_nets(genomes, config)
    rng = np.random.default_rng(3)
    for _ in range(12):
        step_and_compare(batched, nets, rng.uniform(-1, 1, (4, 8)).astype(np.float32), 1e-5, 1e-5)
    values = batched.node_values
    assert not values[0, 8:].any() and not values[1, 8:].any()
    assert not values[2, 8:12].any() and values[2, compiled.node_index(2, 20)] != 0.0
    assert values[3, 8:].any()


@pytest.mark.parametrize("backend", BACKENDS)
def test_batch_per_genome_instances_are_independent(backend: str) -> None:
    """With batch_per_genome=3 the three instances of a genome, fed different inputs, each equal
    their own RecurrentNetwork: state is per instance, parameters per genome."""
    config = load_config(activation_options=FLOAT32_ACTIVATIONS)
    genomes = mutated_population(config, size=10, seed=4)
    batched = BatchedRecurrent(compile_population(genomes, config), 3, backend=backend)
    assert batched.num_instances == 30
    nets = reference_nets(genomes, config, k=3)
    rng = np.random.default_rng(4)
    for _ in range(15):
        step_and_compare(batched, nets, rng.uniform(-1, 1, (30, 8)).astype(np.float32), 1e-5, 1e-5)
    out = batched.node_values.reshape(10, 3, -1)
    assert not np.allclose(out[:, 0], out[:, 1])  # the instances really did diverge


@pytest.mark.parametrize("backend", BACKENDS)
def test_reset_mask_zeroes_only_masked_instances(backend: str) -> None:
    """reset(mask) zeroes exactly the masked instances: they then behave like freshly reset
    networks while the others carry on from their state, unchanged."""
    config = load_config(activation_options=FLOAT32_ACTIVATIONS)
    genomes = mutated_population(config, size=8, seed=5)
    batched = BatchedRecurrent(compile_population(genomes, config), 2, backend=backend)
    nets = reference_nets(genomes, config, k=2)
    rng = np.random.default_rng(5)
    for _ in range(5):
        step_and_compare(batched, nets, rng.uniform(-1, 1, (16, 8)).astype(np.float32), 1e-5, 1e-5)

    before = batched.node_values
    mask = np.zeros(16, dtype=bool)
    mask[[0, 3, 8, 15]] = True
    batched.reset(mask)
    after = batched.node_values
    assert not after[mask].any()
    np.testing.assert_array_equal(after[~mask], before[~mask])
    for b in np.flatnonzero(mask):
        nets[b].reset()
    for _ in range(5):
        step_and_compare(batched, nets, rng.uniform(-1, 1, (16, 8)).astype(np.float32), 1e-5, 1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_unknown_functions_fall_back_to_python(backend: str) -> None:
    """A user-registered activation or aggregation without a vectorized form still works, by
    calling the Python function per element, and says so with a warning."""
    config = load_config()
    gc = config.genome_config

    def softsign(z):
        return z / (1.0 + abs(z))

    def sum_of_squares(values):
        return sum(v * v for v in values)

    gc.add_activation("softsign", softsign)
    gc.add_aggregation("sumsq", sum_of_squares)
    genomes = mutated_population(config, size=6, seed=6, max_mutations=20)
    for _, g in genomes:
        for node in list(g.nodes.values())[::2]:
            node.activation, node.aggregation = "softsign", "sumsq"
    with pytest.warns(UserWarning, match="softsign"):
        batched = BatchedRecurrent(
            compile_population(genomes, config), backend=backend, dtype=np.float64
        )
    nets = reference_nets(genomes, config)
    rng = np.random.default_rng(6)
    for _ in range(5):
        step_and_compare(batched, nets, rng.uniform(-1, 1, (6, 8)), atol=1e-9, rtol=1e-9)


def test_compiled_layout_and_helpers() -> None:
    """Node slots are inputs, outputs, then hidden nodes by key; register_custom takes a Config
    or its genome_config; mario_sigmoid is MarI/O's 2/(1+exp(-4.9x))-1; bad input shapes and
    empty populations are rejected."""
    config = load_config()
    genomes = mutated_population(config, size=5, seed=7)
    compiled = compile_population(genomes, config)
    assert isinstance(compiled, CompiledPopulation)
    assert list(compiled.genome_ids) == [0, 1, 2, 3, 4]
    assert list(compiled.node_keys[0, :12]) == [-1, -2, -3, -4, -5, -6, -7, -8, 0, 1, 2, 3]
    for p, (_, g) in enumerate(genomes):
        hidden = [k for k in compiled.node_keys[p, 12:] if k != PAD_KEY]
        assert hidden == sorted(k for k in g.nodes if k >= 4)

    register_custom(config.genome_config)  # also accepted (re-registering is harmless)
    assert config.genome_config.activation_defs.get("mario_sigmoid") is mario_sigmoid
    for v in (-3.0, -0.2, 0.0, 0.1, 1.0):
        assert mario_sigmoid(v) == pytest.approx(2 / (1 + math.exp(-4.9 * v)) - 1, abs=1e-15)
    assert mario_sigmoid(-1e6) == -1.0 and mario_sigmoid(1e6) == 1.0

    batched = BatchedRecurrent(compiled)
    with pytest.raises(ValueError, match="shape"):
        batched.activate(np.zeros((5, 7), dtype=np.float32))
    with pytest.raises(ValueError):
        compile_population([], config)
    with pytest.raises(ValueError):
        BatchedRecurrent(compiled, device="cuda")  # numpy backend is CPU-only


def test_torch_backend_accepts_tensors() -> None:
    """The torch backend takes torch tensors as inputs as well as arrays, with the same result."""
    import torch

    config = load_config(activation_options=FLOAT32_ACTIVATIONS)
    compiled = compile_population(mutated_population(config, size=6, seed=9), config)
    from_array = BatchedRecurrent(compiled, backend="torch")
    from_tensor = BatchedRecurrent(compiled, backend="torch")
    rng = np.random.default_rng(9)
    for _ in range(5):
        x = rng.uniform(-1, 1, (6, 8)).astype(np.float32)
        np.testing.assert_array_equal(
            from_tensor.activate(torch.from_numpy(x)), from_array.activate(x)
        )


def test_required_for_output_matches_neat_python() -> None:
    """Our linear-time required-node search returns neat-python's set for mutated genomes."""
    from neat.graphs import required_for_output as neat_required

    config = load_config()
    gc = config.genome_config
    for _, genome in mutated_population(config, 30, seed=11):
        ours = required_for_output(gc.input_keys, gc.output_keys, genome.connections)
        assert ours == neat_required(gc.input_keys, gc.output_keys, genome.connections)


def test_select_carries_state_and_matches_the_full_population() -> None:
    """A network narrowed to some genomes mid-run keeps producing exactly their outputs."""
    config = load_config()
    genomes = mutated_population(config, 12, seed=21)
    full = BatchedRecurrent(compile_population(genomes, config), 2, dtype=np.float64)
    rng = np.random.default_rng(0)
    n_in = config.genome_config.num_inputs
    for _ in range(5):
        full.activate(rng.normal(size=(24, n_in)))
    keep = np.array([1, 4, 5, 11])
    part = full.select(keep)
    rows = (keep[:, None] * 2 + np.arange(2)).ravel()
    for _ in range(5):
        x = rng.normal(size=(24, n_in))
        np.testing.assert_array_equal(part.activate(x[rows]), full.activate(x)[rows])


def test_numpy_float64_sums_in_neat_order() -> None:
    """The numpy backend's kernel adds each node's weighted inputs one by one, in
    ``genome.connections`` order, from 0.0, exactly as Python's ``sum`` does inside
    RecurrentNetwork: with clamped activations (no transcendental rounding) and sum aggregation,
    float64 outputs and every node value are bit-identical to neat-python's, step after step."""
    config = load_config(activation_options=["clamped"], aggregation_options=["sum"])
    genomes = mutated_population(config, 40, seed=5, max_mutations=80)
    batched = BatchedRecurrent(compile_population(genomes, config), dtype=np.float64)
    nets = reference_nets(genomes, config)
    assert max(len(net.node_evals) for net in nets) > 5
    rng = np.random.default_rng(4)
    for _ in range(8):
        step_and_compare(batched, nets, rng.normal(size=(40, 8)).astype(np.float32), 0.0, 0.0)


def test_compile_fails_like_neat_on_a_missing_node_gene() -> None:
    """A kept connection into a node with no gene is an error for RecurrentNetwork.create (a
    KeyError) and for compile_population alike; a source without a gene is not: it gets a
    hidden slot and stays 0, as in neat-python."""
    config = load_config()
    gc = config.genome_config
    genome = neat.DefaultGenome(0)
    genome.configure_new(gc)
    genome.add_connection(gc, -1, 77, 1.0, True, innovation=1)
    genome.add_connection(gc, 77, 0, 1.0, True, innovation=2)
    with pytest.raises(KeyError):
        neat.nn.RecurrentNetwork.create(genome, config)
    with pytest.raises(KeyError):
        compile_population([(0, genome)], config)
    del genome.connections[(-1, 77)]
    compiled = compile_population([(0, genome)], config)
    net = neat.nn.RecurrentNetwork.create(genome, config)
    assert 77 in compiled.node_keys[0] and not compiled.evaluated[0, compiled.node_index(0, 77) - 8]
    batched = BatchedRecurrent(compiled, dtype=np.float64)
    for _ in range(3):
        x = np.ones((1, 8))
        np.testing.assert_allclose(batched.activate(x)[0], net.activate(x[0].tolist()), atol=1e-12)
