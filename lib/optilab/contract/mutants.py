r"""The mutant rules: one configurable rule per family of rules, whose knobs make the known mistakes.

:func:`mutant` gives the rule with the knobs turned as asked (:data:`optilab.contract.mistakes.KNOBS`
names each knob, its correct position and the mistake of each wrong one); with every knob at its
correct position it is the contract's rule. :mod:`optilab.contract.diagnose` runs a student's
rule beside these mutants and names the mistakes of the one it matches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from optilab.contract.mistakes import KNOBS
from optilab.contract.spec import DEFAULTS, require_rule

__all__ = ["mutant"]


def _lr(knobs: dict, lr: float, rule: str) -> float:
    mode = knobs.get("lr", "given")
    return {"given": lr, "default": DEFAULTS[rule]["lr"], "one": 1.0}[mode]


def _hyper(rule: str, knobs: dict, hyper: dict) -> dict:
    h = {**DEFAULTS[rule], **hyper}
    ignored = knobs.get("ignore")
    if ignored:
        h[ignored] = DEFAULTS[rule][ignored]
    h["lr"] = _lr(knobs, h["lr"], rule)
    return h


def _square(knobs: dict, g: np.ndarray) -> np.ndarray:
    return {"g2": lambda: g * g, "abs": lambda: np.abs(g), "g": lambda: g}[knobs.get("square", "g2")]()


def _sgd(rule: str, knobs: dict) -> Callable:
    def rule_(param, grad, state, **hyper):
        h = _hyper(rule, knobs, hyper)
        return param - knobs.get("sign", 1) * h["lr"] * grad, {}
    return rule_


def _heavy_ball(rule: str, knobs: dict) -> Callable:
    form = knobs.get("form", "torch")
    nesterov = knobs.get("step", "plain") == "nesterov"

    def rule_(param, grad, state, **hyper):
        h = _hyper(rule, knobs, hyper)
        lr, mu = h["lr"], h["momentum"]
        state = state if knobs.get("carry", True) else {}
        v_old = state.get("velocity", 0.0)
        if form == "torch":
            v = mu * v_old + grad
        elif form == "average":
            v = mu * v_old + (1 - mu) * grad
        elif form == "sutskever":
            v = mu * v_old - lr * grad
        else:  # "sutskever+": v <- mu v + lr g, p <- p - v
            v = mu * v_old + lr * grad
        u = v_old if knobs.get("stale") else v
        if form in ("torch", "average"):
            step = lr * (grad + mu * u) if nesterov else lr * u
        elif form == "sutskever":
            step = lr * grad - mu * u if nesterov else -u
        else:
            step = lr * grad + mu * u if nesterov else u
        return param - knobs.get("sign", 1) * step, {"velocity": v + 0 * grad}
    return rule_


def _square_average(rule: str, knobs: dict) -> Callable:
    key = "sum_sq" if rule == "adagrad" else "sq_avg"
    accum = knobs.get("accum", "sum" if rule == "adagrad" else "average")

    def rule_(param, grad, state, **hyper):
        h = _hyper(rule, knobs, hyper)
        state = state if knobs.get("carry", True) else {}
        s_old = state.get(key, 0.0)
        g2 = _square(knobs, grad)
        rho = {"average-0.9": 0.9, "average-0.99": 0.99}.get(accum, h.get("rho", 0.99))
        if accum == "sum":
            s = s_old + g2
        elif accum == "swapped":
            s = (1 - rho) * s_old + rho * g2
        elif accum == "no-one-minus":
            s = rho * s_old + g2
        else:
            s = rho * s_old + (1 - rho) * g2
        u = s_old if knobs.get("stale") else s
        u = u + 0 * grad
        denom = np.sqrt(u + h["eps"]) if knobs.get("eps") == "inside" else np.sqrt(u) + h["eps"]
        return param - knobs.get("sign", 1) * h["lr"] * grad / denom, {key: s}
    return rule_


def _adam(rule: str, knobs: dict) -> Callable:
    t_mode = knobs.get("t", "ok")
    bias = knobs.get("bias", "both")
    betas = knobs.get("betas", "ok")
    decay = knobs.get("decay", "decoupled" if rule == "adamw" else "none")

    def rule_(param, grad, state, **hyper):
        h = _hyper(rule, knobs, hyper)
        lr, eps = h["lr"], h["eps"]
        wd = DEFAULTS["adamw"]["weight_decay"] if decay == "fixed" else h.get("weight_decay", 0.0)
        state = state if knobs.get("carry", True) else {}
        b1, b2 = h["beta1"], h["beta2"]
        a1, a2 = (b2, b1) if betas in ("swapped", "swapped-averages") else (b1, b2)
        c1, c2 = (b2, b1) if betas == "swapped" else (b1, b2)
        g = grad + wd * param if decay == "l2" else grad
        base = param
        if decay in ("decoupled", "fixed"):
            base = param - lr * wd * param
        elif decay == "unscaled":
            base = param - wd * param
        old_t = state.get("t", 1 if t_mode == "start-at-1" else 0)
        t_use = old_t if t_mode in ("after", "start-at-1") else old_t + 1
        t_store = {"ok": t_use, "after": old_t + 1, "start-at-1": old_t + 1,
                   "store-plus-1": t_use + 1, "frozen": old_t}[t_mode]
        m_old, v_old = state.get("m", 0.0), state.get("v", 0.0)
        m = a1 * m_old + (g if knobs.get("mform") == "no-one-minus" else (1 - a1) * g)
        g2 = _square(knobs, g)
        vform = knobs.get("vform", "average")
        v = v_old + g2 if vform == "sum" else a2 * v_old + (g2 if vform == "no-one-minus" else (1 - a2) * g2)
        mu = m_old if knobs.get("stale") == "m" else m
        vu = v_old if knobs.get("stale") == "v" else v
        mu, vu = mu + 0 * g, vu + 0 * g
        k1 = 1 - c1**t_use if bias in ("both", "m") else 1.0
        k2 = 1 - c2**t_use if bias in ("both", "v") else 1.0
        if knobs.get("eps", "outside") == "inside":
            step = (mu / k1) / np.sqrt(vu / k2 + eps)
        elif knobs.get("eps") == "hat":
            step = (mu / k1) * k2**0.5 / (np.sqrt(vu) + eps) if bias == "both" else \
                (mu / k1) / (np.sqrt(vu / k2) + eps)
        else:
            step = (mu / k1) / (np.sqrt(vu / k2) + eps)
        new = base - knobs.get("sign", 1) * lr * step
        if decay == "after":
            new = new - lr * wd * new
        return new, {"t": t_store, "m": m, "v": v}
    return rule_


_FAMILIES = {"sgd": _sgd, "momentum": _heavy_ball, "nesterov": _heavy_ball,
             "adagrad": _square_average, "rmsprop": _square_average, "adam": _adam, "adamw": _adam}



def _lion(rule: str, knobs: dict) -> Callable:
    def rule_(param, grad, state, **hyper):
        h = _hyper(rule, knobs, hyper)
        lr, wd = h["lr"], h["weight_decay"]
        b1, b2 = (h["beta2"], h["beta1"]) if knobs.get("betas") == "swapped" else (h["beta1"], h["beta2"])
        state = state if knobs.get("carry", True) else {}
        m_old = state.get("m", 0.0)
        m_new = b2 * m_old + (1 - b2) * grad
        m_used = m_new if knobs.get("order") == "m-first" else m_old
        c = b1 * m_used + (grad if knobs.get("interp") == "no-one-minus" else (1 - b1) * grad)
        direction = np.sign(c) if knobs.get("direction", "sign") == "sign" else c
        decay = knobs.get("decay", "decoupled")
        base = param - wd * param if decay == "unscaled" else param if decay == "after" else param - lr * wd * param
        new = base - knobs.get("sign", 1) * lr * direction
        if decay == "after":
            new = new - lr * wd * new
        return new, {"m": m_new + 0 * grad}
    return rule_


def _adafactor(rule: str, knobs: dict) -> Callable:
    def rule_(param, grad, state, **hyper):
        h = _hyper(rule, knobs, hyper)
        param, grad = np.asarray(param), np.asarray(grad)
        eps1 = np.finfo(param.dtype).eps if h["eps1"] is None else h["eps1"]
        state = state if knobs.get("carry", True) else {}
        t_old = state.get("t", 0)
        t = t_old + 1
        w = t ** (-h["beta2_decay"] if knobs.get("exponent") == "negated" else h["beta2_decay"])
        rho = min(h["lr"], 1 / t**0.5)
        of = {"param": param, "grad": grad}.get(knobs.get("relative", "param"))
        size = rho if of is None else max(h["eps2"], float(np.sqrt(np.mean(of * of)))) * rho
        g2 = grad * grad
        reduce = np.sum if knobs.get("reduce") == "sum" else np.mean
        stored = {"t": t_old if knobs.get("t") == "frozen" else t}
        if param.ndim >= 2 and knobs.get("factored", True):
            rows, cols = (-1, -2) if knobs.get("axes", "ok") == "ok" else (-2, -1)
            row = state.get("row", 0.0) + w * (reduce(g2, axis=rows) - state.get("row", 0.0))
            col = state.get("col", 0.0) + w * (reduce(g2, axis=cols) - state.get("col", 0.0))
            v = row[..., :, None] * col[..., None, :]
            if knobs.get("normalise", True):
                v = v / np.maximum(row.mean(axis=-1), eps1)[..., None, None]
            stored.update(row=row, col=col)
        else:
            v = state.get("v", 0.0) + w * (g2 - state.get("v", 0.0))
            stored["v"] = v + 0 * grad
        u = grad / (np.sqrt(v) + eps1 if knobs.get("eps1") == "added" else np.maximum(np.sqrt(v), eps1))
        if knobs.get("clip", True):
            u = u / max(1.0, float(np.sqrt(np.mean(u * u))) / h["d"])
        return param - knobs.get("sign", 1) * size * u, stored
    return rule_


_FAMILIES.update({"lion": _lion, "adafactor": _adafactor})


def mutant(rule: str, **knobs: Any) -> Callable[..., tuple[Any, dict]]:
    """The rule ``rule`` with the knobs turned as given (every other knob at its correct position).

    >>> no_bias = mutant("adam", bias="none")    # Adam without bias correction
    """
    require_rule(rule)
    if rule not in KNOBS:
        raise ValueError(f"{rule} has no catalogue of mutants; the rules that have one: {', '.join(KNOBS)}")
    unknown = set(knobs) - set(KNOBS[rule])
    if unknown:
        raise ValueError(f"{rule} has no knob {sorted(unknown)[0]!r}; its knobs: {', '.join(KNOBS[rule])}")
    full = {name: correct for name, (correct, _) in KNOBS[rule].items()}
    full.update(knobs)
    return _FAMILIES[rule](rule, full)
