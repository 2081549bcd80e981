"""The batched NEAT evaluator: MarI/O's fitness cases, and equality with plain neat-python."""

import numpy as np
import pytest

from agent.neat.evaluator import PopulationEvaluator
from agent.neat.fitness import ConfigMismatch, FitnessSettings, check_config_matches
from envs.levels.level import load_level, parse_level
from envs.sim.world import World
from tests.helpers.neat import CONFIG, load_config, random_population, wired_genome
from tests.helpers.reference import reference_fitness

GROUND_BELOW = -1 - (7 * 13 + 6)  # input key of the grid cell under the player (row 7, col 6)
RIGHT, A = 5, 0


def flat_level(middle: str = "", width: int = 30) -> str:
    row = ("..S" + middle).ljust(width - 3, ".") + "F.."
    return "\n".join(["." * width] * 12 + [row, "X" * width, "X" * width])


def test_standing_still_times_out_like_mario():
    """A genome that presses nothing ends after MarI/O's timeout: 20 frames plus frames/4."""
    config = load_config()
    evaluator = PopulationEvaluator([parse_level(flat_level())])
    ev = evaluator.evaluate([(1, wired_genome(config, {}))], config)
    # no progress since frame 0: ends at the first step (every 5 frames) with f >= 20 + f/4
    assert ev.frames[0, 0] == 30 and not ev.completed[0, 0]
    start = World(evaluator.bank, 1)
    start.reset()
    assert ev.rightmost[0, 0] == start.rightmost_px()[0]
    assert ev.fitness[0] == pytest.approx(start.rightmost_px()[0] - 15.0)


def test_reaching_the_flag_pays_the_bonus():
    """Holding RIGHT (wired to the always-solid cell below) reaches the flag: +1000."""
    config = load_config()
    genome = wired_genome(config, {(GROUND_BELOW, RIGHT): 2.0})
    ev = PopulationEvaluator([parse_level(flat_level())]).evaluate([(1, genome)], config)
    assert ev.completed[0, 0]
    expected = ev.rightmost[0, 0] - ev.frames[0, 0] / 2 + 1000
    assert ev.fitness[0] == pytest.approx(expected) and ev.fitness[0] > 1000


def test_death_ends_the_run_without_bonus():
    """Walking into spikes ends the run: fitness is progress minus time, no bonus."""
    config = load_config()
    genome = wired_genome(config, {(GROUND_BELOW, RIGHT): 2.0})
    level = parse_level(flat_level("......^"))
    ev = PopulationEvaluator([level]).evaluate([(1, genome)], config)
    assert not ev.completed[0, 0]
    assert ev.fitness[0] == pytest.approx(ev.rightmost[0, 0] - ev.frames[0, 0] / 2)
    assert ev.rightmost[0, 0] < 9 * 16


def test_min_and_mean_over_levels():
    """Over several levels the fitness is the mean or the minimum of the per-level fitness."""
    config = load_config()
    genome = wired_genome(config, {(GROUND_BELOW, RIGHT): 2.0})
    levels = [parse_level(flat_level()), parse_level(flat_level("....^"))]
    mean = PopulationEvaluator(levels).evaluate([(1, genome)], config)
    low = PopulationEvaluator(levels, FitnessSettings(aggregate="min")).evaluate(
        [(1, genome)], config
    )
    assert mean.fitness[0] == pytest.approx(mean.level_fitness[0].mean())
    assert low.fitness[0] == pytest.approx(mean.level_fitness[0].min())
    assert mean.completed[0].tolist() == [True, False]


def test_batched_fitness_equals_neat_python_reference():
    """For random recurrent genomes on 1-1, batched fitness equals RecurrentNetwork + single env."""
    config = load_config()
    genomes = random_population(config, 24, seed=3)
    levels = [load_level("1-1")]
    ev = PopulationEvaluator(levels).evaluate(genomes, config)
    ref = [reference_fitness(g, config, levels, FitnessSettings()) for _, g in genomes]
    np.testing.assert_allclose(ev.fitness, ref, rtol=0, atol=1e-9)
    assert len(set(np.round(ev.fitness, 3))) > 3  # the population really behaves differently


def test_evaluator_sets_genome_fitness_for_neat():
    """Called as neat-python's fitness function it sets every genome's fitness."""
    config = load_config()
    genomes = random_population(config, 6, seed=5)
    ev = PopulationEvaluator([load_level("1-1")])
    ev(genomes, config)
    assert [g.fitness for _, g in genomes] == ev.last.fitness.tolist()


def test_config_mismatch_is_reported(tmp_path):
    """A config whose inputs or outputs do not fit the env raises a clear ConfigMismatch."""
    text = CONFIG.read_text().replace("num_inputs              = 169", "num_inputs = 100")
    path = tmp_path / "bad.ini"
    path.write_text(text)
    with pytest.raises(ConfigMismatch, match="num_inputs = 100.*169 cells"):
        check_config_matches(load_config(path))
    check_config_matches(load_config())
    with pytest.raises(ConfigMismatch, match="num_inputs = 169.*81 cells"):
        check_config_matches(load_config(), view_radius=4)


@pytest.mark.slow  # imports torch
def test_torch_networks_score_like_the_compiled_loop():
    """With torch networks (the path --device cuda takes; here on the CPU) the step-by-step
    loop gives exactly the compiled loop's fitness, frames, completions and progress."""
    config = load_config()
    genomes = random_population(config, 16, seed=6)
    levels = [load_level("1-1"), load_level("1-2")]
    fast = PopulationEvaluator(levels).evaluate(genomes, config)
    torch = PopulationEvaluator(levels, net_backend="torch").evaluate(genomes, config)
    for key in ("fitness", "level_fitness", "completed", "rightmost", "frames", "progress"):
        assert np.array_equal(getattr(fast, key), getattr(torch, key)), key
    assert 0.0 < fast.progress.max() <= 1.0


def test_the_progress_score_puts_every_level_on_one_scale():
    """With score "progress" each level scores its progress share (0..1) plus 1 for the flag:
    finishing a short and a long level scores 2 on both (MarI/O's fitness grows with the
    level's length), dying halfway scores about one half; the runs themselves are unchanged."""
    config = load_config()
    genome = wired_genome(config, {(GROUND_BELOW, RIGHT): 2.0})
    levels = [
        parse_level(flat_level(width=30)),
        parse_level(flat_level(width=90)),
        parse_level(flat_level("." * 40 + "^", width=90)),
    ]
    mario = PopulationEvaluator(levels).evaluate([(1, genome)], config)
    share = PopulationEvaluator(levels, FitnessSettings(score="progress"))
    ev = share.evaluate([(1, genome)], config)
    assert ev.completed[0].tolist() == [True, True, False]
    assert ev.level_fitness[0, :2].tolist() == [2.0, 2.0]
    assert mario.level_fitness[0, 1] > mario.level_fitness[0, 0] + 500
    assert 0.3 < ev.level_fitness[0, 2] < 0.7
    assert ev.level_fitness[0, 2] == pytest.approx(ev.progress[0, 2])
    assert ev.fitness[0] == pytest.approx(ev.level_fitness[0].mean())
    assert (ev.frames == mario.frames).all() and (ev.rightmost == mario.rightmost).all()
    with pytest.raises(ValueError, match="score must be one of mario, progress"):
        FitnessSettings(score="distance")
