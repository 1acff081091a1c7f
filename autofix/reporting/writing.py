"""The files autofix writes (the fixed model, the reports), each written whole or not at all:
a temporary file beside the target, renamed into place."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _umask_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give a new file (0o666 less the umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _atomic(path: str | Path, suffix: str, write) -> Path:
    """Write through ``write(tmp_path)`` to a temporary file beside ``path``, give it the
    mode the user's umask asks for (mkstemp's is 0600), then rename it into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def save_model_atomic(model, path: str | Path) -> Path:
    """Save ``model`` to ``path`` atomically (temporary file, then rename)."""
    return _atomic(path, ".keras", model.save)


def write_text_atomic(text: str, path: str | Path) -> Path:
    """Write ``text`` to ``path`` atomically (temporary file, then rename)."""
    return _atomic(path, ".tmp", lambda tmp: Path(tmp).write_text(text))
