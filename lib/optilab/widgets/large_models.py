r"""Explorers and figures of lesson 09 (the optimizers of large models).

The numbers are :mod:`optilab.experiments.large_models`'s; this module draws them.

* :func:`lion_explorer` — Lion's sign step against Adam's on gradients of every signal-to-noise
  ratio; move Lion's :math:`\beta_1` and :math:`\beta_2`.
* :func:`factored_figure` — Adam's full :math:`v` of one weight matrix beside Adafactor's estimate
  from its row and column sums.
* :func:`newton_schulz_explorer` — what Muon's Newton–Schulz iterations do to the singular values
  of a gradient; move the number of iterations, choose the polynomial.
* :func:`preconditioner_explorer` — condition numbers and runs of AdaGrad (diagonal and full),
  Shampoo and SOAP on a matrix problem; turn the problem's eigenvectors away from the axes.
* :func:`comparison_figure` — AdamW with a tuned schedule, Muon and schedule-free AdamW on the MLP:
  validation loss along training and test loss at the end, with 95 % intervals over the seeds.

In a notebook::

    from optilab.widgets import large_models
    large_models.lion_explorer()
"""

from __future__ import annotations

import functools
from typing import Any, Mapping

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from optilab import plots
from optilab.experiments import large_models as runs
from optilab.widgets.explorer import Explorer, register

__all__ = [
    "draw_lion",
    "lion_explorer",
    "factored_figure",
    "draw_newton_schulz",
    "newton_schulz_explorer",
    "draw_preconditioners",
    "preconditioner_explorer",
    "comparison_figure",
    "differences_figure",
    "RECIPE_LABELS",
]

GREY = "#6b6b6b"
#: How the lesson names the recipes of :func:`optilab.experiments.large_models.comparison`.
RECIPE_LABELS: dict[str, str] = {"adamw": "AdamW, warm-up + cosine", "muon": "Muon (AdamW on the rest)",
                                 "schedule-free": "schedule-free AdamW"}


#: Line style and marker of each recipe: the rule table's colours of AdamW, Muon and schedule-free AdamW are
#: all reddish purples, so the lines differ in shape as well.
RECIPE_STYLES: dict[str, tuple[Any, str]] = {"adamw": ("-", "o"), "muon": ("--", "s"), "schedule-free": (":", "^")}


def _recipe_color(recipe: str) -> str:
    names = {"adamw": "adamw", "muon": "muon", "schedule-free": None}
    name = names.get(recipe)
    if name is None:
        try:
            name = runs.schedule_free_rule()
        except LookupError:
            name = recipe
    return plots.color_of(name)


def _legend_outside(ax, **kwargs: Any) -> None:
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **kwargs)


# -- Lion against Adam -----------------------------------------------------------------------------
class _LionFigure:
    """The figure of :func:`lion_explorer`, built once; :meth:`draw` updates its lines."""

    def __init__(self) -> None:
        self.fig, (self.ax_progress, self.ax_rms) = plots.new_figure(figsize=(9.0, 4.3), ncols=2)
        snr = runs.SNRS
        sign_only = runs.lion_sign_agreement(snr, 0.0, 0.0)  # the sign of this step's gradient: 2Φ(μ/σ) − 1
        lion, adam = plots.color_of("lion"), plots.color_of("adam")
        self.lines = {}
        for ax, key in ((self.ax_progress, "progress"), (self.ax_rms, "rms")):
            self.lines["lion", key], = ax.plot(snr, np.ones_like(snr), color=lion, linewidth=2.0, label="Lion")
            self.lines["adam", key], = ax.plot(snr, np.ones_like(snr), color=adam, linewidth=2.0, linestyle="--",
                                               label="Adam (β₁ = 0.9, β₂ = 0.999)")
            ax.set_xscale("log")
            ax.set_xlabel("signal-to-noise ratio μ/σ")
            ax.set_ylim(0, 1.08)
        self.sign_line, = self.ax_progress.plot(snr, sign_only, color=GREY, linestyle=":", linewidth=1.5,
                                                label="sign of the current gradient alone")
        self.ax_progress.set_ylabel("mean step against the gradient / α")
        self.ax_progress.set_title("useful progress per step", fontsize="medium")
        self.ax_rms.set_ylabel("root-mean-square step / α")
        self.ax_rms.set_title("step length", fontsize="medium")
        self.fig.subplots_adjust(left=0.08, right=0.98, top=0.84, wspace=0.3, bottom=0.3)
        self.legend = self.fig.legend(handles=[self.lines["lion", "rms"], self.lines["adam", "rms"], self.sign_line],
                                      labels=["Lion (β₁ = 0.00, β₂ = 0.000)", "Adam (β₁ = 0.9, β₂ = 0.999)",
                                              "sign of the current gradient alone"],
                                      loc="lower center", ncol=3, fontsize="small", frameon=False)

    def draw(self, beta1: float = 0.9, beta2: float = 0.99) -> Figure:
        result = runs.sign_steps(float(beta1), float(beta2))
        for rule in ("lion", "adam"):
            for key in ("progress", "rms"):
                self.lines[rule, key].set_ydata(result[rule][key])
        self.legend.get_texts()[0].set_text(f"Lion (β₁ = {beta1:g}, β₂ = {beta2:g})")
        self.fig.suptitle("Lion against Adam on gradients g = μ + σξ, at the same α", fontsize="medium")
        return self.fig


def draw_lion(beta1: float = 0.9, beta2: float = 0.99) -> Figure:
    """:func:`lion_explorer`'s figure for one pair of Lion's β's, as a new figure."""
    return _LionFigure().draw(beta1, beta2)


@register("09-lion-sign")
def lion_explorer(beta1: float = 0.9, beta2: float = 0.99) -> Explorer:
    r"""Lion's step against Adam's on noisy gradients; move Lion's :math:`\beta_1` and :math:`\beta_2`.

    Lion's step has length :math:`\alpha` in every coordinate whatever the noise; its direction is
    the sign of a mix of the momentum (weight :math:`\beta_1`) and the current gradient. A larger
    :math:`\beta_2` averages the momentum over more gradients, so at low signal-to-noise ratios
    more of the signs are right.
    """
    b1 = widgets.SelectionSlider(options=[0.0, 0.5, 0.8, 0.9, 0.95, 0.99], value=beta1, description="Lion β₁",
                                 continuous_update=False)
    b2 = widgets.SelectionSlider(options=[0.0, 0.5, 0.9, 0.95, 0.98, 0.99], value=beta2, description="Lion β₂",
                                 continuous_update=False)
    return Explorer({"beta1": b1, "beta2": b2}, _LionFigure().draw,
                    title="Lion: a step of length α in every coordinate, in the sign's direction")


# -- Adafactor -------------------------------------------------------------------------------------------
def factored_figure(V: np.ndarray, title: str = "one weight matrix of the MLP") -> Figure:
    """Adam's :math:`v` (left) beside Adafactor's estimate from its row and column sums (right), one colour scale."""
    estimate = runs.factored(V)
    fig, axes = plots.new_figure(figsize=(9.0, 4.0), ncols=2)
    positive = np.concatenate([V[V > 0].ravel(), estimate[estimate > 0].ravel()])
    low, high = np.log10(np.quantile(positive, 0.01)), np.log10(positive.max())
    for ax, matrix, name in ((axes[0], V, f"Adam's v: {V.size:,} numbers"),
                             (axes[1], estimate, f"Adafactor's estimate: {sum(V.shape)} numbers")):
        with np.errstate(divide="ignore"):
            image = ax.imshow(np.log10(matrix), cmap="viridis", vmin=low, vmax=high, aspect="auto",
                              interpolation="nearest")
        ax.set_title(name, fontsize="medium")
        ax.set_xlabel("column (output unit)")
        ax.set_ylabel("row (input unit)")
    fig.subplots_adjust(left=0.08, right=0.86, top=0.84, bottom=0.13, wspace=0.3)
    colorbar = fig.colorbar(image, cax=fig.add_axes((0.885, 0.13, 0.02, 0.71), label="<colorbar>"))
    colorbar.set_label("log₁₀ of the mean of g²")
    fig.suptitle(f"Second moment of the gradient, {title} ({V.shape[0]}×{V.shape[1]})", fontsize="medium")
    return fig


# -- Muon's Newton–Schulz ----------------------------------------------------------------------------
class _NewtonSchulzFigure:
    """The figure of :func:`newton_schulz_explorer`, built once; :meth:`draw` updates its lines."""

    def __init__(self, layer: str = "W2") -> None:
        self.G = runs.layer_gradient(layer)
        self.sigma0 = np.linalg.svd(self.G / np.linalg.norm(self.G), compute_uv=False)
        self.grid = np.logspace(-4, 0, 400)
        self.fig, (self.ax_map, self.ax_values) = plots.new_figure(figsize=(9.0, 4.2), ncols=2)
        blue, orange = plots.OKABE_ITO["blue"], plots.OKABE_ITO["vermillion"]
        for ax in (self.ax_map, self.ax_values):
            ax.axhline(1.0, color=GREY, linestyle=":", linewidth=1.2)
        self.map_line, = self.ax_map.plot(self.grid, self.grid, color=blue, linewidth=2.0, label="φᵏ(σ)")
        self.map_points, = self.ax_map.plot(self.sigma0, self.sigma0, "o", color=orange, markersize=4,
                                            label=f"{layer}'s gradient")
        self.ax_map.set_xscale("log")
        self.ax_map.set_xlim(1e-4, 1.0)
        self.ax_map.set_ylim(0, 1.6)
        self.ax_map.set_xlabel("singular value σ of G/‖G‖_F")
        self.ax_map.set_ylabel("after k iterations")
        self.ax_map.legend(fontsize="small", loc="upper left")
        index = np.arange(1, len(self.sigma0) + 1)
        self.ax_values.plot(index, self.sigma0, color=GREY, linewidth=1.5, linestyle="--", label="G/‖G‖_F")
        self.values_line, = self.ax_values.plot(index, self.sigma0, color=blue, linewidth=2.0,
                                                label="after k iterations")
        self.ax_values.set_yscale("log")
        self.ax_values.set_ylim(1e-4, 3.0)
        self.ax_values.set_xlabel("index of the singular value (largest first)")
        self.ax_values.set_ylabel("singular value")
        self.ax_values.set_title(f"{layer}'s gradient in the MLP ({self.G.shape[0]}×{self.G.shape[1]})",
                                 fontsize="medium")
        self.ax_values.legend(fontsize="small", loc="lower left")
        self.fig.subplots_adjust(left=0.08, right=0.98, top=0.8, wspace=0.3, bottom=0.14)

    def draw(self, steps: int = 5, polynomial: str = next(iter(runs.NS_COEFFICIENTS))) -> Figure:
        coefficients = runs.NS_COEFFICIENTS[polynomial]
        self.map_line.set_ydata(runs.singular_value_map(self.grid, steps, coefficients))
        self.map_points.set_ydata(runs.singular_value_map(self.sigma0, steps, coefficients))
        after = np.linalg.svd(runs.newton_schulz(self.G, steps, coefficients), compute_uv=False)
        self.values_line.set_ydata(np.maximum(after, 1e-12))
        a, b, c = coefficients
        self.ax_map.set_title(f"φ(σ) = {a:g}σ {b:+g}σ³ {c:+g}σ⁵, k = {steps} times", fontsize="small")
        kept = self.sigma0 > 1e-3 * self.sigma0[0]
        mapped = runs.singular_value_map(self.sigma0[kept], steps, coefficients)
        self.fig.suptitle(f"{polynomial}, k = {steps}:\nthe singular values above 10⁻³·σ_max end in "
                          f"[{mapped.min():.2f}, {mapped.max():.2f}]", fontsize="medium")
        return self.fig


def draw_newton_schulz(steps: int = 5, polynomial: str = next(iter(runs.NS_COEFFICIENTS))) -> Figure:
    """:func:`newton_schulz_explorer`'s figure, as a new figure."""
    return _NewtonSchulzFigure().draw(steps, polynomial)


@register("09-newton-schulz")
def newton_schulz_explorer(steps: int = 5, polynomial: str = next(iter(runs.NS_COEFFICIENTS))) -> Explorer:
    r"""Muon's Newton–Schulz iterations on a gradient's singular values; move the number of iterations.

    Every iteration applies :math:`\varphi(\sigma) = a\sigma + b\sigma^3 + c\sigma^5` to each singular
    value. Muon's quintic pushes small values up fast and lets them oscillate around 1; the cubic
    converges to exactly 1 but needs many more iterations for the small ones.
    """
    slider = widgets.IntSlider(value=steps, min=0, max=12, description="iterations k", continuous_update=False)
    menu = widgets.Dropdown(options=list(runs.NS_COEFFICIENTS), value=polynomial, description="polynomial",
                            layout=widgets.Layout(width="380px"))
    return Explorer({"steps": slider, "polynomial": menu}, _NewtonSchulzFigure().draw,
                    title="Newton–Schulz: orthogonalising a gradient, one singular value at a time")


# -- preconditioners ----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=32)
def _preconditioned(rotation: float) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    problem = runs.kronecker_problem(rotation=rotation)
    return runs.condition_numbers(problem), runs.preconditioned_runs(problem)


_METHOD_COLORS = dict(zip(
    runs.PRECONDITIONER_MEMORY,
    (plots.OKABE_ITO["black"], plots.OKABE_ITO["bluish green"], plots.OKABE_ITO["orange"],
     plots.OKABE_ITO["vermillion"], plots.OKABE_ITO["sky blue"], plots.OKABE_ITO["reddish purple"])))
_METHOD_STYLES = dict(zip(_METHOD_COLORS, ("-", "-", "--", "-", (0, (1, 1)), "-.")))


class _PreconditionerFigure:
    """The figure of :func:`preconditioner_explorer`, built once; :meth:`draw` updates it."""

    def __init__(self) -> None:
        self.fig, (self.ax_kappa, self.ax_runs) = plots.new_figure(figsize=(9.0, 4.6), ncols=2)
        kappas, losses = _preconditioned(1.0)
        names = list(kappas)
        y = np.arange(len(names))
        self.bars = self.ax_kappa.barh(y, [1.0] * len(names), color=[_METHOD_COLORS[n] for n in names],
                                       edgecolor="black")
        self.texts = [self.ax_kappa.text(1.0, i, "", va="center", fontsize="small") for i in y]
        self.ax_kappa.set_yticks(y, names, fontsize="small")
        self.ax_kappa.set_ylim(len(names) - 0.5, -0.5)
        self.ax_kappa.set_xscale("log")
        self.ax_kappa.set_xlim(0.8, 1e5)
        self.ax_kappa.set_xlabel("condition number κ of P⁻¹H")
        self.ax_kappa.set_title("how round the problem becomes", fontsize="medium")
        steps = np.arange(len(next(iter(losses.values()))))
        self.lines = {n: self.ax_runs.plot(steps, np.ones_like(steps, dtype=float), color=_METHOD_COLORS[n],
                                           linestyle=_METHOD_STYLES[n], linewidth=2.0, label=n)[0] for n in names}
        self.ax_runs.set_yscale("log")
        self.ax_runs.set_ylim(1e-16, 2.0)
        self.ax_runs.set_xlabel("step")
        self.ax_runs.set_ylabel("f(w_t) / f(w_0)")
        self.ax_runs.set_title("runs with η = 1/λ_max(P⁻¹H)", fontsize="medium")
        self.fig.legend(handles=list(self.lines.values()), loc="lower center", ncol=3, fontsize="small", frameon=False)
        self.fig.subplots_adjust(left=0.17, right=0.98, top=0.84, wspace=0.35, bottom=0.3)

    def draw(self, rotation: float = 1.0) -> Figure:
        kappas, losses = _preconditioned(float(rotation))
        for bar, text, (name, kappa) in zip(self.bars, self.texts, kappas.items()):
            bar.set_width(kappa)
            text.set_x(kappa * 1.15)
            text.set_text(f"{kappa:,.3g}")
        for name, line in self.lines.items():
            line.set_ydata(np.maximum(losses[name], 1e-17))
        self.fig.suptitle(f"f(W) = ½ tr((W − W*)ᵀA(W − W*)B) with W 6×4;\nthe eigenvectors of A and B turned "
                          f"{float(rotation):.0%} of the way from the axes", fontsize="medium")
        return self.fig


def draw_preconditioners(rotation: float = 1.0) -> Figure:
    """:func:`preconditioner_explorer`'s figure, as a new figure."""
    return _PreconditionerFigure().draw(rotation)


@register("09-preconditioners")
def preconditioner_explorer(rotation: float = 1.0) -> Explorer:
    r"""AdaGrad, Shampoo and SOAP on a problem with a Kronecker-product Hessian; turn its eigenvectors.

    With the eigenvectors on the coordinate axes (rotation 0) a diagonal preconditioner is perfect;
    turned away from them it is little better than none, while Shampoo's Kronecker factors and
    SOAP do not care about the rotation.
    """
    slider = widgets.SelectionSlider(options=[round(x, 2) for x in np.linspace(0, 1, 11)], value=rotation,
                                     description="rotation", continuous_update=False)
    return Explorer({"rotation": slider}, _PreconditionerFigure().draw,
                    title="Preconditioners: diagonal, Kronecker-factored, full")


# -- the comparison on the MLP ---------------------------------------------------------------------------
def comparison_figure(results: Mapping[str, Any], metric: str = "val loss") -> Figure:
    """A metric along training for each recipe at its chosen lr: the mean and its 95 % interval over the seeds."""
    fig, ax = plots.new_figure(figsize=(8.0, 4.2))
    chosen = results["chosen"]
    for recipe, curve in runs.curves(results, metric).items():
        color = _recipe_color(recipe)
        style, marker = RECIPE_STYLES.get(recipe, ("-", "o"))
        ax.plot(curve["steps"], curve["mean"], color=color, linewidth=2.0, linestyle=style, marker=marker,
                markersize=4, label=f"{RECIPE_LABELS.get(recipe, recipe)}, α = {chosen[recipe]:g}")
        ax.fill_between(curve["steps"], curve["mean"] - curve["half width"], curve["mean"] + curve["half width"],
                        color=color, alpha=0.2, linewidth=0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("step")
    ax.set_ylabel(metric.replace("val", "validation") + (" (cross-entropy)" if "loss" in metric else ""))
    ax.set_title(f"The digits MLP: {metric.replace('val', 'validation')} along training,\n"
                 f"mean and 95 % interval over {len(results['seeds'])} seeds", fontsize="medium")
    _legend_outside(ax)
    fig.subplots_adjust(left=0.09, right=0.62, top=0.9, bottom=0.13)
    return fig


def differences_figure(results: Mapping[str, Any], metric: str = "test loss") -> Figure:
    """The final ``metric`` of each recipe (left) and its difference from AdamW's, seed by seed (right); 95 % intervals."""
    fig, (ax_value, ax_diff) = plots.new_figure(figsize=(9.0, 3.4), ncols=2)
    summary = {row["recipe"]: row for row in runs.summary(results)}
    colors = {RECIPE_LABELS.get(r, r): _recipe_color(r) for r in summary}
    plots.intervals({RECIPE_LABELS.get(r, r): summary[r][metric] for r in summary}, ax=ax_value,
                    title=f"final {metric}", xlabel=metric + (" (cross-entropy)" if "loss" in metric else ""),
                    ylabel="recipe", colors=colors)
    others = [r for r in summary if r != "adamw"]
    short = {"muon": "Muon", "schedule-free": "schedule-free"}
    differences = {f"{short.get(r, r)} − AdamW": runs.paired_difference(results, r, metric=metric) for r in others}
    plots.intervals(differences, ax=ax_diff, title="difference from AdamW, same seeds", xlabel=f"difference in {metric}",
                    ylabel="pair", zero_line=True, colors={k: GREY for k in differences})
    for ax in (ax_value, ax_diff):
        ax.title.set_fontsize("medium")
    fig.tight_layout()
    return fig
