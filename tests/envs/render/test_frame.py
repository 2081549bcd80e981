"""Frames drawn from a ``WorldView``: size, where things are drawn, and the RGB array format."""

import dataclasses

import numpy as np
import pygame
import pytest

from envs.levels.level import load_level
from envs.render import art
from envs.render.frame import player_pose, render_view, surface_to_array
from envs.sim.constants import (
    AIR,
    BRICK,
    BUTTONS,
    COIN,
    DEAD,
    FLAG,
    GROUND,
    HARD,
    PIPE_L,
    PIPE_R,
    QUESTION,
    SCREEN_TILES,
    SPIKES,
    TILE_PX,
    USED,
)
from envs.sim.world import LevelBank, World, WorldView

SCALE = 2
TS = TILE_PX * SCALE


def start_view(level, steps: int = 0, buttons: tuple[str, ...] = ()) -> WorldView:
    world = World(LevelBank([level]), 1)
    world.reset()
    actions = np.zeros((1, len(BUTTONS)), dtype=np.uint8)
    for b in buttons:
        actions[0, BUTTONS.index(b)] = 1
    for _ in range(steps):
        world.step(actions, 1)
    return world.view(0)


def pixels(surface: pygame.Surface, rect: tuple[int, int, int, int]) -> np.ndarray:
    x, y, w, h = rect
    return surface_to_array(surface)[y : y + h, x : x + w]


def sky_fraction(block: np.ndarray, sky=art.SKY) -> float:
    return float(np.all(block == np.array(sky, dtype=np.uint8), axis=-1).mean())


def flat(image: pygame.Surface) -> np.ndarray:
    """An art image composed over the sky, as an RGB array."""
    out = pygame.Surface(image.get_size())
    out.fill(art.SKY)
    out.blit(image, (0, 0))
    return surface_to_array(out)


def tile_rect(row: int, col: int, camera: float = 0.0) -> tuple[int, int, int, int]:
    return (round((col * TILE_PX - camera) * SCALE), row * TS, TS, TS)


def sprite_rect(x: float, y: float, size, camera: float) -> tuple[int, int, int, int]:
    return (round((x - camera) * SCALE), round(y * SCALE), size[0] * SCALE, size[1] * SCALE)


def test_render_view_size(small_level):
    """The frame is width_tiles tiles wide and the level's full height, times the scale."""
    view = start_view(small_level)
    surf = render_view(view, scale=SCALE)
    assert surf.get_size() == (SCREEN_TILES * TS, small_level.height * TS)
    assert render_view(view, scale=1, width_tiles=20).get_size() == (320, small_level.height * 16)
    level = load_level("1-1")
    assert render_view(start_view(level), scale=3).get_size() == (768, level.height * 48)


def test_render_view_reuses_a_surface_of_the_right_size(small_level):
    """A given surface of the right size is drawn into and returned; a wrong size is refused."""
    view = start_view(small_level)
    target = pygame.Surface((SCREEN_TILES * TS, small_level.height * TS))
    assert render_view(view, scale=SCALE, surface=target) is target
    with pytest.raises(ValueError, match="surface"):
        render_view(view, scale=SCALE, surface=pygame.Surface((10, 10)))


def test_player_is_drawn_over_the_sky(small_level):
    """Where the view puts the player the frame is mostly not sky; air elsewhere is sky."""
    view = start_view(small_level)
    surf = render_view(view, scale=SCALE)
    rect = sprite_rect(*view.player, view.player_size, view.camera)
    assert sky_fraction(pixels(surf, rect)) < 0.5
    assert sky_fraction(pixels(surf, tile_rect(1, 8))) == 1.0


def test_ground_tile_is_ground_coloured(small_level):
    """A ground tile's pixels use only the ground palette, the base brown most of all."""
    surf = render_view(start_view(small_level), scale=SCALE)
    block = pixels(surf, tile_rect(7, 5)).reshape(-1, 3)
    palette = {art.GROUND_BASE, art.GROUND_DARK, art.GROUND_LIGHT, art.GROUND_SHADE}
    assert {tuple(int(v) for v in px) for px in block} <= palette
    colours, counts = np.unique(block, axis=0, return_counts=True)
    assert tuple(int(v) for v in colours[np.argmax(counts)]) == art.GROUND_BASE


def test_enemy_is_drawn_where_the_view_says(small_level):
    """Moving the view's enemy changes the frame inside the old and new enemy boxes only."""
    view = start_view(small_level)
    ex, ey, d = view.enemies[0]
    moved = dataclasses.replace(view, enemies=((ex - 48.0, ey, d),))
    a = surface_to_array(render_view(view, scale=SCALE))
    b = surface_to_array(render_view(moved, scale=SCALE))
    old = sprite_rect(ex, ey, view.enemy_size, view.camera)
    new = sprite_rect(ex - 48.0, ey, view.enemy_size, view.camera)
    changed = np.any(a != b, axis=-1)
    inside = np.zeros_like(changed)
    for x, y, w, h in (old, new):
        inside[y : y + h, x : x + w] = True
    assert changed[inside].mean() > 0.3
    assert not changed[~inside].any()
    assert sky_fraction(b[new[1] : new[1] + new[3], new[0] : new[0] + new[2]]) < 0.6


def test_enemy_drawing_follows_its_direction(small_level):
    """An enemy walking right is drawn as the mirror image of one walking left."""
    view = start_view(small_level)
    ex, ey, _ = view.enemies[0]
    rect = sprite_rect(ex, ey, view.enemy_size, view.camera)

    def drawn(direction: int) -> np.ndarray:
        walking = dataclasses.replace(view, enemies=((ex, ey, direction),))
        return pixels(render_view(walking, scale=SCALE), rect)

    left, right = drawn(-1), drawn(1)
    assert not np.array_equal(left, right)
    assert np.array_equal(left, right[:, ::-1])


def test_taken_coin_disappears(small_level):
    """After the player walks through the coin, its tile is drawn as sky (view from World)."""
    before = render_view(start_view(small_level), scale=SCALE)
    assert sky_fraction(pixels(before, tile_rect(6, 4))) < 0.8
    view = start_view(small_level, steps=45, buttons=("RIGHT",))
    assert view.coins == 1 and view.tiles[6, 4] == AIR
    moved = dataclasses.replace(view, player=(0.0, 0.0))  # keep the player out of that tile
    after = render_view(moved, scale=SCALE)
    assert sky_fraction(pixels(after, tile_rect(6, 4, view.camera))) == 1.0


def test_coin_drawing_follows_view_tiles(small_level):
    """Drawing uses the view's tiles: a coin replaced by air by hand is not drawn."""
    view = start_view(small_level)
    tiles = view.tiles.copy()
    tiles[6, 4] = AIR
    surf = render_view(dataclasses.replace(view, tiles=tiles), scale=SCALE)
    assert sky_fraction(pixels(surf, tile_rect(6, 4))) == 1.0


def test_dead_player_is_drawn_differently(small_level):
    """A dead player gets its own pose, so the frame differs from the living one."""
    view = start_view(small_level)
    rect = sprite_rect(*view.player, view.player_size, view.camera)
    alive = pixels(render_view(view, scale=SCALE), rect)
    dead_view = dataclasses.replace(view, status=DEAD)
    assert player_pose(dead_view) == "dead"
    assert not np.array_equal(alive, pixels(render_view(dead_view, scale=SCALE), rect))


def test_airborne_player_uses_the_jump_pose(small_level):
    """A player off the ground is drawn in the jump pose, facing left or right as the view says."""
    view = dataclasses.replace(start_view(small_level), on_ground=False)
    assert player_pose(view) == "jump"
    rect = sprite_rect(*view.player, view.player_size, view.camera)
    right = pixels(render_view(view, scale=SCALE), rect)
    left = pixels(render_view(dataclasses.replace(view, facing=-1), scale=SCALE), rect)
    assert np.array_equal(left, right[:, ::-1])


def test_camera_shifts_the_tiles(small_level):
    """With the camera one tile to the right, column c is drawn where column c-1 was."""
    view = start_view(small_level)
    view = dataclasses.replace(view, player=(0.0, 0.0), enemies=())
    at0 = surface_to_array(render_view(view, scale=SCALE, width_tiles=8))
    at16 = surface_to_array(
        render_view(dataclasses.replace(view, camera=16.0), scale=SCALE, width_tiles=8)
    )
    rows = slice(2 * TS, None)  # below the player, parked at the top-left corner
    assert np.array_equal(at16[rows, : 7 * TS], at0[rows, TS : 8 * TS])


def test_surface_to_array_shape_and_dtype():
    """surface_to_array gives (H, W, 3) uint8 with arr[y, x] the pixel at (x, y)."""
    surf = pygame.Surface((7, 5))
    surf.fill((10, 20, 30))
    surf.set_at((6, 1), (200, 100, 50))
    arr = surface_to_array(surf)
    assert arr.shape == (5, 7, 3) and arr.dtype == np.uint8
    assert arr.flags.c_contiguous
    assert tuple(arr[1, 6]) == (200, 100, 50) and tuple(arr[0, 0]) == (10, 20, 30)


def test_tile_art_is_distinct_and_cached():
    """Every tile kind has its own image at scale 1; images are cached and scale exactly."""
    kinds = [GROUND, HARD, BRICK, QUESTION, USED, PIPE_L, PIPE_R, SPIKES, COIN, FLAG]
    images = [flat(art.tile(k, 1)) for k in kinds]
    for i in range(len(kinds)):
        for j in range(i + 1, len(kinds)):
            assert not np.array_equal(images[i], images[j]), (kinds[i], kinds[j])
    assert art.tile(AIR, 2) is None
    assert art.tile(GROUND, 3) is art.tile(GROUND, 3)
    assert art.tile(GROUND, 3).get_size() == (48, 48)
    assert not np.array_equal(flat(art.tile(PIPE_L, 1, True)), flat(art.tile(PIPE_L, 1, False)))


def test_underground_theme_darkens_the_sky(small_level):
    """A level whose metadata says theme: underground gets the dark background."""
    assert art.sky_color(small_level.meta) == art.SKY
    assert art.sky_color({"theme": "underground"}) == art.UNDERGROUND_SKY
