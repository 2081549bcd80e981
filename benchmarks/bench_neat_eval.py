"""One generation's evaluation: the batched evaluator against the usual neat-python ways.

Side by side on the same population and level, in one run:

- ``batched``: ``agent.neat.evaluator.PopulationEvaluator`` (all genomes in lockstep in one compiled
  loop, one process);
- ``batched, 2 worker processes``: the same split into two worker-process shards
  (``agent.neat.backends``, the trainer's ``processes`` backend);
- ``batched, Python-driven lockstep loop``: the evaluator's step-by-step path (numba physics and
  network kernels called from Python at each decision), which populations with a function the
  compiled loop lacks still take;
- ``neat-python serial``: for each genome ``RecurrentNetwork.create`` and a single-env loop
  (``tests.helpers.reference.reference_fitness``, the tests' yardstick);
- ``neat-python ParallelEvaluator (2)``: the same loop in neat-python's process pool.

All must give the same fitness values (checked, every run). The population is that of a real
run after ``--evolve`` generations (default 10). Median of ``--repeats`` timed evaluations each,
taken round-robin (one of each evaluator per round) so that load from other jobs on a shared
machine hits every row alike. Run:
``python benchmarks/bench_neat_eval.py [--config configs/neat.ini] [--level 1-1]``.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from pathlib import Path

import neat
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: the tests' yardstick lives in tests/helpers
    sys.path.insert(0, str(ROOT))

from agent.neat.backends import EvaluatorFactory, make_backend  # noqa: E402
from agent.neat.evaluator import PopulationEvaluator  # noqa: E402
from agent.neat.fitness import FitnessSettings  # noqa: E402
from envs.levels.level import load_level  # noqa: E402
from tests.helpers.reference import reference_fitness  # noqa: E402

SERIAL = "neat-python serial: RecurrentNetwork + single env"
PARALLEL = "neat-python ParallelEvaluator, 2 workers"


def load_config(path: str) -> neat.Config:
    return neat.Config(
        neat.DefaultGenome,
        neat.DefaultReproduction,
        neat.DefaultSpeciesSet,
        neat.DefaultStagnation,
        path,
    )


def population(config: neat.Config, level, generations: int, seed: int) -> list:
    """The population of a real run after ``generations`` generations on ``level`` (evolved
    with the batched evaluator): networks with hidden nodes and recurrent links whose runs
    last as long as those of a run under way, unlike a fresh random population's."""
    pop = neat.Population(config, seed=seed)
    evaluator = PopulationEvaluator([level])
    for _ in range(generations):
        pop.run(evaluator, 1)
    return list(pop.population.items())


def _ref_eval(genome, config, levels, settings):  # picklable for ParallelEvaluator
    return reference_fitness(genome, config, levels, settings)


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/neat.ini")
    parser.add_argument("--level", default="1-1")
    parser.add_argument("--pop", type=int, default=300)
    parser.add_argument("--evolve", type=int, default=10, help="generations before measuring")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    config = load_config(args.config)
    config.pop_size = args.pop
    levels = [load_level(args.level)]
    genomes = population(config, levels[0], args.evolve, args.seed)
    settings = FitnessSettings()
    batched = PopulationEvaluator(levels, settings)
    stepwise = PopulationEvaluator(levels, settings, compiled_loop=False)
    factory = EvaluatorFactory(PopulationEvaluator, (levels, settings))
    sharded = make_backend("processes", factory, workers=2)
    ev = batched.evaluate(genomes, config)  # warm-up: compiles the kernels
    for other in (stepwise, sharded):
        other.evaluate(genomes, config)

    def serial() -> list[float]:
        return [reference_fitness(g, config, levels, settings) for _, g in genomes]

    parallel = neat.ParallelEvaluator(
        2, functools.partial(_ref_eval, levels=levels, settings=settings)
    )

    def neat_parallel() -> list[float]:
        parallel.evaluate(genomes, config)
        return [g.fitness for _, g in genomes]

    rows = [
        ("batched (this project)", lambda: batched.evaluate(genomes, config).fitness),
        ("batched, 2 worker processes", lambda: sharded.evaluate(genomes, config).fitness),
        (
            "batched, Python-driven lockstep loop (before the compiled loop)",
            lambda: stepwise.evaluate(genomes, config).fitness,
        ),
        (SERIAL, serial),
        (PARALLEL, neat_parallel),
    ]
    nodes = np.mean([len(g.nodes) for _, g in genomes])
    conns = np.mean([sum(c.enabled for c in g.connections.values()) for _, g in genomes])
    print(
        f"# population {args.pop} on {args.level} after {args.evolve} generations, "
        f"{nodes:.1f} nodes and {conns:.1f} enabled "
        f"connections per genome, {ev.frames.mean():.0f} frames per run on average, "
        f"median of {args.repeats}"
    )
    print("| evaluator | seconds per generation | frames/s | speed-up vs serial |")
    print("|---|---:|---:|---:|")
    # Repeats go round-robin over the evaluators, so a change in the machine's load during
    # the run (a shared machine) falls on every row alike, not on whichever row ran then.
    runs: dict[str, list[tuple[float, object]]] = {name: [] for name, _ in rows}
    for _ in range(args.repeats):
        for name, fn in rows:
            runs[name].append(timed(fn))
    times = {name: statistics.median(t for t, _ in runs[name]) for name, _ in rows}
    for name, _ in rows:
        for _, fitness in runs[name]:
            fitness = np.asarray(fitness, dtype=np.float64)
            if not np.allclose(fitness, ev.fitness, rtol=0, atol=1e-9):
                raise SystemExit(f"{name}: fitness differs from the batched evaluator")
        ratio = f"{times[SERIAL] / times[name]:.1f}x"
        print(
            f"| {name} | {times[name]:.3f} | {ev.frames_simulated / times[name]:,.0f} | {ratio} |",
            flush=True,
        )
    # The same ratios per round (serial and batched timed moments apart), then their median.
    print()
    for name in (rows[0][0],):
        paired = statistics.median(
            s / b for (s, _), (b, _) in zip(runs[SERIAL], runs[name], strict=True)
        )
        print(
            f"{name}: {times[SERIAL] / times[name]:.0f}x serial (median of per-round ratios: "
            f"{paired:.0f}x), {times[PARALLEL] / times[name]:.0f}x ParallelEvaluator(2)"
        )
    print(f"all {len(rows)} evaluators gave identical fitness values in every run")
    sharded.close()
    parallel.close() if hasattr(parallel, "close") else None
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
