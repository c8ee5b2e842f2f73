"""Checkpoints: tensors and plain types only, written atomically, with a checksum.

A checkpoint holds state dicts (networks, optimizers, normalizers, replay buffer, random
generators) and the agent's configuration as a JSON string, serialized with ``torch.save`` so
that it loads with ``torch.load(weights_only=True)`` (no pickled code). The file is

    one header line  b"deepstock_lite.rl checkpoint 2 sha256=<64 hex digits>\\n"
    then the torch.save bytes,

so a truncated, damaged or foreign file is refused with one clear :class:`CheckpointError`
naming the file (torch's own zip format does not verify its data). The file is written to a
temporary file in the same folder and moved into place with :func:`os.replace`, so an
interrupted run leaves either the old checkpoint or the new one, never a corrupt file.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import tempfile

import torch

from ..core.decoding import make_decoder

__all__ = ["save_checkpoint", "load_checkpoint", "CheckpointError", "FORMAT", "agent_state",
           "restore_agent_state", "load_agent"]

FORMAT = "deepstock_lite.rl/1"
_MAGIC = b"deepstock_lite.rl checkpoint 2 sha256="
_HEADER_LEN = len(_MAGIC) + 64 + 1


class CheckpointError(ValueError):
    """A file that is not a readable checkpoint of this package (damaged, truncated, foreign)."""


def _check_path(path):
    """``path`` as a str: a non-empty str or os.PathLike without NUL characters."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    path = os.fspath(path)
    if not isinstance(path, str):
        raise TypeError(f"path must be a str or os.PathLike naming a str path, got "
                        f"{type(path).__name__}")
    if not path or "\0" in path:
        raise ValueError(f"path must be a non-empty file name without NUL characters, got "
                         f"{path!r}")
    return path


def save_checkpoint(path, payload):
    """Write ``payload`` (a dict of tensors and plain types) to ``path`` atomically."""
    if not isinstance(payload, dict):
        raise TypeError(f"payload must be a dict, got {type(payload).__name__}")
    path = _check_path(path)
    if os.path.isdir(path):
        raise ValueError(f"path must name a file, got the folder {path!r}")
    buf = io.BytesIO()
    torch.save({"format": FORMAT, **payload}, buf)
    blob = buf.getvalue()
    header = _MAGIC + hashlib.sha256(blob).hexdigest().encode() + b"\n"
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".pt", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(header)
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def load_checkpoint(path):
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only=True``).

    Raises :class:`FileNotFoundError` if there is no file and :class:`CheckpointError` (a
    ``ValueError``) naming the file if it is empty, truncated, damaged or not a checkpoint.
    """
    path = _check_path(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path!r}")
    if not os.path.isfile(path):
        raise CheckpointError(f"{path!r} is not a file")
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        raise CheckpointError(f"{path!r} is empty: not a deepstock_lite.rl checkpoint")
    if not data.startswith(_MAGIC):
        raise CheckpointError(f"{path!r} is not a deepstock_lite.rl checkpoint (no header; "
                              f"write checkpoints with save_checkpoint / agent.save)")
    header, blob = data[:_HEADER_LEN], data[_HEADER_LEN:]
    digest = header[len(_MAGIC):-1].decode("ascii", "replace")
    if hashlib.sha256(blob).hexdigest() != digest:
        raise CheckpointError(f"{path!r} is damaged or truncated (checksum mismatch): "
                              f"re-save it or use an older copy")
    try:
        d = torch.load(io.BytesIO(blob), weights_only=True, map_location="cpu")
    except Exception as e:  # intact bytes that torch cannot read (e.g. a newer torch format)
        raise CheckpointError(f"{path!r} could not be read by torch.load: "
                              f"{type(e).__name__}: {e}") from None
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise CheckpointError(f"{path!r} is not a deepstock_lite.rl checkpoint "
                              f"(format {FORMAT})")
    return d


# -- an agent's whole training state -------------------------------------------------------
# Every agent (DDPG, PPO, distributional SAC) keeps its training state in the same attributes:
# ``algo``, ``config``, ``obs_dim``, ``a_max``, ``decoder``, ``obs_norm``, ``rng`` (numpy),
# ``gen`` (torch), ``global_step``, ``n_updates``, ``wall_time``, ``history``, ``keep``
# (:class:`~deepstock_lite.rl.evaluation.KeepBest`), ``schedule``
# (:class:`~deepstock_lite.rl.evaluation.EvalSchedule`), optionally ``buffer``, and its
# networks and optimizers as attributes. The two functions below save and restore exactly
# these, so that a resumed run continues as an uninterrupted one would.
def _members(agent, kind):
    return {k: v for k, v in vars(agent).items() if isinstance(v, kind)}


def agent_state(agent, extra, include_buffer=True):
    """The agent's training state as a dict of tensors and plain types; ``extra``: the
    algorithm's own state (e.g. its reward statistics)."""
    dec = agent.decoder.to_dict() if hasattr(agent.decoder, "to_dict") else None
    best = agent.keep.best
    if best is not None:
        best = {"eval_cost": float(best["eval_cost"]), "step": int(best["step"]),
                "state": best["state"]}
    d = {
        "algo": agent.algo,
        "config": json.dumps(dataclasses.asdict(agent.config)),
        "decoder": json.dumps(dec),
        "obs_dim": agent.obs_dim, "a_max": agent.a_max,
        "modules": {k: m.state_dict() for k, m in _members(agent, torch.nn.Module).items()},
        "optimizers": {k: o.state_dict()
                       for k, o in _members(agent, torch.optim.Optimizer).items()},
        "obs_norm": agent.obs_norm.state_dict(),
        "rng": json.dumps(agent.rng.bit_generator.state),
        "torch_gen": agent.gen.get_state(),
        "progress": {"global_step": agent.global_step, "n_updates": agent.n_updates,
                     "stale_evals": agent.keep.stale, "stopped_early": agent.keep.stop,
                     "wall_time": agent.wall_time, "next_log": agent.schedule.next},
        "history": json.dumps(agent.history),
        "best": best,
        "extra": extra,
    }
    if include_buffer and getattr(agent, "buffer", None) is not None:
        d["buffer"] = agent.buffer.state_dict()
    return d


def restore_agent_state(agent, d):
    """Load :func:`agent_state`'s dict into ``agent``; returns the algorithm's ``extra``."""
    modules, optimizers = _members(agent, torch.nn.Module), _members(agent, torch.optim.Optimizer)
    for k, sd in d["modules"].items():
        modules[k].load_state_dict(sd)
    for k, sd in d["optimizers"].items():
        optimizers[k].load_state_dict(sd)
    agent.obs_norm.load_state_dict(d["obs_norm"])
    agent.rng.bit_generator.state = json.loads(d["rng"])
    agent.gen.set_state(d["torch_gen"])
    p = d["progress"]
    agent.global_step, agent.n_updates = int(p["global_step"]), int(p["n_updates"])
    agent.keep.stale = int(p["stale_evals"])
    agent.wall_time, agent.schedule.next = float(p["wall_time"]), int(p["next_log"])
    agent.history = json.loads(d["history"])
    agent.keep.best = d["best"]
    if "buffer" in d and getattr(agent, "buffer", None) is not None:
        agent.buffer.load_state_dict(d["buffer"])
    return d["extra"]


def load_agent(agent_type, path, decoder=None):
    """Rebuild an ``agent_type`` (e.g. :class:`~deepstock_lite.rl.DDPG`) from a checkpoint
    saved by its ``save``; its ``learn`` then resumes training."""
    d = load_checkpoint(path)
    missing = [k for k in ("algo", "config", "decoder", "obs_dim", "a_max", "modules")
               if k not in d]
    if missing:
        raise CheckpointError(f"{path!r} is a checkpoint but not of an agent "
                              f"(missing {missing})")
    if d["algo"] != agent_type.algo:
        raise ValueError(f"{path!r} holds a {d['algo']!r} agent, not {agent_type.algo!r}")
    config = agent_type.Config(**json.loads(d["config"]))
    if decoder is None:
        dec = json.loads(d["decoder"])
        if dec is None:
            raise ValueError("the checkpoint's decoder was not serializable: pass decoder=")
        decoder = make_decoder(dec)
    agent = agent_type(config, d["obs_dim"], d["a_max"], decoder)
    agent.load_state_dict(d)
    return agent
