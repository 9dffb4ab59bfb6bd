"""Class labels compared in the model's own type.

A label that reached us through JSON, a form or a pandas column may have changed type on
the way (``0`` → ``0.0`` once a column holds a missing value, ``1`` → ``"1"`` from a form,
``True`` → ``1``). Comparing ``str(0)`` with ``str(0.0)`` called every answer wrong, so labels
are coerced to the type of the model's prediction before they are compared.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Sequence
from typing import Any

from core.errors import InvalidInputError


def plain(value: Any) -> Any:
    """``value`` as a plain Python scalar (numpy scalars unwrapped); ``None`` for NaN/NA."""
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict, str, bytes)):
        with contextlib.suppress(ValueError, AttributeError):
            value = value.item()
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    return value


def as_label_of(reference: Any, value: Any) -> Any:
    """``value`` converted to the type of ``reference`` (a label the model predicts) when it can be.

    Integral floats become ints (``0.0`` → ``0``), numeric strings become numbers for numeric
    models, numbers become their text for string models (``1.0`` → ``"1"``), and ``"true"``/``1``
    become booleans for boolean models. A value that does not convert is returned unchanged.
    """
    reference, value = plain(reference), plain(value)
    if value is None or reference is None or type(value) is type(reference):
        return value
    if isinstance(reference, bool):
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in ("true", "1", "yes"):
                return True
            if lowered in ("false", "0", "no"):
                return False
            return value
        if isinstance(value, numbers.Real) and value in (0, 1):
            return bool(value)
        return value
    if isinstance(reference, numbers.Integral):
        number = _number(value)
        if number is not None and float(number).is_integer():
            return int(number)
        return value
    if isinstance(reference, numbers.Real):
        number = _number(value)
        return float(number) if number is not None else value
    if isinstance(reference, str):
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, numbers.Real):
            return str(int(value)) if float(value).is_integer() else str(value)
        return str(value)
    return value


def as_classes(
    labels: Sequence[Any], classes: Sequence[Any], names: Sequence[str] = (), what: str = "labels"
) -> list[Any]:
    """``labels`` as class values of the model (``1``, ``1.0`` and ``"1"`` all name class ``1``).

    A class's display name (``names``, in ``classes`` order: ``"benign"`` for ``1``) names it too.
    A boolean names a class only of a boolean model (``True`` is not class ``1``).

    Raises:
        InvalidInputError: a label that is not one of ``classes`` (the message lists them).
    """
    by_text = {str(plain(c)): plain(c) for c in classes}
    by_name = {str(n): plain(c) for c, n in zip(classes, names, strict=False) if str(n) not in by_text}
    reference = next(iter(by_text.values()), None)
    found: list[Any] = []
    unknown: set[str] = set()
    for value in labels:
        value = plain(value)
        if isinstance(value, bool) and not isinstance(reference, bool):
            unknown.add(repr(value))
            continue
        key = str(plain(as_label_of(reference, value)))
        if value is not None and key in by_text:
            found.append(by_text[key])
        elif isinstance(value, str) and value in by_name:
            found.append(by_name[value])
        else:
            unknown.add(repr(value))
    if unknown:
        shown = ", ".join(sorted(unknown)[:5])
        named = f" ({', '.join(by_name)})" if by_name else ""
        raise InvalidInputError(
            f"{what}: {shown} not a class of the model; its classes are {list(by_text.values())}{named}"
        )
    return found


def labels_match(predicted: Any, label: Any) -> bool | None:
    """True when ``label`` names the class ``predicted`` (``None`` when there is no label)."""
    predicted, label = plain(predicted), plain(label)
    if label is None:
        return None
    return bool(as_label_of(predicted, label) == predicted)


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Real):
        return value
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None
