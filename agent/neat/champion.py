"""``champion.json``: a trained NEAT genome, self-contained, human-readable, loaded without pickle.

The file holds everything needed to rebuild and run the network: the genome's nodes (key, bias,
response, activation, aggregation) and connections (in, out, weight, enabled, innovation) in the
genome's own order, so a rebuilt ``neat.nn.RecurrentNetwork`` adds the same numbers in the same
order and gives bit-identical outputs; the NEAT config text it was evolved with (as a list of
lines); the environment and fitness settings it was scored under; its fitness and generation.
Format in ``docs/neat.md``.

``load_champion`` validates everything and raises ``ChampionError`` with one line naming the file
and the problem: a truncated or non-JSON file, a missing or mistyped field, a connection naming
an unknown node, a config that does not parse, inputs/outputs that do not fit the environment.
It reads only a regular file of at most ``MAX_CHAMPION_BYTES`` (``agent.files.read_bounded``:
not a FIFO or a device) and JSON nested at most ``agent.files.MAX_JSON_DEPTH`` deep.

The config text is parsed by ``agent.neat.config``; the play settings are checked against
``agent.neat.fitness.FitnessSettings``. Score a champion headless with ``agent.neat.score``::

    python -m agent.neat.score runs/neat-1-1/champion.json [--level 1-1 ...]
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import neat
from neat.graphs import creates_cycle

from agent.files import FileRefused, atomic_write_text, parse_json, read_bounded
from agent.neat.config import ConfigError, config_from_text
from agent.neat.fitness import FitnessSettings

__all__ = [
    "FORMAT",
    "VERSION",
    "Champion",
    "ChampionError",
    "champion_dict",
    "dumps_champion",
    "load_champion",
    "save_champion",
]

FORMAT = "mario-neat-lab/neat-champion"
VERSION = 1
NUM_BUTTONS = 6  # A, B, UP, DOWN, LEFT, RIGHT (envs.sim.constants.BUTTONS)
DEFAULT_VIEW_RADIUS = 6
#: A champion file larger than this is refused unread (a grown genome is well under 1 MB).
MAX_CHAMPION_BYTES = 32 << 20


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def champion_dict(
    genome: Any,
    config: neat.Config,
    config_text: str,
    *,
    fitness: float,
    generation: int,
    env_settings: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON object ``save_champion`` writes (nodes and connections in the genome's order)."""
    gc = config.genome_config
    nodes = []
    for key, ng in genome.nodes.items():
        node = {
            "key": int(key),
            "bias": float(ng.bias),
            "response": float(ng.response),
            "activation": str(ng.activation),
            "aggregation": str(ng.aggregation),
        }
        if hasattr(ng, "time_constant"):
            node["time_constant"] = float(ng.time_constant)
        nodes.append(node)
    connections = [
        {
            "in": int(cg.key[0]),
            "out": int(cg.key[1]),
            "weight": float(cg.weight),
            "enabled": bool(cg.enabled),
            "innovation": int(cg.innovation),
        }
        for cg in genome.connections.values()
    ]
    return {
        "format": FORMAT,
        "version": VERSION,
        "fitness": float(fitness),
        "generation": int(generation),
        "genome_key": int(genome.key) if genome.key is not None else None,
        "num_inputs": int(gc.num_inputs),
        "num_outputs": int(gc.num_outputs),
        "feed_forward": bool(gc.feed_forward),
        "nodes": nodes,
        "connections": connections,
        "env_settings": dict(env_settings),
        "extra": dict(extra or {}),
        "config": config_text.splitlines(),
    }


def dumps_champion(data: dict[str, Any]) -> str:
    """Pretty JSON: objects spread over lines, each node and connection on a line of its own."""
    return _fmt(data, 0) + "\n"


def _fmt(value: Any, indent: int) -> str:
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(k)}: {_fmt(v, indent + 2)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and value:
        flat = json.dumps(value, allow_nan=False)
        nested = any(isinstance(v, dict | list) for v in value)
        if not nested and len(flat) <= 90:
            return flat
        lines = [inner + json.dumps(v, allow_nan=False) for v in value]
        return "[\n" + ",\n".join(lines) + "\n" + pad + "]"
    return json.dumps(value, allow_nan=False)


def save_champion(
    path: str | Path,
    genome: Any,
    config: neat.Config,
    config_text: str,
    *,
    fitness: float,
    generation: int,
    env_settings: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> None:
    """Write ``champion.json`` atomically (a crash leaves the previous champion intact)."""
    data = champion_dict(
        genome,
        config,
        config_text,
        fitness=fitness,
        generation=generation,
        env_settings=env_settings,
        extra=extra,
    )
    atomic_write_text(path, dumps_champion(data))


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


class ChampionError(ValueError):
    """A champion file that cannot be used; the message is one line naming the file."""


@dataclass
class Champion:
    """A loaded champion: a real neat genome plus the config and settings it was evolved with."""

    genome: Any  # neat.DefaultGenome
    config: neat.Config
    config_text: str
    fitness: float
    generation: int
    env_settings: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def num_inputs(self) -> int:
        return int(self.config.genome_config.num_inputs)

    @property
    def num_outputs(self) -> int:
        return int(self.config.genome_config.num_outputs)

    @property
    def view_radius(self) -> int:
        return int(self.env_settings.get("view_radius", DEFAULT_VIEW_RADIUS))

    def network(self) -> neat.nn.RecurrentNetwork:
        """neat-python's own network for the genome (one genome, one step per ``activate``)."""
        return neat.nn.RecurrentNetwork.create(self.genome, self.config)


_INT = (int,)
_NUM = (int, float)


class _Reader:
    """Typed field access with ``ChampionError`` messages naming the file and the field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, msg: str) -> ChampionError:
        return ChampionError(f"{self.path}: {msg}")

    def get(self, obj: dict, key: str, types: tuple, where: str, default: Any = ...) -> Any:
        if key not in obj:
            if default is not ...:
                return default
            raise self.fail(f"missing field {key!r}{where}")
        value = obj[key]
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
        if not ok:
            want = " or ".join(t.__name__ for t in types).replace("int or float", "number")
            raise self.fail(
                f"field {key!r}{where} must be {want}, got {type(value).__name__} {value!r:.40}"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(f"field {key!r}{where} must be finite, got {value!r}")
        return value


def _check_env_settings(r: Any, env: dict[str, Any]) -> None:
    """The play settings an agent is rebuilt from must be usable: the same checks as the
    trainer's FitnessSettings, which check every field's type and range."""
    try:
        FitnessSettings.from_env_settings(env)
    except (TypeError, ValueError) as exc:
        raise r.fail(f"env_settings: {exc}") from None
    levels = env.get("levels", [])
    if levels is not None and (
        not isinstance(levels, list) or not all(isinstance(x, str) for x in levels)
    ):
        raise r.fail("env_settings field 'levels' must be a list of level names or paths")


def load_champion(path: str | Path, *, view_radius: int | None = None) -> Champion:
    """Load and validate ``champion.json``; ``ChampionError`` (one line) if it cannot be used.

    The inputs and outputs must fit the environment: ``num_inputs`` those of the input encoding
    in the file's env settings (``agent.neat.inputs``; by default the (2r + 1)^2 grid for the
    view radius ``r``: ``view_radius`` if given, else the one stored in the file's env
    settings, else 6) and 6 outputs, one per button.
    """
    path = Path(path)
    r = _Reader(path)
    try:
        raw = read_bounded(path, MAX_CHAMPION_BYTES, "champion file")
    except FileRefused as exc:
        raise ChampionError(str(exc)) from None
    except FileNotFoundError:
        raise r.fail("no such champion file") from None
    except OSError as exc:
        raise r.fail(f"cannot read the champion file: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise r.fail(
            f"not a champion file (binary data: undecodable byte at offset {exc.start})"
        ) from None
    try:
        data = parse_json(text)
    except json.JSONDecodeError as exc:
        end = text.rstrip()
        cut = exc.pos >= len(end) or (end[:1] == "{" and not end.endswith("}"))
        hint = " (the file looks truncated)" if cut else ""
        raise r.fail(
            f"not valid JSON{hint}: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except ValueError as exc:
        raise r.fail(f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise r.fail(f"expected a JSON object at the top level, got {type(data).__name__}")

    fmt = r.get(data, "format", (str,), "")
    if fmt != FORMAT:
        raise r.fail(f"not a NEAT champion file (format {fmt!r}, expected {FORMAT!r})")
    version = r.get(data, "version", _INT, "")
    if version != VERSION:
        raise r.fail(f"unsupported champion version {version} (this code reads {VERSION})")

    fitness = float(r.get(data, "fitness", _NUM, ""))
    generation = r.get(data, "generation", _INT, "")
    if generation < 0:
        raise r.fail(f"field 'generation' must be >= 0, got {generation}")
    genome_key = r.get(data, "genome_key", (int, type(None)), "", default=None)
    num_inputs = r.get(data, "num_inputs", _INT, "")
    num_outputs = r.get(data, "num_outputs", _INT, "")
    feed_forward = r.get(data, "feed_forward", (bool,), "")
    env = r.get(data, "env_settings", (dict,), "")
    extra = r.get(data, "extra", (dict,), "", default={})
    config_lines = r.get(data, "config", (list,), "")
    if not all(isinstance(line, str) for line in config_lines):
        raise r.fail("field 'config' must be a list of strings (the config file's lines)")
    config_text = "\n".join(config_lines) + "\n"

    _check_env_settings(r, env)
    radius = view_radius if view_radius is not None else env.get("view_radius", 6)
    try:  # the file's own radius was checked with its box; another one may not fit the box
        enc = FitnessSettings.from_env_settings({**env, "view_radius": radius}).encoding
    except ValueError as exc:
        raise r.fail(f"env_settings with view radius {radius}: {exc}") from None
    if num_inputs != enc.num_inputs:
        view = (
            f"the environment's view (radius {radius}, {enc.size} x {enc.size}) has "
            f"{enc.num_inputs}"
            if enc.identity
            else f"its env settings' view, {enc.describe()}"
        )
        raise r.fail(f"the champion has {num_inputs} inputs, but {view}")
    if num_outputs != NUM_BUTTONS:
        raise r.fail(
            f"the champion has {num_outputs} outputs, but the environment has {NUM_BUTTONS} buttons"
        )

    try:
        config = config_from_text(config_text, source="its config")
    except ConfigError as exc:
        raise r.fail(str(exc)) from None
    gc = config.genome_config
    for name, have, want in (
        ("num_inputs", num_inputs, gc.num_inputs),
        ("num_outputs", num_outputs, gc.num_outputs),
        ("feed_forward", feed_forward, gc.feed_forward),
    ):
        if have != want:
            raise r.fail(f"{name} = {have} does not match its config's {name} = {want}")

    genome = config.genome_type(genome_key)
    genome.fitness = fitness
    _read_nodes(r, r.get(data, "nodes", (list,), ""), genome, config)
    _read_connections(r, r.get(data, "connections", (list,), ""), genome, config)
    return Champion(genome, config, config_text, fitness, generation, env, extra, path)


def _read_nodes(r: _Reader, nodes: list, genome: Any, config: neat.Config) -> None:
    gc = config.genome_config
    for i, node in enumerate(nodes):
        where = f" of node #{i}"
        if not isinstance(node, dict):
            raise r.fail(f"node #{i} must be an object, got {type(node).__name__}")
        key = r.get(node, "key", _INT, where)
        if key < 0:
            raise r.fail(f"node #{i} has key {key}: negative keys are input pins, not nodes")
        if key >= 2**62:  # the compiled networks hold node keys in int64
            raise r.fail(f"node #{i} has key {key}: keys must be below 2**62")
        if key in genome.nodes:
            raise r.fail(f"node key {key} appears twice")
        ng = gc.node_gene_type(key)
        ng.bias = float(r.get(node, "bias", _NUM, where))
        ng.response = float(r.get(node, "response", _NUM, where))
        ng.activation = r.get(node, "activation", (str,), where)
        ng.aggregation = r.get(node, "aggregation", (str,), where)
        if not gc.activation_defs.is_valid(ng.activation):
            raise r.fail(f"node {key} has unknown activation {ng.activation!r}")
        if not gc.aggregation_function_defs.is_valid(ng.aggregation):
            raise r.fail(f"node {key} has unknown aggregation {ng.aggregation!r}")
        if hasattr(ng, "time_constant") or "time_constant" in node:
            ng.time_constant = float(r.get(node, "time_constant", _NUM, where, default=1.0))
        genome.nodes[key] = ng
    missing = [k for k in gc.output_keys if k not in genome.nodes]
    if missing:
        raise r.fail(
            f"output node {missing[0]} is missing (outputs are nodes 0..{gc.num_outputs - 1})"
        )


def _read_connections(r: _Reader, connections: list, genome: Any, config: neat.Config) -> None:
    gc = config.genome_config
    inputs = set(gc.input_keys)
    enabled_keys: list[tuple[int, int]] = []
    for i, conn in enumerate(connections):
        where = f" of connection #{i}"
        if not isinstance(conn, dict):
            raise r.fail(f"connection #{i} must be an object, got {type(conn).__name__}")
        src = r.get(conn, "in", _INT, where)
        dst = r.get(conn, "out", _INT, where)
        for end, key in (("in", src), ("out", dst)):
            if key not in genome.nodes and not (end == "in" and key in inputs):
                what = "input pin or node" if end == "in" else "node"
                raise r.fail(f"connection #{i} ({src} -> {dst}) names unknown {what} {key}")
        if (src, dst) in genome.connections:
            raise r.fail(f"connection {src} -> {dst} appears twice")
        innovation = r.get(conn, "innovation", _INT, where, default=i + 1)
        cg = gc.connection_gene_type((src, dst), innovation=innovation)
        cg.weight = float(r.get(conn, "weight", _NUM, where))
        cg.enabled = r.get(conn, "enabled", (bool,), where)
        if gc.feed_forward and cg.enabled:
            if creates_cycle(enabled_keys, (src, dst)):
                raise r.fail(
                    f"connection #{i} ({src} -> {dst}) closes a cycle in a feed-forward genome"
                )
            enabled_keys.append((src, dst))
        genome.connections[(src, dst)] = cg
