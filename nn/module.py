"""``Module``: anything with parameters, with names, zeroing and saving built in."""

from __future__ import annotations

import json
import math
import os
import stat
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

    #: True while training (the default), False after :meth:`eval`; layers such as
    #: BatchNorm1d and Dropout behave differently in the two modes.
    training: bool = True

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """``(name, parameter)`` pairs, in a fixed order. Subclasses override this."""
        return iter(())

    def named_buffers(self) -> Iterator[tuple[str, Tensor]]:
        """``(name, tensor)`` pairs of state that is saved but not learned (BatchNorm's running
        mean and variance): no gradient, no optimizer step. None by default."""
        return iter(())

    def _named_state(self) -> Iterator[tuple[str, Parameter]]:
        """Everything a file holds: the parameters, then the buffers."""
        yield from self.named_parameters()
        yield from self.named_buffers()

    def modules(self) -> Iterator[Module]:
        """This module and every module it holds (in attributes, lists or tuples), at any
        depth, each once, parents before children."""
        seen: set[int] = set()
        stack: list[Module] = [self]
        while stack:
            module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield module
            children = []
            for value in vars(module).values():
                items = value if isinstance(value, (list, tuple)) else [value]
                children += [item for item in items if isinstance(item, Module)]
            stack.extend(reversed(children))  # so the first child comes out first

    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=False`` is :meth:`eval`) on this module and every module it
        holds; returns the module, as PyTorch's ``train()`` does."""
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)``. Returns the module."""
        return self.train(False)

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
            for name, parameter in self._named_state()
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Set the parameters from ``state`` (as :meth:`state_dict` returns it).

        Everything is checked before anything changes: names missing or unexpected, values
        that are not finite numbers or do not fit the parameter's dtype. On any problem a
        ValueError says what, and the model is left untouched.
        """
        values = self._checked_values(state)
        for name, parameter in self._named_state():
            parameter.data = values[name]

    def _checked_values(self, state: Any) -> dict[str, Any]:
        """The value of every parameter in ``state``, checked and converted; nothing is set."""
        if not isinstance(state, dict):
            raise ValueError(f"parameters must be a dict of name -> number, got {type(state)}")
        names = [name for name, _ in self._named_state()]
        missing = [n for n in names if n not in state]
        unexpected = [n for n in state if n not in set(names)]
        if missing or unexpected:
            raise ValueError(
                "the saved parameters do not fit this model (a different architecture?): "
                f"missing {_few(missing)}, unexpected {_few(unexpected)}"
            )
        values: dict[str, Any] = {}
        current = dict(self._named_state())
        for name in names:
            value = state[name]
            parameter = current[name]
            if isinstance(parameter, Tensor):
                values[name] = _array(name, value, parameter)
                continue
            if isinstance(value, _Unfit):
                raise ValueError(f"parameter {name} {value.why}")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"parameter {name} must be a number, got {value!r}")
            try:
                number = float(value)
            except OverflowError:  # an int too large for a float (JSON allows any length)
                raise ValueError(f"parameter {name} is too large for a float") from None
            if not math.isfinite(number):
                raise ValueError(f"parameter {name} is {number}, not a finite number")
            values[name] = number
        return values

    def save(self, path: str | Path) -> Path:
        """Write the parameters to a JSON file, atomically (never a half-written file).

        A parameter that is not finite (training diverged) is refused, and nothing is written:
        standard JSON has no NaN or Infinity, so no file could hold it.
        """
        target = Path(path)
        for name, parameter in self._named_state():
            if not np.isfinite(parameter.data).all():
                raise ValueError(
                    f"cannot save {target}: parameter {name} holds values that are not finite "
                    "numbers (did training diverge?); nothing was written"
                )
        document = {
            "format": FILE_FORMAT,
            "version": FILE_VERSION,
            "model": repr(self),
            "parameters": self.state_dict(),
        }
        text = json.dumps(document, indent=1, allow_nan=False)  # never writes NaN or Infinity
        write_atomically(target, text.encode("utf-8"))
        return target

    def load(self, path: str | Path) -> None:
        """Read parameters written by :meth:`save`.

        Only a regular file (or a link to one) no larger than a file of this model could be is
        read, and never more than that many bytes. A file that is not such a file, is corrupt,
        or holds parameters of another shape or values its parameters cannot hold gives a
        ValueError naming the file and saying what is wrong, and leaves the model untouched.
        """
        target = Path(path)
        data = _read_bounded(target, self._file_size_bound())
        try:
            document = json.loads(
                data.decode("utf-8"), parse_constant=_non_standard, parse_int=_integer
            )
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
        try:
            values = self._checked_values(document.get("parameters"))
        except ValueError as error:
            raise ValueError(f"{target}: {error}; the model was not changed") from None
        for name, parameter in self._named_state():
            parameter.data = values[name]

    def _file_size_bound(self) -> int:
        """The most bytes a file of this model may have; anything larger is refused unread.

        :meth:`save` writes each number in at most ~25 characters plus a comma, a newline and
        its indentation; :data:`_BYTES_PER_NUMBER` leaves several times that, so a file that was
        re-indented by hand still loads. Names and the model's description may be escaped
        (``\\uXXXX``, 6 to 12 bytes a character); the slack covers the header.
        """
        numbers = 0
        names = 0
        for name, parameter in self._named_state():
            numbers += int(np.size(parameter.data))
            names += len(name)
        return _BYTES_PER_NUMBER * numbers + 12 * (names + len(repr(self))) + _SLACK


#: Room for one saved number (see :meth:`Module._file_size_bound`).
_BYTES_PER_NUMBER = 128
#: Room for the header and anything a person might add by hand to a small model's file.
_SLACK = 1 << 20
#: More digits than any integer a float64 can hold has (1.8e308 has 309). Longer integers are
#: not converted, so Python's int-conversion limit (4300 digits) is never reached.
_MAX_DIGITS = 309


def _kind(mode: int) -> str | None:
    """What a file that is not a regular file is, for the error message."""
    for test, kind in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return kind
    return None if stat.S_ISREG(mode) else "not a regular file"


def _check_regular(target: Path, info: os.stat_result, bound: int) -> None:
    kind = _kind(info.st_mode)
    if kind is not None:
        raise ValueError(
            f"{target} is {kind}, not a model file; give the path of a file that Module.save wrote"
        )
    if info.st_size > bound:
        raise ValueError(
            f"{target} has {info.st_size} bytes, more than a saved file of this model can have "
            f"({bound}); it is not this model's file (a different, larger model?)"
        )


def _read_bounded(target: Path, bound: int) -> bytes:
    """The bytes of ``target``, refused unless it is a regular file of at most ``bound`` bytes.

    The type and size are checked before opening (so a FIFO is never opened, and would not
    block if it were: ``O_NONBLOCK``), again on the open file (it may have been replaced in
    between), and at most ``bound + 1`` bytes are read (a file may grow, or, like those in
    ``/proc``, report a size of 0).
    """
    _check_regular(target, os.stat(target), bound)  # follows links: a link to a file is fine
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(target, flags)
    with os.fdopen(fd, "rb") as file:
        _check_regular(target, os.fstat(fd), bound)
        data = file.read(bound + 1)
    if len(data) > bound:
        raise ValueError(
            f"{target} holds more than {bound} bytes, more than a saved file of this model can "
            "have (it grew while being read?); it is not this model's file"
        )
    return data


class _Unfit:
    """A number in a file that no parameter can hold: a NaN or Infinity token, or an integer
    too long to convert. Kept (not raised) while parsing, so the error can name the parameter
    that holds it."""

    def __init__(self, why: str) -> None:
        self.why = why

    def __repr__(self) -> str:
        return f"<a value that {self.why}>"


def _non_standard(token: str) -> _Unfit:
    """``parse_constant``: NaN, Infinity and -Infinity are not JSON, and save never writes them."""
    return _Unfit(f"is {token}, not a finite number (nor standard JSON)")


def _integer(digits: str) -> int | _Unfit:
    """``parse_int``: an int, unless it is too long for any float (or for Python to convert)."""
    if len(digits.lstrip("-")) > _MAX_DIGITS:
        return _Unfit(f"is an integer of {len(digits.lstrip('-'))} digits, too large for a float")
    return int(digits)


def _array(name: str, value: Any, parameter: Tensor) -> np.ndarray:
    """A saved Tensor parameter: nested lists of numbers of the parameter's exact shape, each
    within the range of the parameter's dtype (float32 holds up to about 3.4e38)."""
    try:
        array = np.array(value)
    except (ValueError, TypeError, OverflowError):  # ragged lists
        array = np.array(None)
    if array.dtype == object:
        for item in array.flat:
            if isinstance(item, _Unfit):
                raise ValueError(f"parameter {name} holds a value that {item.why}")
        if array.size and all(type(item) is int for item in array.flat):
            raise ValueError(f"parameter {name} holds an integer too large for {parameter.dtype}")
    if array.dtype.kind not in "iuf":  # bools, strings, objects (ragged or huge ints)
        raise ValueError(f"parameter {name} must be nested lists of numbers of one shape")
    if array.shape != parameter.shape:
        raise ValueError(
            f"parameter {name} has shape {array.shape} in the file, the model's has shape "
            f"{parameter.shape} (a different architecture?)"
        )
    if not np.isfinite(array).all():
        raise ValueError(f"parameter {name} holds values that are not finite numbers")
    largest = float(np.finfo(parameter.dtype).max)
    too_large = np.flatnonzero(np.abs(array.astype(np.float64)) > largest)
    if too_large.size:
        example = array.flat[too_large[0]]
        raise ValueError(
            f"parameter {name} holds {float(example)!r}, too large for its dtype {parameter.dtype} "
            f"(at most {largest:.7g}); save it from a {parameter.dtype} model, or load it into "
            "a float64 one"
        )
    return array.astype(parameter.dtype)


def _few(names: list[str]) -> str:
    if not names:
        return "none"
    shown = ", ".join(names[:4])
    return shown + (f" and {len(names) - 4} more" if len(names) > 4 else "")
