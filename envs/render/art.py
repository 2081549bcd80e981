"""Procedural SMB-like pixel art: every tile and sprite is drawn at 16 px per tile, then scaled.

Art is built from small character maps (one character per pixel, see the palettes) and a few
pygame polygons, at the native resolution of the simulation (a tile is 16x16 pixels), and
scaled up with nearest-neighbour for crisp pixels at ``scale`` 2, 3, ... Every surface is
cached per (kind, variant, scale), so drawing a frame is only blitting.

No image files, no fonts: nothing to download or ship.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from functools import cache

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402

from envs.sim.constants import (  # noqa: E402
    BRICK,
    COIN,
    FLAG,
    GROUND,
    HARD,
    PIPE_L,
    PIPE_R,
    QUESTION,
    SPIKES,
    TILE_PX,
    USED,
)

Color = tuple[int, int, int] | tuple[int, int, int, int]

SKY = (92, 148, 252)  # the overworld sky
UNDERGROUND_SKY = (12, 8, 24)  # levels whose metadata says ``; theme: underground``

_CLEAR = (0, 0, 0, 0)
OUTLINE = (24, 12, 4)

# --- tile palettes ---------------------------------------------------------------------------
GROUND_BASE, GROUND_DARK, GROUND_LIGHT = (172, 96, 44), (72, 34, 12), (224, 152, 92)
GROUND_SHADE = (136, 72, 30)
HARD_BASE, HARD_DARK, HARD_LIGHT = (196, 128, 72), (96, 52, 20), (244, 204, 156)
BRICK_BASE, BRICK_MORTAR, BRICK_LIGHT = (204, 76, 24), (40, 14, 4), (252, 156, 116)
QUESTION_BASE, QUESTION_MARK, QUESTION_SHADOW = (252, 180, 36), (132, 58, 8), (60, 24, 4)
USED_BASE, USED_DARK = (140, 92, 56), (64, 38, 20)
PIPE_BASE, PIPE_LIGHT, PIPE_DARK = (56, 176, 48), (164, 236, 112), (20, 112, 20)
PIPE_OUTLINE = (8, 48, 8)
SPIKE_LIGHT, SPIKE_BASE, SPIKE_DARK = (232, 232, 240), (168, 168, 180), (88, 88, 104)
COIN_BASE, COIN_DARK, COIN_LIGHT = (252, 200, 40), (164, 100, 0), (255, 248, 196)
POLE, POLE_DARK, FLAG_BALL, PENNANT = (176, 228, 120), (56, 140, 40), (40, 160, 40), (248, 248, 248)


def _pixmap(rows: Sequence[str], palette: Mapping[str, Color]) -> pygame.Surface:
    """A surface with one pixel per character; ``.`` (or any unknown character) is transparent."""
    width = len(rows[0])
    if any(len(r) != width for r in rows):
        raise ValueError("pixel map rows must have equal lengths")
    surf = pygame.Surface((width, len(rows)), pygame.SRCALPHA)
    surf.fill(_CLEAR)
    for y, row in enumerate(rows):
        for x, ch in enumerate(row):
            if ch in palette:
                surf.set_at((x, y), palette[ch])
    return surf


def _scaled(surf: pygame.Surface, scale: int) -> pygame.Surface:
    if scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale}")
    if scale == 1:
        return surf
    w, h = surf.get_size()
    return pygame.transform.scale(surf, (w * scale, h * scale))


def _blank() -> pygame.Surface:
    surf = pygame.Surface((TILE_PX, TILE_PX), pygame.SRCALPHA)
    surf.fill(_CLEAR)
    return surf


# --- tiles at 16 px ----------------------------------------------------------------------------
# Ground: a few bevelled stones (light top-left, shaded bottom-right) in dark joints, speckled.
_GROUND_STONES = ((0, 0, 9, 9), (10, 0, 5, 5), (10, 6, 5, 9), (0, 10, 5, 5), (6, 10, 3, 5))
_GROUND_SPECKLES = ((3, 3), (6, 6), (12, 2), (12, 9), (13, 12), (2, 12), (7, 12), (5, 1))

_QUESTION_MARK = (
    ".####.",
    "##..##",
    "....##",
    "...##.",
    "..##..",
    "..##..",
    "......",
    "..##..",
)


def _ground() -> pygame.Surface:
    s = _blank()
    s.fill(GROUND_DARK)
    for x, y, w, h in _GROUND_STONES:
        pygame.draw.rect(s, GROUND_BASE, (x, y, w, h))
        pygame.draw.line(s, GROUND_LIGHT, (x, y), (x + w - 1, y))
        pygame.draw.line(s, GROUND_LIGHT, (x, y), (x, y + h - 1))
        pygame.draw.line(s, GROUND_SHADE, (x + 1, y + h - 1), (x + w - 1, y + h - 1))
        pygame.draw.line(s, GROUND_SHADE, (x + w - 1, y + 1), (x + w - 1, y + h - 1))
    for x, y in _GROUND_SPECKLES:
        s.set_at((x, y), GROUND_SHADE)
    return s


def _hard() -> pygame.Surface:
    """A bevelled stair block: light top and left faces, dark bottom and right faces."""
    s = _blank()
    s.fill(HARD_BASE)
    last = TILE_PX - 1
    pygame.draw.polygon(s, HARD_LIGHT, [(0, 0), (last, 0), (last - 3, 3), (3, 3), (3, last - 3),
                                        (0, last)])  # fmt: skip
    pygame.draw.polygon(s, HARD_DARK, [(last, last), (0, last), (3, last - 3), (last - 3, last - 3),
                                       (last - 3, 3), (last, 0)])  # fmt: skip
    pygame.draw.rect(s, OUTLINE, s.get_rect(), 1)
    return s


def _brick() -> pygame.Surface:
    """Red bricks in a running bond with dark mortar and a light top edge per course."""
    s = _blank()
    s.fill(BRICK_BASE)
    for course in range(4):
        y0 = course * 4
        pygame.draw.line(s, BRICK_LIGHT, (0, y0), (TILE_PX - 1, y0))
        pygame.draw.line(s, BRICK_MORTAR, (0, y0 + 3), (TILE_PX - 1, y0 + 3))
        for x in (7, 15) if course % 2 == 0 else (3, 11):
            pygame.draw.line(s, BRICK_MORTAR, (x, y0), (x, y0 + 2))
    return s


def _riveted(base: Color, dark: Color) -> pygame.Surface:
    s = _blank()
    s.fill(base)
    pygame.draw.rect(s, dark, s.get_rect(), 1)
    for x, y in ((2, 2), (13, 2), (2, 13), (13, 13)):
        s.set_at((x, y), dark)
    return s


def _question() -> pygame.Surface:
    s = _riveted(QUESTION_BASE, QUESTION_SHADOW)
    pygame.draw.line(s, (252, 228, 140), (1, 1), (14, 1))  # a shine along the top
    shadow = _pixmap(_QUESTION_MARK, {"#": QUESTION_SHADOW})
    mark = _pixmap(_QUESTION_MARK, {"#": QUESTION_MARK})
    s.blit(shadow, (6, 5))
    s.blit(mark, (5, 4))
    return s


def _used() -> pygame.Surface:
    s = _riveted(USED_BASE, USED_DARK)
    pygame.draw.rect(s, (120, 78, 46), (3, 3, 10, 10))
    return s


def _pipe_shade(xx: int, lo: int, hi: int) -> Color:
    """Colour of column ``xx`` of a 32-px pipe whose outline columns are ``lo`` and ``hi``."""
    if xx in (lo, hi):
        return PIPE_OUTLINE
    if xx in (lo + 2, lo + 3, lo + 5):
        return PIPE_LIGHT
    if xx in (hi - 9, hi - 5, hi - 4, hi - 3, hi - 2):
        return PIPE_DARK
    return PIPE_BASE


def _pipe(right: bool, rim: bool) -> pygame.Surface:
    """One half of a pipe: the rim (top segment) spans the tile, the body is inset by 2 px."""
    s = _blank()
    last = TILE_PX - 1
    off = TILE_PX if right else 0
    body_top = 8 if rim else 0
    for x in range(TILE_PX):
        xx = x + off
        if rim:
            pygame.draw.line(s, _pipe_shade(xx, 0, 2 * TILE_PX - 1), (x, 1), (x, 6))
        if 2 <= xx <= 2 * TILE_PX - 3:
            pygame.draw.line(s, _pipe_shade(xx, 2, 2 * TILE_PX - 3), (x, body_top), (x, last))
    if rim:
        pygame.draw.line(s, PIPE_OUTLINE, (0, 0), (last, 0))
        pygame.draw.line(s, PIPE_OUTLINE, (0, 7), (last, 7))
    return s


def _spikes() -> pygame.Surface:
    """Two grey spikes: light left faces, dark right faces, on a dark base plate."""
    s = _blank()
    for left in (0, 8):
        apex = (left + 3, 3)
        base_l, base_r = (left, 14), (left + 7, 14)
        pygame.draw.polygon(s, SPIKE_LIGHT, [apex, base_l, (left + 3, 14)])
        pygame.draw.polygon(s, SPIKE_DARK, [(left + 4, 3), (left + 4, 14), base_r])
        pygame.draw.line(s, SPIKE_BASE, (left + 3, 5), (left + 3, 14))
        pygame.draw.line(s, SPIKE_BASE, (left + 4, 5), (left + 4, 14))
    pygame.draw.rect(s, SPIKE_DARK, (0, 14, TILE_PX, 2))
    pygame.draw.line(s, OUTLINE, (0, 15), (TILE_PX - 1, 15))
    return s


def _coin() -> pygame.Surface:
    s = _blank()
    pygame.draw.ellipse(s, COIN_DARK, (3, 1, 10, 14))
    pygame.draw.ellipse(s, COIN_BASE, (4, 2, 8, 12))
    pygame.draw.line(s, COIN_DARK, (8, 5), (8, 10))
    pygame.draw.line(s, COIN_LIGHT, (6, 4), (6, 11))
    return s


def _flag(top: bool) -> pygame.Surface:
    """The flag pole (a column of flag tiles); its top cell carries the ball."""
    s = _blank()
    y0 = 0
    if top:
        y0 = 6
        pygame.draw.circle(s, POLE_DARK, (8, 3), 3)
        pygame.draw.circle(s, FLAG_BALL, (8, 3), 2)
        s.set_at((7, 2), POLE)
    pygame.draw.line(s, POLE, (7, y0), (7, TILE_PX - 1))
    pygame.draw.line(s, POLE_DARK, (8, y0), (8, TILE_PX - 1))
    return s


PENNANT_SIZE = (16, 12)  # the pennant hangs left of the pole, below the ball (see ``pennant``)


@cache
def pennant(scale: int = 1) -> pygame.Surface:
    """The white pennant with a green emblem; its right edge goes against the pole's left side."""
    w, h = PENNANT_SIZE
    s = pygame.Surface((w, h), pygame.SRCALPHA)
    s.fill(_CLEAR)
    points = [(w - 1, 0), (w - 1, h - 1), (0, 0)]
    pygame.draw.polygon(s, PENNANT, points)
    pygame.draw.polygon(s, POLE_DARK, points, 1)
    pygame.draw.circle(s, FLAG_BALL, (w - 5, 3), 2)
    return _scaled(s, scale)


_OPAQUE = (GROUND, HARD, BRICK, QUESTION, USED)
_TILE_MAKERS = {
    GROUND: _ground,
    HARD: _hard,
    BRICK: _brick,
    QUESTION: _question,
    USED: _used,
    SPIKES: _spikes,
    COIN: _coin,
}


@cache
def tile(kind: int, scale: int = 1, top: bool = False) -> pygame.Surface | None:
    """The (16*scale)-px square image of tile code ``kind``; ``None`` for air (and unknown codes).

    ``top`` marks the top cell of a pipe or flag column (the tile above is not the same kind):
    pipes draw their rim there, the flag its ball and pennant.
    """
    if kind in (PIPE_L, PIPE_R):
        base = _pipe(kind == PIPE_R, top)
    elif kind == FLAG:
        base = _flag(top)
    elif kind in _TILE_MAKERS:
        base = _TILE_MAKERS[kind]()
    else:
        return None
    image = _scaled(base, scale)
    if kind in _OPAQUE:  # no per-pixel alpha: blits faster
        opaque = pygame.Surface(image.get_size())
        opaque.blit(image, (0, 0))
        image = opaque
    return image


# --- sprites -----------------------------------------------------------------------------------
# The player (12x16, the hitbox size), facing right. R cap and shirt, B overalls, S skin,
# H hair and shoes, K eye and moustache, Y buttons.
_PLAYER_PAL = {
    "R": (220, 40, 16),
    "B": (36, 76, 220),
    "S": (252, 188, 140),
    "H": (112, 56, 8),
    "K": (16, 8, 8),
    "Y": (252, 220, 60),
}
_PLAYER_STAND = (
    "...RRRRR....",
    "..RRRRRRRRR.",
    "..HHHSSKS...",
    ".HSHSSSKSSS.",
    ".HSHHSSSKSSS",
    ".HHSSSSKKKK.",
    "...SSSSSSS..",
    "..RRBRRR....",
    ".RRRBRRBRRR.",
    "RRRRBBBBRRRR",
    "SSRBYBBYBRSS",
    "SSSBBBBBBSSS",
    "SSBBBBBBBBSS",
    "..BBB..BBB..",
    ".HHH....HHH.",
    "HHHH....HHHH",
)
_PLAYER_WALK = _PLAYER_STAND[:7] + (
    "..RRRBRR....",
    ".RRRRBBRR...",
    ".RRRBBYBBS..",
    "..SSBBBBBSS.",
    "..SSBBBBBS..",
    "...BBBBBB...",
    "...HHHBBB...",
    "...HHHHHH...",
    "....HHHH....",
)
_PLAYER_JUMP = (
    "...RRRRR..SS",
    "..RRRRRRRRSS",
    "..HHHSSKS.RR",
    ".HSHSSSKSSRR",
    ".HSHHSSSKRRR",
    ".HHSSSSKKKR.",
    "...SSSSSSSR.",
    "SSRRBRRRBR..",
    "SSRRRBRRRB..",
    "SS.RRBBBBB..",
    "...BYBBYBB.H",
    "..BBBBBBBBHH",
    ".BBBBBBBBBHH",
    "HHBBB...BB..",
    "HHH.........",
    "H...........",
)
_PLAYER_DEAD = (  # facing the viewer, arms up, X eyes
    "S...RRRR...S",
    "SS.RRRRRR.SS",
    "RSHHHHHHHHSR",
    "RSHKSKKSKHSR",
    "RSSSKSSKSSSR",
    "RSHKSKKSKHSR",
    ".RSSKKKKSSR.",
    "..RRBRRBRR..",
    "..RRBRRBRR..",
    "...BYBBYB...",
    "...BBBBBB...",
    "..BBBBBBBB..",
    "..BBB..BBB..",
    "..BBB..BBB..",
    ".HHH....HHH.",
    "HHHH....HHHH",
)

# The enemy (14x16, the hitbox size): a mushroom cap, eyes looking left, feet. N cap,
# T face and feet top, K dark, W eye white.
_ENEMY_PAL = {"N": (156, 72, 20), "T": (240, 200, 150), "K": (28, 12, 4), "W": (252, 252, 252)}
_ENEMY = (
    "......NN......",
    ".....NNNN.....",
    "....NNNNNN....",
    "...NNNNNNNN...",
    "..NKKNNNNKKN..",
    ".NNNKKNNKKNNN.",
    ".NNKWKNNKWKNN.",
    "NNNKWKKKKWKNNN",
    "NNNKWWNNKWWNNN",
    "NNNNNNNNNNNNNN",
    ".NNNNTTTTNNNN.",
    "....TTTTTT....",
    "...TTTTTTTT...",
    ".KKKTTTTTTKK..",
    "KKKKK.TT.KKKK.",
    ".KKKK.....KKK.",
)
_ENEMY_STEP = _ENEMY[:13] + (
    "..KKKTTTTKKK..",
    "..KKKKK.KKKKK.",
    "...KKKK..KKK..",
)


@cache
def player(scale: int = 1, facing: int = 1, pose: str = "stand") -> pygame.Surface:
    """The player sprite; ``pose`` is ``stand``, ``walk``, ``jump`` or ``dead``."""
    rows = {
        "stand": _PLAYER_STAND,
        "walk": _PLAYER_WALK,
        "jump": _PLAYER_JUMP,
        "dead": _PLAYER_DEAD,
    }[pose]
    surf = _pixmap(rows, _PLAYER_PAL)
    if facing < 0:
        surf = pygame.transform.flip(surf, True, False)
    return _scaled(surf, scale)


@cache
def enemy(scale: int = 1, direction: int = -1, step: bool = False) -> pygame.Surface:
    """The enemy sprite walking in ``direction`` (-1 left, +1 right); ``step`` swaps the feet."""
    surf = _pixmap(_ENEMY_STEP if step else _ENEMY, _ENEMY_PAL)
    if direction > 0:
        surf = pygame.transform.flip(surf, True, False)
    return _scaled(surf, scale)


def sky_color(meta: Mapping[str, str] | None = None) -> tuple[int, int, int]:
    """The background colour of a level (dark when its metadata says ``theme: underground``)."""
    theme = (meta or {}).get("theme", "").strip().lower()
    return UNDERGROUND_SKY if theme in ("underground", "cave", "castle") else SKY
