"""Activation and aggregation functions for the compiled NEAT networks, in three forms.

* ``mario_sigmoid``: MarI/O's neuron, registered with a config by ``register_custom`` (call it
  after loading a config: neat-python looks a function up only when a network is built).
* Vectorized (``VECTOR_ACTIVATIONS``, ``VECTOR_AGGREGATIONS``): numpy or torch forms of every
  neat-python 2.0 built-in and ``mario_sigmoid``, for ``agent.neat.batched.BatchedRecurrent``;
  ``xp`` is the array module and ``NumpyOps``/``TorchOps`` the few operations whose spellings
  differ. Formulas (clamping included) mirror ``neat/activations.py`` exactly.
* Compiled (``COMPILED_ACTIVATIONS``, ``activate_code``): neat-python's own scalar functions
  compiled by numba, for the episode loop of ``agent.neat.rollout``.

Tables are keyed by the Python function object, not the name: a config that re-registers a
built-in name with its own function gets that function (through the slow per-element fallback),
not our formula.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from neat import activations as neat_act
from neat import aggregations as neat_agg
from numba import njit

__all__ = [
    "COMPILED_ACTIVATIONS",
    "VECTOR_ACTIVATIONS",
    "VECTOR_AGGREGATIONS",
    "NumpyOps",
    "TorchOps",
    "activate_code",
    "mario_sigmoid",
    "register_custom",
]


def mario_sigmoid(z: float) -> float:
    """MarI/O's neuron activation ``2 / (1 + exp(-4.9 z)) - 1``, in (-1, 1).

    The exponent is clamped to +-60 like neat-python's own sigmoid: ``math.exp`` raises
    OverflowError past ~709, and exp(60) already saturates the result to float precision.
    """
    z = max(-60.0, min(60.0, 4.9 * z))
    return 2.0 / (1.0 + math.exp(-z)) - 1.0


def register_custom(config: Any) -> None:
    """Register this project's custom activations (``"mario_sigmoid"``) with a NEAT config.

    Accepts a ``neat.Config`` or its ``genome_config``. Call it after loading the config and
    before creating networks: neat-python accepts any name in ``activation_options`` when parsing,
    and only looks the function up when a network is built.
    """
    genome_config = getattr(config, "genome_config", config)
    genome_config.add_activation("mario_sigmoid", mario_sigmoid)


# --------------------------------------------------------------------------------------------
# Vectorized activations and aggregations. ``xp`` is the array module (numpy or torch); both
# provide exp/tanh/sin/abs/log/clip/where with the same signatures, so one definition serves
# both backends. Formulas (incl. clamping) mirror neat/activations.py exactly.
# --------------------------------------------------------------------------------------------

_SELU_LAMBDA = 1.0507009873554804934193349852946
_SELU_ALPHA = 1.6732632423543772848170429916717


def _v_sigmoid(z, xp):
    z = xp.clip(5.0 * z, -60.0, 60.0)
    return 1.0 / (1.0 + xp.exp(-z))


def _v_tanh(z, xp):
    # neat clamps 2.5 z to [-60, 60] first; tanh is already exactly +-1.0 beyond ~19.1 (float64)
    # and ~9 (float32), and NaN stays NaN, so the clamp changes no value and is left out.
    return xp.tanh(2.5 * z)


def _v_sin(z, xp):
    return xp.sin(xp.clip(5.0 * z, -60.0, 60.0))


def _v_gauss(z, xp):
    z = xp.clip(z, -3.4, 3.4)
    return xp.exp(-5.0 * z * z)


def _v_relu(z, xp):
    return xp.where(z > 0.0, z, 0.0)


def _v_elu(z, xp):
    # exp only of the non-positive part: avoids overflow in the branch that is thrown away.
    return xp.where(z > 0.0, z, xp.exp(xp.clip(z, None, 0.0)) - 1.0)


def _v_lelu(z, xp):
    return xp.where(z > 0.0, z, 0.005 * z)


def _v_selu(z, xp):
    neg = _SELU_LAMBDA * _SELU_ALPHA * (xp.exp(xp.clip(z, None, 0.0)) - 1.0)
    return xp.where(z > 0.0, _SELU_LAMBDA * z, neg)


def _v_softplus(z, xp):
    z = xp.clip(5.0 * z, -60.0, 60.0)
    return 0.2 * xp.log(1.0 + xp.exp(z))


def _v_identity(z, xp):
    return z


def _v_clamped(z, xp):
    return xp.clip(z, -1.0, 1.0)


def _v_inv(z, xp):
    # neat returns 0.0 where 1/z raises ZeroDivisionError; divide by 1 there to stay warning-free.
    zero = z == 0.0
    return xp.where(zero, 0.0, 1.0 / xp.where(zero, 1.0, z))


def _v_log(z, xp):
    return xp.log(xp.clip(z, 1e-7, None))


def _v_exp(z, xp):
    return xp.exp(xp.clip(z, -60.0, 60.0))


def _v_abs(z, xp):
    return xp.abs(z)


def _v_hat(z, xp):
    return xp.clip(1.0 - xp.abs(z), 0.0, None)


def _v_square(z, xp):
    return z * z


def _v_cube(z, xp):
    return z * z * z


def _v_mario_sigmoid(z, xp):
    z = xp.clip(4.9 * z, -60.0, 60.0)
    return 2.0 / (1.0 + xp.exp(-z)) - 1.0


# Keyed by the Python function object, not the name: a config that re-registers a built-in name
# with its own function gets that function (through the slow fallback), not our formula.
VECTOR_ACTIVATIONS: dict[Callable[[float], float], Callable[[Any, Any], Any]] = {
    neat_act.sigmoid_activation: _v_sigmoid,
    neat_act.tanh_activation: _v_tanh,
    neat_act.sin_activation: _v_sin,
    neat_act.gauss_activation: _v_gauss,
    neat_act.relu_activation: _v_relu,
    neat_act.elu_activation: _v_elu,
    neat_act.lelu_activation: _v_lelu,
    neat_act.selu_activation: _v_selu,
    neat_act.softplus_activation: _v_softplus,
    neat_act.identity_activation: _v_identity,
    neat_act.clamped_activation: _v_clamped,
    neat_act.inv_activation: _v_inv,
    neat_act.log_activation: _v_log,
    neat_act.exp_activation: _v_exp,
    neat_act.abs_activation: _v_abs,
    neat_act.hat_activation: _v_hat,
    neat_act.square_activation: _v_square,
    neat_act.cube_activation: _v_cube,
    mario_sigmoid: _v_mario_sigmoid,
}


# neat-python's own scalar activations compiled by numba, for kernels that run a whole episode
# without leaving compiled code (``agent.neat.rollout``). They are the reference functions
# themselves, compiled, and give exactly their results (tested on 10^5 random values each). Left
# out: ``inv`` (its try/except does not compile), and ``square``, ``cube`` and ``gauss``, whose
# ``z ** n`` numba computes as products while Python calls ``pow``, which rounds differently now
# and then. A population using them, or any user function, takes the step-by-step path.
COMPILED_ACTIVATIONS: tuple[Callable[[float], float], ...] = (
    neat_act.tanh_activation,
    neat_act.sigmoid_activation,
    mario_sigmoid,
    neat_act.relu_activation,
    neat_act.identity_activation,
    neat_act.clamped_activation,
    neat_act.sin_activation,
    neat_act.elu_activation,
    neat_act.lelu_activation,
    neat_act.selu_activation,
    neat_act.softplus_activation,
    neat_act.abs_activation,
    neat_act.hat_activation,
    neat_act.log_activation,
    neat_act.exp_activation,
)
_nb = [njit(cache=True, inline="always")(fn) for fn in COMPILED_ACTIVATIONS]
(_nb_tanh, _nb_sigmoid, _nb_mario, _nb_relu, _nb_identity, _nb_clamped, _nb_sin, _nb_elu) = _nb[:8]
(_nb_lelu, _nb_selu, _nb_softplus, _nb_abs, _nb_hat, _nb_log, _nb_exp) = _nb[8:]


@njit(cache=True, inline="always")
def activate_code(code, z):
    """``COMPILED_ACTIVATIONS[code](z)`` inside compiled code (tanh, the default, first)."""
    if code == 0:
        return _nb_tanh(z)
    if code == 1:
        return _nb_sigmoid(z)
    if code == 2:
        return _nb_mario(z)
    if code == 3:
        return _nb_relu(z)
    if code == 4:
        return _nb_identity(z)
    if code == 5:
        return _nb_clamped(z)
    if code == 6:
        return _nb_sin(z)
    if code == 7:
        return _nb_elu(z)
    if code == 8:
        return _nb_lelu(z)
    if code == 9:
        return _nb_selu(z)
    if code == 10:
        return _nb_softplus(z)
    if code == 11:
        return _nb_abs(z)
    if code == 12:
        return _nb_hat(z)
    if code == 13:
        return _nb_log(z)
    return _nb_exp(z)


# Non-sum aggregations as segmented reductions. ``g`` (k, E_g) holds the weighted incoming values
# of the nodes that use the aggregation, concatenated node by node along the last axis; ``seg`` is
# the ``_AggGroup`` describing the segments (each has >= 1 edge: only evaluated nodes get here).
# Each returns (k, R_g). Segments avoid padding every node to the largest fan-in.
def _a_product(g, seg, ops):
    return ops.seg_reduce(g, "prod", seg)


def _a_max(g, seg, ops):
    return ops.seg_reduce(g, "max", seg)


def _a_min(g, seg, ops):
    return ops.seg_reduce(g, "min", seg)


def _a_mean(g, seg, ops):
    return ops.seg_reduce(g, "sum", seg) / seg.count


def _a_maxabs(g, seg, ops):
    # Python's max(x, key=abs) returns the *first* element of largest |x| (x and -x can tie):
    # find the largest |x| per node, then the smallest edge position reaching it.
    a = ops.xp.abs(g)
    top = ops.take_along(ops.seg_reduce(a, "max", seg), seg.local_row, 1)
    first = ops.seg_reduce(ops.xp.where(a == top, seg.position, seg.num_edges), "min", seg)
    return ops.take_along(g, first, 1)


def _a_median(g, seg, ops):
    # neat's median2: mean of the two middle values for even counts (n <= 2 is the mean, the same
    # thing). Sort by value, then stably by node, so each node's segment is sorted in place.
    by_value = ops.argsort_stable(g, 1)
    by_node = ops.argsort_stable(ops.take_along(seg.local_row, by_value, 1), 1)
    s = ops.take_along(g, ops.take_along(by_value, by_node, 1), 1)
    lo = ops.take_along(s, seg.start + (seg.count_int - 1) // 2, 1)
    hi = ops.take_along(s, seg.start + seg.count_int // 2, 1)
    return ops.xp.where(lo == hi, lo, (lo + hi) / 2.0)


VECTOR_AGGREGATIONS: dict[Callable[..., float], Callable[..., Any]] = {
    neat_agg.product_aggregation: _a_product,
    neat_agg.max_aggregation: _a_max,
    neat_agg.min_aggregation: _a_min,
    neat_agg.maxabs_aggregation: _a_maxabs,
    neat_agg.mean_aggregation: _a_mean,
    neat_agg.median_aggregation: _a_median,
}


class NumpyOps:
    """The few operations whose numpy and torch spellings differ."""

    xp = np
    _UFUNCS = {"sum": np.add, "prod": np.multiply, "max": np.maximum, "min": np.minimum}

    def seg_reduce(self, x, op, seg):
        return self._UFUNCS[op].reduceat(x, seg.start_flat, axis=1)

    @staticmethod
    def argsort_stable(a, dim):
        return np.argsort(a, axis=dim, kind="stable")

    @staticmethod
    def take_along(a, idx, dim):
        return np.take_along_axis(a, idx, axis=dim)

    @staticmethod
    def swap(a):
        return a.transpose(1, 0, 2)


class TorchOps:
    _REDUCE = {"sum": "sum", "prod": "prod", "max": "amax", "min": "amin"}

    def __init__(self, torch: Any) -> None:
        self.xp = torch

    def seg_reduce(self, x, op, seg):
        out = self.xp.zeros((x.shape[0], seg.num_rows), dtype=x.dtype, device=x.device)
        index = seg.local_row.expand(x.shape[0], -1)
        return out.scatter_reduce_(1, index, x, reduce=self._REDUCE[op], include_self=False)

    @staticmethod
    def argsort_stable(a, dim):
        return a.argsort(dim=dim, stable=True)

    def take_along(self, a, idx, dim):
        return self.xp.take_along_dim(a, idx, dim=dim)

    @staticmethod
    def swap(a):
        return a.permute(1, 0, 2)
