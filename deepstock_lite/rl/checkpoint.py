"""Checkpoints: tensors and plain types only, written atomically.

A checkpoint is one ``torch.save`` file holding state dicts (networks, optimizers, normalizers,
replay buffer, random generators) and the agent's configuration as a JSON string, so it loads
with ``torch.load(weights_only=True)`` (no pickled code). It is written to a temporary file in
the same folder and moved into place with :func:`os.replace`, so an interrupted run leaves
either the old checkpoint or the new one, never a corrupt file.
"""
from __future__ import annotations

import os
import tempfile

import torch

__all__ = ["save_checkpoint", "load_checkpoint", "FORMAT"]

FORMAT = "deepstock_lite.rl/1"


def save_checkpoint(path, payload):
    """Write ``payload`` (a dict of tensors and plain types) to ``path`` atomically."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".pt", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save({"format": FORMAT, **payload}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def load_checkpoint(path):
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only=True``)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path!r}")
    d = torch.load(path, weights_only=True, map_location="cpu")
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise ValueError(f"{path!r} is not a deepstock_lite.rl checkpoint (format {FORMAT})")
    return d
