"""``play.py``'s command line: argument errors in process (one line, exit 2, nothing written),
and the entry point end to end in subprocesses with tiny budgets."""

from __future__ import annotations

import json

import pytest

import play
from envs.levels.level import builtin_names
from tests.helpers import cli
from tests.helpers.cli import run_play


def one_error_line(capsys, *argv: str) -> str:
    """``play.main(argv)``: exit 2 and one line on stderr, ``play.py: error: ...``."""
    line = cli.error_line(capsys, play.main, *argv)
    assert line.startswith("play.py: error: ")
    return line


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["solver", "--human"], "not both"),
        (["solver", "--record-demo", "d.npz"], "keyboard play"),
        (["--human", "--headless"], "needs an agent"),
        (["--record", "x.gif"], "needs an agent"),
        (["--export-network", "x.png"], "needs an agent"),
        (["solver", "solver", "--export-network", "x.png"], "one agent"),
        (["solver", "--json"], "add --headless"),
        (["solver", "--record", "x.avi"], ".gif or .mp4"),
        (["solver", "--export-network", "x.jpg"], ".png or .svg"),
        (["--record-demo", "d.txt"], ".npz"),
        (["solver", "--generated", "0"], "--generated"),
        (
            ["solver", "--generated", "2", "--difficulty", "1.5"],
            "--difficulty: must be within 0..1",
        ),
        (["solver", "--episodes", "0", "--headless"], "--episodes"),
        (["--max-frames", "-1"], "--max-frames"),
        (["--scale", "0"], "--scale"),
        (["--frames", "30"], "--frames"),  # a training budget elsewhere: not a play.py flag
        (["solver", "solver", "--env", "smb", "--headless"], "built-in world"),
        (["--env", "smb", "--generated", "2"], "built-in world"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(capsys, tmp_path, monkeypatch, argv, says):
    """Arguments that do not go together, bad values and unusable output names are refused
    before anything runs: one line naming the problem, exit 2, no file written."""
    monkeypatch.chdir(tmp_path)
    assert says in one_error_line(capsys, *argv)
    assert not list(tmp_path.iterdir())


def test_output_in_a_missing_directory_is_refused_before_playing(capsys, tmp_path):
    """--record, --export-network and --record-demo into a directory that does not exist:
    one line naming the directory, before any level or agent is loaded."""
    missing = tmp_path / "nope"
    for argv in (
        ["solver", "--record", str(missing / "a.gif")],
        ["solver", "--export-network", str(missing / "a.png")],
        ["--record-demo", str(missing / "a.npz")],
    ):
        assert str(missing) in one_error_line(capsys, *argv)
    assert not missing.exists()


def test_unknown_level_and_broken_file_are_one_line(capsys, tmp_path):
    """An unknown level name lists the built-in levels; a broken level file gives the parser's
    file:line:column; a missing agent names its path."""
    line = one_error_line(capsys, "--human", "--level", "nope")
    assert "nope" in line and all(name in line for name in builtin_names())
    rows = ["." * 16] * 7 + ["X" * 16]
    rows[2] = "..S..Z.........F"
    path = tmp_path / "broken.txt"
    path.write_text("; name: broken\n" + "\n".join(rows) + "\n")
    assert f"{path}:4:6:" in one_error_line(capsys, "--human", "--level", str(path))
    missing = tmp_path / "nothing" / "champion.json"
    assert str(missing) in one_error_line(capsys, str(missing))


def test_export_network_needs_a_neat_agent(capsys, tmp_path):
    """The solver has no network to draw: one line, exit 2, no file."""
    out = tmp_path / "x.png"
    assert "NEAT" in one_error_line(capsys, "solver", "--export-network", str(out))
    assert not out.exists()


def test_the_cli_vocabulary_parses_as_documented():
    """--level repeats, --generated is a count seeded by --seed, --max-frames caps, several
    agents race; no agent is keyboard play."""
    args = play.parse_args(["solver", "x/champion.json", "--level", "1-2", "--level", "1-3"])
    assert args.agents == ["solver", "x/champion.json"] and args.level == ["1-2", "1-3"]
    args = play.parse_args(["solver", "--generated", "3", "--seed", "7", "--max-frames", "9"])
    assert args.generated == 3 and args.seed == 7 and args.max_frames == 9
    assert [lvl.name for lvl in play.world_levels(args)] == [
        f"gen-s{s}-d0.50-l150" for s in (7, 8, 9)
    ]
    assert play.parse_args([]).agents == [] and play.parse_args([]).max_frames == 0


@pytest.mark.slow
def test_play_with_no_arguments_is_human_play_and_exits_0():
    """`python play.py` alone (the README's quick start) plays 1-1 with the dummy video
    driver and exits 0 after --max-frames frames."""
    result = run_play("--max-frames", "30")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "arrows move" in result.stdout


@pytest.mark.slow
def test_play_watches_the_solver_in_a_window():
    """`play.py solver --level 1-1` opens the (dummy) window and exits 0."""
    result = run_play("solver", "--level", "1-1", "--max-frames", "120", "--fps", "0")
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_generated_levels_are_a_count_seeded_by_seed():
    """--generated 2 --seed 7 plays generated levels 7 and 8 (each solver-proven), headless:
    one record per level, the solver finishing both."""
    result = run_play("solver", "--generated", "2", "--seed", "7", "--headless", "--json")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["level"] for r in records] == ["gen-s7-d0.50-l150", "gen-s8-d0.50-l150"]
    assert all(r["completed"] for r in records)


def test_the_real_game_without_the_nes_extra_is_one_line(capsys, monkeypatch):
    """--env smb where nes-py is not installed: one line saying how to install it, exit 2."""
    import envs.smb.console

    monkeypatch.setattr(envs.smb.console, "nes_available", lambda: False)
    assert "pip install" in one_error_line(capsys, "--env", "smb", "--level", "1-1")
