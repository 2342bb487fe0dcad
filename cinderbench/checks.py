"""What a command checks before it starts anything, so a user's mistake is one line.

``CommandError`` is a user error: ``cinderbench`` prints it as one line and
exits with code 2 (``cinderbench.main``), never with a traceback.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from cinderdb import BACKENDS, backend_class, features_of


class CommandError(Exception):
    """A mistake in what the user asked for: one line on stderr, exit code 2."""


def backend_url(text: str) -> str:
    """An argparse type for ``[LABEL=]URL``: a URL whose scheme a backend serves, in a form
    that backend accepts (``features_of`` parses it without connecting)."""
    label, sep, url = text.partition("=")
    if not sep or "://" in label:
        url = text
    try:
        features_of(url)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def reachable(backends: Sequence[tuple[str, str]]) -> None:
    """Open each backend and ping its store; name the one that does not answer."""
    for label, url in backends:
        try:
            with backend_class(url)(url) as backend:
                backend.ping()
        except Exception as error:  # any failure to connect is the user's to fix
            known = ", ".join(sorted(BACKENDS))
            raise CommandError(
                f"{label} ({url}) does not answer: {type(error).__name__}: "
                f"{str(error).splitlines()[0] if str(error) else ''} (backend schemes: {known})"
            ) from error


def results_directory(output: str | None, force: bool) -> Path | None:
    """``-o DIR``, refused when it holds a run already unless ``--force``."""
    if output is None:
        return None
    path = Path(output)
    if path.exists() and not path.is_dir():
        raise CommandError(f"{path} is a file, not a results directory")
    if (path / "run.json").exists() and not force:
        raise CommandError(f"{path} holds a run already (run.json); --force overwrites it")
    return path


def results_to_read(path: str | Path) -> Path:
    """A results directory to read: it exists and its ``run.json`` parses."""
    path = Path(path)
    run_json = path / "run.json"
    if not path.is_dir():
        raise CommandError(f"{path}: no such results directory")
    if not run_json.is_file():
        raise CommandError(f"{path} is not a results directory: it has no run.json")
    try:
        json.loads(run_json.read_text())
    except (OSError, ValueError) as error:
        raise CommandError(f"{run_json} is not readable JSON: {error}") from error
    return path
