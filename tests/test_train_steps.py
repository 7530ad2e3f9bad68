"""The training-step player: forward, backward and update frames, step after step."""

from __future__ import annotations

import math

import pytest

import nn
import viz
from autograd import Value

X = [[1.0, 0.0], [0.0, 1.0]]
Y = [1.0, -1.0]


def model() -> nn.MLP:
    return nn.MLP(2, [3, 1], seed=0)


def one(output: Value | list[Value]) -> Value:
    """The model's one output neuron (an MLP returns a list only for several)."""
    assert isinstance(output, Value)
    return output


def plain_training(steps: int, make_optimizer: type[nn.optim.Optimizer], **kw: float) -> nn.MLP:
    """The same training without the player: what the model's parameters must end as."""
    m = model()
    opt = make_optimizer(m.parameters(), **kw)
    for _ in range(steps):
        errors = (nn.losses.squared_error(one(m(x)), t) for x, t in zip(X, Y, strict=True))
        loss = nn.losses.mean(errors)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return m


@pytest.fixture(scope="module")
def sgd_steps() -> tuple[viz.Stepper, nn.MLP]:
    m = model()
    opt = nn.SGD(m.parameters(), lr=0.1)
    return viz.train_steps(m, X, Y, optimizer=opt, steps=2), m


def test_each_step_is_forward_backward_then_one_update_per_parameter(
    sgd_steps: tuple[viz.Stepper, nn.MLP],
) -> None:
    steps, m = sgd_steps
    kinds = [frame.kind for frame in steps]
    params = len(m.parameters())
    one = len(kinds) // 2
    assert kinds[:one] == kinds[one:]  # the second step is played like the first
    forward, backward = kinds[:one].count("forward"), kinds[:one].count("backward")
    assert kinds[:one] == ["forward"] * forward + ["backward"] * backward + ["update"] * params
    for t, start in ((1, 0), (2, one)):
        assert steps[start].caption.startswith(f"step {t}/2 · forward 1/{forward}: ")
        assert steps[start + forward + backward].caption.startswith(f"step {t}/2 · update 1/")


def test_the_model_is_trained_exactly_as_without_the_player(
    sgd_steps: tuple[viz.Stepper, nn.MLP],
) -> None:
    _, m = sgd_steps
    expected = plain_training(2, nn.SGD, lr=0.1)
    assert [p.data for p in m.parameters()] == [p.data for p in expected.parameters()]


def test_an_update_frame_shows_old_value_gradient_and_new_value(
    sgd_steps: tuple[viz.Stepper, nn.MLP],
) -> None:
    steps, _ = sgd_steps
    update = next(frame for frame in steps if frame.kind == "update")
    param = update.node
    assert isinstance(param, Value)
    assert "← θ − η g = " in update.caption and " − 0.1 × " in update.caption
    highlighted = next(n for n in update.trace.nodes if n.id == update.trace.highlight)
    assert highlighted.value is param and highlighted.label in update.caption
    # the parameter's edges carry its new value in this frame, the old one the frame before
    before = steps[update.index - 1].trace
    out = [e for e in update.trace.edges if e.source == highlighted.id]
    old = [e for e in before.edges if e.source == highlighted.id]
    assert out and all(e.data != o.data for e, o in zip(out, old, strict=True))
    assert "step 1/2" in update.caption


def test_the_loss_goes_down_and_the_title_says_so(sgd_steps: tuple[viz.Stepper, nn.MLP]) -> None:
    steps, _ = sgd_steps
    last_forward = [f for f in steps if f.kind == "forward"]
    one = len(last_forward) // 2
    first_loss = last_forward[one - 1].trace.root.data
    second_loss = last_forward[-1].trace.root.data
    assert first_loss is not None and second_loss is not None
    assert second_loss < first_loss
    assert steps.title.startswith("2 training steps of SGD (lr 0.1): loss ")
    assert f"{first_loss:.4g} →" in steps.title


def test_an_optimiser_with_state_shows_it() -> None:
    m = model()
    opt = nn.Momentum(m.parameters(), lr=0.1, rho=0.9)
    steps = viz.train_steps(m, X, Y, optimizer=opt, steps=2)
    updates = [f.caption for f in steps if f.kind == "update"]
    assert all("gradient" in c and " v " in c for c in updates)
    assert "v 0.00 →" in updates[0]  # the velocity starts at 0
    expected = plain_training(2, nn.Momentum, lr=0.1, rho=0.9)
    assert [p.data for p in m.parameters()] == [p.data for p in expected.parameters()]


def test_the_player_and_frames_work_as_for_step(
    sgd_steps: tuple[viz.Stepper, nn.MLP], tmp_path: object
) -> None:
    steps, _ = sgd_steps
    html = steps.html()
    assert html.count("<svg") == 1
    assert steps[-1].svg() != steps[-2].svg()
    # every frame, updates too, is boxed by neuron and layer
    assert all(frame.trace.groups for frame in steps)
    assert 'class="cluster"' in steps[-1].svg()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"steps": 0}, ValueError, "from 1 to"),
        ({"steps": 2.5}, ValueError, "whole number"),
        ({"loss": "nope"}, ValueError, "unknown loss"),
        ({"optimizer": "sgd"}, TypeError, "nn optimiser"),
    ],
)
def test_bad_arguments_are_refused_before_training(
    kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    m = model()
    before = [p.data for p in m.parameters()]
    arguments: dict[str, object] = {"optimizer": nn.SGD(m.parameters(), lr=0.1), **kwargs}
    with pytest.raises(error, match=message):
        viz.train_steps(m, X, Y, **arguments)  # type: ignore[arg-type]
    assert [p.data for p in m.parameters()] == before
    assert not any(math.isnan(p) for p in before)
