"""What a NEAT resume checks and cleans before it continues a run: temporary files of killed
writes go, a directory left before the first checkpoint is usable again, a checkpoint from
another run, an edited level file or a stranger's pickle is refused in one line."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest

from agent.neat.trainer import (
    CHAMPION_FILE,
    CHECKPOINT_FILE,
    METRICS_FILE,
    CheckpointError,
    LevelError,
    TrainError,
    load_run_settings,
    train,
)
from tests.helpers.neat import (
    EASY_LEVEL_TEXT,
    read_metrics,
    settings_for,
    snapshot,
    tiny_config_text,
    untimed,
    write_tiny_setup,
)
from tests.helpers.runs import killed_write


def test_every_resume_clears_the_temporary_files_of_killed_writes(tmp_path):
    """A checkpoint write killed by SIGKILL leaves its temporary file; the next resume removes
    it, also a resume that finds nothing left to do."""
    run = train(settings_for(tmp_path, "run", generations=2), progress=False).out
    tmp = killed_write(run / CHECKPOINT_FILE)
    again = train(settings_for(tmp_path, "run", generations=2), resume=run, progress=False)
    assert again.resumed_from == 2 and again.generations == 2  # nothing to do ...
    assert not tmp.exists()  # ... yet the temporary file went
    tmp = killed_write(run / CHECKPOINT_FILE)
    train(settings_for(tmp_path, "run", generations=3), resume=run, progress=False)
    assert not tmp.exists()


def test_a_run_stopped_before_its_first_checkpoint_leaves_a_reusable_directory(
    tmp_path, monkeypatch
):
    """A full disk at the first checkpoint stops the run with its settings and an empty
    metrics file written; ``--resume`` then says there is nothing to resume, and a fresh run
    into the same directory starts over and ends like a run into a new directory."""
    import errno

    import agent.neat.trainer as trainer

    def full(path, state):
        raise OSError(errno.ENOSPC, "No space left on device")

    s = settings_for(tmp_path, "run", generations=2)
    with monkeypatch.context() as mp:
        mp.setattr(trainer, "save_checkpoint", full)
        with pytest.raises(OSError, match="No space left"):
            train(s, progress=False)
    assert not (s.out / CHECKPOINT_FILE).exists() and (s.out / METRICS_FILE).exists()
    with pytest.raises(TrainError, match="nothing to resume"):
        train(s, resume=s.out, progress=False)
    again = train(s, progress=False)
    other = train(settings_for(tmp_path, "other", generations=2), progress=False)
    assert untimed(read_metrics(again.out)) == untimed(read_metrics(other.out))
    assert (again.out / CHAMPION_FILE).read_bytes() == (other.out / CHAMPION_FILE).read_bytes()


@pytest.mark.parametrize(
    "other",
    [{"seed": 1}, {"pop_size": 14}, {"level": EASY_LEVEL_TEXT}],
    ids=["seed", "population", "level"],
)
def test_a_checkpoint_copied_in_from_another_run_is_refused(tmp_path, other):
    """A checkpoint of a run with another seed, population or level, copied over a run's own,
    is refused in one line before anything is written; the whole run directory copied
    elsewhere resumes (it is the same run)."""
    s = settings_for(tmp_path, "run", generations=2)
    train(s, progress=False)
    theirs = settings_for(tmp_path / "b", "theirs", generations=2, seed=other.get("seed", 0))
    if "pop_size" in other:
        config = tmp_path / "b" / "pop.ini"
        config.write_text(tiny_config_text(pop_size=other["pop_size"]))
        theirs = dataclasses.replace(theirs, config=config)
    if "level" in other:
        level = tmp_path / "b" / "easy.txt"
        level.write_text(other["level"])
        theirs = dataclasses.replace(theirs, levels=[str(level)])
    train(theirs, progress=False)
    shutil.copy(theirs.out / CHECKPOINT_FILE, s.out / CHECKPOINT_FILE)
    before = snapshot(s.out)
    with pytest.raises(TrainError, match="checkpoint of another run") as info:
        # as train.py --resume does: the settings are the checkpoint's
        more = dataclasses.replace(load_run_settings(s.out), generations=3)
        train(more, resume=s.out, progress=False)
    assert "\n" not in str(info.value)
    assert snapshot(s.out) == before
    copy = tmp_path / "copy"
    shutil.copytree(theirs.out, copy)
    resumed = train(dataclasses.replace(theirs, generations=3), resume=copy, progress=False)
    assert resumed.resumed_from == 2 and resumed.generations == 3


def test_an_edited_level_file_refuses_resume(tmp_path):
    """The run keeps its levels' content: a level file edited after the start refuses
    ``--resume`` in one line naming the file (nothing written); put back, the run resumes."""
    s = settings_for(tmp_path, "run", generations=2)
    train(s, progress=False)
    level = Path(s.levels[0])
    text = level.read_text()
    level.write_text(text.replace("##", "#.", 1))
    before = snapshot(s.out)
    with pytest.raises(LevelError, match="edited since the run started") as info:
        train(dataclasses.replace(s, generations=3), resume=s.out, progress=False)
    assert str(level) in str(info.value) and "\n" not in str(info.value)
    assert snapshot(s.out) == before
    level.write_text(text)
    assert (
        train(dataclasses.replace(s, generations=3), resume=s.out, progress=False).generations == 3
    )


def test_a_run_on_a_relative_level_path_resumes_from_another_directory(tmp_path, monkeypatch):
    """A run started with ``--level tiny.txt`` in the level's folder resumes from any other
    working directory (through train.py, as a user would) and ends like an unbroken run."""
    import train as train_py

    config, level = write_tiny_setup(tmp_path / "setup")
    monkeypatch.chdir(level.parent)
    args = ["neat", "--level", level.name, "--config", config.name, "--keep-going", "--quiet"]
    assert train_py.main([*args, "--generations", "2", "--out", str(tmp_path / "split")]) == 0
    assert train_py.main([*args, "--generations", "3", "--out", str(tmp_path / "whole")]) == 0
    monkeypatch.chdir(tmp_path)
    resume = ["neat", "--resume", str(tmp_path / "split"), "--generations", "3", "--quiet"]
    assert train_py.main(resume) == 0
    split, whole = read_metrics(tmp_path / "split"), read_metrics(tmp_path / "whole")
    assert untimed(split) == untimed(whole)


def test_a_checkpoint_in_another_users_directory_is_not_unpickled(tmp_path, monkeypatch, capsys):
    """A NEAT checkpoint is a pickle, which can run code: ``--resume`` of a run directory (or
    checkpoint) that this machine's current user does not own is refused in one line, exit 2,
    before anything is loaded or written, unless ``--trust-checkpoint``; ``--help`` says so."""
    import agent.runs
    import train as train_py
    from tests.helpers.cli import error_line

    s = settings_for(tmp_path, "run", generations=2)
    train(s, progress=False)
    before = snapshot(s.out)
    stranger = os.geteuid() + 1
    monkeypatch.setattr(agent.runs, "_user_id", lambda: stranger)
    resume = ["neat", "--resume", str(s.out), "--generations", "3", "--quiet"]
    line = error_line(capsys, train_py.main, *resume)
    assert "owned by user id" in line and "pickle" in line and "--trust-checkpoint" in line
    assert snapshot(s.out) == before
    with pytest.raises(CheckpointError, match="owned by user id"):
        train(dataclasses.replace(s, generations=3), resume=s.out, progress=False)
    assert train_py.main([*resume, "--trust-checkpoint"]) == 0
    assert len(read_metrics(s.out)) == 3
    with pytest.raises(SystemExit):
        train_py.build_parser().parse_args(["neat", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "pickle" in help_text and "--trust-checkpoint" in help_text


def test_a_checkpoint_with_unusable_stored_settings_is_refused_in_one_line(tmp_path):
    """A checkpoint whose stored play settings this code cannot use (a fitness field it does
    not know, as a newer version may write; a view box outside the grid) is a one-line
    TrainError naming the checkpoint, not a TypeError."""
    from agent.neat.checkpoint import load_checkpoint, save_checkpoint

    run = train(settings_for(tmp_path, "run", generations=1), progress=False).out
    path = run / CHECKPOINT_FILE
    for key, value, match in (("bogus", 1, "'bogus'"), ("view_box", [1, 7, 4, 3], "ahead")):
        state = load_checkpoint(path)
        state.settings["fitness"][key] = value
        save_checkpoint(path, state)
        with pytest.raises(TrainError, match=f"{CHECKPOINT_FILE}: its stored settings: .*{match}"):
            load_run_settings(run)
        state.settings["fitness"].pop(key)
        save_checkpoint(path, state)
