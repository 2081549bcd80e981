"""Where a population is evaluated: in this process, in local worker processes, or on Ray.

Every backend takes an ``EvaluatorFactory`` (a class and its constructor arguments, picklable)
and exposes the same three methods:

- ``evaluate(genomes, config) -> Evaluation``: the population is split into shards (contiguous,
  ``np.array_split``), each worker runs the evaluator's batched ``evaluate_local`` on its shard,
  and the shard results are concatenated in order, so the result is exactly the in-process one;
- ``set_levels(levels)``: a new level set (generated levels each generation), sent to the workers
  lazily with the next shards, once per worker;
- ``close()``.

An evaluator is any object with ``evaluate_local(genomes, config)`` (returning an object whose
class has ``concat(parts)``, such as ``agent.neat.evaluator.Evaluation``) and
``set_levels(levels)``; ``close()`` is called when it has one.
``agent.neat.evaluator.PopulationEvaluator`` is the built-in world's, and any other
environment's evaluator plugs in the same way.

The factory and the NEAT config travel to each worker once per run (a pool initializer; one
Ray object fetched once per worker process), never with every shard.

Backends:

- ``local``: the evaluator in this process (no shards);
- ``processes``: a pool of ``workers`` local processes, forked from a clean fork server that has
  imported the evaluator's module (so CUDA, threads and Ray in the parent are safe, and a
  script's ``__main__`` is not re-run). A worker that dies mid-generation breaks the pool: it is
  rebuilt and the shards that were lost are evaluated again (``max_retries`` times, then
  ``BackendError``);
- ``ray``: one Ray task per shard on a Ray cluster (``ray.init()`` of a local one when no
  address is given, ``"auto"`` or ``"ray://HOST:10001"`` for an existing one). A worker or node
  that dies has its shard re-run by Ray (``max_retries``), elsewhere if need be.

Errors raised by the evaluator itself (a bad genome, a bad config) are not retried: they are
re-raised as they are, whatever the backend.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import uuid
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

import agent
import envs

BACKENDS = ("local", "processes", "ray")
RAY_INSTALL_HINT = 'the ray backend needs Ray: pip install -e ".[ray]"'


class BackendError(ValueError):
    """A backend cannot be set up, or lost a shard more times than it may retry."""


class Evaluator(Protocol):
    def evaluate_local(self, genomes: list, config: Any) -> Any: ...

    def set_levels(self, levels: Sequence[Any]) -> None: ...


@dataclass(frozen=True)
class EvaluatorFactory:
    """How to build an evaluator in a worker: ``cls(*args, **kwargs)``; must pickle."""

    cls: type
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)

    def build(self) -> Evaluator:
        return self.cls(*self.args, **self.kwargs)


def _concat(parts: list[Any]) -> Any:
    return type(parts[0]).concat(parts)


def _shards(n: int, count: int) -> list[np.ndarray]:
    """Contiguous index ranges of (nearly) equal size; no empty shard."""
    return [s for s in np.array_split(np.arange(n), max(1, min(count, n))) if len(s)]


def _close(evaluator: Any) -> None:
    close = getattr(evaluator, "close", None)
    if close is not None:
        close()


class Backend:
    """The common interface; see the module docstring."""

    name = "?"
    workers = 1

    def evaluate(self, genomes: Sequence[tuple[int, object]], config: Any) -> Any:
        raise NotImplementedError

    def set_levels(self, levels: Sequence[Any]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalBackend(Backend):
    """The evaluator in this process: one batch for the whole population."""

    name = "local"

    def __init__(self, factory: EvaluatorFactory):
        self.evaluator = factory.build()

    def evaluate(self, genomes: Sequence[tuple[int, object]], config: Any) -> Any:
        return self.evaluator.evaluate_local(list(genomes), config)

    def set_levels(self, levels: Sequence[Any]) -> None:
        self.evaluator.set_levels(levels)

    def close(self) -> None:
        _close(self.evaluator)


class _Versioned(Backend):
    """Shared bookkeeping of the remote backends: the level set and its version (0: the
    factory's own levels; each ``set_levels`` call adds one)."""

    def __init__(self, factory: EvaluatorFactory, workers: int):
        if workers < 1:
            raise BackendError(f"workers must be at least 1, got {workers}")
        self.factory = factory
        self.workers = workers
        self.levels: list[Any] | None = None  # None: the factory's own
        self.version = 0

    def set_levels(self, levels: Sequence[Any]) -> None:
        if not levels:
            raise ValueError("evaluation needs at least one level")
        self.levels = list(levels)
        self.version += 1


# --------------------------------------------------------------------------------------------
# Local worker processes
# --------------------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}  # the evaluator of this worker process, its config and levels


def _process_init(factory: EvaluatorFactory, config: Any, version: int, levels: Any) -> None:
    """Runs once per worker process: the factory, config and current levels arrive once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it ends the pool
    try:
        evaluator = factory.build()
        if levels is not None:
            evaluator.set_levels(levels)
    except Exception as exc:  # raised with the first shard: an error, not a dead worker
        _WORKER.update(error=exc)
        return
    _WORKER.update(evaluator=evaluator, config=config, version=version, error=None)


def _process_shard(genomes: list, version: int, levels: Any) -> Any:
    if _WORKER["error"] is not None:
        raise _WORKER["error"]
    evaluator = _WORKER["evaluator"]
    if version != _WORKER["version"]:
        if levels is None:
            raise RuntimeError("worker is missing the level set of this generation")
        evaluator.set_levels(levels)
        _WORKER["version"] = version
    return evaluator.evaluate_local(genomes, _WORKER["config"])


class ProcessBackend(_Versioned):
    """Shards over a pool of ``workers`` local processes; a broken pool is rebuilt and its lost
    shards are evaluated again, up to ``max_retries`` rebuilds per generation."""

    name = "processes"

    def __init__(
        self,
        factory: EvaluatorFactory,
        workers: int | None = None,
        *,
        max_retries: int = 3,
        start_method: str = "forkserver",
    ):
        super().__init__(factory, workers or os.cpu_count() or 1)
        self.max_retries = max_retries
        self.start_method = start_method
        self.rebuilds = 0  # pools rebuilt after a worker died (all generations)
        self._pool: ProcessPoolExecutor | None = None
        self._config: Any = None
        self._pool_version = 0

    def _start(self, config: Any) -> ProcessPoolExecutor:
        self._shutdown()
        self._pool = ProcessPoolExecutor(
            self.workers,
            mp_context=self._context(),
            initializer=_process_init,
            initargs=(self.factory, config, self.version, self.levels),
        )
        self._config = config
        self._pool_version = self.version
        return self._pool

    def _context(self) -> multiprocessing.context.BaseContext:
        ctx = multiprocessing.get_context(self.start_method)
        if self.start_method == "forkserver":
            # The server imports the evaluator's module once; workers fork from it warm.
            ctx.set_forkserver_preload([self.factory.cls.__module__])
        return ctx

    def evaluate(self, genomes: Sequence[tuple[int, object]], config: Any) -> Any:
        genomes = list(genomes)
        shards = _shards(len(genomes), self.workers)
        results: list[Any] = [None] * len(shards)
        todo = list(range(len(shards)))
        for _ in range(self.max_retries + 1):
            pool = self._pool
            if pool is None or config is not self._config:
                pool = self._start(config)
            # Levels travel with a shard only when they changed since the pool started (the
            # generated levels of each generation); fixed levels went with the initializer.
            levels = None if self.version == self._pool_version else self.levels
            futures: dict[int, Future] = {}
            for i in todo:
                shard = [genomes[j] for j in shards[i]]
                futures[i] = pool.submit(_process_shard, shard, self.version, levels)
            lost = []
            try:
                for i, future in futures.items():
                    try:
                        results[i] = future.result()
                    except BrokenProcessPool:
                        lost.append(i)
            except BaseException:  # Ctrl-C, or the evaluator's own error: stop the others now
                self._shutdown(kill=True)
                raise
            if not lost:
                return _concat(results)
            # A worker died (killed, out of memory, a crash in native code): start a new pool
            # and evaluate only the shards that did not come back.
            self._shutdown()
            self.rebuilds += 1
            todo = lost
        raise BackendError(
            f"evaluation worker processes died {self.max_retries + 1} times in one generation "
            f"({len(todo)} of {len(shards)} shards lost); giving up rather than scoring them"
        )

    def _shutdown(self, kill: bool = False) -> None:
        if self._pool is not None:
            if kill:  # shards still running are not waited for
                for process in list(getattr(self._pool, "_processes", {}).values()):
                    process.terminate()
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        self._shutdown()


# --------------------------------------------------------------------------------------------
# Ray
# --------------------------------------------------------------------------------------------


def import_ray() -> Any:
    """The ``ray`` module, or ``BackendError`` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise BackendError(RAY_INSTALL_HINT) from None
    return ray


def _project_packages() -> list[str]:
    """The directories of this project's packages that evaluation imports (for Ray's
    ``py_modules``; paths, as Ray Client cannot ship module objects)."""
    return [os.path.dirname(m.__file__) for m in (agent, envs)]


# The evaluator cached in each Ray worker process, keyed by the backend's run token: a worker
# builds it (and fetches the factory, config and levels) once, then reuses it for every shard.
_RAY_CACHE: dict[str, Any] = {}


def _ray_shard(token: str, refs: list, version: int, genomes: list) -> Any:
    """One shard in a Ray worker. ``refs`` = [setup, levels] object refs, inside a list so Ray
    does not fetch them with every task: they are fetched only on a cache miss."""
    ray = import_ray()
    setup_ref, levels_ref = refs
    if _RAY_CACHE.get("token") != token:
        old = _RAY_CACHE.pop("evaluator", None)
        if old is not None:
            _close(old)
        factory, config = ray.get(setup_ref)
        _RAY_CACHE.update(token=token, evaluator=factory.build(), config=config, version=0)
    evaluator = _RAY_CACHE["evaluator"]
    if _RAY_CACHE["version"] != version:
        evaluator.set_levels(ray.get(levels_ref))
        _RAY_CACHE["version"] = version
    return evaluator.evaluate_local(genomes, _RAY_CACHE["config"])


class RayBackend(_Versioned):
    """One Ray task per shard. ``address`` None starts a local Ray of its own (with ``workers``
    CPUs when given) unless this process is already connected to one; ``"auto"`` or
    ``"ray://HOST:PORT"`` joins an existing cluster, whose workers get this checkout's ``agent``
    and ``envs`` packages from the driver (Ray's ``py_modules``): every node needs only the
    dependencies installed. ``workers`` is the number of shards (default: the cluster's CPUs)."""

    name = "ray"

    def __init__(
        self,
        factory: EvaluatorFactory,
        workers: int | None = None,
        *,
        address: str | None = None,
        max_retries: int = 3,
        init_kwargs: dict[str, Any] | None = None,
    ):
        ray = import_ray()
        self._ray = ray
        self._owns_ray = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, **(init_kwargs or {})}
            if address is None and workers is not None:
                kwargs.setdefault("num_cpus", workers)
            if address is not None:
                # Workers on other machines run this checkout's code (shipped once per job and
                # cached by Ray), not whatever version they have installed; its dependencies
                # (numpy, numba, neat-python, ...) must be installed there.
                kwargs.setdefault("runtime_env", {"py_modules": _project_packages()})
            try:
                # "local": a Ray of our own, even where another one runs on this machine
                ray.init(address=address or "local", **kwargs)
            except Exception as exc:  # ConnectionError, an auth or version mismatch, ...
                where = address or "a local Ray"
                why = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise BackendError(f"cannot start or join {where}: {why}") from None
            self._owns_ray = True
        if workers is None:
            workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        super().__init__(factory, workers)
        self.max_retries = max_retries
        self._task = ray.remote(_ray_shard).options(max_retries=max_retries, num_cpus=1)
        self._token: str | None = None
        self._config: Any = None
        self._setup_ref: Any = None
        self._levels_ref: Any = None
        self._levels_ref_version = 0

    def evaluate(self, genomes: Sequence[tuple[int, object]], config: Any) -> Any:
        ray = self._ray
        genomes = list(genomes)
        if self._token is None or config is not self._config:
            # Once per run (and per config): workers fetch these when they first need them.
            self._token = uuid.uuid4().hex
            self._config = config
            self._setup_ref = ray.put((self.factory, config))
        if self.version != self._levels_ref_version:
            self._levels_ref = ray.put(self.levels)  # once per level set, not per shard
            self._levels_ref_version = self.version
        refs = [self._setup_ref, self._levels_ref]
        futures = [
            self._task.remote(self._token, refs, self.version, [genomes[j] for j in shard])
            for shard in _shards(len(genomes), self.workers)
        ]
        try:
            return _concat(ray.get(futures))
        except KeyboardInterrupt:
            for future in futures:  # no orphaned shards left running on the cluster
                ray.cancel(future, force=True)
            raise
        except ray.exceptions.RayTaskError as exc:
            if isinstance(exc.cause, ImportError):
                raise BackendError(
                    f"a Ray worker cannot import what evaluation needs ({exc.cause}); install "
                    'the project and its extras on every node: pip install -e ".[ray]"'
                ) from None
            raise exc.as_instanceof_cause() from None  # the evaluator's own error
        except ray.exceptions.RayError as exc:  # worker or node lost more often than retried
            raise BackendError(
                f"a Ray shard failed after {self.max_retries} retries: "
                f"{str(exc).strip().splitlines()[0]}"
            ) from exc

    def close(self) -> None:
        self._setup_ref = self._levels_ref = None
        if self._owns_ray and self._ray.is_initialized():
            self._ray.shutdown()
        self._owns_ray = False


def make_backend(
    name: str,
    factory: EvaluatorFactory,
    *,
    workers: int | None = None,
    address: str | None = None,
    **kwargs: Any,
) -> Backend:
    """The backend called ``name`` (one of ``BACKENDS``) evaluating with ``factory``.

    ``workers``: processes for ``processes`` (default: the CPU count), shards for ``ray``
    (default: the cluster's CPUs); ``local`` takes 1 or None. ``address`` is for ``ray`` only.
    """
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
    if address is not None and name != "ray":
        raise BackendError(f"a Ray address is for the ray backend, not {name!r}")
    if workers is not None and workers < 1:
        raise BackendError(f"workers must be at least 1, got {workers}")
    if name == "local":
        if workers not in (None, 1):
            raise BackendError(f"the local backend evaluates in one process, not {workers}")
        return LocalBackend(factory)
    if name == "processes":
        return ProcessBackend(factory, workers, **kwargs)
    return RayBackend(factory, workers, address=address, **kwargs)
