"""The issue's CNN, Conv-ReLU-Pool-Conv-ReLU-Pool-Linear, learns the 8x8 digits with nn.fit:
at least 98% of the 360 held-out images right after 25 epochs (seeded; ~4 s).

Over init seeds 0-5 this configuration measured 98.1-98.9% (mean 98.4%), so the bar is met
with a margin of a few images, not by one lucky seed; bench/bench_cnn.py trains the same net
from numpy-drawn weights (98.6%).
"""

from __future__ import annotations

import numpy as np
import pytest

import nn

pytest.importorskip("sklearn", reason="the digits are scikit-learn's load_digits")


def _images() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A stratified 80/20 split, standardised per channel (one mean and one standard deviation
    over all training pixels, as seed 000 does), shaped (N, 1, 8, 8)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x.astype(np.float64), y, test_size=0.2, random_state=0, stratify=y
    )
    mean, std = x_train.mean(), x_train.std()
    shape = (-1, 1, 8, 8)
    return (
        ((x_train - mean) / std).reshape(shape),
        y_train,
        ((x_test - mean) / std).reshape(shape),
        y_test,
    )


def test_a_small_cnn_reaches_98_percent_on_held_out_digits() -> None:
    x_train, y_train, x_test, y_test = _images()
    nn.init.reseed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),  # (N, 16, 4, 4)
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),  # (N, 32, 2, 2)
        nn.Flatten(),
        nn.Linear(32 * 2 * 2, 10),
    )
    optimizer = nn.Adam(model.parameters(), lr=3e-3)
    history = nn.fit(
        model,
        x_train,
        y_train,
        loss="softmax_cross_entropy",
        optimizer=optimizer,
        epochs=25,
        batch_size=32,
        lr_schedule=nn.StepDecay(optimizer, every=10, factor=0.3),
        l2=1e-4,
        seed=0,
        progress=False,
    )
    assert history.loss[-1] < 0.05 < history.loss[0]
    model.eval()
    accuracy = float(np.mean(model(x_test).data.argmax(axis=1) == y_test))
    assert accuracy >= 0.98, f"test accuracy {accuracy:.2%}"
    evaluated = nn.evaluate(model, x_test, y_test, loss="softmax_cross_entropy")
    assert evaluated["accuracy"] == pytest.approx(accuracy)
