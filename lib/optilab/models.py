r"""Small models with hand-written backward passes: linear and logistic regression, and an MLP.

Models are functional: a model object holds only its shape, and the parameters live in a
dict outside it, so an :class:`~optilab.Optimizer` can update them::

    >>> model = LogisticRegression(n_features=2)
    >>> params = model.init(seed=0)
    >>> X, y = np.array([[1.0, 2.0], [-1.0, 0.5]]), np.array([1, 0])
    >>> loss, grads = model.loss_and_grads(params, X, y)
    >>> sorted(grads) == sorted(params)
    True

Every model has ``init(seed) -> params``, ``loss(params, X, y) -> float``,
``loss_and_grads(params, X, y) -> (loss, grads)`` with ``grads`` shaped like ``params``, and
``predict(params, X)``; classifiers also have ``predict_proba`` and ``accuracy``. Losses are
averages over the examples, so the gradient does not grow with the batch size.

Every backward pass is checked against central finite differences in the tests.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["LinearRegression", "LogisticRegression", "MLP"]

Params = dict[str, np.ndarray]


def _features(X: np.ndarray, n_features: int, model: str) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != n_features:
        raise ValueError(f"{model} expects X of shape (n_examples, {n_features}); got shape {X.shape}")
    return X


def _labels(y: np.ndarray, n: int, n_classes: int, model: str) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(f"{model}: y must have shape ({n},), one label per example; got shape {y.shape}")
    whole = y.dtype.kind in "iu" or bool(np.equal(np.mod(y, 1), 0).all())  # (integer arrays need no test)
    if y.size and (not whole or y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"{model}: labels must be integers 0 .. {n_classes - 1}; got values {np.unique(y)[:10]}")
    return y.astype(int, copy=False)


def _targets(y: np.ndarray, n: int, model: str) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(f"{model}: y must have shape ({n},), one target per example; got shape {y.shape}")
    return y


def _sigmoid(z: np.ndarray) -> np.ndarray:
    r""":math:`\sigma(z) = 1/(1 + e^{-z})`, without overflow for large :math:`|z|`."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _log_softmax(Z: np.ndarray) -> np.ndarray:
    shifted = Z - Z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


class LinearRegression:
    r"""Least squares: :math:`\hat y = X w + b`.

    .. math::
        L(w, b) = \frac{1}{2n} \sum_i (x_i \cdot w + b - y_i)^2, \qquad
        \nabla_w L = \frac1n X^\top r, \quad \nabla_b L = \frac1n \sum_i r_i, \qquad r = Xw + b - y

    Parameters
    ----------
    n_features : int
        Number of input features :math:`d`.
    bias : bool
        Whether to fit an intercept :math:`b` (parameter ``"b"``, a 0-d array).
    """

    def __init__(self, n_features: int, bias: bool = True) -> None:
        if int(n_features) < 1:
            raise ValueError(f"n_features must be >= 1, got {n_features}")
        self.n_features = int(n_features)
        self.bias = bool(bias)

    def init(self, seed: int = 0, scale: float = 0.0, dtype: type = np.float64) -> Params:
        """Initial parameters: ``w`` of shape (d,) drawn as ``scale`` × N(0, 1) (zero by default), ``b = 0``."""
        rng = np.random.default_rng(seed)
        params = {"w": (scale * rng.standard_normal(self.n_features)).astype(dtype)}
        if self.bias:
            params["b"] = np.zeros((), dtype=dtype)
        return params

    def predict(self, params: Params, X: np.ndarray) -> np.ndarray:
        """:math:`Xw + b`, shape (n,)."""
        X = _features(X, self.n_features, "LinearRegression")
        return X @ params["w"] + (params["b"] if self.bias else 0.0)

    def loss(self, params: Params, X: np.ndarray, y: np.ndarray) -> float:
        """Half the mean squared error."""
        prediction = self.predict(params, X)
        r = prediction - _targets(y, len(prediction), "LinearRegression")
        return float(0.5 * np.mean(r * r))

    def loss_and_grads(self, params: Params, X: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
        """The loss and its gradient with respect to every parameter."""
        X = _features(X, self.n_features, "LinearRegression")
        n = len(X)
        r = self.predict(params, X) - _targets(y, n, "LinearRegression")
        grads = {"w": X.T @ r / n}
        if self.bias:
            grads["b"] = np.asarray(r.mean())
        return float(0.5 * np.mean(r * r)), _like(grads, params)

    def __repr__(self) -> str:
        return f"LinearRegression(n_features={self.n_features}, bias={self.bias})"


class LogisticRegression:
    r"""Logistic regression: binary with a sigmoid, or multinomial with a softmax.

    Binary (``n_classes=2``), labels :math:`y_i \in \{0, 1\}`, :math:`z = Xw + b`:

    .. math::
        L = \frac1n \sum_i \big(\log(1 + e^{z_i}) - y_i z_i\big), \qquad
        \nabla_w L = \frac1n X^\top(\sigma(z) - y), \quad \nabla_b L = \frac1n \sum_i (\sigma(z_i) - y_i)

    Multinomial (``n_classes > 2``), :math:`Z = XW + b`, :math:`P = \operatorname{softmax}(Z)`
    row by row, :math:`Y` the one-hot labels:

    .. math::
        L = -\frac1n \sum_i \log P_{i, y_i}, \qquad
        \nabla_W L = \frac1n X^\top (P - Y), \quad \nabla_b L = \frac1n \mathbf 1^\top (P - Y)

    Parameters
    ----------
    n_features : int
        Number of input features :math:`d`.
    n_classes : int
        Number of classes; parameters are ``w`` (d,) and ``b`` () for 2, ``W`` (d, k) and
        ``b`` (k,) for more.
    """

    def __init__(self, n_features: int, n_classes: int = 2) -> None:
        if int(n_features) < 1:
            raise ValueError(f"n_features must be >= 1, got {n_features}")
        if int(n_classes) < 2:
            raise ValueError(f"n_classes must be >= 2, got {n_classes}")
        self.n_features = int(n_features)
        self.n_classes = int(n_classes)

    @property
    def binary(self) -> bool:
        return self.n_classes == 2

    def init(self, seed: int = 0, scale: float = 0.0, dtype: type = np.float64) -> Params:
        """Initial parameters: weights ``scale`` × N(0, 1) (zero by default), biases 0."""
        rng = np.random.default_rng(seed)
        if self.binary:
            return {"w": (scale * rng.standard_normal(self.n_features)).astype(dtype), "b": np.zeros((), dtype=dtype)}
        W = scale * rng.standard_normal((self.n_features, self.n_classes))
        return {"W": W.astype(dtype), "b": np.zeros(self.n_classes, dtype=dtype)}

    def logits(self, params: Params, X: np.ndarray) -> np.ndarray:
        """:math:`z = Xw + b` (shape (n,)) or :math:`Z = XW + b` (shape (n, k))."""
        X = _features(X, self.n_features, "LogisticRegression")
        return X @ params["w"] + params["b"] if self.binary else X @ params["W"] + params["b"]

    def predict_proba(self, params: Params, X: np.ndarray) -> np.ndarray:
        """Binary: :math:`P(y = 1)`, shape (n,). Multinomial: class probabilities, shape (n, k)."""
        z = self.logits(params, X)
        return _sigmoid(z) if self.binary else np.exp(_log_softmax(z))

    def predict(self, params: Params, X: np.ndarray) -> np.ndarray:
        """The most probable class of each example, shape (n,), int."""
        z = self.logits(params, X)
        return (z > 0).astype(int) if self.binary else np.argmax(z, axis=1)

    def accuracy(self, params: Params, X: np.ndarray, y: np.ndarray) -> float:
        """Fraction of examples classified correctly."""
        return float(np.mean(self.predict(params, X) == np.asarray(y)))

    def loss(self, params: Params, X: np.ndarray, y: np.ndarray) -> float:
        """Mean cross-entropy."""
        return self.loss_and_grads(params, X, y)[0]

    def loss_and_grads(self, params: Params, X: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
        """The loss and its gradient with respect to every parameter."""
        X = _features(X, self.n_features, "LogisticRegression")
        n = len(X)
        y = _labels(y, n, self.n_classes, "LogisticRegression")
        z = self.logits(params, X)
        if self.binary:
            loss = np.mean(np.logaddexp(0.0, z) - y * z)
            dz = (_sigmoid(z) - y) / n
            grads = {"w": X.T @ dz, "b": np.asarray(dz.sum())}
        else:
            log_p = _log_softmax(z)
            loss = -np.mean(log_p[np.arange(n), y])
            dz = np.exp(log_p)
            dz[np.arange(n), y] -= 1.0
            dz /= n
            grads = {"W": X.T @ dz, "b": dz.sum(axis=0)}
        return float(loss), _like(grads, params)

    def __repr__(self) -> str:
        return f"LogisticRegression(n_features={self.n_features}, n_classes={self.n_classes})"


class MLP:
    r"""A multilayer perceptron: affine layers with tanh or ReLU between them.

    With :math:`h_0 = X` and layers :math:`\ell = 1, \dots, L`:

    .. math::
        a_\ell = h_{\ell-1} W_\ell + b_\ell, \qquad h_\ell = \phi(a_\ell) \ (\ell < L), \qquad
        \text{output } a_L

    Backward pass, from :math:`\delta_L = \partial L / \partial a_L`:

    .. math::
        \nabla_{W_\ell} L = h_{\ell-1}^\top \delta_\ell, \quad
        \nabla_{b_\ell} L = \mathbf 1^\top \delta_\ell, \quad
        \delta_{\ell-1} = (\delta_\ell W_\ell^\top) \odot \phi'(a_{\ell-1})

    with :math:`\tanh' = 1 - \tanh^2` and :math:`\operatorname{relu}'(a) = [a > 0]`.

    The loss on the output :math:`a_L`: for ``task="classification"`` the mean softmax
    cross-entropy over ``sizes[-1]`` classes (integer labels; with one output, the binary
    logistic loss with labels 0/1); for ``task="regression"`` half the mean squared error
    (summed over outputs).

    Parameters
    ----------
    sizes : sequence of int
        ``(n_in, hidden..., n_out)``: ``(2, 16, 16, 3)`` is two hidden layers of 16 units.
    activation : {"tanh", "relu"}
        :math:`\phi`.
    task : {"classification", "regression"}
        Which loss.

    Parameters are ``W1, b1, ..., WL, bL`` with ``Wl`` of shape (sizes[l-1], sizes[l]).
    """

    def __init__(self, sizes: Sequence[int] = (2, 16, 2), activation: str = "tanh",
                 task: str = "classification") -> None:
        sizes = tuple(int(s) for s in sizes)
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must be (n_in, hidden..., n_out) with every size >= 1; got {sizes}")
        if activation not in ("tanh", "relu"):
            raise ValueError(f'activation must be "tanh" or "relu", got {activation!r}')
        if task not in ("classification", "regression"):
            raise ValueError(f'task must be "classification" or "regression", got {task!r}')
        self.sizes = sizes
        self.activation = activation
        self.task = task

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def n_classes(self) -> int:
        """Number of classes (2 when a classifier has a single output)."""
        return max(2, self.sizes[-1])

    def init(self, seed: int = 0, dtype: type = np.float64) -> Params:
        r"""Initial parameters: :math:`W_\ell \sim \mathcal N(0, c/n_\text{in})` with :math:`c = 1`
        for tanh (LeCun) or 2 for ReLU (He et al. 2015), biases 0."""
        rng = np.random.default_rng(seed)
        gain = 2.0 if self.activation == "relu" else 1.0
        params: Params = {}
        for layer, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:]), start=1):
            params[f"W{layer}"] = (np.sqrt(gain / n_in) * rng.standard_normal((n_in, n_out))).astype(dtype)
            params[f"b{layer}"] = np.zeros(n_out, dtype=dtype)
        return params

    def _phi(self, a: np.ndarray) -> np.ndarray:
        return np.tanh(a) if self.activation == "tanh" else np.maximum(a, 0.0)

    def _forward(self, params: Params, X: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        X = _features(X, self.sizes[0], "MLP")
        hs, pre = [X], []
        for layer in range(1, self.n_layers + 1):
            a = hs[-1] @ params[f"W{layer}"] + params[f"b{layer}"]
            pre.append(a)
            if layer < self.n_layers:
                hs.append(self._phi(a))
        return hs, pre

    def output(self, params: Params, X: np.ndarray) -> np.ndarray:
        """The last layer's output :math:`a_L`, shape (n, n_out)."""
        return self._forward(params, X)[1][-1]

    def predict_proba(self, params: Params, X: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (n, n_out) (for one output: :math:`P(y=1)`, shape (n,))."""
        if self.task != "classification":
            raise ValueError("predict_proba is for classifiers; this MLP does regression")
        out = self.output(params, X)
        return _sigmoid(out[:, 0]) if self.sizes[-1] == 1 else np.exp(_log_softmax(out))

    def _predicted(self, out: np.ndarray) -> np.ndarray:
        """:meth:`predict` from the last layer's output."""
        if self.task == "regression":
            return out[:, 0] if self.sizes[-1] == 1 else out
        return (out[:, 0] > 0).astype(int) if self.sizes[-1] == 1 else np.argmax(out, axis=1)

    def predict(self, params: Params, X: np.ndarray) -> np.ndarray:
        """Classes (int, shape (n,)) for a classifier; outputs (shape (n,) or (n, n_out)) for regression."""
        return self._predicted(self.output(params, X))

    def _accuracy(self, out: np.ndarray, y: np.ndarray) -> float:
        if self.task != "classification":
            raise ValueError("accuracy is for classifiers; this MLP does regression")
        return float(np.mean(self._predicted(out) == np.asarray(y)))

    def accuracy(self, params: Params, X: np.ndarray, y: np.ndarray) -> float:
        """Fraction of examples classified correctly (classifiers only)."""
        return self._accuracy(self.output(params, X), y)

    def loss(self, params: Params, X: np.ndarray, y: np.ndarray) -> float:
        """The mean loss (cross-entropy or half squared error): the forward pass only."""
        return self._output_loss(self.output(params, X), y)[0]

    def loss_and_accuracy(self, params: Params, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """:meth:`loss` and :meth:`accuracy` from one forward pass (classifiers only): what a
        training loop records after each epoch (:func:`optilab.training.train`)."""
        out = self.output(params, X)
        return self._output_loss(out, y)[0], self._accuracy(out, y)

    def _output_loss(self, out: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        r"""The loss and :math:`\delta_L = \partial L/\partial a_L`."""
        n = len(out)
        if self.task == "regression":
            y = np.asarray(y, dtype=float).reshape(n, -1)
            if y.shape != out.shape:
                raise ValueError(f"MLP: y must have {self.sizes[-1]} value(s) per example; got shape {np.shape(y)}")
            r = out - y
            return float(0.5 * np.sum(r * r) / n), r / n
        y = _labels(y, n, self.n_classes, "MLP")
        if self.sizes[-1] == 1:
            z = out[:, 0]
            loss = np.mean(np.logaddexp(0.0, z) - y * z)
            return float(loss), ((_sigmoid(z) - y) / n)[:, None]
        log_p = _log_softmax(out)
        loss = -np.mean(log_p[np.arange(n), y])
        delta = np.exp(log_p)
        delta[np.arange(n), y] -= 1.0
        return float(loss), delta / n

    def loss_and_grads(self, params: Params, X: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
        """The loss and its gradient with respect to every parameter (backpropagation)."""
        hs, pre = self._forward(params, X)
        loss, delta = self._output_loss(pre[-1], y)
        grads: Params = {}
        for layer in range(self.n_layers, 0, -1):
            grads[f"W{layer}"] = hs[layer - 1].T @ delta
            grads[f"b{layer}"] = delta.sum(axis=0)
            if layer > 1:
                back = delta @ params[f"W{layer}"].T
                h = hs[layer - 1]
                delta = back * (1.0 - h * h) if self.activation == "tanh" else back * (pre[layer - 2] > 0)
        return loss, _like(grads, params)

    @property
    def n_params(self) -> int:
        """Number of scalar parameters."""
        return sum(a * b + b for a, b in zip(self.sizes[:-1], self.sizes[1:]))

    def __repr__(self) -> str:
        return f"MLP(sizes={self.sizes}, activation={self.activation!r}, task={self.task!r})"


def _like(grads: Params, params: Params) -> Params:
    """Gradients in the parameters' order and dtypes."""
    return {name: np.asarray(grads[name], dtype=params[name].dtype) for name in params}
