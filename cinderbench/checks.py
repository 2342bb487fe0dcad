"""What a command checks before it starts anything, so a user's mistake is one line.

``CommandError`` is a user error: ``cinderbench`` prints it as one line and
exits with code 2 (``cinderbench.main``), never with a traceback.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from cinderdb import BACKENDS, backend_class, features_of

if TYPE_CHECKING:
    from bench.measure.results import Results


class CommandError(Exception):
    """A mistake in what the user asked for: one line on stderr, exit code 2."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, but a mistake on the command line is one line (no usage block),
    exit code 2; ``--help`` shows the usage. Subcommands' parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


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


def results_to_read(path: str | Path) -> Results:
    """A results directory to read, read: each damaged file is named (one line, exit 2)."""
    from bench.measure.results import load_results

    path = Path(path)
    if not path.is_dir():
        raise CommandError(f"{path}: no such results directory")
    if not (path / "run.json").is_file():
        raise CommandError(f"{path} is not a results directory: it has no run.json")
    try:
        return load_results(path)
    except (OSError, ValueError) as error:
        raise CommandError(str(error)) from error


def check_oplog(results: Results) -> None:
    """Read the whole operation log once, so a damaged line is named before work starts."""
    try:
        for _ in results.oplog():
            continue
    except (OSError, ValueError) as error:
        raise CommandError(str(error)) from error
