"""``Module``: anything with parameters, with names, zeroing and saving built in."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from autograd import Tensor, Value
from autograd.tensor import zero_grad_of
from nn.files import write_atomically

#: What a module learns: a leaf Value (a number) or a leaf Tensor (an array).
Parameter = Value | Tensor

FILE_FORMAT = "backprop-lab parameters"
FILE_VERSION = 1


class Module:
    """Base class of layers and models.

    A subclass lists its parameters (the leaf Values or Tensors it learns) through
    :meth:`named_parameters`; everything else here builds on that. Every parameter is labelled
    with its dotted name (``layer1.neuron0.w1``), so diagrams and error messages name it.
    """

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """``(name, parameter)`` pairs, in a fixed order. Subclasses override this."""
        return iter(())

    def parameters(self) -> list[Parameter]:
        """The parameters, in the order of :meth:`named_parameters`."""
        return [parameter for _, parameter in self.named_parameters()]

    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0 (``backward`` accumulates into them)."""
        for parameter in self.parameters():
            parameter.grad = zero_grad_of(parameter.data)

    # -- saving and loading -------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Every parameter's value by name: a float, or nested lists for a Tensor (JSON-ready)."""
        return {
            name: parameter.data.tolist() if isinstance(parameter, Tensor) else parameter.data
            for name, parameter in self.named_parameters()
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Set the parameters from ``state`` (as :meth:`state_dict` returns it).

        Everything is checked before anything changes: names missing or unexpected, values
        that are not finite numbers. On any problem a ValueError says what, and the model is
        left untouched.
        """
        if not isinstance(state, dict):
            raise ValueError(f"parameters must be a dict of name -> number, got {type(state)}")
        names = [name for name, _ in self.named_parameters()]
        missing = [n for n in names if n not in state]
        unexpected = [n for n in state if n not in set(names)]
        if missing or unexpected:
            raise ValueError(
                "the saved parameters do not fit this model (a different architecture?): "
                f"missing {_few(missing)}, unexpected {_few(unexpected)}"
            )
        values: dict[str, Any] = {}
        current = dict(self.named_parameters())
        for name in names:
            value = state[name]
            parameter = current[name]
            if isinstance(parameter, Tensor):
                values[name] = _array(name, value, parameter)
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"parameter {name} must be a number, got {value!r}")
            try:
                number = float(value)
            except OverflowError:  # an int too large for a float (JSON allows any length)
                raise ValueError(f"parameter {name} is too large for a float") from None
            if not math.isfinite(number):
                raise ValueError(f"parameter {name} is {number}, not a finite number")
            values[name] = number
        for name, parameter in self.named_parameters():
            parameter.data = values[name]

    def save(self, path: str | Path) -> Path:
        """Write the parameters to a JSON file, atomically (never a half-written file)."""
        target = Path(path)
        document = {
            "format": FILE_FORMAT,
            "version": FILE_VERSION,
            "model": repr(self),
            "parameters": self.state_dict(),
        }
        write_atomically(target, json.dumps(document, indent=1).encode("utf-8"))
        return target

    def load(self, path: str | Path) -> None:
        """Read parameters written by :meth:`save`.

        A file that is not such a file, is corrupt, or holds parameters of another shape gives
        a ValueError saying so, and leaves the model untouched.
        """
        target = Path(path)
        try:
            document = json.loads(target.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
            raise ValueError(
                f"{target} is not a saved parameter file (corrupt?): {error}"
            ) from None
        if not isinstance(document, dict) or document.get("format") != FILE_FORMAT:
            raise ValueError(f"{target} is not a backprop-lab parameter file")
        version = document.get("version")
        if isinstance(version, bool) or version != FILE_VERSION:  # true == 1 in Python
            raise ValueError(
                f"{target} has format version {version!r}; this version reads {FILE_VERSION}"
            )
        self.load_state_dict(document.get("parameters"))  # type: ignore[arg-type]


def _array(name: str, value: Any, parameter: Tensor) -> np.ndarray:
    """A saved Tensor parameter: nested lists of numbers of the parameter's exact shape."""
    try:
        array = np.array(value)
    except (ValueError, TypeError, OverflowError):  # ragged lists
        array = np.array(None)
    if array.dtype.kind not in "iuf":  # bools, strings, objects (ragged or huge ints)
        raise ValueError(f"parameter {name} must be nested lists of numbers of one shape")
    if array.shape != parameter.shape:
        raise ValueError(
            f"parameter {name} has shape {array.shape} in the file, the model's has shape "
            f"{parameter.shape} (a different architecture?)"
        )
    if not np.isfinite(array).all():
        raise ValueError(f"parameter {name} holds values that are not finite numbers")
    return array.astype(parameter.dtype)


def _few(names: list[str]) -> str:
    if not names:
        return "none"
    shown = ", ".join(names[:4])
    return shown + (f" and {len(names) - 4} more" if len(names) > 4 else "")
