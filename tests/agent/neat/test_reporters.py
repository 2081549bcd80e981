"""What a NEAT run records (agent.neat.reporters): metrics lines with the keys and meanings every
trainer shares, TensorBoard scalars beside them, and old runs' lines upgraded on resume."""

from __future__ import annotations

import dataclasses

import neat
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from agent.neat.checkpoint import load_checkpoint
from agent.neat.config import config_from_text
from agent.neat.evaluator import PopulationEvaluator
from agent.neat.reporters import upgrade_metrics
from agent.neat.trainer import CHAMPION_FILE, CHECKPOINT_FILE, train
from agent.runs import SHARED_KEYS
from envs.levels.level import load_level
from tests.helpers.neat import read_metrics, settings_for, untimed, write_as_old_module


@pytest.mark.slow
def test_a_run_directory_holds_tensorboard_events_and_the_shared_keys(tmp_path):
    """A NEAT run directory holds a TensorBoard event file whose scalars include
    charts/completion_rate and neat/best_fitness, one point per generation at step = frames;
    every metrics line holds every shared key, with iteration = generations done and frames
    the cumulative sum of the generations' frames."""
    result = train(settings_for(tmp_path, "run", generations=3), progress=False)
    run = result.out
    events = sorted(run.glob("events.out.tfevents.*"))
    assert events
    metrics = read_metrics(run)
    for i, m in enumerate(metrics):
        assert set(SHARED_KEYS) <= set(m) and m["trainer"] == "neat"
        assert m["iteration"] == m["generation"] + 1 == i + 1
        assert m["frames"] == sum(x["generation_frames"] for x in metrics[: i + 1])
        assert m["episodes"] == 12  # 12 genomes x 1 level
        assert 0.0 <= m["progress"] <= m["max_progress"] <= 1.0
    acc = EventAccumulator(str(run))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"charts/completion_rate", "charts/progress", "charts/SPS", "neat/best_fitness"} <= tags
    best = acc.Scalars("neat/best_fitness")
    assert [e.step for e in best] == [m["frames"] for m in metrics]
    assert [e.value for e in best] == pytest.approx([m["best_fitness"] for m in metrics])


@pytest.mark.slow
def test_the_first_generation_line_describes_its_evaluation(tmp_path):
    """Generation 0's line is the evaluation of neat-python's starting population: episodes =
    genome x level runs, completion_rate and progress their share of flags and mean progress,
    best fitness the best genome's, generation_frames the frames played; first_completion is
    set at the first generation where a run reached the flag, and kept after."""
    s = settings_for(tmp_path, "run", generations=4)
    result = train(s, progress=False)
    config = config_from_text(s.config.read_text(), "tiny")
    pop = neat.Population(config, seed=s.seed)
    ev = PopulationEvaluator([load_level(s.levels[0])]).evaluate(
        list(pop.population.items()), config
    )
    m = result.metrics[0]
    assert m["episodes"] == ev.completed.size
    assert m["completion_rate"] == float(ev.completed.mean())
    assert m["progress"] == pytest.approx(float(ev.progress.mean()))
    assert m["max_progress"] == pytest.approx(float(ev.progress.max()))
    assert m["best_fitness"] == float(ev.fitness.max())
    assert m["generation_frames"] == ev.frames_simulated
    done = [i for i, x in enumerate(result.metrics) if x["completion_rate"] > 0]
    assert done and done[0] > 0  # the tiny level is first finished in a later generation
    i = done[0]
    firsts = [x["first_completion_frames"] for x in result.metrics]
    assert firsts[:i] == [None] * i
    assert firsts[i:] == [result.metrics[i]["frames"]] * (len(firsts) - i)


def old_line(m: dict) -> dict:
    """A metrics line as the trainer wrote it before the shared keys."""
    old = {k: v for k, v in m.items() if k not in (*SHARED_KEYS, "generation_frames")}
    old.pop("solved_rate")
    return {
        **old,
        "completion_rate": m["solved_rate"],
        "frames": m["generation_frames"],
        "frames_simulated": m["frames"],
        "frames_per_second": m["frames_per_second"],
        "wall_seconds": m["wall_seconds"],
    }


@pytest.mark.slow
def test_a_checkpoint_from_before_the_move_resumes(tmp_path):
    """A checkpoint written before the packages and the shared keys (TrainState pickled as
    agent.checkpoint.TrainState, metrics in the old keys, no first-completion record) resumes
    to the champion and the later metrics of an unbroken run; its old lines come back in
    today's keys (frames cumulative, the generation's frames as generation_frames, the share of
    genomes finishing every level as solved_rate, unknown counts None)."""
    straight = train(settings_for(tmp_path, "straight", generations=4), progress=False)
    split = tmp_path / "split"
    train(settings_for(tmp_path, "split", generations=2, checkpoint_every=2), progress=False)
    path = split / CHECKPOINT_FILE
    state = load_checkpoint(path)
    trainer = {k: v for k, v in state.trainer.items() if k not in ("first_completion",)}
    trainer.pop("neat_solved")
    trainer["metrics"] = [old_line(m) for m in trainer["metrics"]]
    write_as_old_module(path, dataclasses.replace(state, trainer=trainer))

    resumed = train(settings_for(tmp_path, "split", generations=4), resume=split, progress=False)
    assert (split / CHAMPION_FILE).read_text() == (straight.out / CHAMPION_FILE).read_text()
    lines = read_metrics(split)
    assert lines == resumed.metrics and all(set(SHARED_KEYS) <= set(m) for m in lines)

    def comparable(ms: list[dict]) -> list[dict]:
        drop = ("first_completion_frames", "first_completion_seconds")
        return [{k: v for k, v in m.items() if k not in drop} for m in untimed(ms)]

    assert comparable(lines[2:]) == comparable(straight.metrics[2:])
    for old, new in zip(lines[:2], straight.metrics[:2], strict=True):
        assert old["frames"] == new["frames"]
        assert old["generation_frames"] == new["generation_frames"]
        assert old["solved_rate"] == new["solved_rate"]
        assert old["episodes"] is old["completion_rate"] is old["progress"] is None


def test_upgraded_lines_keep_todays_lines_and_date_the_first_completion():
    """upgrade_metrics leaves lines in today's keys as they are and, for old ones, dates the
    first completion at the first generation whose best genome finished a level."""
    new = {"iteration": 3, "frames": 9}
    old = [
        {"generation": 0, "frames": 5, "frames_simulated": 5, "wall_seconds": 1.0,
         "completion_rate": 0.0, "best_completed": 0},
        {"generation": 1, "frames": 4, "frames_simulated": 9, "wall_seconds": 2.0,
         "completion_rate": 0.5, "best_completed": 1},
    ]  # fmt: skip
    up = upgrade_metrics([*old, new])
    assert up[2] is new
    assert [m["first_completion_frames"] for m in up[:2]] == [None, 9]
    assert [m["first_completion_seconds"] for m in up[:2]] == [None, 2.0]
    assert [m["solved_rate"] for m in up[:2]] == [0.0, 0.5]
    assert [m["generation_frames"] for m in up[:2]] == [5, 4]
    assert [m["iteration"] for m in up[:2]] == [1, 2]
