"""A session's data as a line in the page's link, so that a reloaded tab, or the link shared with a class, opens
the same data. The generator's settings, a folder's path or a kept upload's digest: never the data itself."""
from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from captcha_core.generator import DIFFICULTIES, alphabet_problem

from .uploads import upload_path
from .workspace import folder_allowed

# The link's query parameters for each kind of data: `?difficulty=hard&count=600&length=4&seed=0&alphabet=abc`,
# `?folder=/data/caps` or `?upload=<digest>&name=class.zip`. A link holding none of them names the defaults.
GENERATED_KEYS = ("difficulty", "count", "length", "seed", "alphabet")
LINK_KEYS = (*GENERATED_KEYS, "folder", "upload", "name")
# Bounds of the generator inputs: enough for a class demo, small enough to generate in seconds.
COUNT_RANGE = (20, 5000)
LENGTH_RANGE = (1, 8)
# An upload's name as a link may give it: anyone can write a link, and the name is shown to every session (the
# sidebar's training note), so only a plain file name, never Markdown's links or pictures.
UPLOAD_NAME = re.compile(r"[\w .()+&,'#-]{1,100}\.zip", re.IGNORECASE)
NOT_IN_UPLOAD_NAME = re.compile(r"[^\w .()+&,'#-]")
UPLOAD_STEM_CHARS = 100
# The largest seed the page's number box holds: a browser's integers end at 2**53 - 1.
SEED_MAX = 2**53 - 1


def count_problem(count: int) -> str | None:
    """Why the generator should not draw this many captchas here, or None when it can."""
    low, high = COUNT_RANGE
    if not low <= count <= high:
        return (f"Choose between {low} and {high:,} captchas: fewer leave too little to split into train, validation "
                "and test; more take minutes to draw in the page (the command line's `generate` has no limit).")
    return None


def upload_link_name(name: str) -> str:
    """An uploaded file's name as its link gives it back: `captchas[1].zip` becomes `captchas_1_.zip`, so that a
    reload finds the upload under the name it was shown with."""
    stem = name[:-len(".zip")] if name.lower().endswith(".zip") else name
    return f"{NOT_IN_UPLOAD_NAME.sub('_', stem)[:UPLOAD_STEM_CHARS] or 'upload'}.zip"


def spec_to_link(spec: dict) -> dict[str, str]:
    """The link's query parameters for a data spec."""
    if spec["kind"] == "zip":
        return {"upload": spec["digest"], "name": spec["name"]}
    if spec["kind"] == "folder":
        return {"folder": spec["path"]}
    return {key: str(spec[key]) for key in GENERATED_KEYS}


def spec_from_link(params: Mapping[str, str], roots: list[Path] | None) -> dict | None:
    """The data spec a link's parameters name, or None when they name nothing this server may open: an upload it
    no longer keeps, a folder outside `roots` (see workspace.folder_roots), settings the Data page would refuse."""
    if "upload" in params:
        digest, name = params["upload"], params.get("name", "")
        return {"kind": "zip", "digest": digest, "name": name} if UPLOAD_NAME.fullmatch(name) and upload_path(digest) else None
    if "folder" in params:
        path = params["folder"]
        return {"kind": "folder", "path": path} if path.strip() and folder_allowed(path, roots) else None
    return generated_spec(params)


def generated_spec(params: Mapping[str, str]) -> dict | None:
    """A generator spec from the link's parameters, if the Data page would allow it."""
    try:
        difficulty, alphabet = params["difficulty"], params["alphabet"]
        count, length, seed = int(params["count"]), int(params["length"]), int(params["seed"])
    except (KeyError, ValueError):
        return None
    low, high = LENGTH_RANGE
    if difficulty not in DIFFICULTIES or count_problem(count) or not low <= length <= high or not 0 <= seed <= SEED_MAX \
            or alphabet_problem(alphabet):
        return None
    return {"kind": "generated", "difficulty": difficulty, "count": count, "length": length, "alphabet": alphabet,
            "seed": seed}
