"""Feature scaling: "scale the features before gradient descent!" (seed 004).

:class:`Standardizer` maps every feature to ``(x - mean) / std`` (seed 000's per-channel
``(pixel - mean) / std``), with the mean and standard deviation measured on the **training
split only**: the validation and test splits are transformed with the training numbers, as
new data will be, so nothing about them leaks into training. Features on one scale make the
loss surface rounder, so one learning rate suits every weight.

The numbers it learned are saved beside the model (:meth:`Standardizer.save`), since a model
trained on scaled inputs is only right on inputs scaled the same way.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np
from numpy.typing import NDArray

from nn.files import write_atomically

FILE_FORMAT = "backprop-lab standardizer"
FILE_VERSION = 1
#: Room for one saved number, as in :mod:`nn.module`; larger files are refused unread.
_BYTES_PER_NUMBER = 128
_SLACK = 1 << 16
#: Files larger than this are refused before reading (a million features is plenty).
_MAX_FEATURES = 1_000_000

Array = NDArray[np.float64]


class NotFittedError(RuntimeError):
    """A :class:`Standardizer` was used before :meth:`Standardizer.fit` (or a load)."""


class Standardizer:
    """``(x - mean) / std`` per feature, with mean and std measured on the training split.

    ``std`` is the population standard deviation (divide by m, as scikit-learn's
    ``StandardScaler`` and batch normalisation's sigma_B do). A feature that is constant on the
    training split has std 0; its std is taken as 1, so it becomes 0 everywhere instead of
    0 / 0 = NaN (dividing by a tiny std would instead blow any later change up to huge values).

    Works on a numpy array of shape (m, n) or a list of examples (a dataset's ``X``, see
    :mod:`nn.datasets`); it returns what it was given: an array for an array, lists of floats
    for lists. A single example (shape (n,)) is transformed too.

    >>> scaler = Standardizer()
    >>> scaler.fit_transform([[0.0, 5.0], [2.0, 5.0]])
    [[-1.0, 0.0], [1.0, 0.0]]
    >>> scaler.transform([4.0, 6.0])
    [3.0, 1.0]
    """

    def __init__(self) -> None:
        self.mean: Array | None = None
        self.std: Array | None = None

    # -- fitting and transforming ---------------------------------------------------------

    def fit(self, X: Array | Sequence[Sequence[float]]) -> Standardizer:
        """Measure each feature's mean and std on ``X`` (the training split); returns self."""
        data = _matrix(X, "fit")
        if data.shape[0] < 1:
            raise ValueError("cannot fit a Standardizer on no examples")
        std = data.std(axis=0)
        self.mean = data.mean(axis=0)
        self.std = np.where(std == 0.0, 1.0, std)  # a constant feature: 0 after, not NaN
        return self

    @overload
    def transform(self, X: Array) -> Array: ...
    @overload
    def transform(self, X: Sequence[Any]) -> Any: ...
    def transform(self, X: Array | Sequence[Any]) -> Array | Any:
        """``(X - mean) / std`` with the training split's numbers, for any split."""
        mean, std = self._fitted("transform")
        return _like(X, (self._checked(X, "transform") - mean) / std)

    @overload
    def inverse_transform(self, X: Array) -> Array: ...
    @overload
    def inverse_transform(self, X: Sequence[Any]) -> Any: ...
    def inverse_transform(self, X: Array | Sequence[Any]) -> Array | Any:
        """``X std + mean``: undo :meth:`transform`."""
        mean, std = self._fitted("inverse_transform")
        return _like(X, self._checked(X, "inverse_transform") * std + mean)

    @overload
    def fit_transform(self, X: Array) -> Array: ...
    @overload
    def fit_transform(self, X: Sequence[Any]) -> Any: ...
    def fit_transform(self, X: Array | Sequence[Any]) -> Array | Any:
        """:meth:`fit` on ``X``, then :meth:`transform` it."""
        return self.fit(X).transform(X)

    @property
    def n_features(self) -> int | None:
        """How many features it was fitted on (None before fitting)."""
        return None if self.mean is None else int(self.mean.shape[0])

    def _fitted(self, what: str) -> tuple[Array, Array]:
        if self.mean is None or self.std is None:
            raise NotFittedError(
                f"cannot {what} before fitting: call fit(X_train) first (or load a saved "
                "Standardizer)"
            )
        return self.mean, self.std

    def _checked(self, X: Array | Sequence[Any], what: str) -> Array:
        data = np.asarray(X, dtype=np.float64) if _is_example(X) else _matrix(X, what)
        if data.ndim == 1:
            data = _finite(data[None, :], what)[0]
        got = data.shape[-1]
        if got != self.n_features:
            raise ValueError(
                f"cannot {what}: expected {self.n_features} features (what it was fitted on), "
                f"got {got}"
            )
        return data

    # -- saving and loading ---------------------------------------------------------------

    def state_dict(self) -> dict[str, list[float]]:
        """``{"mean": [...], "std": [...]}`` as plain floats."""
        mean, std = self._fitted("save")
        return {"mean": [float(v) for v in mean], "std": [float(v) for v in std]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Take the numbers :meth:`state_dict` gave; a bad state is refused, nothing changed."""
        if not isinstance(state, dict) or set(state) != {"mean", "std"}:
            keys = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"a Standardizer state is {{'mean': [...], 'std': [...]}}, got {keys}")
        mean = _vector(state["mean"], "mean")
        std = _vector(state["std"], "std")
        if mean.shape != std.shape:
            raise ValueError(
                f"mean has {mean.shape[0]} features but std has {std.shape[0]}; they must match"
            )
        if (std <= 0).any():
            raise ValueError("every std must be positive (a constant feature is saved as 1)")
        self.mean, self.std = mean, std

    def save(self, path: str | Path) -> Path:
        """Write mean and std to a JSON file, atomically (never a half-written file)."""
        target = Path(path)
        document = {
            "format": FILE_FORMAT,
            "version": FILE_VERSION,
            "standardizer": self.state_dict(),
        }
        write_atomically(target, json.dumps(document, indent=1, allow_nan=False).encode("utf-8"))
        return target

    def load(self, path: str | Path) -> Standardizer:
        """Read a file :meth:`save` wrote; returns self. A file that is not one (or is corrupt)
        gives a ValueError naming it, and the Standardizer is left as it was."""
        target = Path(path)
        if not target.is_file():
            what = "a directory" if target.is_dir() else "not a regular file"
            if not target.exists():
                raise FileNotFoundError(f"{target} does not exist")
            raise ValueError(f"{target} is {what}, not a saved Standardizer")
        bound = 2 * _BYTES_PER_NUMBER * _MAX_FEATURES + _SLACK
        with open(target, "rb") as file:
            data = file.read(bound + 1)
        if len(data) > bound:
            raise ValueError(f"{target} is larger than any saved Standardizer; not reading it")
        try:
            document = json.loads(data.decode("utf-8"), parse_constant=_non_standard)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ValueError) as error:
            raise ValueError(f"{target} is not a saved Standardizer (corrupt?): {error}") from None
        if not isinstance(document, dict) or document.get("format") != FILE_FORMAT:
            raise ValueError(f"{target} is not a backprop-lab Standardizer file")
        version = document.get("version")
        if isinstance(version, bool) or version != FILE_VERSION:
            raise ValueError(
                f"{target} has format version {version!r}; this version reads {FILE_VERSION}"
            )
        try:
            self.load_state_dict(document.get("standardizer"))  # type: ignore[arg-type]
        except ValueError as error:
            raise ValueError(f"{target}: {error}; the Standardizer was not changed") from None
        return self

    def __repr__(self) -> str:
        if self.n_features is None:
            return "Standardizer()  # not fitted"
        return f"Standardizer()  # fitted on {self.n_features} features"


def _non_standard(token: str) -> float:
    raise ValueError(f"{token} is not a number standard JSON allows")


def _is_example(X: Any) -> bool:
    """One example (a flat list of numbers or a 1-d array), not a list of examples."""
    if isinstance(X, np.ndarray):
        return X.ndim == 1
    return isinstance(X, Sequence) and len(X) > 0 and not isinstance(X[0], Sequence | np.ndarray)


def _matrix(X: Any, what: str) -> Array:
    """``X`` as an (m, n) float array of finite numbers, or a clear error."""
    try:
        data = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"cannot {what}: X must be an (m, n) array or a list of m examples of n numbers "
            f"each ({error})"
        ) from None
    if data.ndim != 2:
        raise ValueError(
            f"cannot {what}: X must be an (m, n) array or a list of m examples, got shape "
            f"{data.shape}"
        )
    return _finite(data, what)


def _finite(data: Array, what: str) -> Array:
    bad = ~np.isfinite(data)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"cannot {what}: X holds {int(bad.sum())} values that are not finite numbers "
            f"(NaN or inf), the first at example {row}, feature {col}: {data[row, col]}"
        )
    return data


def _vector(values: Any, name: str) -> Array:
    if not isinstance(values, list) or not values:
        raise ValueError(f"{name} must be a non-empty list of numbers")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        raise ValueError(f"{name} must hold only numbers")
    try:
        vector = np.array(values, dtype=np.float64)
    except OverflowError:
        raise ValueError(f"{name} holds a number too large for a float") from None
    if not np.isfinite(vector).all() or any(math.isinf(float(v)) for v in values):
        raise ValueError(f"{name} holds values that are not finite numbers")
    return vector


def _like(X: Any, result: Array) -> Array | Any:
    """``result`` in ``X``'s kind: an array for an array, plain floats in lists otherwise."""
    return result if isinstance(X, np.ndarray) else result.tolist()
