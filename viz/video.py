"""Recording what is played: frames to a GIF (pillow) or an MP4 (imageio-ffmpeg), streamed.

The video is written to a temporary file beside the target and renamed over it when complete
(``close``), so an interrupted or failed recording never leaves a half-written video under the
name asked for (``abort`` removes the temporary file). ``check_video_path`` refuses an unusable
target before anything is played.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from types import TracebackType

import numpy as np

from envs.sim.constants import FPS

VIDEO_SUFFIXES = (".gif", ".mp4")

__all__ = ["VIDEO_SUFFIXES", "VideoWriter", "check_output_path", "check_video_path"]


def check_output_path(path: Path, suffixes: tuple[str, ...], flag: str) -> None:
    """Raise ``ValueError`` (one line) unless ``path`` ends in one of ``suffixes``, is not a
    directory, and its directory exists."""
    if path.suffix.lower() not in suffixes:
        raise ValueError(f"{flag} writes a {' or '.join(suffixes)} file, not {path}")
    if path.is_dir():
        raise ValueError(f"{flag} {path}: is a directory")
    if not path.parent.is_dir():
        raise ValueError(f"{flag} {path}: the directory {path.parent} does not exist")


def _need_ffmpeg(path: Path) -> None:
    if path.suffix.lower() != ".mp4":
        return
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        raise ValueError(
            f"{path}: writing .mp4 needs imageio-ffmpeg (pip install imageio-ffmpeg); "
            "record a .gif instead"
        ) from None


def check_video_path(path: Path) -> None:
    """``check_output_path`` for ``--record``, and an MP4 needs imageio-ffmpeg."""
    check_output_path(path, VIDEO_SUFFIXES, "--record")
    _need_ffmpeg(path)


class VideoWriter:
    """Frames (``(H, W, 3)`` uint8) to ``path`` at ``fps`` (0: the game's 60), streamed to a
    temporary file that ``close`` renames into place; a context manager (an exception aborts)."""

    def __init__(self, path: Path, fps: int = FPS):
        import imageio.v2 as imageio

        self.path = path
        self.frames = 0
        fps = fps or FPS
        _need_ffmpeg(path)
        # ffmpeg picks the container by the name's suffix: keep it at the end
        self._tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp{path.suffix}")
        if path.suffix.lower() == ".mp4":
            self._writer = imageio.get_writer(self._tmp, fps=fps, macro_block_size=1)
        else:
            self._writer = imageio.get_writer(
                self._tmp, format="GIF", mode="I", duration=1000.0 / fps, loop=0
            )

    def add(self, frame: np.ndarray) -> None:
        self._writer.append_data(frame)
        self.frames += 1

    def close(self) -> None:
        """Finish the video and move it to ``path``."""
        try:
            self._writer.close()
            os.replace(self._tmp, self.path)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Drop the recording: nothing is left at ``path`` or beside it."""
        with contextlib.suppress(Exception):
            self._writer.close()
        with contextlib.suppress(OSError):
            self._tmp.unlink()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()
