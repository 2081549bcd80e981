"""What a NEAT resume checks and cleans before it continues a run: temporary files of killed
writes go, a directory left before the first checkpoint is usable again, a checkpoint from
another run, an edited level file or a stranger's pickle is refused in one line."""

from __future__ import annotations

import pytest

from agent.neat.trainer import CHAMPION_FILE, CHECKPOINT_FILE, METRICS_FILE, TrainError, train
from tests.agent.test_runs import killed_write
from tests.helpers.neat import read_metrics, settings_for, untimed


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
