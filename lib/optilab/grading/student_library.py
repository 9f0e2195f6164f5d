r"""The build of ``optilab`` that a student's code sees while it is graded.

The student's processes (:mod:`optilab.grading.student_file`,
:mod:`~optilab.grading.student_notebook`) load this file by its path and install import hooks
before any of the student's code runs: the reference rules are hidden (``python -m optilab
check``: :func:`hide_reference_rules`) or answered by the grader (a notebook:
:func:`serve_reference_rules`), the grader's modules and the library's other implementations of
the rules cannot be imported, and, in a notebook, the library's figures are not drawn. The
files of the library are hidden by the sandbox as well (:func:`optilab.grading.process.library_view`). It imports only the standard library.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["hide_reference_rules", "serve_reference_rules", "guard_answers", "start_judging", "REFUSED",
           "OTHER_IMPLEMENTATIONS", "UNDRAWN", "KERNEL_SIBLINGS"]

#: Modules that graded code does not get: the grader, and the contract's checks (their mistakes
#: with every knob right are the reference rules, and the visible check calls them).
REFUSED = ("optilab.grading", "optilab.contract")
#: Library modules graded code does not get either: the lessons' experiments and explorers and
#: the rules' other forms, which compute the rules; no lab needs them.
OTHER_IMPLEMENTATIONS = ("optilab.widgets", "optilab.variants", "optilab.experiments")
_OTHER_MESSAGE = ("{name} is not available to code being graded (it computes update rules the "
                  "course grades); graded work does not need it.")


class _Refuse:
    """The loader of a module graded code may not import: importing it raises ImportError."""

    def __init__(self, message: str):
        self.message = message

    def create_module(self, spec: Any) -> None:
        return None

    def exec_module(self, module: Any) -> None:
        raise ImportError(self.message.replace("{name}", module.__name__))


class _Then:
    """A loader that runs the real one, then ``after(module)``."""

    def __init__(self, loader: Any, after: Any):
        self.loader, self.after = loader, after

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self.loader.exec_module(module)
        self.after(module)

    def __getattr__(self, name: str) -> Any:  # get_source, get_filename, ... of the real one
        return getattr(self.loader, name)


class _NotDrawn:
    """A figure of the library in a notebook's process: nothing is drawn (figures are not graded,
    and drawing them would cost the grader time); whatever is asked of it gives it again."""

    def __call__(self, *args: Any, **kwargs: Any) -> "_NotDrawn":
        return self

    def __getattr__(self, name: str) -> "_NotDrawn":
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __getitem__(self, key: Any) -> "_NotDrawn":
        return self

    def __iter__(self) -> Any:
        return iter(())

    def __repr__(self) -> str:
        return "<a figure, not drawn while the notebook is graded>"


class _Undrawn:
    """The loader of a module of figures whose every public name is :class:`_NotDrawn`."""

    def create_module(self, spec: Any) -> None:
        return None

    def exec_module(self, module: Any) -> None:
        import ast
        names: list[str] = []
        try:
            tree = ast.parse(open(module.__spec__.origin, encoding="utf-8").read())
            for node in tree.body:
                if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets):
                    names = [str(n) for n in ast.literal_eval(node.value)]
        except (OSError, SyntaxError, ValueError, TypeError):
            pass
        module.__all__ = names
        for name in names:
            setattr(module, name, _NotDrawn())


def _install(refused: dict[str, str], after: dict[str, Any], undrawn: tuple[str, ...] = ()) -> None:
    """Import hooks for graded code: a module named in ``refused`` (or inside one) raises
    ImportError with its message; ``after[name](module)`` runs once module ``name`` is loaded; a
    module of ``undrawn`` has its public names (its ``__all__``) and draws nothing (:class:`_NotDrawn`)."""
    import importlib.util

    class Finder:
        def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
            for prefix, message in refused.items():
                if name == prefix or name.startswith(prefix + "."):
                    return importlib.util.spec_from_loader(name, _Refuse(message))
            then = after.get(name)
            if then is None and name.startswith(KERNEL_SIBLINGS):
                then = after.get(KERNEL_SIBLINGS)
            if name in undrawn:
                then = "undrawn"
            if then is None:
                return None
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    if then == "undrawn":
                        spec.loader = _Undrawn()
                    elif spec.loader is not None and hasattr(spec.loader, "exec_module"):
                        spec.loader = _Then(spec.loader, then)
                    return spec
            return None

    sys.meta_path.insert(0, Finder())


def _replace_rules(replacement: Any, names: Any = None, *, refused: str | None = None) -> Any:
    """What to run after ``optilab.kernels`` loads: each of its rules in ``names`` (default: all)
    becomes ``replacement(name)`` in ``RULES``, and as an attribute too — or, given ``refused``,
    getting the attribute (``from optilab.kernels import adam``) raises ImportError with that
    message (``{name}``: the rule's)."""
    def after_kernels(module: Any) -> None:
        replaced = [name for name in list(getattr(module, "RULES", {})) if names is None or name in names]
        for name in replaced:
            module.RULES[name] = replacement(name)
            if refused is None:
                module.__dict__[name] = module.RULES[name]
            else:
                module.__dict__.pop(name, None)
        if refused is not None:
            def __getattr__(attr: str) -> Any:
                if attr in replaced:
                    raise ImportError(refused.replace("{name}", attr))
                raise AttributeError(f"module 'optilab.kernels' has no attribute {attr!r}")
            module.__getattr__ = __getattr__
    return after_kernels


#: The modules beside ``optilab.kernels`` that hold some of its rules (``optilab.kernels_modern``, ...):
#: ``optilab.kernels`` imports their rules, and graded code gets them as it gets ``optilab.kernels``'s.
KERNEL_SIBLINGS = "optilab.kernels_"


def _replace_sibling_rules(replacement: Any, names: Any = None) -> Any:
    """What to run after a module of :data:`KERNEL_SIBLINGS` loads: each function of its ``__all__``
    in ``names`` (default: all of them) becomes ``replacement(name)``, so that importing a rule from
    there gives what importing it from ``optilab.kernels`` gives (``optilab.kernels`` imports them
    from there, and its own hook replaces them again)."""
    def after_sibling(module: Any) -> None:
        for name in getattr(module, "__all__", ()):
            if callable(module.__dict__.get(name)) and (names is None or name in names):
                module.__dict__[name] = replacement(name)
    return after_sibling


def hide_reference_rules(rule: str) -> None:
    """Make ``optilab`` in this process a build without the answers, for grading ``rule``.

    Every reference rule of ``optilab.kernels`` (any of them gives others: adamw with
    ``weight_decay=0`` is adam, momentum with ``momentum=0`` is sgd) raises ImportError with a
    message that says why, as an attribute (``from optilab.kernels import adam``) and when
    called through ``optilab.RULES``; ``optilab.grading`` cannot be imported; ``optilab.check``
    does nothing (a file that checks itself still loads). The library's other helpers stay.

    This holds against imports; the sandbox shows a copy of the library without the rules'
    code (:func:`optilab.isolate.student_library`).
    """
    hidden_because = (f"is a reference rule, and reference rules are not available to code "
                      f"being graded (your {rule} is graded): compute the update yourself, "
                      "from the formula in the lesson or CONTRACT.md.")

    def stub(name: str) -> Any:
        def reference_rule_not_available(*args: Any, **kwargs: Any) -> Any:
            raise ImportError(f"optilab.kernels.{name} {hidden_because}")
        return reference_rule_not_available

    def after_optilab(module: Any) -> None:
        def check(rule: str, func: Any = None, **kwargs: Any) -> None:
            print(f"optilab.check({rule!r}, ...) is skipped while your file is graded.")
        module.check = check

    _install({**dict.fromkeys(REFUSED, _REFUSED_MESSAGE), **dict.fromkeys(OTHER_IMPLEMENTATIONS, _OTHER_MESSAGE)},
             {"optilab": after_optilab,
              "optilab.kernels": _replace_rules(stub, refused="optilab.kernels.{name} " + hidden_because),
              KERNEL_SIBLINGS: _replace_sibling_rules(stub)})


_REFUSED_MESSAGE = ("{name} (the grader) is not available to code being graded: check your rule with "
                    "`python -m optilab check` or optilab.check(...) in a notebook.")


#: The library's modules of figures: in a notebook's process they draw nothing (:class:`_NotDrawn`).
UNDRAWN = ("optilab.plots",)


def serve_reference_rules(served: list[str], served_rule: Any, served_check: Any) -> None:
    """Make ``optilab`` in a notebook's process a build whose rules ``served`` (those the lab
    grades, and those that give them) are ``served_rule(name)`` (answered by the grader), whose
    ``optilab.check`` is ``served_check`` (the grader's), without the grader's modules or the
    library's other implementations of the rules, and whose figures are not drawn
    (:data:`UNDRAWN`)."""
    def after_optilab(module: Any) -> None:
        module.check = served_check

    refused = {**dict.fromkeys(REFUSED, _REFUSED_MESSAGE), **dict.fromkeys(OTHER_IMPLEMENTATIONS, _OTHER_MESSAGE)}
    _install(refused, {"optilab": after_optilab,
                       "optilab.kernels": _replace_rules(served_rule, set(served)),
                       KERNEL_SIBLINGS: _replace_sibling_rules(served_rule, set(served))}, undrawn=UNDRAWN)


#: True once the notebook's cells have run: the process then only answers the grader's questions
#: about the student's answers (:func:`start_judging`).
_JUDGING = [False]


def _guarded(module_name: str, name: str, original: Any) -> Any:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if _JUDGING[0]:
            raise ImportError(f"{module_name}.{name} computes an answer of this lab, and the library's answers are "
                              "not available while yours are graded: compute it in your own code.")
        return original(*args, **kwargs)
    guarded.__name__ = guarded.__qualname__ = name
    guarded.__doc__ = getattr(original, "__doc__", None)
    guarded.__dict__.update(getattr(original, "__dict__", {}))  # its marks, e.g. a whole-model rule's scope
    return guarded


def guard_answers(guarded: dict[str, list[str]]) -> None:
    """Make the library's own versions of a lab's answers (``guarded``: module -> function names)
    work while the notebook's cells run — the lab's experiment may use them — and raise
    ImportError once the grader judges the student's answers (:func:`start_judging`), however
    they were reached (``optilab.model_rules.sam``, or a name bound to it in a cell)."""
    def after(names: list[str]) -> Any:
        def guard(module: Any) -> None:
            for name in names:
                if callable(module.__dict__.get(name)):
                    module.__dict__[name] = _guarded(module.__name__, name, module.__dict__[name])
        return guard
    if guarded:
        _install({}, {module: after(list(names)) for module, names in guarded.items()})


def start_judging() -> None:
    """The notebook's cells have run: the library's versions of the lab's answers refuse from now on."""
    _JUDGING[0] = True
