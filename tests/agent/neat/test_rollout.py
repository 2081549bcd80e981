"""The compiled episode loop (agent.neat.rollout): same runs as the step-by-step path and as
neat-python, and a fallback where it has no compiled form."""

import re

import numpy as np
import pytest

from agent.neat.activations import COMPILED_ACTIVATIONS, activate_code, register_custom
from agent.neat.batched import BatchedRecurrent
from agent.neat.evaluator import PopulationEvaluator
from agent.neat.fitness import FitnessSettings
from agent.neat.network import compile_population
from agent.neat.rollout import play_compiled
from envs.levels.level import load_level
from envs.sim.world import LevelBank, World
from tests.helpers.neat import CONFIG, load_config, random_population
from tests.helpers.reference import reference_fitness

COMPILED = "sigmoid tanh sin relu elu lelu selu softplus identity clamped hat abs log exp"
COMPILED_NAMES = (COMPILED + " mario_sigmoid").split()
FIELDS = ("fitness", "level_fitness", "completed", "rightmost", "frames", "progress")


def platformer_config(**overrides):
    """The evaluator tests' 169-input config, with genome settings overridden."""
    config = load_config()
    gc = config.genome_config
    for name, value in overrides.items():
        setattr(gc, name, value)
    register_custom(config)
    return config


def sum_config():
    """Many activations (all with a compiled form), hidden nodes, recurrent links, sum only."""
    return platformer_config(
        activation_options=COMPILED_NAMES,
        aggregation_options=["sum"],
        aggregation_default="sum",
    )


def mutated_population(config, n, seed):
    return random_population(config, n, seed, mutations=25)


def assert_same(a, b):
    for key in FIELDS:
        assert np.array_equal(getattr(a, key), getattr(b, key)), key
    assert a.frames_simulated == b.frames_simulated


@pytest.mark.slow
def test_compiled_activations_are_neat_pythons():
    """Each compiled activation code returns exactly what neat-python's function returns, on
    10^5 random values from a wide range and on the clamping edges."""
    rng = np.random.default_rng(0)
    zs = np.concatenate([rng.uniform(-10, 10, 50_000), rng.normal(0, 100, 50_000)]).tolist()
    zs += [-1e6, -60.0, -12.0, -3.4, 0.0, 1e-300, 3.4, 12.0, 60.0, 1e6]
    for code, fn in enumerate(COMPILED_ACTIVATIONS):
        for z in zs:
            assert activate_code(code, z) == fn(z), (fn.__name__, z)


def test_compiled_loop_equals_step_by_step_path():
    """On random recurrent genomes (hidden nodes, self-loops, disabled genes, 15 activations),
    over two levels and two network updates per decision, the compiled loop gives the same
    fitness, frames, rightmost and completion as the Python-driven lockstep loop, and the same
    fitness as neat-python's RecurrentNetwork activated twice per step."""
    config = sum_config()
    genomes = mutated_population(config, 40, seed=11)
    levels = [load_level("1-1"), load_level("1-2")]
    s = FitnessSettings(activations_per_step=2)
    net = BatchedRecurrent(compile_population(genomes, config), 2, dtype=np.float64)
    assert net.kernel_arrays() is not None  # this population does take the compiled loop
    fast = PopulationEvaluator(levels, s).evaluate(genomes, config)
    slow = PopulationEvaluator(levels, s, compiled_loop=False).evaluate(genomes, config)
    assert_same(fast, slow)
    assert len(set(fast.fitness.round(3))) > 5  # the genomes really play differently
    ref = [reference_fitness(g, config, levels, s) for _, g in genomes[:12]]
    np.testing.assert_allclose(fast.fitness[:12], ref, rtol=0, atol=1e-9)


def test_compiled_loop_equals_neat_python():
    """The compiled loop's fitness equals RecurrentNetwork + the single Gymnasium env's."""
    config = sum_config()
    genomes = mutated_population(config, 16, seed=12)
    levels = [load_level("1-1")]
    ev = PopulationEvaluator(levels).evaluate(genomes, config)
    ref = [reference_fitness(g, config, levels, FitnessSettings()) for _, g in genomes]
    np.testing.assert_allclose(ev.fitness, ref, rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    "overrides",
    [
        {"aggregation_options": ["sum", "max"]},  # a non-sum aggregation
        {"activation_options": ["tanh", "inv"], "aggregation_options": ["sum"]},  # no numba form
    ],
)
def test_populations_without_a_compiled_form_fall_back(overrides):
    """A population using a function the loop cannot compile is played step by step instead,
    with neat-python's fitness all the same."""
    config = platformer_config(**overrides)
    genomes = mutated_population(config, 24, seed=14)
    net = BatchedRecurrent(compile_population(genomes, config), 1, dtype=np.float64)
    assert net.kernel_arrays() is None
    levels = [load_level("1-1")]
    ev = PopulationEvaluator(levels).evaluate(genomes, config)
    ref = [reference_fitness(g, config, levels, FitnessSettings()) for _, g in genomes]
    np.testing.assert_allclose(ev.fitness, ref, rtol=0, atol=1e-9)


def reaching_output(compiled, p):
    """Slots of genome p from which an output can be reached over its kept connections,
    walked one genome at a time in plain Python."""
    n_in, n_out = compiled.num_inputs, compiled.num_outputs
    mine = compiled.edge_genome == p
    links = list(
        zip(compiled.edge_src[mine].tolist(), compiled.edge_dst[mine].tolist(), strict=True)
    )
    reach = set(range(n_in, n_in + n_out))
    grown = True
    while grown:
        before = len(reach)
        reach |= {src for src, dst in links if dst in reach and src >= n_in}
        grown = len(reach) > before
    return reach


def test_only_nodes_reaching_an_output_and_the_cells_they_read_are_listed():
    """kernel_arrays lists, per genome, the evaluated nodes from which an output can be reached
    (the others cannot change a button) and exactly the input cells those nodes read."""
    config = sum_config()
    genomes = mutated_population(config, 40, seed=15)
    compiled = compile_population(genomes, config)
    arrays = BatchedRecurrent(compiled, 1, dtype=np.float64).kernel_arrays()
    n_in, N = compiled.num_inputs, compiled.max_nodes
    skipped = 0
    for p in range(compiled.num_genomes):
        reach = reaching_output(compiled, p)
        evaluated = set((np.flatnonzero(compiled.evaluated[p]) + n_in).tolist())
        r0, r1 = arrays.eval_start[p], arrays.eval_start[p + 1]
        listed = (arrays.eval_col[r0:r1] - p * N).tolist()
        assert listed == sorted(evaluated & reach)
        skipped += len(evaluated - reach)
        mine = compiled.edge_genome == p
        src, dst = compiled.edge_src[mine], compiled.edge_dst[mine]
        pairs = zip(src.tolist(), dst.tolist(), strict=True)
        want = sorted({s for s, d in pairs if s < n_in and d in reach})
        got = arrays.cells[arrays.cell_start[p] : arrays.cell_start[p + 1]].tolist()
        assert got == want
    assert skipped > 0  # the population does have dead-end nodes to skip


def test_float32_and_torch_networks_have_no_kernel_arrays():
    """Only float64 numpy networks run in the compiled loop (float32 rounds differently)."""
    config = sum_config()
    compiled = compile_population(mutated_population(config, 4, seed=16), config)
    assert BatchedRecurrent(compiled, 1, dtype=np.float32).kernel_arrays() is None
    torch_net = BatchedRecurrent(compiled, 1, backend="torch", dtype=np.float64)
    assert torch_net.kernel_arrays() is None


def test_mismatched_batch_is_refused():
    """A network whose instance count differs from the world batch is a clear error."""
    config = sum_config()
    compiled = compile_population(mutated_population(config, 4, seed=17), config)
    arrays = BatchedRecurrent(compiled, 1, dtype=np.float64).kernel_arrays()
    world = World(LevelBank([load_level("1-1")]), 5)
    world.reset(0)
    with pytest.raises(ValueError, match="4 instances, the world batch 5"):
        play_compiled(arrays, world, FitnessSettings())


def test_network_without_six_outputs_is_refused():
    """A network with other than one output per button is a clear error, not a silent read of
    hidden nodes as buttons."""
    config = platformer_config(
        num_outputs=4,
        output_keys=[0, 1, 2, 3],
        aggregation_options=["sum"],
        aggregation_default="sum",
    )
    compiled = compile_population(mutated_population(config, 3, seed=18), config)
    arrays = BatchedRecurrent(compiled, 1, dtype=np.float64).kernel_arrays()
    world = World(LevelBank([load_level("1-1")]), 3)
    world.reset(0)
    with pytest.raises(ValueError, match="4 outputs, the controller 6 buttons"):
        play_compiled(arrays, world, FitnessSettings())


def test_input_encodings_play_alike_on_every_path(tmp_path):
    """With a box of the grid read as solid and hazard planes (agent.neat.inputs), the compiled
    loop, the step-by-step loop and neat-python's RecurrentNetwork fed ``encode``'s inputs from
    the single env give the same runs; and the encoding changes what the genomes do."""
    enc_settings = FitnessSettings(view_box=(1, 4, 3, 2), view_planes="split")
    n_in = enc_settings.num_inputs
    assert n_in == 2 * 6 * 6
    path = tmp_path / "box.ini"
    path.write_text(re.sub(r"num_inputs\s*= 169", f"num_inputs = {n_in}", CONFIG.read_text()))
    config = load_config(path)
    assert config.genome_config.num_inputs == n_in
    genomes = random_population(config, 24, seed=5, mutations=30)
    levels = [load_level("1-1"), load_level("1-2")]
    fast = PopulationEvaluator(levels, enc_settings).evaluate(genomes, config)
    slow = PopulationEvaluator(levels, enc_settings, compiled_loop=False).evaluate(genomes, config)
    assert_same(fast, slow)
    assert len(set(fast.fitness.round(3))) > 3
    ref = [reference_fitness(g, config, levels, enc_settings) for _, g in genomes[:8]]
    np.testing.assert_allclose(fast.fitness[:8], ref, rtol=0, atol=1e-9)
    mixed = FitnessSettings(view_box=(1, 4, 3, 2))  # the same cells, twice fewer inputs
    with pytest.raises(ValueError, match="72"):
        PopulationEvaluator(levels, mixed).evaluate(genomes, config)
