"""Design arms: one MagnetoDB arm per design of ``--design``, each in a store of its own.

A design is chosen by the backend URL alone (``magnetodb://HOST:PORT/PROJECT?design=NAME``,
``cinderdb.magneto.designs.parse_design``), and a store holds one design, so comparing
designs in one run means one arm per design, each on its own project (or server). This
module turns the MagnetoDB URLs of a run into those arms; ``cinderbench run`` and
``compare`` and the locust workloads all call ``design_arms``.

Labels: a run of the seed's design alone keeps today's (``magnetodb``); otherwise each
arm is ``LABEL.DESIGN`` (``magnetodb.improved``, ``magnetodb.seed+type_index``): a dot
and the design's own characters (letters, digits, ``_`` and ``+``) are safe in file
names, in HTML and in rich's console markup (where ``[improved]`` would be a style tag).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import parse_qs, urlsplit

#: The design of a run that names none (``designs.SEED``), and the URL parameter.
SEED = "seed"
PARAMETER = "design"


def design_name(text: str) -> str:
    """The canonical name of a design (``improved``, ``seed+type_index``); a ``ValueError``
    lists the known options and bundles for an unknown one."""
    from cinderdb.magneto.designs import parse_design

    return parse_design(text).name


def keeps_labels(designs: Sequence[str]) -> bool:
    """Whether a run of ``designs`` keeps today's labels and URLs: the seed alone."""
    return [design_name(d) for d in designs] in ([], [SEED])


def arm_label(label: str, design: str) -> str:
    """``magnetodb.improved``: the label of ``design``'s arm of backend ``label``."""
    return f"{label}.{design}"


def with_design(url: str, design: str, project_suffix: str = "") -> str:
    """``url`` with ``?design=DESIGN`` (other parameters kept) and, given a suffix, its
    project renamed ``PROJECT-SUFFIX`` (a store of its own on the same server). A URL
    naming a design already is a ``ValueError``: the run chooses the designs."""
    from cinderdb.magneto.core import design_url

    base, mark, query = url.partition("?")  # by hand: urlunsplit drops the "//" of scheme:///x
    if PARAMETER in parse_qs(query, keep_blank_values=True):
        raise ValueError(f"{url} names a design already; give the designs with --design only")
    base = base.rstrip("/") + (f"-{project_suffix}" if project_suffix else "")
    return design_url(base + mark + query, design)


def project_suffix(design: str) -> str:
    """A project-name suffix for ``design`` (``seed+type_index`` -> ``seed-type_index``)."""
    return re.sub(r"[^A-Za-z0-9_]+", "-", design)


def design_arms(pairs: Sequence[tuple[str, str]], designs: Sequence[str]) -> list[tuple[str, str]]:
    """``pairs`` with each MagnetoDB ``(label, url)`` replaced by one arm per design, on a
    project per design of the same server (the seed alone: ``pairs`` as they are)."""
    from cinderdb import side_of

    if keeps_labels(designs):
        return list(pairs)
    arms: list[tuple[str, str]] = []
    for label, url in pairs:
        if side_of(url) == "magnetodb":
            arms += arms_of(label, [url] * len(designs), designs)
        else:
            arms.append((label, url))
    return arms


def arms_of(label: str, urls: Sequence[str], designs: Sequence[str]) -> list[tuple[str, str]]:
    """One ``(label, url)`` per design, ``designs[i]`` on ``urls[i]``: a URL shared by
    several arms gets a project per design; a design named twice, a ``-2`` suffix."""
    names = [design_name(d) for d in designs]
    arms = []
    for index, (name, url) in enumerate(zip(names, urls, strict=True)):
        repeat = names[:index].count(name)
        tail = f"-{repeat + 1}" if repeat else ""
        shared = urls.count(url) > 1
        arms.append(
            (
                arm_label(label, name) + tail,
                with_design(url, name, project_suffix(name) + tail if shared else ""),
            )
        )
    return arms


def design_in(url: str) -> str | None:
    """The design a backend URL names (``?design=``), None when it names none."""
    values = parse_qs(urlsplit(url).query).get(PARAMETER)
    return design_name(values[0]) if values else None
