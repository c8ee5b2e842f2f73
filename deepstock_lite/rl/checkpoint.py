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

import hashlib
import io
import os
import tempfile

import torch

__all__ = ["save_checkpoint", "load_checkpoint", "CheckpointError", "FORMAT"]

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
