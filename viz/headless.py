"""Playing without a window: episodes of a game (``viz.window.Game``) to records, lines of text
or JSON, and optionally a video of every frame played with the overlay.

``play_episodes`` restarts the game for each episode and lets its episode loop
(``agent.episodes.Episodes``) run to the end: decision to decision, or frame by frame when a
video records every frame. The records are ``agent.episodes.episode_record``'s (agent, level,
completed, progress %, frames, fitness), those ``play.py --headless --json`` prints.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from viz.window import Game

__all__ = ["describe", "play_episodes", "play_games"]


def play_episodes(
    game: Game,
    episodes: int = 1,
    writer: Any = None,
    scale: int = 2,
    overlay_on: bool = True,
) -> Iterator[list[dict[str, Any]]]:
    """Play ``episodes`` episodes of ``game``; yields each episode's records (one per player).
    With ``writer`` (``add(rgb array)``, e.g. ``viz.video.VideoWriter``), every frame played
    goes to it: the game's frame at ``scale``, with the overlay unless ``overlay_on`` is False."""
    frame = overlay = None
    if writer is not None and overlay_on:
        from viz.overlay import Overlay

        overlay = Overlay()

    def record(_held: object) -> None:
        from envs.render.frame import surface_to_array

        nonlocal frame
        frame = game.draw(scale, frame, overlay)
        writer.add(surface_to_array(frame))

    for _ in range(episodes):
        game.restart()
        on_step = record if writer is not None else None
        game.episodes.run(on_step=on_step, frame_by_frame=writer is not None)
        yield game.records()


def describe(record: dict[str, Any]) -> str:
    """One episode's record as a line of text."""
    done = "completed" if record["completed"] else "not completed"
    # the real game knows how far Mario got, not always how far there is to go
    progress = record["progress"]
    where = f"x {record['rightmost']}" if progress is None else f"{progress:.0f}%"
    return (
        f"{record['agent']} on {record['level']}: {done}, {where}, "
        f"{record['frames']} frames, fitness {record['fitness']:.1f}"
    )


def play_games(
    games: Iterable[Game],
    episodes: int,
    *,
    writer: Any = None,
    scale: int = 2,
    overlay_on: bool = True,
    as_json: bool = False,
    quiet: bool = False,
    out: Callable[[str], None] = lambda line: print(line, flush=True),
) -> int:
    """``episodes`` episodes of each of ``games`` (one per level), each record printed through
    ``out``: a JSON object (``as_json``), else a line of text unless ``quiet``; how many."""
    count = 0
    for game in games:
        for records in play_episodes(game, episodes, writer, scale, overlay_on):
            for record in records:
                count += 1
                if as_json:
                    out(json.dumps(record))
                elif not quiet:
                    out(describe(record))
    return count
