"""Show library code in a notebook, so a lesson displays the code it runs instead of retyping it.

A rule or helper that a lab grades is shown by its :func:`interface` only (its signature, its
defaults and what its docstring says of its state and framework names), never by its code: the
lab asks the student to write that code.

>>> from optilab import kernels, show
>>> show.source(kernels.sgd, docstring=False)        # doctest: +SKIP

renders, as a syntax-highlighted block::

    def sgd(param, grad, state, *, lr=1e-2, weight_decay=0.0):
        g = _l2(grad, param, weight_decay)
        return param - lr * g, {}
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from typing import Any

from IPython.display import Markdown

__all__ = ["source", "source_text", "interface", "interface_text"]


def source_text(obj: Any, *, docstring: bool = True) -> str:
    """The source code of a function, class or module, dedented, as a string.

    Parameters
    ----------
    obj : function, class, method or module
        Anything :func:`inspect.getsource` accepts.
    docstring : bool
        If false, leave out ``obj``'s own docstring (not those of nested functions), so only
        the code is shown: the maths is usually in the lesson's text next to it.

    Returns
    -------
    str
        The source, ending without a blank line.
    """
    try:
        text = textwrap.dedent(inspect.getsource(obj))
    except (TypeError, OSError) as error:
        raise TypeError(
            f"cannot show the source of {obj!r}: {error}; pass a function, class or module "
            "defined in a .py file (not a built-in, a lambda typed at the prompt, or an instance)"
        ) from None
    if not docstring:
        text = _without_docstring(text)
    return text.rstrip() + "\n"


def _without_docstring(text: str) -> str:
    """``text`` with the first definition's docstring (or the module's) removed, line-exactly."""
    tree = ast.parse(text)
    body_owner: Any = tree.body[0] if tree.body and isinstance(
        tree.body[0], (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else tree
    body = body_owner.body
    if not (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)):
        return text
    first, last = body[0].lineno, body[0].end_lineno  # 1-based, inclusive
    lines = text.splitlines(keepends=True)
    if len(body) == 1:  # a function that is only a docstring: keep it valid Python
        indent = re.match(r"\s*", lines[first - 1]).group(0)
        return "".join(lines[: first - 1] + [f"{indent}...\n"] + lines[last:])
    return "".join(lines[: first - 1] + lines[last:])


def source(obj: Any, *, docstring: bool = True) -> Markdown:
    """Display the source of ``obj`` as a syntax-highlighted Python block in a notebook.

    Parameters
    ----------
    obj : function, class, method or module
        What to show, e.g. ``optilab.kernels.adam``.
    docstring : bool
        If false, show the code without ``obj``'s docstring (see :func:`source_text`).

    Returns
    -------
    IPython.display.Markdown
        Rendered as a fenced ``python`` code block when it is the last value of a cell
        (or passed to ``display``).
    """
    text = source_text(obj, docstring=docstring)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return Markdown(f"{fence}python\n{text}{fence}")


def _docstring_lines(obj: Any, starts: tuple[str, ...]) -> list[str]:
    doc = inspect.getdoc(obj) or ""
    return [line.strip() for line in doc.splitlines() if line.strip().startswith(starts)]


def interface_text(obj: Any) -> str:
    """``obj``'s signature and summary as Markdown, without its body.

    >>> from optilab import kernels
    >>> print(interface_text(kernels.sgd).splitlines()[1])
    def sgd(param, grad, state, *, lr=0.01, weight_decay=0.0)
    """
    if not callable(obj):
        raise TypeError(f"interface() shows a function or class, not a {type(obj).__name__}")
    signature = inspect.signature(obj)
    summary = (inspect.getdoc(obj) or "").strip().splitlines()
    lines = ["```python", f"def {obj.__name__}{signature}", "```"]
    if summary:
        lines += ["", summary[0]]
    lines += [f"- {line}" for line in _docstring_lines(obj, ("State:", "PyTorch:", "Keras:", "Reference:"))]
    return "\n".join(lines)


def interface(obj: Any) -> Markdown:
    """Display ``obj``'s signature and summary (see :func:`interface_text`), not its code."""
    return Markdown(interface_text(obj))
