"""Playing without a window (``viz.headless``), recording (``viz.video``) and the network export
(``viz.network_view``): in process, and through ``play.py`` end to end (slow)."""

from __future__ import annotations

import json
import sys

import imageio.v3 as iio
import numpy as np
import pytest

from agent.base import load_agent
from agent.episodes import EpisodeRules
from envs.levels.level import load_level
from tests.helpers.champions import make_champion
from tests.helpers.cli import run_play
from viz.games import WorldGame
from viz.headless import describe, play_episodes, play_games
from viz.network_view import export_network
from viz.video import VideoWriter

KEYS = {"agent", "level", "completed", "progress", "frames", "fitness"}


@pytest.fixture(scope="module")
def champion(tmp_path_factory):
    """A champion.json holding a genome with hidden nodes (grown by neat mutations)."""
    return make_champion(tmp_path_factory.mktemp("champ") / "champion.json")


class Frames:
    """A video writer that keeps the frames it is given."""

    def __init__(self) -> None:
        self.frames: list[np.ndarray] = []

    def add(self, frame: np.ndarray) -> None:
        self.frames.append(frame)


def test_each_episode_restarts_and_yields_the_documented_record():
    """Two episodes of the solver on 1-1: two equal records (a restart each time) with the
    documented keys; the solver finishes; the text line says so."""
    level = load_level("1-1")
    game = WorldGame(level, [load_agent("solver", [level])])
    first, second = play_episodes(game, 2)
    assert first == second and len(first) == 1 and set(first[0]) == KEYS
    assert first[0]["completed"] is True and first[0]["progress"] == 100.0
    assert first[0]["fitness"] > 1000 and first[0]["agent"] == "solver"
    assert describe(first[0]).startswith("solver on 1-1: completed, 100%, ")


def test_a_video_gets_every_frame_played_with_the_overlay(small_level):
    """With a writer, every frame played is drawn (one per frame, the game's size); the overlay
    changes the pixels; without one the game runs decision to decision, with the same record."""
    solver = load_agent("solver", [small_level])
    rules = EpisodeRules(max_frames=12)
    game = WorldGame(small_level, [solver], rules=rules)
    with_overlay, plain = Frames(), Frames()
    (rec,) = next(play_episodes(game, 1, with_overlay, scale=1))
    (again,) = next(play_episodes(game, 1, plain, scale=1, overlay_on=False))
    (fast,) = next(play_episodes(game, 1))
    assert rec == again == fast and rec["frames"] == 12
    assert len(with_overlay.frames) == len(plain.frames) == 12
    assert with_overlay.frames[0].shape == (8 * 16, 16 * 16, 3)
    assert not np.array_equal(with_overlay.frames[-1], plain.frames[-1])


def test_play_games_prints_one_json_object_per_player_and_episode(small_level):
    """A race of two over two levels, two episodes each: 8 JSON lines in order, level-major."""
    level = load_level("1-1")
    agents = [load_agent("solver", [level]), load_agent("solver", [level])]
    rules = EpisodeRules(max_frames=5)
    lines: list[str] = []
    games = (WorldGame(lvl, agents, rules=rules) for lvl in (level, small_level))
    assert play_games(games, 2, as_json=True, out=lines.append) == 8
    records = [json.loads(line) for line in lines]
    assert [r["level"] for r in records] == ["1-1"] * 4 + ["small"] * 4
    assert [r["agent"] for r in records[:2]] == ["solver", "solver#2"]


def test_video_writer_writes_atomically(tmp_path):
    """A finished recording appears under its name with every frame; an aborted one leaves
    nothing at all in the directory."""
    frame = np.zeros((16, 24, 3), dtype=np.uint8)
    with VideoWriter(tmp_path / "a.gif", 30) as writer:
        for k in range(5):
            writer.add(frame + 40 * k)
        assert not (tmp_path / "a.gif").exists()  # still being written beside it
    assert iio.imread(tmp_path / "a.gif", index=None).shape[0] == 5
    with pytest.raises(KeyboardInterrupt), VideoWriter(tmp_path / "b.gif", 30) as writer:
        writer.add(frame)
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gif"]


def test_mp4_without_ffmpeg_is_a_clear_error(tmp_path, monkeypatch):
    """Without imageio-ffmpeg, asking for an MP4 is one clear error naming the package."""
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # makes the import fail
    with pytest.raises(ValueError, match="needs imageio-ffmpeg"):
        VideoWriter(tmp_path / "a.mp4", 60)
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_export_network_writes_png_and_svg(champion, tmp_path):
    """A NEAT champion's network to a PNG (a picture, not a blank) and an SVG (links, labels)."""
    agent = load_agent(champion)
    png, svg = tmp_path / "net.png", tmp_path / "net.svg"
    export_network(agent, png)
    export_network(agent, svg)
    image = iio.imread(png)
    assert image.shape[0] >= 200 and image.shape[1] >= 400
    assert len(np.unique(image.reshape(-1, image.shape[-1]), axis=0)) > 10
    text = svg.read_text()
    assert text.startswith("<svg") and "<line" in text and ">RIGHT</text>" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.png", "net.svg"]


@pytest.mark.slow
def test_headless_json_end_to_end():
    """solver --headless --episodes 2 --json: two JSON lines with the documented keys."""
    result = run_play("solver", "--level", "1-1", "--headless", "--episodes", "2", "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2 and all(set(json.loads(line)) == KEYS for line in lines)
    assert json.loads(lines[0])["completed"] is True


@pytest.mark.slow
def test_record_gif_has_one_frame_per_frame_played(tmp_path):
    """--record out.gif --max-frames 24: the GIF holds exactly the 24 frames played (game +
    overlay), reported by --json."""
    out = tmp_path / "run.gif"
    result = run_play(
        "solver", "--level", "1-1", "--record", str(out), "--max-frames", "24", "--json",
        "--scale", "1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    played = json.loads(result.stdout.strip().splitlines()[-1])["frames"]
    frames = iio.imread(out, index=None)
    assert played == 24 and frames.shape[0] == played
    assert frames.shape[1:3] == (240, 256)  # 1-1 at scale 1
    assert "wrote 24 frames" in result.stderr


@pytest.mark.slow
def test_record_mp4_writes_a_video(tmp_path):
    """--record a.mp4 writes an MP4 (imageio-ffmpeg) whose frame count is the frames played."""
    path = tmp_path / "a.mp4"
    result = run_play("solver", "--record", str(path), "--max-frames", "12", "--scale", "1")
    assert result.returncode == 0, result.stderr
    assert len(iio.imread(path)) == 12


@pytest.mark.slow
def test_export_network_and_headless_champion_end_to_end(champion, tmp_path):
    """play.py CHAMPION --export-network net.svg, then --headless --json --max-frames 60."""
    out = tmp_path / "net.svg"
    result = run_play(str(champion), "--export-network", str(out))
    assert result.returncode == 0 and out.read_text().startswith("<svg"), result.stderr
    result = run_play(str(champion), "--headless", "--json", "--max-frames", "60")
    assert result.returncode == 0, result.stderr
    obj = json.loads(result.stdout)
    assert set(obj) == KEYS and obj["frames"] <= 60 and obj["agent"].startswith("neat:")
