"""The lecture examples as graphs (their numbers: docs/lecture-reference.md).

Each function builds the graph, runs ``backward()`` and returns the output node; the leaves are
labelled as on the slides.
"""

from __future__ import annotations

from autograd import Tensor, Value
from nn import MLP


def xyz() -> Value:
    """f(x, y, z) = (x + y) z at x = -2, y = 5, z = -4: f = -12, grads x = y = -4, z = 3."""
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    q = x + y
    q.label = "q"
    f = q * z
    f.label = "f"
    f.backward()
    return f


def _neuron_inputs() -> tuple[Value, Value, Value, Value, Value]:
    return (
        Value(2.0, "w0"),
        Value(-1.0, "x0"),
        Value(-3.0, "w1"),
        Value(-2.0, "x1"),
        Value(-3.0, "w2"),
    )


def sigmoid_neuron_staged() -> Value:
    """f = 1 / (1 + exp(-(w0 x0 + w1 x1 + w2))) one primitive gate at a time, as on the slide:
    two muls, two adds, "* -1", exp, "+ 1" and "1/x". f = sigma(1) = 0.73."""
    w0, x0, w1, x1, w2 = _neuron_inputs()
    f = (((w0 * x0 + w1 * x1) + w2) * -1).exp() + 1
    f = f.reciprocal()
    f.label = "f"
    f.backward()
    return f


def sigmoid_neuron_fused() -> Value:
    """The same neuron with one sigmoid gate, local gradient (1 - sigma) sigma = 0.20: the same
    leaf gradients from a different graph ("a computational graph is not unique")."""
    w0, x0, w1, x1, w2 = _neuron_inputs()
    f = ((w0 * x0 + w1 * x1) + w2).sigmoid()
    f.label = "f"
    f.backward()
    return f


def add_max_mul() -> Value:
    """f = 2 (x y + max(z, w)) at x = 3, y = -4, z = 2, w = -1: the add gate distributes its
    upstream 2 to both inputs, max routes it to z (w gets 0), mul swaps (x gets -8, y gets 6)."""
    x, y, z, w = Value(3.0, "x"), Value(-4.0, "y"), Value(2.0, "z"), Value(-1.0, "w")
    f = (x * y + z.max(w)) * 2
    f.label = "f"
    f.backward()
    return f


def copy_gate() -> Value:
    """f = x y + x z at x = 2, y = -3, z = 4: x is used twice, so its gradient is the sum of
    both uses, y + z = -3 + 4 = 1."""
    x, y, z = Value(2.0, "x"), Value(-3.0, "y"), Value(4.0, "z")
    f = x * y + x * z
    f.label = "f"
    f.backward()
    return f


def vectorised_wx() -> Tensor:
    """f(x, W) = ||W x||^2 at W = [[0.1, 0.5], [-0.3, 0.8]], x = [0.2, 0.4], with Tensors:
    q = W x = [0.22, 0.26], f = 0.116, grad_W = 2 q xᵀ = [[0.088, 0.176], [0.104, 0.208]],
    grad_x = 2 Wᵀ q = [-0.112, 0.636]. q is used twice (q * q), so its gradient is the sum of
    both uses, 2 q; and every gradient has the shape of its variable."""
    W = Tensor([[0.1, 0.5], [-0.3, 0.8]], "W")
    x = Tensor([0.2, 0.4], "x")
    q = W @ x
    q.label = "q"
    f = (q * q).sum()
    f.label = "f"
    f.backward()
    return f


def small_mlp() -> Value:
    """An MLP(2, [4, 1]) (tanh hidden layer, linear output) at x = (1, 0), as in the XOR
    lecture, after ``backward()``: its parameters are named ``layer1.neuron0.w0`` ..., its
    inputs x0 and x1, so it draws grouped by neuron and layer, or collapsed."""
    model = MLP(2, [4, 1], seed=0)
    out = model([1.0, 0.0])
    assert isinstance(out, Value)
    out.backward()
    return out
