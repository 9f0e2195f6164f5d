"""MathJax embedded in a feedback page, so that its maths renders with no network and no server.

A student opens the feedback page from a file, perhaps on another machine and offline, and
``nbgrader release_feedback`` copies only the ``.html``: a script from a CDN or in a sibling
file would leave the maths as raw LaTeX. The page therefore carries MathJax itself.

MathJax comes from the ``django-static-mathjax`` package (pinned in ``pyproject.toml``), which
ships MathJax's own build unchanged; nothing in it needs Django. Of its single-file components,
``tex-svg-full.js`` is the one that needs nothing else: SVG output draws every glyph from data in
the script (the CHTML output would load web fonts from files beside the script), and the ``-full``
build contains every TeX extension, so none is ever fetched. ``require`` and ``autoload``, which
fetch extensions, are switched off all the same.

:func:`embedded_mathjax` is registered as a Jinja filter of the feedback exporter
(``HTMLExporter.filters`` in ``nbgrader_config.py``); the template's ``mathjax`` macro calls it.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.resources
import json

__all__ = ["COMPONENT", "MATHJAX_CONFIG", "mathjax_source", "mathjax_version", "embedded_mathjax"]

#: The MathJax component embedded in each page, inside the ``mathjax`` package's static folder.
COMPONENT = "static/mathjax/es5/tex-svg-full.js"

#: MathJax 3's configuration: the delimiters of the notebook's markdown ($...$ and $$...$$, as in
#: Jupyter), no extension loaded from the network, one SVG glyph cache for the whole page.
MATHJAX_CONFIG = {
    "tex": {
        "inlineMath": [["$", "$"], ["\\(", "\\)"]],
        "displayMath": [["$$", "$$"], ["\\[", "\\]"]],
        "processEscapes": True,
        "processEnvironments": True,
        "packages": {"[-]": ["require", "autoload"]},
    },
    "svg": {"fontCache": "global"},
    "options": {"enableMenu": False},
}


@functools.lru_cache(maxsize=1)
def mathjax_source() -> str:
    """The text of MathJax's ``tex-svg-full.js`` from the installed ``django-static-mathjax``.

    Raises
    ------
    RuntimeError
        When the package is missing, or its script could not be placed inside a ``<script>``
        element unchanged.
    """
    try:
        source = importlib.resources.files("mathjax").joinpath(COMPONENT).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as error:
        raise RuntimeError(
            f"MathJax is not installed ({error}); feedback pages embed it. Install the course's "
            "dependencies again: make setup (or pip install -e .)") from error
    if "</script" in source.lower():
        raise RuntimeError(f"mathjax/{COMPONENT} contains '</script', which would end the page's script "
                           "element early; use the django-static-mathjax version pinned in pyproject.toml")
    return source


@functools.lru_cache(maxsize=1)
def mathjax_version() -> str:
    """The version of the installed ``django-static-mathjax`` (MathJax's version and a packaging number)."""
    return importlib.metadata.version("django-static-mathjax")


def embedded_mathjax(_: object = None) -> str:
    """Two ``<script>`` elements: the configuration, then MathJax itself (about 2.3 MB).

    Used as a Jinja filter (``{{ '' | embedded_mathjax }}``), so it takes and ignores one value.
    """
    config = json.dumps(MATHJAX_CONFIG).replace("</", "<\\/")
    mathjax = ".".join(mathjax_version().split(".")[:3])  # the package's fourth number is its own
    return (f"<!-- MathJax {mathjax} (tex-svg-full.js, https://www.mathjax.org, Apache License 2.0), "
            "embedded so that the maths renders offline -->\n"
            f"<script>window.MathJax = {config};</script>\n"
            f"<script>{mathjax_source()}</script>")
