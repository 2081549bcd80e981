"""NEAT config files: read, parsed strictly, with this project's custom activations registered.

``config_from_text`` builds a ``neat.Config`` (default genome, reproduction and stagnation,
and the species set the config names) from config text, as the trainer reads it from a file
(``read_config_file``) and a champion or checkpoint carries it; every problem is a one-line
``ConfigError`` naming its source. ``DEFAULT_CONFIG`` is the shipped ``configs/neat.ini``.

The species set is chosen by its section: ``[DefaultSpeciesSet]`` (neat-python's, one fixed
compatibility threshold) or ``[TargetSpeciesSet]`` (``agent.neat.species``: a threshold that
moves to hold a target species count). A config has exactly one of them.
"""

from __future__ import annotations

import configparser
import os
import tempfile
from pathlib import Path

import neat

from agent.files import FileRefused, read_bounded
from agent.neat.activations import register_custom
from agent.neat.species import TargetSpeciesSet

__all__ = [
    "CONFIG_SECTIONS",
    "SPECIES_SETS",
    "DEFAULT_CONFIG",
    "ConfigError",
    "check_run_config",
    "config_from_text",
    "read_config_file",
]

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "neat.ini"

# The config sections neat-python reads for the default genome/reproduction/stagnation ...
CONFIG_SECTIONS = (
    "NEAT",
    "DefaultGenome",
    "DefaultStagnation",
    "DefaultReproduction",
)
#: ... and the species sets a config may name by its section (exactly one of them).
SPECIES_SETS = {"DefaultSpeciesSet": neat.DefaultSpeciesSet, "TargetSpeciesSet": TargetSpeciesSet}


#: A NEAT config file larger than this is refused unread.
MAX_CONFIG_BYTES = 1 << 20


class ConfigError(ValueError):
    """A NEAT config file that cannot be used; the message is one line naming the file."""


def _one_line(exc: BaseException) -> str:
    parts = [p.strip() for p in str(exc).splitlines() if p.strip()]
    return " ".join(parts) or type(exc).__name__


def read_config_file(path: str | Path) -> str:
    """The text of a NEAT config file; ``ConfigError`` if it is missing, not text, not a regular
    file (a FIFO, a device) or larger than ``MAX_CONFIG_BYTES``."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such config file")
    try:
        return read_bounded(path, MAX_CONFIG_BYTES, "NEAT config file").decode("utf-8")
    except FileRefused as exc:
        raise ConfigError(str(exc)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not a text config file (undecodable byte at offset {exc.start})"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config: {exc.strerror}") from None


def config_from_text(text: str, source: str = "<config>") -> neat.Config:
    """Parse NEAT config text into a ``neat.Config`` (default genome, reproduction, species set
    and stagnation), with this project's custom activations registered.

    The species set is the one whose section the text has (``SPECIES_SETS``). Stricter than
    neat-python: unknown sections, two species-set sections, unknown ``[DefaultGenome]`` keys
    (neat only rejects unknown keys in the other sections) and activation/aggregation names
    that no function is registered for are errors too. Every problem is a ``ConfigError`` whose
    one-line message starts with ``source``.
    """
    parser = configparser.ConfigParser()
    try:
        parser.read_string(text, source=source)
    except configparser.Error as exc:
        raise ConfigError(f"{source}: cannot parse the config: {_one_line(exc)}") from None
    unknown = [s for s in parser.sections() if s not in (*CONFIG_SECTIONS, *SPECIES_SETS)]
    if unknown:
        raise ConfigError(
            f"{source}: unknown section [{unknown[0]}]; expected {', '.join(CONFIG_SECTIONS)} "
            f"and one of {' or '.join(SPECIES_SETS)}"
        )
    missing = [s for s in CONFIG_SECTIONS if not parser.has_section(s)]
    if missing:
        raise ConfigError(f"{source}: missing section [{missing[0]}]")
    species_sets = [s for s in SPECIES_SETS if parser.has_section(s)]
    if len(species_sets) != 1:
        raise ConfigError(
            f"{source}: expected one species-set section, {' or '.join(SPECIES_SETS)}; got "
            f"{len(species_sets)}"
        )

    # neat.Config only reads files: hand it a private temporary copy.
    with tempfile.TemporaryDirectory(prefix="neat-config-") as tmp:
        tmp_path = os.path.join(tmp, "config.ini")
        with open(tmp_path, "w", encoding="utf-8") as f:
            f.write(text)
        try:
            config = neat.Config(
                neat.DefaultGenome,
                neat.DefaultReproduction,
                SPECIES_SETS[species_sets[0]],
                neat.DefaultStagnation,
                tmp_path,
            )
        except Exception as exc:  # neat raises bare Exception, RuntimeError, NameError, ...
            raise ConfigError(f"{source}: {_one_line(exc)}") from None

    gc = config.genome_config
    known = {p.name for p in gc._params}
    extra = [k for k in parser["DefaultGenome"] if k not in known]
    if extra:
        raise ConfigError(f"{source}: unknown configuration item {extra[0]!r} in [DefaultGenome]")
    register_custom(config)
    for kind, options, defs in (
        ("activation", gc.activation_options, gc.activation_defs),
        ("aggregation", gc.aggregation_options, gc.aggregation_function_defs),
    ):
        for name in options:
            if not defs.is_valid(name):
                raise ConfigError(f"{source}: unknown {kind} function {name!r} in {kind}_options")
    if config.pop_size < 2:
        raise ConfigError(f"{source}: pop_size must be at least 2, got {config.pop_size}")
    return config


def check_run_config(config: neat.Config, source: str) -> None:
    """Settings that parse but that no run can evolve with, as a one-line ``ConfigError``
    naming ``source``, before a run directory is made (neat-python finds the species minimum
    only while reproducing generation 0, and takes the others silently)."""
    rc, gc = config.reproduction_config, config.genome_config
    least = max(rc.elitism, rc.min_species_size)
    if least > config.pop_size:
        raise ConfigError(
            f"{source}: pop_size = {config.pop_size} cannot hold even one species of "
            f"max(elitism, min_species_size) = {least} genomes; raise pop_size or lower those"
        )
    checks = [
        ("survival_threshold", rc.survival_threshold,
         0.0 < rc.survival_threshold <= 1.0, "within (0, 1]"),
        ("compatibility_threshold", config.species_set_config.compatibility_threshold,
         config.species_set_config.compatibility_threshold > 0, "> 0"),
        ("max_stagnation", config.stagnation_config.max_stagnation,
         config.stagnation_config.max_stagnation >= 1, ">= 1"),
        ("species_elitism", config.stagnation_config.species_elitism,
         config.stagnation_config.species_elitism >= 0, ">= 0"),
        ("num_hidden", gc.num_hidden, gc.num_hidden >= 0, ">= 0"),
    ]  # fmt: skip
    for p in gc._params:
        value = getattr(gc, p.name, None)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if p.name.endswith(("_prob", "_rate")):
            checks.append((p.name, value, 0.0 <= value <= 1.0, "within [0, 1]"))
        elif p.name.endswith(("_stdev", "_power")):
            checks.append((p.name, value, value >= 0.0, ">= 0"))
    for name, value, ok, want in checks:
        if not ok:  # NaN fails every comparison, so it lands here too
            raise ConfigError(f"{source}: {name} must be {want}, got {value}")
