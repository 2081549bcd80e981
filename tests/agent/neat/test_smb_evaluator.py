"""NEAT on the real Super Mario Bros.: the batched evaluator against plain neat-python play.

Needs the ``nes`` extra (skipped without it, with that reason).
"""

import numpy as np
import pytest

from agent.neat.fitness import FitnessSettings
from tests.helpers.neat import load_config, random_population, wired_genome

pytest.importorskip("nes_py", reason='the real game needs the nes extra: pip install -e ".[nes]"')

from agent.neat.smb_evaluator import SmbPopulationEvaluator  # noqa: E402
from envs.smb.env import SuperMarioBrosTilesEnv  # noqa: E402
from tests.helpers.reference import smb_reference_fitness  # noqa: E402

GROUND_BELOW = -1 - (8 * 13 + 6)  # the cell two rows under MarI/O's centre: 1-1's ground
RIGHT = 5


@pytest.fixture(scope="module")
def evaluator():
    ev = SmbPopulationEvaluator(["1-1"], emulators=2)
    yield ev
    ev.close()


def test_standing_still_times_out_like_mario(evaluator):
    """Pressing nothing ends after MarI/O's timeout (20 frames + frames / 4, checked every 5
    frames): 30 frames at x = 40, fitness 40 - 15."""
    config = load_config()
    ev = evaluator.evaluate_local([(1, wired_genome(config, {}))], config)
    assert ev.frames[0, 0] == 30 and ev.rightmost[0, 0] == 40 and not ev.completed[0, 0]
    assert ev.fitness[0] == 25.0 and ev.frames_simulated == 30


def test_walking_right_dies_at_the_first_goomba(evaluator):
    """RIGHT while standing on ground walks into the first goomba: the life is lost, the run
    ends, fitness is progress minus time with no bonus."""
    config = load_config()
    genome = wired_genome(config, {(GROUND_BELOW, RIGHT): 2.0})
    ev = evaluator.evaluate_local([(1, genome)], config)
    assert 280 <= ev.rightmost[0, 0] <= 300 and not ev.completed[0, 0]
    assert ev.fitness[0] == ev.rightmost[0, 0] - ev.frames[0, 0] / 2


@pytest.mark.slow
def test_batched_fitness_equals_neat_python_reference(evaluator):
    """Random recurrent genomes, two emulators serving five runs (restored between genomes):
    the same fitness as RecurrentNetwork + one SuperMarioBrosTilesEnv per genome."""
    config = load_config()
    genomes = random_population(config, 4, seed=3)
    genomes.append((99, wired_genome(config, {(GROUND_BELOW, RIGHT): 2.0})))
    ev = evaluator.evaluate_local(genomes, config)
    env = SuperMarioBrosTilesEnv()
    try:
        ref = [
            smb_reference_fitness(g, config, ["1-1"], FitnessSettings(), env) for _, g in genomes
        ]
    finally:
        env.close()
    np.testing.assert_allclose(ev.fitness, ref, rtol=0, atol=1e-9)
    assert len(set(ev.fitness.tolist())) > 1
    assert ev.frames_simulated == int(ev.frames.sum())


def test_levels_and_neat_fitness_function(evaluator):
    """Two stages give (P, 2) results and their mean; called as neat-python's fitness function
    it sets every genome's fitness; set_levels switches back."""
    config = load_config()
    genomes = [
        (1, wired_genome(config, {})),
        (2, wired_genome(config, {(GROUND_BELOW, RIGHT): 2.0})),
    ]
    evaluator.set_levels(["1-1", "1-2"])
    try:
        evaluator(genomes, config)
        ev = evaluator.last
        assert ev.level_fitness.shape == (2, 2) and evaluator.levels == ["1-1", "1-2"]
        assert ev.fitness.tolist() == ev.level_fitness.mean(axis=1).tolist()
        assert [g.fitness for _, g in genomes] == ev.fitness.tolist()
    finally:
        evaluator.set_levels(["1-1"])
    with pytest.raises(ValueError, match="WORLD-STAGE"):
        evaluator.set_levels(["castle"])
