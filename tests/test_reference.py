"""The worked examples of the lectures (docs/lecture-reference.md), number by number.

Every expected value is either a hand-checked number from the slides or a closed form
written next to it, so a reader can see where each number comes from.
"""

from __future__ import annotations

import math

import pytest

from autograd import Value, gradcheck, numerical_grad

TOL = 1e-9


def close(got: float, expected: float, tol: float = TOL) -> bool:
    return math.isclose(got, expected, rel_tol=tol, abs_tol=tol)


# -- Section 2: f(x, y, z) = (x + y) z at x = -2, y = 5, z = -4 -----------------------------------


@pytest.fixture
def example_a() -> dict[str, Value]:
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    q = x + y
    f = q * z
    f.backward()
    return {"x": x, "y": y, "z": z, "q": q, "f": f}


@pytest.mark.parametrize(
    ("name", "forward", "gradient"),
    [
        ("x", -2.0, -4.0),
        ("y", 5.0, -4.0),
        ("q", 3.0, -4.0),
        ("z", -4.0, 3.0),
        ("f", -12.0, 1.0),
    ],
)
def test_example_a_table(
    example_a: dict[str, Value], name: str, forward: float, gradient: float
) -> None:
    node = example_a[name]
    assert close(node.data, forward)
    assert close(node.grad, gradient)


def test_example_a_closed_forms(example_a: dict[str, Value]) -> None:
    x, y, z = example_a["x"], example_a["y"], example_a["z"]
    # df/dx = df/dy = z, df/dz = x + y
    assert close(x.grad, z.data)
    assert close(y.grad, z.data)
    assert close(z.grad, x.data + y.data)


def test_example_a_local_gradients(example_a: dict[str, Value]) -> None:
    q, f, z = example_a["q"], example_a["f"], example_a["z"]
    x, y = example_a["x"], example_a["y"]
    assert q.op == "add"
    assert q.parents == (x, y)
    assert q.local_grads == (1.0, 1.0)  # dq/dx = dq/dy = 1
    assert f.op == "mul"
    assert f.parents == (q, z)
    dq, dz = f.local_grads
    assert close(dq, z.data)  # df/dq = z = -4
    assert close(dq, -4.0)
    assert close(dz, q.data)  # df/dz = q = 3
    assert close(dz, 3.0)


def test_example_a_downstream_is_upstream_times_local(example_a: dict[str, Value]) -> None:
    q, f = example_a["q"], example_a["f"]
    for node in (q, f):
        for parent, local in zip(node.parents, node.local_grads, strict=True):
            # each parent here has a single consumer, so its grad is exactly one product
            assert close(parent.grad, node.grad * local)


# -- Section 3: the sigmoid neuron f = 1 / (1 + exp(-(w0 x0 + w1 x1 + w2))) -----------------------

SIGMA_1 = 0.7310585786300049  # sigma(1)
DSIGMA_1 = 0.19661193324148185  # (1 - sigma(1)) sigma(1)
LEAF_GRADS = {
    "w0": -0.19661193324148185,
    "x0": 0.39322386648296376,
    "w1": -0.39322386648296376,
    "x1": -0.5898357997244457,
    "w2": 0.19661193324148185,
}
INPUTS = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}


def test_reference_sigmoid_constants_are_closed_forms() -> None:
    s = 1.0 / (1.0 + math.exp(-1.0))
    assert close(SIGMA_1, s)
    assert close(DSIGMA_1, (1.0 - s) * s)
    # leaf grads: df/dw_i = x_i sigma', df/dx_i = w_i sigma', df/dw2 = sigma'
    assert close(LEAF_GRADS["w0"], INPUTS["x0"] * DSIGMA_1)
    assert close(LEAF_GRADS["x0"], INPUTS["w0"] * DSIGMA_1)
    assert close(LEAF_GRADS["w1"], INPUTS["x1"] * DSIGMA_1)
    assert close(LEAF_GRADS["x1"], INPUTS["w1"] * DSIGMA_1)
    assert close(LEAF_GRADS["w2"], DSIGMA_1)


@pytest.fixture
def staged_neuron() -> dict[str, Value]:
    leaves = {name: Value(v, name) for name, v in INPUTS.items()}
    w0, x0, w1, x1, w2 = (leaves[k] for k in ("w0", "x0", "w1", "x1", "w2"))
    m0 = w0 * x0
    m1 = w1 * x1
    dot = m0 + m1
    z = dot + w2
    neg = z * -1
    e = neg.exp()
    den = e + 1
    f = den.reciprocal()
    f.backward()
    return {
        **leaves,
        "m0": m0,
        "m1": m1,
        "dot": dot,
        "z": z,
        "neg": neg,
        "exp": e,
        "den": den,
        "f": f,
    }


def _staged_expectations() -> list[tuple[str, str, float, float]]:
    """(node, op, forward, gradient at its output) for every gate, as closed forms."""
    e = math.exp(-1.0)
    s = 1.0 / (1.0 + e)
    ds = (1.0 - s) * s
    return [
        ("m0", "mul", -2.0, ds),
        ("m1", "mul", 6.0, ds),
        ("dot", "add", 4.0, ds),
        ("z", "add", 1.0, ds),
        ("neg", "mul", -1.0, -ds),
        ("exp", "exp", e, -s * s),  # d(1/d)/dd = -1/d^2 with d = 1 + e^-1 = 1/s
        ("den", "add", 1.0 + e, -s * s),
        ("f", "reciprocal", s, 1.0),
    ]


@pytest.mark.parametrize(("name", "op", "forward", "gradient"), _staged_expectations())
def test_staged_neuron_gate_by_gate(
    staged_neuron: dict[str, Value], name: str, op: str, forward: float, gradient: float
) -> None:
    node = staged_neuron[name]
    assert node.op == op
    assert close(node.data, forward)
    assert close(node.grad, gradient)


def test_staged_neuron_rounded_table() -> None:
    """The rounded numbers printed in the lecture table agree with the closed forms."""
    table = {
        "m0": (-2, 0.2),
        "m1": (6, 0.2),
        "dot": (4, 0.2),
        "z": (1, 0.2),
        "neg": (-1, -0.2),
        "exp": (0.37, -0.53),
        "den": (1.37, -0.53),
        "f": (0.73, 1.00),
    }
    for name, _, forward, gradient in _staged_expectations():
        shown_forward, shown_gradient = table[name]
        assert abs(forward - shown_forward) < 0.005
        assert abs(gradient - shown_gradient) < 0.005


def test_staged_neuron_output_is_sigma_1(staged_neuron: dict[str, Value]) -> None:
    assert close(staged_neuron["f"].data, SIGMA_1)


@pytest.mark.parametrize("name", list(LEAF_GRADS))
def test_staged_neuron_leaf_gradients(staged_neuron: dict[str, Value], name: str) -> None:
    assert close(staged_neuron[name].grad, LEAF_GRADS[name])


def test_times_minus_one_makes_a_constant_leaf(staged_neuron: dict[str, Value]) -> None:
    neg, z = staged_neuron["neg"], staged_neuron["z"]
    assert neg.op == "mul"
    first, constant = neg.parents
    assert first is z
    assert constant.is_leaf
    assert constant.label == "-1"
    assert constant.data == -1.0
    # d(ax)/dx = a: the local gradient to z is the constant, to the constant it is z
    assert neg.local_grads == (-1.0, z.data)


def test_plus_one_makes_a_constant_leaf(staged_neuron: dict[str, Value]) -> None:
    den, e = staged_neuron["den"], staged_neuron["exp"]
    first, constant = den.parents
    assert first is e
    assert constant.is_leaf
    assert constant.label == "1"
    assert den.local_grads == (1.0, 1.0)  # d(c + x)/dx = 1


def test_staged_neuron_local_gradients(staged_neuron: dict[str, Value]) -> None:
    e = staged_neuron["exp"]
    den = staged_neuron["den"]
    f = staged_neuron["f"]
    (d_exp,) = e.local_grads
    assert close(d_exp, math.exp(-1.0))  # d(e^x)/dx = e^x
    (d_recip,) = f.local_grads
    assert close(d_recip, -1.0 / den.data**2)  # d(1/x)/dx = -1/x^2


def test_fused_sigmoid_gives_same_leaf_gradients() -> None:
    leaves = {name: Value(v, name) for name, v in INPUTS.items()}
    z = leaves["w0"] * leaves["x0"] + leaves["w1"] * leaves["x1"] + leaves["w2"]
    f = z.sigmoid()
    f.backward()
    assert f.op == "sigmoid"
    assert f.parents == (z,)
    assert close(f.data, SIGMA_1)
    (local,) = f.local_grads
    assert close(local, (1.0 - f.data) * f.data)
    assert close(local, DSIGMA_1)
    assert close(z.grad, DSIGMA_1)
    for name, expected in LEAF_GRADS.items():
        assert close(leaves[name].grad, expected)


def test_fused_graph_is_smaller_than_staged(staged_neuron: dict[str, Value]) -> None:
    from autograd import topological_order

    leaves = {name: Value(v, name) for name, v in INPUTS.items()}
    z = leaves["w0"] * leaves["x0"] + leaves["w1"] * leaves["x1"] + leaves["w2"]
    fused = z.sigmoid()
    staged_gates = [n for n in topological_order(staged_neuron["f"]) if not n.is_leaf]
    fused_gates = [n for n in topological_order(fused) if not n.is_leaf]
    assert len(staged_gates) == 8
    assert len(fused_gates) == 5


# -- Section 4: gate patterns ---------------------------------------------------------------------


@pytest.mark.parametrize("upstream", [1.0, -2.5, 7.0])
def test_add_distributes(upstream: float) -> None:
    a, b = Value(1.5), Value(-4.0)
    s = a + b
    out = s * upstream  # upstream gradient reaching the add gate
    out.backward()
    assert close(s.grad, upstream)
    assert close(a.grad, upstream)
    assert close(b.grad, upstream)


@pytest.mark.parametrize(("x", "y", "upstream"), [(3.0, -4.0, 2.0), (-0.5, 6.0, -1.5)])
def test_mul_swaps(x: float, y: float, upstream: float) -> None:
    a, b = Value(x), Value(y)
    m = a * b
    out = m * upstream
    out.backward()
    assert close(a.grad, upstream * y)
    assert close(b.grad, upstream * x)


@pytest.mark.parametrize(("x", "y"), [(4.0, 2.0), (-1.0, 3.0)])
def test_max_routes(x: float, y: float) -> None:
    a, b = Value(x), Value(y)
    m = a.max(b)
    out = m * 5.0
    out.backward()
    assert close(m.data, max(x, y))
    larger, smaller = (a, b) if x > y else (b, a)
    assert close(larger.grad, 5.0)
    assert smaller.grad == 0.0


def test_max_routes_with_a_number() -> None:
    a = Value(-2.0)
    m = a.max(0)
    m.backward()
    assert m.data == 0.0
    assert a.grad == 0.0
    b = Value(2.0)
    n = b.max(0)
    n.backward()
    assert n.data == 2.0
    assert b.grad == 1.0


def test_max_tie_splits_half_each() -> None:
    """Documented rule (Value.max): at a tie each input receives half the upstream gradient,
    which is what the centred difference measures at a tie."""
    a, b = Value(2.0), Value(2.0)
    m = a.max(b)
    assert m.local_grads == (0.5, 0.5)
    out = m * 4.0
    out.backward()
    assert close(a.grad, 2.0)
    assert close(b.grad, 2.0)
    numeric = numerical_grad(lambda p, q: p.max(q), [2.0, 2.0])
    assert numeric == pytest.approx([0.5, 0.5], abs=1e-6)
    assert gradcheck(lambda p, q: p.max(q), [2.0, 2.0])


def test_max_of_a_value_with_itself_gives_full_gradient() -> None:
    a = Value(3.0)
    m = a.max(a)
    m.backward()
    assert m.parents == (a, a)
    assert close(a.grad, 1.0)


def test_copy_gate_x_times_x_has_two_edges() -> None:
    x = Value(3.0)
    y = x * x
    assert y.parents == (x, x)
    assert y.local_grads == (3.0, 3.0)
    y.backward()
    assert close(x.grad, 2 * 3.0)  # d(x^2)/dx = 2x, the sum of the two edges


def test_copy_gate_x_plus_x() -> None:
    x = Value(-1.25)
    y = x + x
    assert y.parents == (x, x)
    y.backward()
    assert close(y.data, -2.5)
    assert close(x.grad, 2.0)


def test_copy_gate_value_feeding_two_gates() -> None:
    x = Value(0.3)
    a = x * 3.0
    b = x.exp()
    f = a + b
    f.backward()
    assert close(a.grad, 1.0)
    assert close(b.grad, 1.0)
    assert close(x.grad, 3.0 + math.exp(0.3))  # gradients of the two uses add


def test_copy_gate_multivariate_chain_rule() -> None:
    """dz/ds = dz/dx dx/ds + dz/dy dy/ds for z = x y with x = s^2, y = 3 s."""
    s = Value(1.5)
    x = s**2
    y = s * 3.0
    z = x * y
    z.backward()
    expected = y.data * (2 * s.data) + x.data * 3.0
    assert close(s.grad, expected)
    assert close(s.grad, 9 * s.data**2)  # z = 3 s^3


# -- Section 5: numerical gradient ----------------------------------------------------------------


def _smooth(x: Value, y: Value) -> Value:
    return x * y + x.tanh() + (y * 0.5).exp()


def _smooth_grad(x: float, y: float) -> tuple[float, float]:
    return y + 1.0 - math.tanh(x) ** 2, x + 0.5 * math.exp(0.5 * y)


@pytest.mark.parametrize(("x", "y"), [(0.7, -1.3), (-2.0, 0.4), (1.1, 2.2)])
def test_centred_difference_matches_analytic(x: float, y: float) -> None:
    numeric = numerical_grad(_smooth, [x, y])
    a, b = Value(x), Value(y)
    _smooth(a, b).backward()
    assert numeric == pytest.approx([a.grad, b.grad], abs=1e-8)
    assert numeric == pytest.approx(list(_smooth_grad(x, y)), abs=1e-8)


def test_centred_difference_beats_forward_difference() -> None:
    x0 = 1.0
    exact = math.exp(x0)  # d/dx e^x at 1

    def f(x: Value) -> Value:
        return x.exp()

    def forward_difference(h: float) -> float:
        return (math.exp(x0 + h) - math.exp(x0)) / h

    for h in (1e-3, 1e-4, 1e-6):
        centred_error = abs(numerical_grad(f, [x0], eps=h)[0] - exact)
        forward_error = abs(forward_difference(h) - exact)
        assert centred_error < forward_error / 100

    # truncation error: O(h) for the forward difference, O(h^2) for the centred one
    fwd_1, fwd_2 = (abs(forward_difference(h) - exact) for h in (1e-2, 5e-3))
    cen_1, cen_2 = (abs(numerical_grad(f, [x0], eps=h)[0] - exact) for h in (1e-2, 5e-3))
    assert fwd_1 / fwd_2 == pytest.approx(2.0, rel=0.02)
    assert cen_1 / cen_2 == pytest.approx(4.0, rel=0.02)
