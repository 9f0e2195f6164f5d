"""The explorer: a figure that is redrawn whenever one of its controls moves.

Every explorer in the lessons is an :class:`Explorer`: a dict of ipywidgets controls, a
``draw`` function that turns the controls' values into a matplotlib Figure, and an
``ipywidgets.Output`` that shows the latest figure as a PNG image. Static images work the
same in JupyterLab, in Binder and in headless execution; :class:`~optilab.widgets.render.FigureRenderer`
keeps them fast by redrawing only the lines and texts that a control moved.

Explorers are testable without a browser: ``explorer.set(lr=0.1)`` moves a control, runs
the callback and leaves the new figure in ``explorer.figure``.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import ipywidgets as widgets
from matplotlib.figure import Figure

from optilab.widgets.render import FigureRenderer

__all__ = ["Explorer", "register", "registry"]

_REGISTRY: dict[str, Callable[[], "Explorer"]] = {}


def register(name: str) -> Callable[[Callable[[], "Explorer"]], Callable[[], "Explorer"]]:
    """Register an explorer factory (callable with no arguments) under ``name``.

    The registry lets the tests and ``make bench`` build and time every explorer.
    """

    def decorate(factory: Callable[[], "Explorer"]) -> Callable[[], "Explorer"]:
        _REGISTRY[name] = factory
        return factory

    return decorate


def registry() -> dict[str, Callable[[], "Explorer"]]:
    """All registered explorer factories, by name (imports every explorer module first)."""
    import importlib
    import pkgutil

    import optilab.widgets as package

    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{info.name}")
    return dict(_REGISTRY)


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


class Explorer:
    """Controls plus a figure that is redrawn when any control changes.

    Parameters
    ----------
    controls : dict of str to ipywidgets.ValueWidget
        The controls; their names are the keyword arguments of ``draw``.
    draw : callable
        ``draw(**values) -> Figure``: builds a new figure from the controls' values.
    title : str, optional
        A line shown above the controls.

    Attributes
    ----------
    figure : matplotlib.figure.Figure
        The figure drawn for the controls' current values.
    redraws : int
        How many times the figure has been drawn.
    last_seconds : float
        Wall time of the last redraw, from the control's change to the figure shown (in a
        notebook this includes rendering the PNG; elsewhere only drawing, see :meth:`render`).
    """

    def __init__(self, controls: dict[str, widgets.ValueWidget], draw: Callable[..., Figure],
                 title: str | None = None) -> None:
        self.controls = controls
        self.draw = draw
        self.title = title
        self.output = widgets.Output()
        self.renderer = FigureRenderer()
        self.figure: Figure | None = None
        self.redraws = 0
        self.last_seconds = float("nan")
        for control in controls.values():
            control.observe(self._on_change, names="value")
        self.update()

    def values(self) -> dict[str, Any]:
        """The controls' current values, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def set(self, **values: Any) -> "Explorer":
        """Move controls by name (as a person would), which redraws the figure once per control."""
        unknown = set(values) - set(self.controls)
        if unknown:
            raise KeyError(f"no control named {sorted(unknown)}; this explorer has {sorted(self.controls)}")
        for name, value in values.items():
            self.controls[name].value = value
        return self

    def update(self) -> Figure:
        """Draw the figure for the current values and, in a notebook, show it in the output area."""
        start = time.perf_counter()
        self.figure = self.draw(**self.values())
        if _in_kernel():
            from IPython.display import Image, display

            png = self.render()
            with self.output:
                self.output.clear_output(wait=True)
                display(Image(data=png, format="png"))
        self.redraws += 1
        self.last_seconds = time.perf_counter() - start
        return self.figure

    def render(self) -> bytes:
        """The current figure as PNG bytes, as the notebook shows it."""
        return self.renderer.render(self.figure)

    def _on_change(self, change: dict[str, Any]) -> None:
        self.update()

    def widget(self) -> widgets.Widget:
        """The controls above the figure, as one ipywidgets box."""
        parts: list[widgets.Widget] = []
        if self.title:
            parts.append(widgets.HTML(f"<b>{self.title}</b>"))
        parts.append(widgets.HBox(list(self.controls.values()), layout=widgets.Layout(flex_flow="row wrap")))
        parts.append(self.output)
        return widgets.VBox(parts)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget())
