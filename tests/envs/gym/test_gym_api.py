"""The Gymnasium interface: registration, spaces, check_env, vector/single equivalence."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode

import envs  # noqa: F401  (registers Platformer-v0)
from envs.gym.platformer import PlatformerEnv
from envs.gym.vector import PlatformerVectorEnv

INFO_KEYS = {"x", "rightmost", "frames", "completed", "dead", "level", "progress"}


def random_actions(seed: int, steps: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    acts = rng.integers(0, 2, (steps, n, 6)).astype(np.uint8)
    acts[:, :, 5] |= (rng.random((steps, n)) < 0.7).astype(np.uint8)  # mostly go right
    return acts


def test_check_env_passes():
    """Gymnasium's env checker accepts the env, including both render modes."""
    check_env(gym.make("Platformer-v0", level="1-1").unwrapped, skip_render_check=False)


def test_spaces_match_marios():
    """Observation is a (13, 13) float32 grid in [-1, 1]; the action is MultiBinary(6)."""
    env = gym.make("Platformer-v0")
    assert env.observation_space == gym.spaces.Box(-1, 1, (13, 13), np.float32)
    assert env.action_space == gym.spaces.MultiBinary(6)
    obs, info = env.reset(seed=0)
    assert obs.shape == (13, 13) and obs.dtype == np.float32
    assert INFO_KEYS <= set(info)
    assert info["level"] == "1-1" and info["frames"] == 0


def test_view_radius_sets_the_grid_size():
    """view_radius r gives a (2r+1, 2r+1) observation."""
    env = PlatformerEnv(view_radius=4)
    assert env.reset(seed=0)[0].shape == (9, 9)


def test_step_holds_buttons_for_frame_skip_frames():
    """One step advances frame_skip frames."""
    for skip in (1, 5):
        env = PlatformerEnv(frame_skip=skip)
        env.reset(seed=0)
        *_, info = env.step(np.array([0, 0, 0, 0, 0, 1]))
        assert info["frames"] == skip


def test_rewards_add_up_to_progress_bonus_and_penalty():
    """The return equals tiles of rightmost progress, minus the death penalty on death."""
    env = PlatformerEnv("1-1")
    _, info = env.reset(seed=0)
    start = info["rightmost"]
    total = 0.0
    right = np.array([0, 1, 0, 0, 0, 1])
    for _ in range(2000):
        _, r, terminated, truncated, info = env.step(right)
        total += r
        if terminated or truncated:
            break
    assert terminated and info["dead"] and not info["completed"]
    assert total == pytest.approx((info["rightmost"] - start) / 16 - 25.0)


def test_no_progress_limit_truncates():
    """Standing still with no_progress_frames set truncates after that many frames."""
    env = PlatformerEnv("1-1", no_progress_frames=60)
    env.reset(seed=0)
    steps = 0
    truncated = terminated = False
    while not (truncated or terminated) and steps < 100:
        *_, terminated, truncated, info = env.step(np.zeros(6))
        steps += 1
    assert truncated and not terminated and steps == 12 and info["frames"] == 60


def test_stall_penalty_turns_a_stuck_end_into_a_failure():
    """With ``stall_penalty`` set, the no-progress cut terminates (not truncates) the episode
    and pays the penalty on that step; the time limit and all other rewards are unchanged."""
    from envs.gym.episodes import RewardConfig

    env = PlatformerEnv("1-1", no_progress_frames=60, reward=RewardConfig(stall_penalty=7.5))
    env.reset(seed=0)
    rewards = []
    terminated = truncated = False
    while not (truncated or terminated) and len(rewards) < 100:
        _, r, terminated, truncated, info = env.step(np.zeros(6))
        rewards.append(r)
    assert terminated and not truncated and len(rewards) == 12
    assert not info["dead"] and not info["completed"]
    assert rewards[-1] == pytest.approx(-7.5) and rewards[:-1] == [0.0] * 11


def test_same_seed_same_rollout_on_generated_levels():
    """Two envs with generated levels, same seed and actions, give identical trajectories."""
    acts = random_actions(0, 150, 1)[:, 0]
    runs = []
    for _ in range(2):
        env = PlatformerEnv(level=None, difficulty=0.3, length=64)
        obs, info = env.reset(seed=11)
        trace = [obs]
        for a in acts:
            obs, r, te, tr, info = env.step(a)
            trace.append(obs)
            if te or tr:
                obs, info = env.reset()
                trace.append(obs)
        runs.append((np.array(trace), info["level"]))
    assert np.array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]


def test_vector_env_is_registered_natively():
    """make_vec uses the native vector env with NEXT_STEP autoreset declared."""
    venv = gym.make_vec("Platformer-v0", num_envs=3, level="1-1")
    assert isinstance(venv, PlatformerVectorEnv)
    assert venv.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    assert venv.observation_space.shape == (3, 13, 13)
    assert venv.action_space.shape == (3, 6)


@pytest.mark.parametrize("level", ["1-1", None], ids=["fixed", "generated"])
def test_vector_env_matches_single_envs_step_for_step(level):
    """N envs in one vector env equal N single envs (seeds s+i) in obs, reward, ends and info,
    across autoresets."""
    n, steps, seed = 4, 300, 5
    kwargs = dict(level=level, difficulty=0.4, length=48, no_progress_frames=120)
    venv = PlatformerVectorEnv(n, **kwargs)
    singles = [PlatformerEnv(**kwargs) for _ in range(n)]
    vobs, vinfo = venv.reset(seed=seed)
    pending = [False] * n
    for i, env in enumerate(singles):
        obs, info = env.reset(seed=seed + i)
        assert np.array_equal(vobs[i], obs)
    acts = random_actions(1, steps, n)
    ends = 0
    for t in range(steps):
        vobs, vrew, vterm, vtrunc, vinfo = venv.step(acts[t])
        for i, env in enumerate(singles):
            if pending[i]:  # NEXT_STEP: this step resets the finished episode
                obs, info = env.reset()
                r, term, trunc = 0.0, False, False
                pending[i] = False
            else:
                obs, r, term, trunc, info = env.step(acts[t, i])
                pending[i] = term or trunc
                ends += pending[i]
            assert np.array_equal(vobs[i], obs), (t, i)
            assert vrew[i] == pytest.approx(r) and vterm[i] == term and vtrunc[i] == trunc
            for key in INFO_KEYS:
                assert vinfo[key][i] == info[key], (t, i, key)
    assert ends > 0  # the comparison crossed episode boundaries


def test_bad_arguments_are_clear():
    """Bad constructor arguments raise ValueError naming the argument."""
    with pytest.raises(ValueError, match="frame_skip"):
        PlatformerEnv(frame_skip=0)
    with pytest.raises(ValueError, match="difficulty"):
        PlatformerEnv(level=None, difficulty=2.0)
    with pytest.raises(ValueError, match="render_mode"):
        PlatformerEnv(render_mode="ascii")
    with pytest.raises(envs.LevelError, match="unknown level 'nope'"):
        PlatformerEnv(level="nope")


def test_reset_option_switches_level():
    """reset(options={'level': ...}) starts the named level."""
    env = PlatformerEnv("1-1")
    _, info = env.reset(seed=0, options={"level": "1-2"})
    assert info["level"] == "1-2"


def test_rgb_array_render_is_headless():
    """rgb_array rendering returns an (H, W, 3) uint8 frame without a display."""
    env = PlatformerEnv("1-1", render_mode="rgb_array", render_scale=1)
    env.reset(seed=0)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    assert frame.shape[1] == 256 and frame.std() > 0


@pytest.mark.slow
def test_simulation_never_imports_pygame():
    """Importing and stepping the envs does not pull in pygame."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, envs; from envs.gym.platformer import PlatformerEnv;"
        "e = PlatformerEnv(); e.reset(seed=0); e.step(np.ones(6));"
        "sys.exit(1 if 'pygame' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_progress_is_one_when_the_flag_is_reached():
    """info['progress'] reaches exactly 1.0 on completion (the player's right edge counts)."""
    from envs.solver import SolverAgent

    env = PlatformerEnv("1-1")
    obs, info = env.reset(seed=0)
    agent = SolverAgent(envs.load_level("1-1"))
    agent.reset(1)
    terminated = truncated = False
    while not (terminated or truncated):
        obs, _, terminated, truncated, info = env.step(agent.act(obs[None])[0])
    assert info["completed"] and info["progress"] == 1.0


def test_render_fps_counts_steps_not_frames():
    """metadata['render_fps'] is frames per second divided by frame_skip (one render a step)."""
    assert PlatformerEnv(frame_skip=5).metadata["render_fps"] == 12
    assert PlatformerVectorEnv(2, frame_skip=4).metadata["render_fps"] == 15


def test_level_pool_reuses_generated_levels():
    """With level_pool=K, generated levels come from K seeds only, so resets repeat levels."""
    env = PlatformerEnv(level=None, difficulty=0.2, length=40, level_pool=2)
    names = {env.reset(seed=s)[1]["level"] for s in range(12)}
    assert len(names) <= 2
