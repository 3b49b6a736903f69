"""The files Drumbeat reads at run time, found the same way in a checkout and in a wheel.

The Slack manifest, the Teams app package's sources and the sample organisation live at the top
of the repository (`manifests/`, `examples/`), where people read and edit them. This package
holds two symbolic links to those folders, `manifests` and `examples`, and pyproject.toml ships
what they point to as this package's data: setuptools copies the files through the links into
the wheel. So there is one copy of each file, and `resource()` reads it through
`importlib.resources` whether Drumbeat runs from the repository (an editable install) or from
site-packages, with no guess at where the repository is.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def resource(*parts: str) -> Path:
    """The shipped file at `parts` below this package, e.g. `resource("manifests", "slack",
    "manifest.json")`.

    A Path, not just a Traversable: the OKR file loader reads paths (and names them in its
    messages). pip installs a wheel as files, never zipped, so the package is a folder on disk.
    """
    found = files(__name__).joinpath(*parts)
    if not isinstance(found, Path):
        raise FileNotFoundError(f"Drumbeat's data must be installed as files, not zipped: {found}")
    return found
