"""The run-directory layer (``agent.runs.RunDir``) under kills, early stops and foreign files:
temporary files of killed writes are cleared, a directory a run left before its first
checkpoint can be used again, and nothing else of a run is ever replaced by a fresh one."""

from __future__ import annotations

import os

import pytest

from agent.runs import RunDir, TrainError, pin_levels, pinned_levels, run_id_for
from tests.helpers.runs import killed_write


def test_open_clears_the_temporary_files_of_killed_writes_only(tmp_path):
    """A SIGKILL during an atomic write leaves ``.NAME.HEX.tmp``; opening the run directory
    removes exactly such files, and none that merely look alike (the user's own)."""
    tmp = killed_write(tmp_path / "checkpoint-latest.pkl")
    assert tmp.read_bytes() == b"half a checkpoint"
    assert not (tmp_path / "checkpoint-latest.pkl").exists()  # the target was never replaced
    kept = [".notes.tmp", "draft.tmp", ".x.0123.tmp", ".a.0123456789abcdeg.tmp", "a.tmp.txt"]
    for name in kept:
        (tmp_path / name).write_text("mine")
    (tmp_path / ".d.0123456789abcdef.tmp").mkdir()  # a directory is not a temporary file
    RunDir(tmp_path).open()
    assert not tmp.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*kept, ".d.0123456789abcdef.tmp"])


def test_a_fresh_run_refuses_only_a_directory_with_training_progress(tmp_path):
    """``RunDir.fresh`` refuses a directory holding one of the given progress files (a
    checkpoint, a trained agent) or metrics lines, and a path that is a file; what a run left
    before its first checkpoint (settings, an empty ``metrics.jsonl``, event files) is no run."""
    left = tmp_path / "left"
    left.mkdir()
    for name in ("run.json", "config.ini", "metrics.jsonl", "events.out.tfevents.1.host"):
        (left / name).write_text("")
    assert RunDir.fresh(left, ("checkpoint-latest.pkl", "champion.json")).path == left
    assert RunDir.fresh(tmp_path / "new", ("checkpoint-latest.pkl",)).path == tmp_path / "new"
    for name, text in (("checkpoint-latest.pkl", "x"), ("champion.json", "{}")):
        run = tmp_path / name
        run.mkdir()
        (run / name).write_text(text)
        with pytest.raises(TrainError, match=f"already holds a training run \\({name}\\)"):
            RunDir.fresh(run, ("checkpoint-latest.pkl", "champion.json"))
    (left / "metrics.jsonl").write_text('{"iteration": 1}\n')
    with pytest.raises(TrainError, match=r"already holds a training run \(metrics.jsonl\)"):
        RunDir.fresh(left, ("checkpoint-latest.pkl",))
    (tmp_path / "file").write_text("")
    with pytest.raises(TrainError, match="not a directory"):
        RunDir.fresh(tmp_path / "file", ("checkpoint-latest.pkl",))


def test_resuming_a_run_without_a_checkpoint_says_how_to_start_it_again(tmp_path):
    """``RunDir.resume`` of a directory without the checkpoint: one line that says the run
    stopped before its first checkpoint and that ``--out DIR`` starts it again."""
    with pytest.raises(TrainError) as info:
        RunDir.resume(tmp_path, "checkpoint-latest.pkl")
    message = str(info.value)
    assert "nothing to resume" in message and f"--out {tmp_path}" in message
    assert "\n" not in message


def test_pinned_levels_are_the_recorded_content_checked_against_their_files(tmp_path):
    """``pin_levels`` records each level's content; ``pinned_levels`` gives it back from any
    working directory, plays the kept copy of a deleted file, and refuses a file or built-in
    level that now differs (or no longer loads) in one line naming it."""
    from envs.levels.level import LevelError, load_level
    from tests.helpers.neat import EASY_LEVEL_TEXT, LEVEL_TEXT

    tiny, easy = tmp_path / "tiny.txt", tmp_path / "easy.txt"
    tiny.write_text(LEVEL_TEXT)
    easy.write_text(EASY_LEVEL_TEXT.replace("; name: easy\n", ""))  # named by the file
    memory = load_level(tiny)
    pins = pin_levels([str(tiny), str(easy), "1-2", memory])
    assert [p["path"] for p in pins] == [str(tiny.resolve()), str(easy.resolve()), None, None]
    want = [load_level(tiny), load_level(easy), load_level("1-2"), memory]
    assert pinned_levels(pins, "run.json") == want
    easy.unlink()
    assert pinned_levels(pins, "run.json") == want  # the kept copy
    tiny.write_text(LEVEL_TEXT.replace("CCC", "..."))
    with pytest.raises(LevelError, match=f"{tiny}: edited since the run started") as info:
        pinned_levels(pins, "run.json")
    assert "\n" not in str(info.value)
    tiny.write_text(LEVEL_TEXT.replace("F", "."))
    with pytest.raises(LevelError, match="edited since the run started .*no goal flag"):
        pinned_levels(pins, "run.json")
    builtin = [{**pins[2], "text": pins[2]["text"].replace("X", "#", 1)}]
    with pytest.raises(LevelError, match="1-2: edited since the run started"):
        pinned_levels(builtin, "run.json")


def test_a_checkpoint_must_carry_its_directorys_run_id(tmp_path):
    """``check_run_id`` passes the run's own checkpoint (or, from before run ids, a checkpoint
    and directory without one) and refuses any other in one line."""
    run = RunDir(tmp_path)
    run.check_run_id(None, "ck")  # neither has an id: a run from before run ids
    with pytest.raises(TrainError, match="ck: a checkpoint of another run .*unrecorded"):
        run.check_run_id("0123456789abcdef", "ck")
    run.write_run_id(run_id_for({"seed": 0}))
    run.check_run_id(run_id_for({"seed": 0}), "ck")
    for other in (run_id_for({"seed": 1}), None):
        with pytest.raises(TrainError, match="a checkpoint of another run") as info:
            run.check_run_id(other, "ck")
        assert "\n" not in str(info.value)


@pytest.mark.parametrize("pins", [5, [5], [{"spec": "a"}], [{"spec": 1, "path": None,
                                  "name": "a", "text": "x"}]])  # fmt: skip
def test_a_malformed_level_record_is_one_line(pins):
    """A level record that is not a list of the four string entries: one ``TrainError`` line
    naming the record, never a TypeError."""
    with pytest.raises(TrainError, match="run.json: a malformed level record"):
        pinned_levels(pins, "run.json")


def test_special_files_in_a_run_directory_never_block(tmp_path):
    """A FIFO as ``run-id`` or ``metrics.jsonl`` is refused or counted as a run at once,
    never opened (which would wait for a writer forever)."""
    os.mkfifo(tmp_path / "run-id")
    with pytest.raises(TrainError, match="run-id: unreadable .*not a regular file"):
        RunDir(tmp_path).recorded_id()
    os.mkfifo(tmp_path / "metrics.jsonl")
    with pytest.raises(TrainError, match=r"already holds a training run \(metrics.jsonl\)"):
        RunDir.fresh(tmp_path, ("checkpoint-latest.pkl",))
