"""Evaluation backends: local, local processes and a real local Ray cluster give identical
results; a worker killed mid-generation has its shard re-run; bad choices fail in one line.

The Ray tests share one small local Ray session (2 CPUs, no dashboard) started once for the
module; they are skipped only where Ray is not installed (``.ci/run`` installs it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from agent.neat.backends import (
    BackendError,
    EvaluatorFactory,
    LocalBackend,
    ProcessBackend,
    make_backend,
)
from agent.neat.evaluator import PopulationEvaluator
from agent.neat.trainer import CHAMPION_FILE, TrainError, TrainSettings, eval_backend, train
from envs.levels.level import load_level
from tests.helpers.neat import load_config, random_population, settings_for, snapshot, untimed

ROOT = Path(__file__).resolve().parents[3]
FIELDS = ("fitness", "level_fitness", "completed", "rightmost", "frames", "progress")


class DiesOnce(PopulationEvaluator):
    """Kills its worker process on the first shard it plays, once in all workers: the first to
    create ``marker`` dies; every later shard (and every other worker) plays normally."""

    def __init__(self, levels, settings=None, *, marker: str, **kwargs):
        super().__init__(levels, settings, **kwargs)
        self.marker = marker

    def evaluate_local(self, genomes, config):
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return super().evaluate_local(genomes, config)
        os.close(fd)
        os._exit(1)  # a crash: no exception, no cleanup, the process is gone


class AlwaysDies(PopulationEvaluator):
    def evaluate_local(self, genomes, config):
        os._exit(1)


class Refuses(PopulationEvaluator):
    def evaluate_local(self, genomes, config):
        raise ValueError("this genome cannot be played")


class CannotStart(PopulationEvaluator):
    def __init__(self, *args, **kwargs):
        raise ValueError("no emulator here")


@pytest.fixture(scope="module")
def setup():
    config = load_config()
    genomes = random_population(config, 16, seed=7)
    levels = [load_level("1-1"), load_level("1-2")]
    return config, genomes, levels


@pytest.fixture(scope="module")
def ray_session():
    """One local Ray for the module's Ray tests (a real cluster of one node, 2 CPUs)."""
    ray = pytest.importorskip("ray")
    ray.init(
        address="local",  # a Ray of its own, whatever else runs on this machine
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        # the test module's evaluators (DiesOnce) must import in Ray's worker processes
        runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}},
    )
    yield ray
    ray.shutdown()


def assert_same(a, b) -> None:
    for key in FIELDS:
        assert np.array_equal(getattr(a, key), getattr(b, key), equal_nan=True), key
    assert a.frames_simulated == b.frames_simulated


def factory(levels, cls=PopulationEvaluator, **kwargs) -> EvaluatorFactory:
    return EvaluatorFactory(cls, (levels, None), kwargs)


def local_eval(genomes, config, levels):
    return PopulationEvaluator(levels).evaluate_local(genomes, config)


# --------------------------------------------------------------------------------------------
# Identical results
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_process_shards_equal_local(setup):
    """2 worker processes give exactly the in-process Evaluation, also after a new level set
    (sent to the workers with the next shards), and with more shards than genomes."""
    config, genomes, levels = setup
    here = local_eval(genomes, config, levels)
    with make_backend("processes", factory(levels), workers=2) as backend:
        assert isinstance(backend, ProcessBackend) and backend.workers == 2
        assert_same(backend.evaluate(genomes, config), here)
        backend.set_levels(levels[1:])
        assert_same(backend.evaluate(genomes, config), local_eval(genomes, config, levels[1:]))
        backend.set_levels(levels)
        assert_same(backend.evaluate(genomes[:1], config), local_eval(genomes[:1], config, levels))
        assert backend.rebuilds == 0
    with make_backend("local", factory(levels)) as backend:
        assert isinstance(backend, LocalBackend)
        assert_same(backend.evaluate(genomes, config), here)


@pytest.mark.slow
def test_ray_shards_equal_local(setup, ray_session):
    """Shards as Ray tasks give exactly the in-process Evaluation, also after a new level set."""
    config, genomes, levels = setup
    with make_backend("ray", factory(levels), workers=3) as backend:
        assert backend.workers == 3
        assert_same(backend.evaluate(genomes, config), local_eval(genomes, config, levels))
        backend.set_levels(levels[:1])
        assert_same(backend.evaluate(genomes, config), local_eval(genomes, config, levels[:1]))
    assert ray_session.is_initialized()  # a session the backend did not start stays up


@pytest.mark.slow
def test_the_real_game_on_every_backend(setup, ray_session):
    """The Super Mario Bros. evaluator (any evaluator with evaluate_local and set_levels) is
    sharded the same way: processes and Ray give exactly its in-process scores."""
    pytest.importorskip(
        "nes_py", reason='the real game needs the nes extra: pip install -e ".[nes]"'
    )
    from agent.neat.smb_evaluator import SmbPopulationEvaluator

    config, genomes, _ = setup
    genomes = genomes[:4]
    smb = EvaluatorFactory(SmbPopulationEvaluator, (["1-1"], None), {"emulators": 2})
    with make_backend("local", smb) as backend:
        here = backend.evaluate(genomes, config)
    assert len(set(here.fitness.tolist())) > 1  # the genomes really play differently
    for name in ("processes", "ray"):
        with make_backend(name, smb, workers=2) as backend:
            assert_same(backend.evaluate(genomes, config), here)


@pytest.mark.slow
def test_training_on_every_backend_gives_the_same_champion(tmp_path, ray_session):
    """Two generations (fixed plus a generated level each generation, so level sets travel)
    give byte-identical champions and the same metrics locally, on 2 processes and on Ray."""
    runs = {}
    for backend in ("local", "processes", "ray"):
        workers = None if backend == "local" else 2
        s = settings_for(
            tmp_path, backend, generations=2, generated=1, backend=backend, workers=workers
        )
        runs[backend] = train(s, progress=False)
    champ = (runs["local"].out / CHAMPION_FILE).read_text()
    for backend in ("processes", "ray"):
        assert (runs[backend].out / CHAMPION_FILE).read_text() == champ, backend
        assert untimed(runs[backend].metrics) == untimed(runs["local"].metrics), backend


@pytest.mark.slow
def test_ray_from_the_command_line(tmp_path):
    """train.py neat --backend ray starts its own local Ray cluster, runs two generations on
    it and ends with the champion of the same run done locally."""
    pytest.importorskip("ray")
    from tests.helpers.cli import run_cli
    from tests.helpers.neat import write_tiny_setup

    config, level = write_tiny_setup(tmp_path)
    common = ["--level", str(level), "--config", str(config), "--generations", "2"]
    common += ["--keep-going", "--quiet"]
    proc = run_cli(*common, "--backend", "ray", "--workers", "2", "--out", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    local = train(
        TrainSettings(
            levels=[str(level)],
            config=config,
            generations=2,
            out=tmp_path / "l",
            stop_when_solved=False,
        ),
        progress=False,
    )
    assert (tmp_path / "r" / CHAMPION_FILE).read_text() == (local.out / CHAMPION_FILE).read_text()


# --------------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_killed_process_worker_has_its_shard_rerun(setup, tmp_path):
    """A worker process that dies mid-generation breaks the pool: a new pool plays the lost
    shards, and the generation's scores are exactly the local ones (none lost or zeroed)."""
    config, genomes, levels = setup
    marker = tmp_path / "died"
    with ProcessBackend(factory(levels, DiesOnce, marker=str(marker)), 2) as backend:
        ev = backend.evaluate(genomes, config)
        assert marker.exists() and backend.rebuilds == 1
    assert_same(ev, local_eval(genomes, config, levels))


@pytest.mark.slow
def test_a_killed_ray_worker_has_its_shard_rerun(setup, tmp_path, ray_session):
    """A Ray worker that dies mid-generation has its shard retried by Ray: same scores."""
    config, genomes, levels = setup
    marker = tmp_path / "died"
    with make_backend("ray", factory(levels, DiesOnce, marker=str(marker)), workers=2) as b:
        ev = b.evaluate(genomes, config)
    assert marker.exists()
    assert_same(ev, local_eval(genomes, config, levels))


@pytest.mark.slow
def test_workers_that_keep_dying_give_a_clear_error(setup, ray_session):
    """Past the retries, a generation fails with BackendError, never with made-up scores."""
    config, genomes, levels = setup
    with ProcessBackend(factory(levels, AlwaysDies), 2, max_retries=1) as backend:
        with pytest.raises(BackendError, match="died 2 times.*giving up"):
            backend.evaluate(genomes, config)
    with make_backend("ray", factory(levels, AlwaysDies), workers=2, max_retries=0) as backend:
        with pytest.raises(BackendError, match="Ray shard failed"):
            backend.evaluate(genomes, config)


@pytest.mark.slow
def test_evaluator_errors_are_raised_not_retried(setup, ray_session):
    """An error of the evaluator itself (playing, or being built in the worker) comes back as
    it is, from either kind of worker, without retries."""
    config, genomes, levels = setup
    for name in ("processes", "ray"):
        for cls, match in ((Refuses, "cannot be played"), (CannotStart, "no emulator")):
            with make_backend(name, factory(levels, cls), workers=2) as backend:
                with pytest.raises(ValueError, match=match):
                    backend.evaluate(genomes, config)
                if name == "processes":
                    assert backend.rebuilds == 0


# --------------------------------------------------------------------------------------------
# Choices and errors
# --------------------------------------------------------------------------------------------


def test_bad_backend_choices(setup, tmp_path):
    """Unknown backends, workers for the local one, a Ray address for another backend, no
    workers, and Ray on a GPU are refused with one line (BackendError, or TrainError from the
    trainer) before any run directory is made."""
    _, _, levels = setup
    with pytest.raises(BackendError, match="unknown backend 'gpu'.*local, processes, ray"):
        make_backend("gpu", factory(levels))
    with pytest.raises(BackendError, match="one process"):
        make_backend("local", factory(levels), workers=2)
    with pytest.raises(BackendError, match="address is for the ray backend"):
        make_backend("processes", factory(levels), address="auto")
    with pytest.raises(BackendError, match="at least 1"):
        make_backend("processes", factory(levels), workers=0)
    for kw, match in (
        ({"backend": "gpu"}, "unknown backend"),
        ({"backend": "local", "workers": 3}, "processes or ray backend"),
        ({"backend": "processes", "ray_address": "auto"}, "address is for the ray backend"),
        ({"workers": 0}, "at least 1"),
        ({"backend": "ray", "device": "cuda"}, "workers' CPUs"),
    ):
        with pytest.raises(TrainError, match=match):
            train(settings_for(tmp_path, "bad", **kw), progress=False)
    assert not (tmp_path / "bad").exists()


def test_workers_alone_mean_processes():
    """Without a backend, workers > 1 keeps its old meaning (local processes)."""
    assert eval_backend(TrainSettings()) == "local"
    assert eval_backend(TrainSettings(workers=1)) == "local"
    assert eval_backend(TrainSettings(workers=3)) == "processes"
    assert eval_backend(TrainSettings(workers=3, backend="ray")) == "ray"


def test_missing_ray_is_one_line(setup, tmp_path, monkeypatch, capsys):
    """Without Ray installed, --backend ray says how to install it; nothing is written."""
    import train as train_cli

    _, _, levels = setup
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(BackendError, match=r'pip install -e "\.\[ray\]"'):
        make_backend("ray", factory(levels))
    with pytest.raises(TrainError, match=r'pip install -e "\.\[ray\]"'):
        train(settings_for(tmp_path, "noray", backend="ray"), progress=False)
    s = settings_for(tmp_path, "noray")
    args = ["neat", "--level", s.levels[0], "--config", str(s.config), "--out", str(s.out)]
    assert train_cli.main([*args, "--ray-address", "auto"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'pip install -e ".[ray]"' in err[0]
    assert not (tmp_path / "noray").exists()


@pytest.mark.slow
def test_cli_backend_settings(tmp_path):
    """--backend/--workers/--ray-address on the command line, and on --resume a new backend
    replaces the run's workers and address (results do not depend on them)."""
    import train as train_cli

    parse = train_cli.build_parser().parse_args

    def settings(*argv):
        return train_cli.neat_settings(parse(["neat", *argv, "--out", str(tmp_path / "x")]))

    assert settings().backend is None and eval_backend(settings()) == "local"
    assert eval_backend(settings("--workers", "2")) == "processes"
    s = settings("--ray-address", "ray://head:10001")
    assert (s.backend, s.ray_address) == ("ray", "ray://head:10001")
    s = settings("--backend", "ray", "--workers", "8")
    assert (s.backend, s.workers) == ("ray", 8)

    run = settings_for(tmp_path, "run", generations=1, backend="processes", workers=2)
    train(run, progress=False)
    before = snapshot(run.out)
    s = train_cli.neat_settings(parse(["neat", "--resume", str(run.out), "--backend", "local"]))
    assert (s.backend, s.workers, s.ray_address) == ("local", None, None)
    s = train_cli.neat_settings(parse(["neat", "--resume", str(run.out), "--workers", "3"]))
    assert (s.backend, s.workers) == ("processes", 3)
    assert snapshot(run.out) == before


@pytest.mark.slow
def test_resume_on_another_backend(tmp_path, ray_session):
    """A run checkpointed on processes and resumed on Ray (or the other way round: the backend
    is not part of what a run optimises) ends like an uninterrupted local run."""
    straight = train(settings_for(tmp_path, "straight", generations=3), progress=False)
    s = settings_for(tmp_path, "moved", generations=1, backend="processes", workers=2)
    train(s, progress=False)
    s = settings_for(tmp_path, "moved", generations=3, backend="ray", workers=2)
    resumed = train(s, resume=s.out, progress=False)
    assert resumed.resumed_from == 1
    assert (s.out / CHAMPION_FILE).read_text() == (straight.out / CHAMPION_FILE).read_text()
    assert untimed(resumed.metrics) == untimed(straight.metrics)
