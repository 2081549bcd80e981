"""One torch thread for every recurrent-policy test, as the trainers use (see
``agent.rnn.model.torch_threads``): the tensors are small, and torch's spinning worker threads
slow a test down many times over on cores other jobs keep busy."""

from __future__ import annotations

import pytest

from agent.rnn.model import torch_threads


@pytest.fixture(autouse=True)
def one_torch_thread():
    with torch_threads(1):
        yield
