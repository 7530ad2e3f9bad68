"""backprop-lab's reverse-mode autograd engine.

>>> from autograd import Value
>>> x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
>>> f = (x + y) * z
>>> f.backward()
>>> (f.data, x.grad, y.grad, z.grad)
(-12.0, -4.0, -4.0, 3.0)

Note: the import name ``autograd`` is also used by the unrelated HIPS autograd package; install
backprop-lab into a virtual environment of its own.
"""

import importlib.metadata

from autograd.convolution import conv2d, max_pool2d
from autograd.derivatives import grad, hessian, jacobian
from autograd.engine import (
    BackwardStep,
    NonFiniteError,
    Value,
    apply,
    is_grad_enabled,
    no_grad,
    topological_order,
)
from autograd.gradcheck import (
    GateMismatch,
    GradcheckError,
    find_wrong_gate,
    find_wrong_tensor_gate,
    gradcheck,
    numerical_grad,
)
from autograd.ops import OPS, Op, power
from autograd.tensor import Tensor, concatenate, stack, where

try:
    # The one place the version is written is pyproject.toml; an installed copy (pip install,
    # editable or not) carries it in its metadata.
    __version__ = importlib.metadata.version("backprop-lab")
except importlib.metadata.PackageNotFoundError:  # run from a clone that was never pip-installed
    __version__ = "0+unknown"

__all__ = [
    "OPS",
    "BackwardStep",
    "GateMismatch",
    "GradcheckError",
    "NonFiniteError",
    "Op",
    "Tensor",
    "Value",
    "__version__",
    "apply",
    "concatenate",
    "conv2d",
    "find_wrong_gate",
    "find_wrong_tensor_gate",
    "grad",
    "gradcheck",
    "hessian",
    "is_grad_enabled",
    "jacobian",
    "max_pool2d",
    "no_grad",
    "numerical_grad",
    "power",
    "stack",
    "topological_order",
    "where",
]
