"""What a NEAT resume checks and cleans before it continues a run: temporary files of killed
writes go, a directory left before the first checkpoint is usable again, a checkpoint from
another run, an edited level file or a stranger's pickle is refused in one line."""

from __future__ import annotations

from agent.neat.trainer import CHECKPOINT_FILE, train
from tests.agent.test_runs import killed_write
from tests.helpers.neat import settings_for


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
