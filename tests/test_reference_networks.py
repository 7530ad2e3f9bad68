"""The small networks of the lecture slides (docs/lecture-reference.md), number for number.

Every weight is set by hand on an ``nn.Layer`` / ``nn.MLP`` and every number is compared both
with the slide (to the digits it prints) and with a closed form computed here in plain floats.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import pytest

from autograd import Value
from nn import MLP, Layer, Neuron


def sigma(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def set_layer(layer: Layer, weights: Sequence[Sequence[float]], biases: Sequence[float]) -> None:
    """Row j of ``weights`` (and ``biases[j]``) become neuron j's incoming weights (and bias)."""
    assert len(layer.neurons) == len(weights) == len(biases)
    for neuron, row, bias in zip(layer.neurons, weights, biases, strict=True):
        for w, value in zip(neuron.w, row, strict=True):
            w.data = value
        neuron.b.data = bias


def pre_activation(out: Value) -> float:
    """z of a sigmoid unit: the input of its sigmoid gate."""
    assert out.op == "sigmoid"
    return float(out.parents[0].data)


# -- a layer in matrix form: sigma(W x + b) ----------------------------------------------------

W = [[1.0, -2.0], [-1.0, 1.0]]
X = [1.0, -1.0]
B = [1.0, 0.0]


def test_layer_in_matrix_form() -> None:
    layer = Layer(2, 2, activation="sigmoid")
    set_layer(layer, W, B)
    out = layer(X)
    z = [pre_activation(o) for o in out]
    assert z == [4.0, -2.0]  # exact: small integers
    assert [round(o.data, 2) for o in out] == [0.98, 0.12]
    closed = [
        sigma(sum(w * x for w, x in zip(row, X, strict=True)) + b)
        for row, b in zip(W, B, strict=True)
    ]
    assert closed == [sigma(4.0), sigma(-2.0)]
    assert [o.data for o in out] == pytest.approx(closed, rel=0, abs=1e-12)


# -- a single hidden layer: 3 inputs, 2 hidden sigmoid units, 1 sigmoid output -----------------

X3 = [0.4, 0.2, 0.2]
# The slide lists the weights *from* each input: from x1 [1.0, 0.5], from x2 [0.2, 1.2], from
# x3 [1.2, 0.1]; hidden unit j reads entry j of each list.
FROM_INPUT = [[1.0, 0.5], [0.2, 1.2], [1.2, 0.1]]
HIDDEN_W = [[FROM_INPUT[i][j] for i in range(3)] for j in range(2)]  # [[1.0, 0.2, 1.2], ...]
HIDDEN_B = [0.1, 0.2]
OUTPUT_W = [0.3, 0.9]
OUTPUT_B = 0.3


def hidden_layer_network() -> MLP:
    model = MLP(3, [2, 1], activation="sigmoid", output_activation="sigmoid")
    set_layer(model.layers[0], HIDDEN_W, HIDDEN_B)
    set_layer(model.layers[1], [OUTPUT_W], [OUTPUT_B])
    return model


def test_hidden_weights_are_read_per_unit() -> None:
    assert HIDDEN_W == [[1.0, 0.2, 1.2], [0.5, 1.2, 0.1]]


def test_single_hidden_layer_network_forward() -> None:
    model = hidden_layer_network()
    hidden = model.layers[0](X3)
    out = model(X3)
    assert isinstance(out, Value)

    z_hidden = [pre_activation(h) for h in hidden]
    h = [v.data for v in hidden]
    z_out = pre_activation(out)

    # the slide's numbers, to the digits the slides print
    assert [round(z, 2) for z in z_hidden] == [0.78, 0.66]
    assert [round(v, 4) for v in h] == [0.6857, 0.6593]
    assert round(z_out, 4) == 1.0990
    assert round(out.data, 4) == 0.7501

    # closed forms in plain floats
    z_closed = [
        sum(w * x for w, x in zip(row, X3, strict=True)) + b
        for row, b in zip(HIDDEN_W, HIDDEN_B, strict=True)
    ]
    assert z_closed == pytest.approx([0.78, 0.66], abs=1e-15)
    h_closed = [sigma(z) for z in z_closed]
    z_out_closed = OUTPUT_B + sum(w * v for w, v in zip(OUTPUT_W, h_closed, strict=True))
    assert z_hidden == pytest.approx(z_closed, rel=0, abs=1e-12)
    assert h == pytest.approx(h_closed, rel=0, abs=1e-12)
    assert z_out == pytest.approx(z_out_closed, rel=0, abs=1e-12)
    assert out.data == pytest.approx(sigma(z_out_closed), rel=0, abs=1e-12)


def test_the_slides_arithmetic_slip_is_not_reproduced() -> None:
    """The slide computes 0.1 x 0.2 as 0.03, so its second hidden pre-activation is 0.49 (not
    0.66), its hidden output 0.62 (not 0.6593), the output pre-activation 1.062 (not 1.0990)
    and the output 0.74 (not 0.7501)."""
    model = hidden_layer_network()
    hidden = model.layers[0](X3)
    out = model(X3)
    assert isinstance(out, Value)
    assert HIDDEN_W[1][2] * X3[2] == pytest.approx(0.02)  # not 0.03
    assert abs(pre_activation(hidden[1]) - 0.49) > 0.1
    assert abs(hidden[1].data - 0.62) > 0.03
    assert abs(pre_activation(out) - 1.062) > 0.03
    assert round(out.data, 2) != 0.74
    assert abs(out.data - 0.74) > 0.01


# -- logic gates with one sigmoid unit ---------------------------------------------------------

BITS = list(itertools.product([0.0, 1.0], repeat=2))

#: name -> (theta0 (the bias), [theta1, theta2, ...], truth function)
GATES: dict[str, tuple[float, list[float], Callable[[float, float], object]]] = {
    "AND": (-30.0, [20.0, 20.0], lambda a, b: a and b),
    "OR": (-10.0, [20.0, 20.0], lambda a, b: a or b),
    "NOR": (10.0, [-20.0, -20.0], lambda a, b: not a and not b),  # (NOT x1) AND (NOT x2)
}


def unit(theta0: float, thetas: Sequence[float]) -> Neuron:
    neuron = Neuron(len(thetas), activation="sigmoid")
    for w, theta in zip(neuron.w, thetas, strict=True):
        w.data = theta
    neuron.b.data = theta0
    return neuron


def assert_binary(output: float, expected: bool) -> None:
    if expected:
        assert output > 0.99
    else:
        assert output < 0.01


@pytest.mark.parametrize("name", list(GATES))
def test_logic_gate_truth_table(name: str) -> None:
    theta0, thetas, truth = GATES[name]
    neuron = unit(theta0, thetas)
    for x1, x2 in BITS:
        out = neuron([x1, x2])
        assert_binary(out.data, bool(truth(x1, x2)))
        z = theta0 + thetas[0] * x1 + thetas[1] * x2
        assert out.data == pytest.approx(sigma(z), rel=0, abs=1e-12)
        assert abs(z) >= 10.0  # every case is at least 10 away from the decision boundary


def test_not_gate() -> None:
    neuron = unit(10.0, [-20.0])
    assert_binary(neuron([0.0]).data, True)
    assert_binary(neuron([1.0]).data, False)
    assert neuron([1.0]).data == pytest.approx(sigma(-10.0), rel=0, abs=1e-12)


def xnor_network() -> MLP:
    """Hidden layer: AND and NOR; output: OR of the two."""
    model = MLP(2, [2, 1], activation="sigmoid", output_activation="sigmoid")
    and_b, and_w, _ = GATES["AND"]
    nor_b, nor_w, _ = GATES["NOR"]
    or_b, or_w, _ = GATES["OR"]
    set_layer(model.layers[0], [and_w, nor_w], [and_b, nor_b])
    set_layer(model.layers[1], [or_w], [or_b])
    return model


def test_xnor_two_layer_network() -> None:
    model = xnor_network()
    for x1, x2 in BITS:
        out = model([x1, x2])
        assert isinstance(out, Value)
        assert_binary(out.data, x1 == x2)
        # exactly the closed form from the given weights
        a = sigma(-30.0 + 20.0 * x1 + 20.0 * x2)
        n = sigma(10.0 - 20.0 * x1 - 20.0 * x2)
        assert [h.data for h in model.layers[0]([x1, x2])] == pytest.approx([a, n], abs=1e-12)
        assert out.data == pytest.approx(sigma(-10.0 + 20.0 * a + 20.0 * n), rel=0, abs=1e-12)


def test_no_single_unit_computes_xnor() -> None:
    """Why XNOR needs the hidden layer: for a single unit sign(t0 + t1 x1 + t2 x2) the four
    conditions t0 > 0, t0 + t1 + t2 > 0, t0 + t1 < 0, t0 + t2 < 0 contradict each other
    (adding the first two and the last two gives 2 t0 + t1 + t2 both > 0 and < 0). A search
    over a grid of weights finds none that gets all four right."""
    grid = [-30.0, -20.0, -10.0, 0.0, 10.0, 20.0, 30.0]
    for theta0, theta1, theta2 in itertools.product(grid, repeat=3):
        correct = sum(
            (sigma(theta0 + theta1 * x1 + theta2 * x2) > 0.5) == (x1 == x2) for x1, x2 in BITS
        )
        assert correct <= 3
