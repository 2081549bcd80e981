"""play.py without a display: --headless --json, --record (GIF), --export-network, and the
window loop's pause / step / speed keys under SDL's dummy driver."""

from __future__ import annotations

import json

import imageio.v3 as iio
import numpy as np
import pygame
import pytest

import play
from tests.helpers.cli import run_play
from tests.viz.test_race import make_champion
from viz.keys import next_speed

KEYS = {"agent", "level", "completed", "progress", "frames", "fitness"}


@pytest.fixture(scope="module")
def champion(tmp_path_factory):
    """A champion.json holding a genome with hidden nodes (grown by neat mutations)."""
    return make_champion(tmp_path_factory.mktemp("champ") / "champion.json")


def test_headless_json_one_object_per_episode():
    """solver --headless --episodes 2 --json: two JSON lines with the documented keys; the
    solver completes 1-1."""
    result = run_play("solver", "--level", "1-1", "--headless", "--episodes", "2", "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    for line in lines:
        obj = json.loads(line)
        assert set(obj) == KEYS
        assert obj["agent"] == "solver" and obj["level"] == "1-1"
        assert obj["completed"] is True and obj["progress"] == 100.0
        assert isinstance(obj["frames"], int) and obj["frames"] > 0
        assert obj["fitness"] == pytest.approx(obj["fitness"]) and obj["fitness"] > 1000


def test_record_gif_has_one_frame_per_frame_played(tmp_path):
    """--record out.gif --frames 24: the GIF holds exactly the 24 frames played (game +
    overlay), reported by --json."""
    out = tmp_path / "run.gif"
    result = run_play(
        "solver", "--level", "1-1", "--record", str(out), "--frames", "24", "--json", "--scale", "1"
    )
    assert result.returncode == 0, result.stderr
    played = json.loads(result.stdout.strip().splitlines()[-1])["frames"]
    frames = iio.imread(out, index=None)
    assert played == 24 and frames.shape[0] == played
    assert frames.shape[1:3] == (240, 256)  # 1-1 at scale 1


def test_record_mp4_writes_a_video(tmp_path):
    """--record a.mp4 writes an MP4 (imageio-ffmpeg) whose frame count is the frames played."""
    path = tmp_path / "a.mp4"
    result = run_play("solver", "--record", str(path), "--frames", "12", "--scale", "1")
    assert result.returncode == 0, result.stderr
    assert len(iio.imread(path)) == 12


def test_mp4_without_ffmpeg_is_a_clear_error(tmp_path, monkeypatch):
    """Without imageio-ffmpeg, asking for an MP4 is one clear error naming the package."""
    import sys

    import play

    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # makes the import fail
    with pytest.raises(ValueError, match="needs imageio-ffmpeg"):
        play.VideoWriter(tmp_path / "a.mp4", 60)


def test_export_network_png_and_svg(champion, tmp_path):
    png, svg = tmp_path / "net.png", tmp_path / "net.svg"
    for out in (png, svg):
        result = run_play(str(champion), "--export-network", str(out))
        assert result.returncode == 0, result.stderr
    image = iio.imread(png)
    assert image.shape[0] >= 200 and image.shape[1] >= 400
    assert len(np.unique(image.reshape(-1, image.shape[-1]), axis=0)) > 10
    text = svg.read_text()
    assert text.startswith("<svg") and "<line" in text and ">RIGHT<" in text


def test_export_network_needs_a_neat_agent(tmp_path):
    result = run_play("solver", "--export-network", str(tmp_path / "x.png"))
    assert result.returncode == 2 and "NEAT" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_headless_needs_an_agent():
    result = run_play("--human", "--headless")
    assert result.returncode == 2 and "needs an agent" in result.stderr


def test_headless_champion_json(champion):
    result = run_play(str(champion), "--level", "1-1", "--headless", "--json", "--frames", "60")
    assert result.returncode == 0, result.stderr
    obj = json.loads(result.stdout)
    assert set(obj) == KEYS and obj["frames"] <= 60 and obj["agent"].startswith("neat:")


def test_pause_step_speed_and_help_keys(small_level):
    """In the window loop: P pauses, '.' steps one frame while paused, + speeds up, O and H
    toggle without breaking the loop."""
    game = play.Game.start("small", small_level)
    pygame.display.init()
    for key in (pygame.K_p, pygame.K_PERIOD, pygame.K_o, pygame.K_h):
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key))
    assert play.play_window(game, play.human_controller, "t", 1, 0, max_frames=6) == 0
    assert game.world.view(0).frames == 1  # paused after one step
    assert next_speed(60, True) == 120 and next_speed(60, False) == 30
    assert next_speed(240, True) == 0 and next_speed(0, True) == 0
    assert next_speed(0, False) == 240 and next_speed(5, False) == 5


def test_generated_level_by_seed(tmp_path):
    """--generated SEED plays the same solver-proven generated level; a bad seed is exit 2."""
    result = run_play("solver", "--generated", "7", "--headless", "--json")
    assert result.returncode == 0, result.stderr
    episode = json.loads(result.stdout.strip().splitlines()[-1])
    assert episode["level"] == "gen-s7-d0.50-l150" and episode["completed"]
    bad = run_play("solver", "--generated", "-3", "--headless")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
