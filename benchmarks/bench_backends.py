"""Generation time on each evaluation backend: local, local processes and a local Ray cluster.

Side by side on the same population in one run (``agent.neat.backends``):

- ``local``: the batched evaluator in this process;
- ``processes (N)``: N shards in N local worker processes;
- ``ray (N)``: N shards as Ray tasks on a local Ray cluster started with N CPUs.

Every backend must give the same fitness values (checked, every repeat). The population is that
of a real run after ``--evolve`` generations on the built-in world (so genomes move and runs last
as long as in a run under way). ``--env smb`` scores that population on the real game (the NES
emulator, ``agent.neat.smb_evaluator``) instead, where a genome costs ~1.4 ms per frame rather than
microseconds: there the work dwarfs the cost of shipping shards and scaling should be near
linear in workers. Times are of ``evaluate`` only (reproduction is the same on every backend),
median of ``--repeats``, taken round-robin so that load from other jobs hits every backend
alike; the first generation on each backend (pool or Ray start-up, each worker's first shard) is
reported separately. CPU seconds are those of every process involved (this one, its worker
processes, the local Ray's processes), so that on a machine shared with other jobs, where a
second worker finds no idle core, the cost of sharding still shows: ``local CPU / (backend CPU /
workers)`` estimates the speed-up on idle cores. Run:

    python benchmarks/bench_backends.py [--pop 300 --levels 1-1,1-2,1-3 --workers 2]
    python benchmarks/bench_backends.py --env smb [--pop 40 --levels 1-1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import neat
import numpy as np
from bench_neat_eval import load_config  # this folder is on sys.path when run as a script

from agent.neat.backends import EvaluatorFactory, make_backend
from agent.neat.evaluator import PopulationEvaluator
from agent.neat.fitness import FitnessSettings
from envs.levels.level import load_level


def evolved_population(config: neat.Config, levels, generations: int, seed: int) -> list:
    pop = neat.Population(config, seed=seed)
    evaluator = PopulationEvaluator(levels)
    for _ in range(generations):
        pop.run(evaluator, 1)
    return list(pop.population.items())


def tree_cpu_seconds() -> float:
    """CPU time (user + system) of this process and every live descendant (worker processes,
    a local Ray's raylet, GCS and workers), from /proc; Linux only."""
    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    mine, total = {os.getpid()}, 0
    for _ in range(8):  # descendants a few levels deep (raylet -> workers)
        mine |= {pid for pid, (ppid, _) in stats.items() if ppid in mine}
    total = sum(stats[pid][1] for pid in mine if pid in stats)
    return total / tick


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", choices=("world", "smb"), default="world")
    parser.add_argument("--config", default="configs/neat.ini")
    parser.add_argument("--levels", help="comma-separated (world: 1-1,1-2,1-3; smb: 1-1)")
    parser.add_argument("--pop", type=int, help="population (world: 300; smb: 40)")
    parser.add_argument("--evolve", type=int, default=10, help="generations before measuring")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    smb = args.env == "smb"
    names = (args.levels or ("1-1" if smb else "1-1,1-2,1-3")).split(",")
    pop_size = args.pop or (40 if smb else 300)

    config = load_config(args.config)
    config.pop_size = pop_size
    world_levels = [load_level(n) for n in (["1-1"] if smb else names)]
    genomes = evolved_population(config, world_levels, args.evolve, args.seed)
    settings = FitnessSettings()
    if smb:
        from agent.neat.smb_evaluator import SmbPopulationEvaluator

        factory = EvaluatorFactory(SmbPopulationEvaluator, (names, settings))
    else:
        factory = EvaluatorFactory(PopulationEvaluator, (world_levels, settings))

    w = args.workers
    backends = {}
    first = {}
    for label, name in (
        ("local", "local"),
        (f"processes ({w})", "processes"),
        (f"ray ({w})", "ray"),
    ):
        t0 = time.perf_counter()
        backends[label] = make_backend(name, factory, workers=None if name == "local" else w)
        ev = backends[label].evaluate(genomes, config)  # start-up: pools, workers' first shard
        first[label] = time.perf_counter() - t0
    reference = ev
    times: dict[str, list[float]] = {label: [] for label in backends}
    cpu: dict[str, list[float]] = {label: [] for label in backends}
    for _ in range(args.repeats):
        for label, backend in backends.items():
            c0, t0 = tree_cpu_seconds(), time.perf_counter()
            ev = backend.evaluate(genomes, config)
            times[label].append(time.perf_counter() - t0)
            cpu[label].append(tree_cpu_seconds() - c0)
            if not np.array_equal(ev.fitness, reference.fitness):
                raise SystemExit(f"{label}: fitness differs from the other backends")
    for backend in backends.values():
        backend.close()

    frames = reference.frames_simulated
    print(
        f"# {args.env}: population {pop_size} x {len(names)} levels ({', '.join(names)}), "
        f"after {args.evolve} generations on the world; {frames:,} frames per generation "
        f"({reference.frames.mean():.0f} per run); {os.cpu_count()} CPUs; median of "
        f"{args.repeats}; load average {os.getloadavg()[0]:.1f} at the end"
    )
    print(
        "| backend | seconds per generation | frames/s | vs local | first generation, s "
        "| CPU s per generation | vs local on idle cores (estimate) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    local = statistics.median(times["local"])
    local_cpu = statistics.median(cpu["local"])
    for label, ts in times.items():
        t, c = statistics.median(ts), statistics.median(cpu[label])
        # With one idle core per worker, wall time would be about the CPU time shared out.
        idle = local_cpu / (c / (1 if label == "local" else w))
        print(
            f"| {label} | {t:.3f} | {frames / t:,.0f} | {local / t:.2f}x | {first[label]:.1f} "
            f"| {c:.3f} | {idle:.2f}x |"
        )
    print("\nall backends gave identical fitness values in every repeat")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
