"""nn.Standardizer: per-feature (x - mean) / std fitted on the training split (seeds 000, 004)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler

from nn import Standardizer, datasets
from nn.scaling import NotFittedError


def _splits() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    scales = np.array([1.0, 100.0, 0.01, 5.0])
    shifts = np.array([0.0, -300.0, 2.0, 1e3])
    train = rng.standard_normal((200, 4)) * scales + shifts
    test = rng.standard_normal((50, 4)) * scales + shifts
    return train, test


def test_matches_sklearn_standard_scaler() -> None:
    train, test = _splits()
    ours = Standardizer().fit(train)
    theirs = StandardScaler().fit(train)
    assert ours.mean is not None and ours.std is not None
    np.testing.assert_allclose(ours.mean, theirs.mean_)
    np.testing.assert_allclose(ours.std, theirs.scale_)
    np.testing.assert_allclose(ours.transform(test), theirs.transform(test))
    np.testing.assert_allclose(Standardizer().fit_transform(train), theirs.transform(train))


def test_training_split_only() -> None:
    """The test split is transformed with the training numbers: it is not itself centred."""
    train, test = _splits()
    scaler = Standardizer().fit(train)
    scaled = scaler.fit_transform(train)
    np.testing.assert_allclose(scaled.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(scaled.std(axis=0), 1.0)
    assert not np.allclose(scaler.transform(test).mean(axis=0), 0.0, atol=1e-6)


def test_constant_feature_matches_sklearn() -> None:
    train = np.array([[1.0, 7.0], [3.0, 7.0], [5.0, 7.0]])
    scaler = Standardizer().fit(train)
    assert scaler.std is not None and scaler.std[1] == 1.0
    out = scaler.transform(np.array([[2.0, 7.0], [2.0, 9.0]]))
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, StandardScaler().fit(train).transform([[2, 7], [2, 9]]))


def test_inverse_transform_undoes_transform() -> None:
    train, test = _splits()
    scaler = Standardizer().fit(train)
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(test)), test)


def test_works_on_nn_datasets_lists() -> None:
    X, _ = datasets.digits(n_class=3, scale=False)
    scaler = Standardizer()
    scaled = scaler.fit_transform(X)
    assert isinstance(scaled, list) and isinstance(scaled[0], list)
    assert isinstance(scaled[0][0], float)
    np.testing.assert_allclose(scaled, StandardScaler().fit_transform(np.array(X)))
    one = scaler.transform(X[0])  # a single example
    assert isinstance(one, list) and len(one) == 64
    np.testing.assert_allclose(one, scaled[0])
    moons_X, _ = datasets.moons(50, seed=1)
    assert len(Standardizer().fit_transform(moons_X)) == 50


def test_refuses_non_finite_data() -> None:
    bad = np.array([[1.0, 2.0], [math.nan, 3.0]])
    with pytest.raises(ValueError, match=r"not finite.*example 1, feature 0"):
        Standardizer().fit(bad)
    scaler = Standardizer().fit([[1.0, 2.0], [3.0, 5.0]])
    with pytest.raises(ValueError, match="not finite"):
        scaler.transform([[1.0, math.inf]])
    with pytest.raises(ValueError, match="not finite"):
        scaler.transform([1.0, -math.inf])


def test_refuses_wrong_feature_count() -> None:
    scaler = Standardizer().fit(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"expected 4 features .* got 3"):
        scaler.transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"expected 4 features .* got 5"):
        scaler.inverse_transform([0.0] * 5)


def test_refuses_bad_shapes() -> None:
    with pytest.raises(ValueError, match="no examples"):
        Standardizer().fit(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="shape"):
        Standardizer().fit(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="list of m examples"):
        Standardizer().fit([[1.0, 2.0], [3.0]])


def test_transform_before_fit() -> None:
    for use in ("transform", "inverse_transform", "state_dict"):
        with pytest.raises(NotFittedError, match="call fit"):
            getattr(Standardizer(), use)(*([[[1.0]]] if use != "state_dict" else []))


def test_round_trip_through_a_file(tmp_path: Path) -> None:
    train, test = _splits()
    scaler = Standardizer().fit(train)
    path = scaler.save(tmp_path / "sub" / "scaler.json")
    assert json.loads(path.read_text())["format"] == "backprop-lab standardizer"
    loaded = Standardizer().load(path)
    np.testing.assert_array_equal(loaded.transform(test), scaler.transform(test))
    fresh = Standardizer()
    fresh.load_state_dict(scaler.state_dict())
    np.testing.assert_array_equal(fresh.mean, scaler.mean)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe not text", "not a saved Standardizer"),
        (b"{ half", "not a saved Standardizer"),
        (b'{"format": "backprop-lab parameters", "version": 1}', "not a backprop-lab Standardizer"),
        (b'{"format": "backprop-lab standardizer", "version": 2}', "format version 2"),
        (b'{"format": "backprop-lab standardizer", "version": true}', "format version True"),
        (
            b'{"format": "backprop-lab standardizer", "version": 1, '
            b'"standardizer": {"mean": [0, NaN], "std": [1, 1]}}',
            "not a number standard JSON allows",
        ),
        (
            b'{"format": "backprop-lab standardizer", "version": 1, '
            b'"standardizer": {"mean": [0, 1], "std": [1]}}',
            "must match",
        ),
        (
            b'{"format": "backprop-lab standardizer", "version": 1, '
            b'"standardizer": {"mean": [0], "std": [0]}}',
            "positive",
        ),
        (
            b'{"format": "backprop-lab standardizer", "version": 1, '
            b'"standardizer": {"mean": ["a"], "std": [1]}}',
            "only numbers",
        ),
        (
            b'{"format": "backprop-lab standardizer", "version": 1, '
            b'"standardizer": {"mean": [1e999], "std": [1]}}',
            "not finite",
        ),
        (b'{"format": "backprop-lab standardizer", "version": 1}', "Standardizer state"),
    ],
)
def test_bad_files_are_refused_and_change_nothing(
    tmp_path: Path, content: bytes, message: str
) -> None:
    scaler = Standardizer().fit([[1.0], [3.0]])
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as info:
        scaler.load(path)
    assert str(path) in str(info.value)
    assert scaler.mean is not None and scaler.mean.tolist() == [2.0]


def test_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="a directory"):
        Standardizer().load(tmp_path)
    with pytest.raises(FileNotFoundError):
        Standardizer().load(tmp_path / "missing.json")
