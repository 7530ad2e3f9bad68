"""Model files under abuse (issue 12): paths that are not regular files, files far larger than
a model of this size could be, and numbers no parameter can hold.

Every refusal is a ValueError whose message names the file and what is wrong; nothing is read
beyond the size a file of this model could have, a FIFO never blocks, no numpy warning is
given, and the model is left untouched.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nn import MLP, Linear, Module, Sequential
from nn.module import FILE_FORMAT, FILE_VERSION


def values_of(model: Module) -> list[Any]:
    return [np.array(p.data).tolist() for p in model.parameters()]


def refused(model: Module, path: Path, *fragments: str) -> str:
    """Load ``path`` into ``model``, expect a ValueError naming ``path`` and each of
    ``fragments``, with no warning and no parameter changed; return the message."""
    before = values_of(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy overflow warning would fail the test
        with pytest.raises(ValueError) as error:
            model.load(path)
    message = str(error.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message
    assert values_of(model) == before
    return message


def write(path: Path, model: Module, **parameters: Any) -> Path:
    """A file as ``save`` writes it for ``model``, with some parameters replaced."""
    state = {**model.state_dict(), **parameters}
    document = {"format": FILE_FORMAT, "version": FILE_VERSION, "parameters": state}
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def float32_model(seed: int) -> Sequential:
    model = Sequential(Linear(2, 3, seed=seed))
    for parameter in model.parameters():
        parameter.data = np.asarray(parameter.data).astype(np.float32)
    return model


# -- paths that are not regular files ------------------------------------------------------------


def test_a_directory_is_refused(tmp_path: Path) -> None:
    refused(MLP(2, [1], seed=0), tmp_path, "is a directory", "not a model file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "model.json"
    os.mkfifo(fifo)
    model = MLP(2, [1], seed=0)
    messages: list[str] = []
    # no writer ever opens the FIFO: a load that opened it for reading would wait forever
    loader = threading.Thread(
        target=lambda: messages.append(refused(model, fifo, "FIFO", "not a model file")),
        daemon=True,
    )
    loader.start()
    loader.join(timeout=10)
    assert not loader.is_alive(), "load() blocked on a FIFO"
    assert len(messages) == 1


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero on this system")
def test_dev_zero_is_refused_unread() -> None:
    refused(MLP(2, [1], seed=0), Path("/dev/zero"), "is a device", "not a model file")


def test_a_file_far_larger_than_the_model_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    with path.open("wb") as file:
        file.truncate(50 * 2**20)  # sparse: 50 MB long, nothing written
    refused(MLP(2, [3, 1], seed=0), path, str(50 * 2**20), "more than a saved file")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="no /proc on this system")
def test_a_file_larger_than_its_reported_size_is_read_only_up_to_the_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Files in /proc are regular files that report a size of 0 but hold more (so can a file
    that grows while it is read): the bound must hold while reading, not only on stat."""
    path = Path("/proc/self/status")
    assert path.stat().st_size == 0 and len(path.read_bytes()) > 100
    monkeypatch.setattr(Module, "_file_size_bound", lambda self: 100)
    refused(MLP(2, [1], seed=0), path, "more than 100 bytes", "grew while being read")


def test_a_link_to_a_model_file_loads(tmp_path: Path) -> None:
    source = MLP(2, [3, 1], seed=1)
    path = source.save(tmp_path / "model.json")
    link = tmp_path / "latest.json"
    link.symlink_to(path)
    target = MLP(2, [3, 1], seed=2)
    target.load(link)
    assert values_of(target) == values_of(source)


def test_a_link_to_a_directory_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path, target_is_directory=True)
    refused(MLP(2, [1], seed=0), link, "is a directory")


def test_a_missing_file_is_still_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"missing\.json"):
        MLP(2, [1], seed=0).load(tmp_path / "missing.json")


# -- numbers no parameter can hold ---------------------------------------------------------------


def test_float32_overflow_is_refused_naming_parameter_value_and_dtype(tmp_path: Path) -> None:
    model = float32_model(seed=0)
    weights = float32_model(seed=1).state_dict()["layer1.W"]
    weights[1][1] = 1e39
    path = write(tmp_path / "model.json", model, **{"layer1.W": weights})
    refused(model, path, "layer1.W", "1e+39", "float32")


def test_the_largest_float32_still_loads(tmp_path: Path) -> None:
    model = float32_model(seed=0)
    largest = float(np.finfo(np.float32).max)
    weights = float32_model(seed=1).state_dict()["layer1.W"]
    weights[0][0] = -largest
    model.load(write(tmp_path / "model.json", model, **{"layer1.W": weights}))
    W = model.parameters()[0].data
    assert isinstance(W, np.ndarray)
    assert W[0, 0] == -largest
    assert W.dtype == np.float32


def test_a_float32_model_round_trips_exactly(tmp_path: Path) -> None:
    source, target = float32_model(seed=1), float32_model(seed=2)
    target.load(source.save(tmp_path / "model.json"))
    for a, b in zip(source.parameters(), target.parameters(), strict=True):
        assert isinstance(b.data, np.ndarray) and b.data.dtype == np.float32
        np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("kind", ["Value", "Tensor"])
def test_non_standard_tokens_are_refused_naming_the_parameter(
    tmp_path: Path, token: str, kind: str
) -> None:
    model: Module = MLP(2, [1], seed=0) if kind == "Value" else Sequential(Linear(2, 1, seed=0))
    name = list(model.state_dict())[-1]
    path = write(tmp_path / "model.json", model, **{name: "TOKEN"})
    path.write_text(path.read_text(encoding="utf-8").replace('"TOKEN"', token), encoding="utf-8")
    refused(model, path, name, token, "not a finite number")


@pytest.mark.parametrize("kind", ["Value", "Tensor"])
def test_a_5000_digit_integer_is_refused_naming_the_parameter(tmp_path: Path, kind: str) -> None:
    model: Module = MLP(2, [1], seed=0) if kind == "Value" else Sequential(Linear(2, 1, seed=0))
    name = list(model.state_dict())[-1]
    value: Any = "DIGITS" if kind == "Value" else ["DIGITS"]
    path = write(tmp_path / "model.json", model, **{name: value})
    path.write_text(
        path.read_text(encoding="utf-8").replace('"DIGITS"', "9" * 5000), encoding="utf-8"
    )
    message = refused(model, path, name, "5000 digits", "too large")
    assert "4300" not in message and "sys.set_int_max_str_digits" not in message


def test_a_5000_digit_integer_outside_the_parameters_does_not_leak_pythons_message(
    tmp_path: Path,
) -> None:
    model = MLP(2, [1], seed=0)
    path = tmp_path / "model.json"
    document = {"format": FILE_FORMAT, "version": "V", "parameters": model.state_dict()}
    path.write_text(json.dumps(document).replace('"V"', "1" * 5000), encoding="utf-8")
    message = refused(model, path, "version")
    assert "4300" not in message


# -- saving never writes what JSON cannot hold ---------------------------------------------------


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_saving_a_non_finite_parameter_is_refused_and_writes_nothing(
    tmp_path: Path, bad: float
) -> None:
    model = Sequential(Linear(2, 3, seed=0))
    W = model.parameters()[0].data
    assert isinstance(W, np.ndarray)
    W[1, 1] = bad
    path = tmp_path / "model.json"
    with pytest.raises(ValueError) as error:
        model.save(path)
    assert str(path) in str(error.value) and "layer1.W" in str(error.value)
    assert "not finite" in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_a_saved_file_is_standard_json(tmp_path: Path) -> None:
    path = MLP(2, [3, 1], seed=0).save(tmp_path / "model.json")

    def no_constants(token: str) -> None:
        raise AssertionError(f"non-standard token {token}")

    json.loads(path.read_text(encoding="utf-8"), parse_constant=no_constants)
