"""Recurrent policies trained by backpropagation through time (the backprop baseline).

``RecurrentPolicy`` maps a *time-major* sequence of tile grids to button logits and values::

    tile grid (S x S, values -1/0/1)
      -> two planes (solid, hazard) -> small conv net (or an MLP) -> ``encoder`` features
      -> recurrent core: ``nn.LSTM`` | ``nn.GRU`` | ``nn.RNN`` (tanh), ``layers`` deep
      -> 6 independent Bernoulli logits (one per button, ``MultiBinary(6)``) and a value

Episode boundaries (masking by done)
------------------------------------
``forward(obs, state, done_mask)`` takes ``done_mask[t, b] = 1`` when ``obs[t, b]`` is the
*first* observation of a new episode. The recurrent state of column ``b`` is then zeroed just
before step ``t``, so nothing flows from one episode into the next: the outputs from ``t`` on
equal those of a fresh run started at ``t`` with ``initial_state``.

How the core is called (the speed part)
---------------------------------------
The common implementations (cleanrl's ``ppo_atari_lstm``, sb3-contrib's ``RecurrentPPO`` in
its evaluation path) loop over time steps in Python to apply the mask. Here:

* when no episode starts inside the sequence (``done_mask[1:]`` all zero), the mask of step 0
  is applied to the incoming state and the core runs over the **whole sequence in one call**;
* otherwise each column is cut where its episodes start, and all the pieces of all columns run
  as the columns of **one call** (padded at their ends; ``_pieces_core``), the first piece of a
  column from its state and later ones from zeros. A PPO minibatch of 32 envs x 64 steps with
  dozens of episode ends costs one call (plus one without gradients for the final state).

Files
-----
``save_model(dir, model, config, extra)`` writes ``model.pt`` (the ``state_dict``, saved with
``torch.save`` into memory, then written to a temporary file and renamed) and ``model.json``
(the ``ModelConfig`` and ``extra``: everything needed to rebuild the model). ``load_model(dir)``
validates both and raises ``ModelError`` (a ``ValueError``) with a one-line message for a
missing, corrupt, oversized or special (FIFO, device) file, a wrong format, a setting of the
wrong type or out of range (sizes, ``extra.frame_skip``), weights that are not dense finite
float tensors or do not fit the settings (checked on the meta device, before the policy is
built), or (when the caller asks for them) another cell type or observation size than
expected. ``model.pt`` is read with ``torch.load(weights_only=True)``: no pickled objects.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from agent.files import (
    FileRefused,
    atomic_write_bytes,
    atomic_write_text,
    read_bounded,
    read_json_file,
)
from envs.checks import MAX_FRAME_SKIP, MAX_VIEW_RADIUS, SettingError, check_int

__all__ = [
    "CELLS",
    "ENCODERS",
    "MODEL_FILE",
    "MODEL_FORMAT",
    "MODEL_JSON",
    "DeviceError",
    "ModelConfig",
    "ModelError",
    "RecurrentPolicy",
    "State",
    "load_model",
    "nonfinite_weight",
    "resolve_device",
    "save_model",
    "torch_bytes",
    "torch_threads",
]

CELLS = ("lstm", "gru", "rnn")
ENCODERS = ("conv", "mlp")
NUM_BUTTONS = 6
MODEL_FILE = "model.pt"
MODEL_JSON = "model.json"
MODEL_FORMAT = "mario-neat-lab/recurrent-policy"
MODEL_VERSION = 1
#: Bounds of the model's sizes (a 4096-wide LSTM layer is already 134 M weights).
MAX_WIDTH = 4096
MAX_LAYERS = 16
MAX_CHRONO = 1_000_000
#: Files larger than these are refused unread.
MAX_MODEL_JSON_BYTES = 1 << 20
MAX_WEIGHTS_BYTES = 1 << 30

#: The recurrent state: ``(h, c)`` for an LSTM, ``(h,)`` for a GRU or RNN; each
#: ``(layers, batch, hidden)``.
State = tuple[torch.Tensor, ...]


class ModelError(ValueError):
    """A model that cannot be built or loaded; the message is one line."""


class DeviceError(ValueError):
    """An unknown or unavailable torch device; the message is one line."""


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``."""
    if isinstance(spec, torch.device):
        spec = str(spec)
    spec = "auto" if spec is None else str(spec).strip().lower()
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "cuda" or (spec.startswith("cuda:") and spec[5:].isdigit()):
        if not torch.cuda.is_available():
            build = ", a CPU-only build" if torch.version.cuda is None else ""
            raise DeviceError(
                f"device {spec!r}: CUDA is not available here (torch {torch.__version__}"
                f"{build}); use --device cpu or auto"
            )
        index = int(spec[5:]) if ":" in spec else 0
        if index >= torch.cuda.device_count():
            raise DeviceError(
                f"device {spec!r}: only {torch.cuda.device_count()} CUDA device(s) here"
            )
        return torch.device(spec)
    raise DeviceError(f"unknown device {spec!r}; use auto, cpu, cuda or cuda:N")


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(n)`` (``None``: leave torch's setting).

    The trainers default to 1 thread on CPU: the networks are small (a 16-env rollout step is a
    few hundred microseconds of work), so intra-op parallelism gains little, and on a machine
    whose cores are shared with other jobs, torch's spinning worker threads can slow training
    down by 10-50x (measured on the project's 2-core VM: 11,000 frames/s with 1 thread, 700
    with 2 while another process was busy).
    """
    if n is None:
        yield
        return
    if n < 1:
        raise ValueError(f"threads must be at least 1, got {n}")
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass
class ModelConfig:
    """What defines a policy network (stored in ``model.json``)."""

    cell: str = "lstm"  # "lstm" | "gru" | "rnn" (vanilla tanh RNN)
    hidden: int = 128  # recurrent state size
    encoder: int = 128  # features the encoder hands to the core
    view_radius: int = 6  # the observation is (2r+1) x (2r+1) tiles
    layers: int = 1  # stacked recurrent layers
    encoder_type: str = "conv"  # "conv" (two 3x3 convolutions) or "mlp" (two layers)
    chrono_horizon: int = 64  # gate-bias initialisation for memories up to this many steps

    def __post_init__(self) -> None:
        if not isinstance(self.cell, str) or self.cell not in CELLS:
            raise ModelError(f"unknown cell {self.cell!r}; choose one of {', '.join(CELLS)}")
        if not isinstance(self.encoder_type, str) or self.encoder_type not in ENCODERS:
            raise ModelError(
                f"unknown encoder_type {self.encoder_type!r}; choose one of {', '.join(ENCODERS)}"
            )
        for name, lo, hi in (
            ("hidden", 1, MAX_WIDTH),
            ("encoder", 1, MAX_WIDTH),
            ("view_radius", 1, MAX_VIEW_RADIUS),
            ("layers", 1, MAX_LAYERS),
            ("chrono_horizon", 0, MAX_CHRONO),
        ):
            try:
                check_int(f"ModelConfig.{name}", getattr(self, name), lo, hi)
            except SettingError as exc:
                raise ModelError(str(exc)) from None

    @property
    def obs_size(self) -> int:
        return 2 * self.view_radius + 1

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "model config") -> ModelConfig:
        if not isinstance(d, dict):
            raise ModelError(f"{source}: the model config must be a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ModelError(f"{source}: unknown model setting(s) {', '.join(unknown)}")
        try:
            return cls(**d)
        except ModelError as exc:
            raise ModelError(f"{source}: {exc}") from None
        except TypeError as exc:
            raise ModelError(f"{source}: {exc}") from None


def _init_linear(layer: nn.Linear | nn.Conv2d, gain: float) -> None:
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.zeros_(layer.bias)


class RecurrentPolicy(nn.Module):
    """Tile grids -> encoder -> LSTM/GRU/RNN core -> 6 button logits and a value (time-major)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        s, relu = config.obs_size, math.sqrt(2.0)
        if config.encoder_type == "conv":
            conv1 = nn.Conv2d(2, 16, 3, padding=1)
            conv2 = nn.Conv2d(16, 32, 3, stride=2, padding=1)
            flat = 32 * ((s + 1) // 2) ** 2
            fc = nn.Linear(flat, config.encoder)
            for layer in (conv1, conv2, fc):
                _init_linear(layer, relu)
            self.encoder = nn.Sequential(
                conv1, nn.ReLU(), conv2, nn.ReLU(), nn.Flatten(), fc, nn.ReLU()
            )
        else:
            fc1 = nn.Linear(2 * s * s, config.encoder)
            fc2 = nn.Linear(config.encoder, config.encoder)
            for layer in (fc1, fc2):
                _init_linear(layer, relu)
            self.encoder = nn.Sequential(nn.Flatten(), fc1, nn.ReLU(), fc2, nn.ReLU())
        core_cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[config.cell]
        self.core = core_cls(config.encoder, config.hidden, num_layers=config.layers)
        self._init_core()
        self.policy_head = nn.Linear(config.hidden, NUM_BUTTONS)
        self.value_head = nn.Linear(config.hidden, 1)
        _init_linear(self.policy_head, 0.01)
        _init_linear(self.value_head, 1.0)
        self._n_state = 2 if config.cell == "lstm" else 1
        #: number of core calls made by the last ``forward`` (for tests and benchmarks)
        self.last_core_calls = 0

    def _init_core(self) -> None:
        """Orthogonal weights; zero biases except the gates that decide how long to remember.

        Chrono initialisation (Tallec & Ollivier, 2018): the LSTM forget-gate bias (gates i, f,
        g, o) and the GRU update-gate bias (gates r, z, n) are drawn as ``log(U(1, T - 1))`` with
        ``T = chrono_horizon`` time steps, and the LSTM input-gate bias is their negative. Each
        unit then starts with a memory time scale between 1 and T steps, so gradients reach
        dependencies T steps back from the first update on, instead of decaying by
        ``sigmoid(0)^t = 0.5^t`` as with zero biases. ``chrono_horizon = 0`` keeps zero biases.
        """
        cfg = self.config
        h = cfg.hidden
        for name, param in self.core.named_parameters():
            if "weight" in name:
                nn.init.orthogonal_(param, 1.0)
                continue
            nn.init.zeros_(param)
            if cfg.chrono_horizon < 2 or cfg.cell == "rnn" or not name.startswith("bias_hh"):
                continue
            if param.is_meta:  # shapes only (``weight_shapes``): nothing to draw
                continue
            with torch.no_grad():
                u = torch.empty(h).uniform_(1.0, max(cfg.chrono_horizon - 1.0, 1.0 + 1e-6))
                memory = torch.log(u)
                param[h : 2 * h] = memory  # LSTM forget gate f, GRU update gate z
                if cfg.cell == "lstm":
                    param[0:h] = -memory  # LSTM input gate i

    # -- state -----------------------------------------------------------------------------

    def initial_state(self, batch: int, device: torch.device | str | None = None) -> State:
        """Zeros: the state at the start of an episode, for ``batch`` columns."""
        device = device if device is not None else self.policy_head.weight.device
        shape = (self.config.layers, batch, self.config.hidden)
        return tuple(torch.zeros(shape, device=device) for _ in range(self._n_state))

    @staticmethod
    def mask_state(state: State, keep: torch.Tensor) -> State:
        """``state`` with the columns where ``keep`` is 0 zeroed (``keep``: (batch,) float)."""
        k = keep.view(1, -1, 1)
        return tuple(x * k for x in state)

    @staticmethod
    def select_state(state: State, columns: torch.Tensor | slice) -> State:
        """The state of some batch columns (e.g. the environments of a minibatch)."""
        return tuple(x[:, columns] for x in state)

    # -- forward ---------------------------------------------------------------------------

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        """(..., S, S) grids -> (..., encoder) features."""
        lead = obs.shape[:-2]
        s = self.config.obs_size
        if obs.shape[-2:] != (s, s):
            raise ModelError(
                f"observations of {tuple(obs.shape[-2:])} tiles, the model expects ({s}, {s})"
            )
        x = obs.reshape(-1, s, s).to(torch.float32)
        planes = torch.stack([(x > 0.5).float(), (x < -0.5).float()], dim=1)  # solid, hazard
        return self.encoder(planes).reshape(*lead, -1)

    def _core(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        self.last_core_calls += 1
        if self._n_state == 2:
            out, (h, c) = self.core(x, (state[0].contiguous(), state[1].contiguous()))
            return out, (h, c)
        out, h = self.core(x, state[0].contiguous())
        return out, (h,)

    def _pieces_core(
        self, feats: torch.Tensor, state: State, starts: torch.Tensor, need_state: bool
    ) -> tuple[torch.Tensor, State | None]:
        """The core over every episode piece of every column in one call (``starts`` (T, B)).

        Each column is cut where its episodes start (after t = 0); the pieces become the
        columns of one (L, G) batch, L the longest piece, each padded at its end (padding
        only follows a piece, so it never reaches its outputs). The first piece of column
        ``b`` starts from ``state[b]``, every later one from zeros; the outputs are put back
        in place. With ``need_state``, the final state (that of each column's last piece, at
        its true end) comes from one more call, a packed one without gradients; otherwise
        None. (torch's CPU LSTM on packed sequences slices its input per step, and the
        backward of those slices costs O(T^2): hence padding for the outputs.)
        """
        T, B, E = feats.shape
        dev = feats.device
        cut = starts.clone()
        cut[0] = False
        # Column-major order (b, t): the piece index g grows along it.
        new_piece = cut.t().reshape(-1)
        new_piece[::T] = True
        g = torch.cumsum(new_piece.long(), 0) - 1  # (B*T,) the piece of each (b, t)
        G = int(g[-1]) + 1
        t_idx = torch.arange(T, device=dev).repeat(B)
        piece_start = torch.zeros(G, dtype=torch.long, device=dev)
        piece_start[g[new_piece]] = t_idx[new_piece]
        pos = t_idx - piece_start[g]  # time within the piece
        lengths = torch.bincount(g, minlength=G)
        L = int(lengths.max())
        # (L, G, E) input: slot (pos, g) holds feats[t, b]; padding reads a zero row.
        b_idx = torch.arange(B, device=dev).repeat_interleave(T)
        slot = pos * G + g
        gather = torch.full((L * G,), T * B, dtype=torch.long, device=dev)
        gather[slot] = t_idx * B + b_idx  # where (b, t) sits in feats.reshape(T * B, E)
        padded = torch.cat([feats.reshape(T * B, E), feats.new_zeros(1, E)])[gather]
        padded = padded.view(L, G, E)
        pieces = g.view(B, T)
        init = tuple(
            x.new_zeros(x.shape[0], G, x.shape[2]).index_copy(1, pieces[:, 0], x) for x in state
        )
        out_pad, _ = self._core(padded, init)
        H = out_pad.shape[-1]
        out = out_pad.reshape(L * G, H)[slot].view(B, T, H).transpose(0, 1)
        if not need_state:
            return out, None
        last = pieces[:, -1]
        with torch.no_grad():
            last_len = lengths[last]
            packed = nn.utils.rnn.pack_padded_sequence(
                padded[: int(last_len.max()), last], last_len.cpu(), enforce_sorted=False
            )
            _, final = self._core(packed, tuple(x[:, last] for x in init))
        return out, final

    def forward(
        self,
        obs: torch.Tensor,
        state: State,
        done_mask: torch.Tensor | None = None,
        need_state: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor, State | None]:
        """Run ``obs`` (T, B, S, S) from ``state``; returns logits (T, B, 6), values (T, B), state.

        ``done_mask`` (T, B): 1 where ``obs[t, b]`` starts a new episode (the state is zeroed
        before that step); ``None`` means no episode starts in the sequence. When an episode
        starts after t = 0, the final state carries no gradient (nothing backpropagates through
        it: the trainers detach it or drop it), and ``need_state=False`` skips computing it
        (returned as None).
        """
        if obs.dim() != 4:
            raise ModelError(f"obs must be (T, B, S, S), got shape {tuple(obs.shape)}")
        T, B = obs.shape[:2]
        feats = self.encode(obs)  # (T, B, E): the encoder sees all T * B grids in one call
        self.last_core_calls = 0
        if done_mask is None:
            out, state = self._core(feats, state)
        else:
            done = done_mask.to(device=feats.device, dtype=torch.float32).reshape(T, B)
            state = self.mask_state(state, 1.0 - done[0])
            if T == 1 or not bool((done[1:] > 0).any()):  # one call over the whole sequence
                out, state = self._core(feats, state)
            else:
                out, state = self._pieces_core(feats, state, done > 0, need_state)
        logits = self.policy_head(out)
        values = self.value_head(out).squeeze(-1)
        return logits, values, state

    def step(
        self, obs: torch.Tensor, state: State, starts: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, State]:
        """One time step: obs (B, S, S) -> logits (B, 6), values (B,), new state."""
        mask = None if starts is None else starts.reshape(1, -1)
        logits, values, state = self.forward(obs.unsqueeze(0), state, mask)
        return logits[0], values[0], state


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def save_model(
    directory: str | Path,
    model: RecurrentPolicy,
    config: ModelConfig | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``model.pt`` (state_dict) and ``model.json`` (settings) atomically; returns ``dir``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = config or model.config
    bad = nonfinite_weight(model)
    if bad is not None:
        raise ModelError(f"{directory}: not saving a model whose weight {bad} is NaN or infinite")
    weights = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    atomic_write_bytes(directory / MODEL_FILE, torch_bytes(weights))
    meta = {
        "format": MODEL_FORMAT,
        "version": MODEL_VERSION,
        "config": config.to_dict(),
        "extra": extra or {},
    }
    atomic_write_text(directory / MODEL_JSON, json.dumps(meta, indent=2) + "\n")
    return directory


def nonfinite_weight(module: nn.Module) -> str | None:
    """The name of the first parameter of ``module`` holding NaN or an infinity, else None."""
    for name, param in module.named_parameters():
        if not bool(torch.isfinite(param).all()):
            return name
    return None


def torch_bytes(obj: Any) -> bytes:
    """``torch.save(obj)`` into memory: the file is then written by ``agent.files`` with plain
    writes, so a full disk is an ``OSError`` (ENOSPC) and leaves no half-written file, where
    torch's own file writer raises a ``RuntimeError`` of several lines."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def read_model_json(directory: str | Path) -> tuple[ModelConfig, dict[str, Any]]:
    """The validated settings in ``model.json`` (no weights loaded)."""
    path = Path(directory) / MODEL_JSON
    if not Path(directory).is_dir():
        raise ModelError(f"{directory}: no such model directory")
    if not path.exists():
        raise ModelError(f"{path}: missing (a model directory holds {MODEL_FILE} + {MODEL_JSON})")
    try:
        meta = read_json_file(path, MAX_MODEL_JSON_BYTES, MODEL_JSON)
    except FileNotFoundError as exc:  # removed since the check above
        raise ModelError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except FileRefused as exc:
        raise ModelError(str(exc)) from None
    if not isinstance(meta, dict) or meta.get("format") != MODEL_FORMAT:
        raise ModelError(f"{path}: not a recurrent policy file (format != {MODEL_FORMAT!r})")
    if meta.get("version") != MODEL_VERSION:
        raise ModelError(f"{path}: unsupported version {meta.get('version')!r}")
    config = ModelConfig.from_dict(meta.get("config"), str(path))
    extra = meta.get("extra", {})
    if not isinstance(extra, dict):
        raise ModelError(f"{path}: 'extra' must be a JSON object")
    _check_extra(path, extra)
    return config, extra


def _check_extra(path: Path, extra: dict[str, Any]) -> None:
    """The entries of ``extra`` that players and the comparison use: a frame skip they can
    divide by, a seed, the trainer's name and the levels (other entries are free-form)."""
    try:
        check_int("frame_skip", extra.get("frame_skip", 5), 1, MAX_FRAME_SKIP)
        if extra.get("seed") is not None:
            check_int("seed", extra["seed"], 0)
    except SettingError as exc:
        raise ModelError(f"{path}: extra.{exc}") from None
    trainer = extra.get("trainer", "rnn")
    if not isinstance(trainer, str) or not trainer.isidentifier():
        raise ModelError(f"{path}: extra.trainer must be a name like 'ppo', got {trainer!r:.40}")
    levels = extra.get("levels", [])
    if not isinstance(levels, list) or not all(isinstance(x, str) for x in levels):
        raise ModelError(f"{path}: extra.levels must be a list of level names")


def load_model(
    directory: str | Path,
    *,
    cell: str | None = None,
    view_radius: int | None = None,
    device: torch.device | str = "cpu",
) -> tuple[RecurrentPolicy, ModelConfig, dict[str, Any]]:
    """Rebuild the model saved in ``directory``; returns ``(model, config, extra)`` (eval mode).

    ``cell`` / ``view_radius``, when given, are what the caller needs; a model of another cell
    type or observation size is refused. Weights that do not fit ``model.json`` (a file from
    another cell type or observation size, missing or extra tensors) are refused too.
    """
    directory = Path(directory)
    config, extra = read_model_json(directory)
    if cell is not None and config.cell != cell:
        raise ModelError(
            f"{directory}: the model is a {config.cell} policy, a {cell} policy was asked for"
        )
    if view_radius is not None and config.view_radius != view_radius:
        s = 2 * view_radius + 1
        raise ModelError(
            f"{directory}: the model sees {config.obs_size}x{config.obs_size} tiles "
            f"(view_radius {config.view_radius}), {s}x{s} (view_radius {view_radius}) expected"
        )
    path = directory / MODEL_FILE
    weights = read_weights(path)
    check_weights(path, config, weights)
    model = RecurrentPolicy(config)
    model.load_state_dict(weights)
    model.to(device)
    model.eval()
    return model, config, extra


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """The state dict in ``model.pt``: read with ``weights_only=True`` (no pickled objects) from
    a regular file of at most ``MAX_WEIGHTS_BYTES``; every entry a dense, finite float tensor.
    ``ModelError`` (one line) otherwise."""
    if not path.exists():
        raise ModelError(f"{path}: missing")
    try:
        data = read_bounded(path, MAX_WEIGHTS_BYTES, "model weights file")
        weights = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except FileRefused as exc:
        raise ModelError(str(exc)) from None
    except Exception as exc:  # torch raises many types for a corrupt file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{path}: cannot read the weights ({first})") from None
    if not isinstance(weights, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in weights.items()
    ):
        raise ModelError(f"{path}: not a state_dict of tensors")
    for key, tensor in weights.items():
        if tensor.layout != torch.strided or tensor.is_quantized:
            raise ModelError(f"{path}: weight {key} is a {tensor.layout} tensor, not a dense one")
        if not tensor.dtype.is_floating_point:
            raise ModelError(f"{path}: weight {key} holds {tensor.dtype}, not floats")
        if not bool(torch.isfinite(tensor).all()):
            raise ModelError(f"{path}: weight {key} holds NaN or infinite values")
    return weights


def weight_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """The state dict's shapes of the policy ``config`` describes, built on torch's meta device
    (shapes only: nothing allocated, however large the sizes)."""
    with torch.device("meta"):
        model = RecurrentPolicy(config)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def check_weights(path: Path, config: ModelConfig, weights: dict[str, torch.Tensor]) -> None:
    """``ModelError`` unless ``weights`` are exactly the tensors of ``config``'s policy (checked
    before the policy is built, so sizes in ``model.json`` that do not fit the weights never
    allocate anything)."""
    expected = weight_shapes(config)
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    if missing or unexpected:
        what = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
        raise ModelError(
            f"{path}: the weights do not fit a {config.cell} policy as {MODEL_JSON} describes "
            f"({what}; saved from another cell type or model?)"
        )
    for key, shape in expected.items():
        if tuple(weights[key].shape) != shape:
            raise ModelError(
                f"{path}: weight {key} has shape {tuple(weights[key].shape)}, the "
                f"{config.cell} policy of {MODEL_JSON} needs {shape} (saved "
                "from another cell type, size or observation size?)"
            )
