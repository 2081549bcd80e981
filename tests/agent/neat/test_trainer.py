"""The NEAT trainer: determinism, resume equality, run files, and errors before any write.

Runs use a tiny population (12 genomes, derived from the shipped ``configs/neat.ini``) on a short
hand-written level, so a generation takes milliseconds.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from agent.neat.champion import load_champion
from agent.neat.checkpoint import CheckpointError, load_checkpoint
from agent.neat.cli import GENERALIST
from agent.neat.config import ConfigError, config_from_text
from agent.neat.evaluator import PopulationEvaluator
from agent.neat.fitness import ConfigMismatch, FitnessSettings, check_config_matches
from agent.neat.settings import generation_seeds, pool_seed
from agent.neat.trainer import (
    CHAMPION_FILE,
    CHECKPOINT_FILE,
    CONFIG_FILE,
    DEFAULT_CONFIG,
    METRICS_FILE,
    TrainError,
    TrainSettings,
    level_seed,
    load_run_settings,
    next_difficulty,
    train,
    validation_seed,
)
from envs.levels.generator import generate_level
from envs.levels.level import LevelError
from tests.helpers.neat import (
    EASY_LEVEL_TEXT,
    METRIC_KEYS,
    read_metrics,
    set_key,
    settings_for,
    snapshot,
    tiny_config_text,
    untimed,
    write_tiny_setup,
)


def test_shipped_configs_fit_the_environment():
    """configs/neat.ini, configs/neat_feedforward.ini and configs/neat_generalist.ini parse
    strictly and fit the 6 buttons and their inputs (the 169-cell grid; the generalist preset's
    encoding); the variants differ from neat.ini only in feed_forward and num_inputs."""
    texts = {}
    generalist = FitnessSettings(view_box=GENERALIST["view_box"], view_planes="split").encoding
    for name in ("neat.ini", "neat_feedforward.ini", "neat_generalist.ini"):
        path = DEFAULT_CONFIG.parent / name
        texts[name] = path.read_text()
        config = config_from_text(texts[name], str(path))
        check_config_matches(config, inputs=generalist if name == "neat_generalist.ini" else None)
        assert config.pop_size == 300 and config.no_fitness_termination
        assert config.genome_config.feed_forward == (name == "neat_feedforward.ini")
    assert GENERALIST["config"] == DEFAULT_CONFIG.parent / "neat_generalist.ini"
    a, b, c = ([x for x in t.splitlines() if not x.startswith("#")] for t in texts.values())
    diff = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    assert diff == [("feed_forward = False", "feed_forward = True")]
    diff = [(x, y) for x, y in zip(a, c, strict=True) if x != y]
    assert diff == [("num_inputs   = 169", f"num_inputs   = {generalist.num_inputs}")]


@pytest.mark.slow
def test_a_run_writes_its_files(tmp_path):
    """A run leaves champion.json (loadable, best fitness of all generations), metrics.jsonl
    (one line per generation with the documented keys), the checkpoint and the config copy."""
    s = settings_for(tmp_path, "run", generations=3, checkpoint_every=2)
    result = train(s, progress=False)
    run = tmp_path / "run"
    assert {CHAMPION_FILE, METRICS_FILE, CHECKPOINT_FILE, CONFIG_FILE} <= set(snapshot(run))
    metrics = read_metrics(run)
    assert [m["generation"] for m in metrics] == [0, 1, 2]
    assert all(METRIC_KEYS <= set(m) for m in metrics)
    assert metrics == result.metrics
    assert metrics[-1]["frames"] == result.frames_simulated > 0
    champ = load_champion(run / CHAMPION_FILE)
    assert champ.fitness == max(m["best_fitness"] for m in metrics) == result.champion_fitness
    assert load_checkpoint(run / CHECKPOINT_FILE).generation == 3
    assert (run / CONFIG_FILE).read_text() == s.config.read_text()


@pytest.mark.slow
def test_same_seed_same_champion(tmp_path):
    """Two runs with the same settings and seed give byte-identical champion.json files and the
    same metrics (timings aside); another seed gives another population."""
    a = train(settings_for(tmp_path, "a"), progress=False)
    b = train(settings_for(tmp_path, "b"), progress=False)
    c = train(settings_for(tmp_path, "c", seed=1), progress=False)
    champ_a = (a.out / CHAMPION_FILE).read_text()
    assert champ_a == (b.out / CHAMPION_FILE).read_text()
    assert untimed(a.metrics) == untimed(b.metrics)
    assert untimed(a.metrics) != untimed(c.metrics)


@pytest.mark.slow
def test_resume_continues_exactly(tmp_path):
    """4 generations straight == 2 generations, then resume for 2 more: same champion, same
    metrics (timings aside), same final population. Lines and a champion written after the
    last checkpoint (a crash) are replaced by the replay."""
    straight = train(
        settings_for(tmp_path, "straight", generations=4, checkpoint_every=2), progress=False
    )

    split = tmp_path / "split"
    first = train(
        settings_for(tmp_path, "split", generations=2, checkpoint_every=3), progress=False
    )
    assert first.generations == 2
    # Simulate a crash after a checkpoint: a stray metrics line and a bogus champion.
    with open(split / METRICS_FILE, "a") as f:
        f.write(json.dumps({"generation": 2, "best_fitness": 1e9}) + "\n")
    bogus = json.loads((straight.out / CHAMPION_FILE).read_text())
    bogus["fitness"] = 1e9  # unlike anything the run can produce: the replay must replace it
    (split / CHAMPION_FILE).write_text(json.dumps(bogus))
    resumed = train(settings_for(tmp_path, "split", generations=4), resume=split, progress=False)

    assert resumed.resumed_from == 2
    assert (split / CHAMPION_FILE).read_text() == (straight.out / CHAMPION_FILE).read_text()
    assert untimed(read_metrics(split)) == untimed(read_metrics(straight.out))
    a = load_checkpoint(straight.out / CHECKPOINT_FILE)
    b = load_checkpoint(split / CHECKPOINT_FILE)
    assert a.generation == b.generation == 4
    assert a.random_state == b.random_state
    assert str_genomes(a.population) == str_genomes(b.population)
    assert (a.next_genome_id, a.next_node_id, a.next_species_id) == (
        b.next_genome_id,
        b.next_node_id,
        b.next_species_id,
    )


def str_genomes(population: dict) -> list[str]:
    return [f"{k} {g}" for k, g in population.items()]


@pytest.mark.slow
def test_resume_settings_come_from_the_checkpoint(tmp_path):
    """load_run_settings gives back the run's settings; resuming with a different run-defining
    setting (seed) is refused before anything is written."""
    s = settings_for(tmp_path, "run", generations=2)
    train(s, progress=False)
    run = tmp_path / "run"
    loaded = load_run_settings(run)
    assert loaded.seed == s.seed and loaded.levels == s.levels and loaded.config is None
    before = snapshot(run)
    with pytest.raises(TrainError, match="seed"):
        train(settings_for(tmp_path, "run", generations=3, seed=5), resume=run, progress=False)
    assert snapshot(run) == before


@pytest.mark.slow
def test_stops_when_solved(tmp_path):
    """With stop_when_solved the run ends at the first generation whose champion completes every
    training level; the champion file says so."""
    level = tmp_path / "easy.txt"
    level.write_text(EASY_LEVEL_TEXT)
    s = settings_for(tmp_path, "run", levels=[str(level)], generations=20, stop_when_solved=True)
    result = train(s, progress=False)
    assert result.solved and result.generations < 20
    assert result.champion_completed == result.champion_levels == 1
    assert load_champion(result.champion_path).extra["completed"] == [True]
    # Resuming a solved run has nothing to do.
    again = train(s, resume=result.out, progress=False)
    assert again.generations == result.generations


@pytest.mark.slow
def test_generated_levels_follow_the_seed_schedule(tmp_path):
    """With generated=N each generation plays N fresh levels whose seeds come from the run seed
    and the generation (recorded in the metrics); the schedule is deterministic."""
    s = settings_for(tmp_path, "run", levels=[], generated=2, generated_length=40, generations=2)
    result = train(s, progress=False)
    seeds = [m["level_seeds"] for m in result.metrics]
    assert seeds == [[level_seed(0, g, i) for i in range(2)] for g in range(2)]
    assert len({x for pair in seeds for x in pair}) == 4
    assert all(m["levels"] == 2 for m in result.metrics)


def test_config_env_mismatch_is_refused(tmp_path):
    """A config whose inputs or outputs do not fit the 13 x 13 grid / 6 buttons stops training
    with a ConfigMismatch naming the file; nothing is written."""
    for key, value, word in (("num_inputs", 100, "num_inputs"), ("num_outputs", 4, "buttons")):
        config, level = write_tiny_setup(tmp_path / key, **{key: value})
        s = TrainSettings(levels=[str(level)], config=config, out=tmp_path / "out")
        with pytest.raises(ConfigMismatch, match=word) as info:
            train(s, progress=False)
        assert str(config) in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("section", "line", "match"),
    [
        ("[NEAT]", "pop_sise = 3", "pop_sise"),  # rejected by neat-python itself
        ("[DefaultGenome]", "conn_add_prop = 0.5", "conn_add_prop"),  # by our stricter check
        ("[DefaultStagnation]", "max_stagnation_x = 3", "max_stagnation_x"),
    ],
)
def test_unknown_config_key_is_refused(tmp_path, section, line, match):
    """An unknown key in any section is a one-line ConfigError naming the file and the key."""
    config, level = write_tiny_setup(tmp_path)
    config.write_text(config.read_text().replace(section, f"{section}\n{line}", 1))
    with pytest.raises(ConfigError, match=match) as info:
        train(TrainSettings(levels=[str(level)], config=config, out=tmp_path / "o"), progress=False)
    assert str(config) in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "o").exists()


def test_bad_config_values_are_refused(tmp_path):
    """A missing config file, an unknown activation and a missing required key are
    ConfigErrors with one line each."""
    _, level = write_tiny_setup(tmp_path)
    cases = {
        "missing.ini": None,
        "act.ini": set_key(tiny_config_text(), "activation_options", "tahn"),
        "nokey.ini": re.sub(r"^conn_add_prob\s*=.*\n", "", tiny_config_text(), flags=re.M),
    }
    for name, text in cases.items():
        path = tmp_path / name
        if text is not None:
            path.write_text(text)
        s = TrainSettings(levels=[str(level)], config=path, out=tmp_path / "o")
        with pytest.raises(ConfigError) as info:
            train(s, progress=False)
        assert str(path) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.slow
def test_failing_starts_overwrite_nothing(tmp_path):
    """A fresh run into a directory holding a run, a missing level, a corrupt checkpoint and an
    incompatible config on resume all fail before writing: the run's files are unchanged."""
    s = settings_for(tmp_path, "run", generations=2)
    train(s, progress=False)
    run = tmp_path / "run"
    before = snapshot(run)

    with pytest.raises(TrainError, match="already holds a training run"):
        train(s, progress=False)
    with pytest.raises(LevelError):
        train(TrainSettings(levels=["no/such/level.txt"], out=tmp_path / "o"), progress=False)
    assert not (tmp_path / "o").exists()
    recurrent = tmp_path / "ff.ini"
    recurrent.write_text(tiny_config_text(feed_forward=True))
    with pytest.raises(ConfigError, match="feed_forward"):
        train(TrainSettings(**{**s.__dict__, "config": recurrent}), resume=run, progress=False)
    assert snapshot(run) == before

    broken = tmp_path / "broken"
    shutil.copytree(run, broken)
    data = (broken / CHECKPOINT_FILE).read_bytes()
    (broken / CHECKPOINT_FILE).write_bytes(data[: len(data) // 2])
    before = snapshot(broken)
    with pytest.raises(CheckpointError, match="truncated"):
        train(s, resume=broken, progress=False)
    assert snapshot(broken) == before


@pytest.mark.slow
def test_a_run_stopped_in_its_first_generation_can_be_resumed(tmp_path, monkeypatch):
    """Ctrl-C during generation 0 leaves a checkpoint of the start, so --resume works and ends
    like an uninterrupted run (the directory is never left unusable)."""
    import agent.neat.evaluator as neat_eval

    straight = train(settings_for(tmp_path, "straight", generations=2), progress=False)
    real = neat_eval.PopulationEvaluator.evaluate_local

    def interrupted(self, genomes, config):
        raise KeyboardInterrupt

    monkeypatch.setattr(neat_eval.PopulationEvaluator, "evaluate_local", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(settings_for(tmp_path, "cut", generations=2), progress=False)
    monkeypatch.setattr(neat_eval.PopulationEvaluator, "evaluate_local", real)
    cut = tmp_path / "cut"
    assert load_checkpoint(cut / CHECKPOINT_FILE).generation == 0
    resumed = train(settings_for(tmp_path, "cut", generations=2), resume=cut, progress=False)
    assert resumed.resumed_from == 0
    assert (cut / CHAMPION_FILE).read_text() == (straight.out / CHAMPION_FILE).read_text()


# --------------------------------------------------------------------------------------------
# Generalisation: held-out validation levels and the difficulty curriculum
# --------------------------------------------------------------------------------------------


def generated_settings(tmp: Path, out: str, **kw: object) -> TrainSettings:
    """Tiny runs on 2 short generated levels per generation (no fixed levels)."""
    base: dict = dict(levels=[], generated=2, generated_length=40, generations=4)
    base.update(kw)
    return settings_for(tmp, out, **base)


@pytest.mark.slow
def test_validation_levels_choose_the_champion(tmp_path):
    """With validation=N the champion is the genome that scored best on N fixed held-out
    generated levels (seeds apart from every training seed): champion.json records that score,
    re-playing the champion there gives it back, and the champion's validation score never
    falls from one generation to the next."""
    s = generated_settings(tmp_path, "run", validation=3, generations=5)
    result = train(s, progress=False)
    held_out = [validation_seed(0, i) for i in range(3)]
    trained = {x for m in result.metrics for x in m["level_seeds"]}
    assert len(set(held_out)) == 3 and not trained & set(held_out)

    champ = load_champion(result.champion_path)
    levels = [generate_level(x, s.difficulty, s.generated_length) for x in held_out]
    ev = PopulationEvaluator(levels, FitnessSettings()).evaluate([(1, champ.genome)], champ.config)
    assert champ.extra["validation_fitness"] == pytest.approx(float(ev.fitness[0]))
    assert champ.extra["validation_completed"] == [bool(x) for x in ev.completed[0]]
    scores = [m["champion_validation_fitness"] for m in result.metrics]
    assert scores == sorted(scores)
    assert scores[-1] == max(m["validation_fitness"] for m in result.metrics)
    assert champ.env_settings["validation"] == 3


def test_next_difficulty_steps_up_to_the_target():
    """The curriculum raises the difficulty by one step when the best genome finished at least
    the required share of the generated levels, never beyond ``difficulty``; without a
    curriculum, or below the share, the difficulty stays."""
    s = TrainSettings(generated=4, difficulty=0.3, curriculum=0.1, curriculum_step=0.15)
    assert next_difficulty(s, 0.1, 0.5) == 0.25
    assert next_difficulty(s, 0.25, 1.0) == 0.3
    assert next_difficulty(s, 0.3, 1.0) == 0.3
    assert next_difficulty(s, 0.1, 0.25) == 0.1
    plain = TrainSettings(generated=4, difficulty=0.3)
    assert next_difficulty(plain, 0.3, 1.0) == 0.3


@pytest.mark.slow
def test_curriculum_raises_the_difficulty_as_levels_are_finished(tmp_path):
    """With a curriculum the first generation plays levels at the start difficulty, and each
    next generation's difficulty follows next_difficulty from the previous generation's best
    (recorded in the metrics); generated levels are made at that difficulty."""
    s = generated_settings(
        tmp_path, "run", curriculum=0.0, curriculum_step=0.1, curriculum_share=0.5,
        generations=8,
    )  # fmt: skip
    result = train(s, progress=False)
    ms = result.metrics
    assert ms[0]["difficulty"] == 0.0
    for prev, m in zip(ms, ms[1:], strict=False):
        share = prev["best_completed"] / prev["levels"]
        assert m["difficulty"] == next_difficulty(s, prev["difficulty"], share)
    assert all(0.0 <= m["difficulty"] <= s.difficulty for m in ms)
    assert ms[-1]["difficulty"] > 0.0  # the tiny population does finish the easiest levels
    champ = load_champion(result.champion_path)
    gen = ms[champ.generation]
    assert champ.extra["levels_evaluated"] == [
        generate_level(x, gen["difficulty"], 40).name for x in gen["level_seeds"]
    ]


def test_a_level_pool_draws_distinct_levels_of_the_pool_each_generation(tmp_path):
    """With level_pool P each generation's generated levels are distinct members of the run's
    pool (pool_seed(seed, 0..P-1)), drawn anew each generation from (seed, generation) alone:
    the same settings draw the same, another seed another pool; the draws cover the pool."""
    s = generated_settings(tmp_path, "run", generated=4, level_pool=10, seed=3)
    pool = {pool_seed(3, j) for j in range(10)}
    draws = [generation_seeds(s, g) for g in range(30)]
    assert all(len(set(d)) == 4 and set(d) <= pool for d in draws)
    assert len({tuple(d) for d in draws}) > 20 and set().union(*draws) == pool
    assert draws == [generation_seeds(s, g) for g in range(30)]
    other = generated_settings(tmp_path, "run", generated=4, level_pool=10, seed=4)
    assert not set(generation_seeds(other, 0)) & pool
    fresh = generated_settings(tmp_path, "run", generated=4, seed=3)
    assert generation_seeds(fresh, 2) == [level_seed(3, 2, i) for i in range(4)]


@pytest.mark.slow
def test_curriculum_and_validation_resume_exactly(tmp_path):
    """A run with a curriculum and validation levels, stopped after 3 generations and resumed
    to 6, ends with the champion and metrics of one never stopped; changing the curriculum,
    the validation levels or the score on resume is refused before anything is written."""
    kw: dict = dict(curriculum=0.0, curriculum_step=0.1, validation=2, generations=6)
    straight = train(generated_settings(tmp_path, "straight", **kw), progress=False)
    split = tmp_path / "split"
    first = {**kw, "generations": 3, "checkpoint_every": 3}
    train(generated_settings(tmp_path, "split", **first), progress=False)
    resumed = train(generated_settings(tmp_path, "split", **kw), resume=split, progress=False)
    assert resumed.resumed_from == 3
    assert (split / CHAMPION_FILE).read_text() == (straight.out / CHAMPION_FILE).read_text()
    assert untimed(read_metrics(split)) == untimed(read_metrics(straight.out))
    before = snapshot(split)
    for change in (
        {"curriculum": 0.1},
        {"validation": 3},
        {"curriculum_share": 1.0},
        {"score": "progress"},
        {"level_pool": 8},
    ):
        name = next(iter(change))
        with pytest.raises(TrainError, match=name):
            train(generated_settings(tmp_path, "split", **{**kw, **change}), resume=split)
    assert snapshot(split) == before


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"validation": 0}, "validation must be at least 1"),
        ({"curriculum": 0.6}, r"curriculum start must be within \[0, difficulty = 0.5\]"),
        ({"curriculum": -0.1}, "curriculum start"),
        ({"curriculum": 0.1, "curriculum_step": 0.0}, r"curriculum_step must be within \(0, 1\]"),
        ({"curriculum": 0.1, "curriculum_share": 1.5}, "curriculum_share must be within"),
        ({"curriculum": 0.1, "generated": None, "levels": ["1-1"]}, "give generated"),
        ({"score": "distance"}, "score must be one of mario, progress"),
        ({"level_pool": 1}, "a level pool holds generated levels"),
        ({"level_pool": 5, "generated": None, "levels": ["1-1"]}, "give generated"),
        (
            {"score": "progress", "env": "smb", "generated": None, "levels": ["1-1"]},
            "progress score",
        ),
    ],
)
def test_bad_generalisation_settings_are_refused(tmp_path, kw, match):
    """Bad validation, curriculum or score values stop the run with a one-line TrainError
    before anything is written."""
    s = generated_settings(tmp_path, "run", **kw)
    with pytest.raises(TrainError, match=match) as info:
        train(s, progress=False)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "run").exists()


# --------------------------------------------------------------------------------------------
# neat-python's own loop: its stopping criterion and its failures
# --------------------------------------------------------------------------------------------


def tiny_run(tmp: Path, out: str, **config: object) -> TrainSettings:
    """``settings_for`` with the tiny config's keys overridden."""
    s = settings_for(tmp, out)
    s.config.write_text(tiny_config_text(**config))
    return s


@pytest.mark.slow
def test_neat_pythons_fitness_criterion_ends_the_run(tmp_path):
    """With no_fitness_termination = False, neat-python's own fitness criterion ends evolution
    at the generation that meets it (here the first): one metrics line, a champion, and a
    resume that has nothing more to do."""
    s = tiny_run(tmp_path, "run", no_fitness_termination=False, fitness_threshold=-1e9)
    s = TrainSettings(**{**s.__dict__, "generations": 5})
    result = train(s, progress=False)
    assert result.generations == 1 and result.champion_path is not None
    assert load_checkpoint(result.out / CHECKPOINT_FILE).generation == 0
    before = snapshot(result.out)
    again = train(s, resume=result.out, progress=False)
    assert again.generations == 1 and snapshot(result.out) == before


@pytest.mark.slow
def test_a_generation_neat_python_cannot_reproduce_is_one_line(tmp_path):
    """A config whose species cannot all get their minimum offspring (every genome its own
    species, two offspring each, twelve genomes) stops with a one-line TrainError naming the
    generation, after generation 0's line was written."""
    s = tiny_run(
        tmp_path, "run", compatibility_threshold=0.001, threshold_min=0.001, min_species_size=2
    )
    with pytest.raises(TrainError, match="generation 0: neat-python cannot reproduce") as info:
        train(s, progress=False)
    assert "\n" not in str(info.value)
    assert [m["generation"] for m in read_metrics(s.out)] == [0]


@pytest.mark.slow
def test_extinction_without_a_reset_is_one_line(tmp_path):
    """When every species stagnates away and reset_on_extinction is off, the run stops with a
    one-line TrainError saying what to change in the config."""
    s = tiny_run(
        tmp_path, "run", reset_on_extinction=False, max_stagnation=1, species_elitism=0,
        compatibility_threshold=100.0,
    )  # fmt: skip
    s = TrainSettings(**{**s.__dict__, "generations": 20})
    with pytest.raises(TrainError, match="every species went extinct") as info:
        train(s, progress=False)
    assert "\n" not in str(info.value) and "reset_on_extinction" in str(info.value)


def test_an_evaluators_own_runtime_error_is_not_called_a_reproduction_failure(
    tmp_path, monkeypatch
):
    """A RuntimeError raised while evaluating comes out as it is, not as neat-python failing to
    reproduce."""
    import agent.neat.evaluator as evaluator

    def broken(self, genomes, config):
        raise RuntimeError("the emulator fell over")

    monkeypatch.setattr(evaluator.PopulationEvaluator, "evaluate_local", broken)
    with pytest.raises(RuntimeError, match="the emulator fell over"):
        train(settings_for(tmp_path, "run"), progress=False)
