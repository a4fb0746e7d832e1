"""The unified schema, declared once, and the function that makes a frame conform to it.

Every loader, :func:`toolkit.read_csv` and every parser end by calling :func:`conform`;
an empty result is :func:`empty_frame`, never ``None``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["SCHEMA", "ADDED_COLUMNS", "COLUMNS", "PROVIDERS", "conform", "empty_frame", "frame_of"]

#: Provider names, in the order of the ``provider`` categories.
PROVIDERS: tuple[str, ...] = ("wassist", "briq")


def provider_name(name: Any) -> Any:
    """The provider ``name`` means, whatever its case or spaces ("Briq", "WASSIST "), as the
    toolkit spells it; any other value as given (for the caller's own error)."""
    if isinstance(name, str) and name.strip().lower() in PROVIDERS:
        return name.strip().lower()
    return name

STRING = pd.StringDtype("pyarrow")
BOOLEAN = pd.BooleanDtype()
INT = pd.Int64Dtype()
TIMESTAMP = pd.DatetimeTZDtype(unit="us", tz="UTC")
PROVIDER = pd.CategoricalDtype(list(PROVIDERS), ordered=False)

#: Column -> dtype of the unified schema, in column order.
SCHEMA: dict[str, object] = {
    "provider": PROVIDER,
    "conversation_id": STRING,
    "contact_phone": STRING,
    "contact_name": STRING,
    "channel_id": STRING,
    "is_active": BOOLEAN,
    "is_human_takeover": BOOLEAN,
    "has_unread": BOOLEAN,
    "unread_count": INT,
    "last_message_at": TIMESTAMP,
    "window_open": BOOLEAN,
    "window_expires_at": TIMESTAMP,
    "fetched_at": TIMESTAMP,
}

#: Columns every frame carries right after the unified ones (added in the second round of
#: the contract; :data:`SCHEMA` itself stays the 13 unified columns it promises).
ADDED_COLUMNS: dict[str, object] = {
    "channel_name": STRING,
}

#: Every column a frame of the toolkit carries, in order: :data:`SCHEMA`, then :data:`ADDED_COLUMNS`.
COLUMNS: dict[str, object] = {**SCHEMA, **ADDED_COLUMNS}

#: The column a snapshot history adds: when a row's snapshot was taken (see ``toolkit.history``).
SNAPSHOT_COLUMN = "snapshot_at"


def utc_column(naive: np.ndarray) -> pd.Series:
    """NumPy times without a zone, read as UTC, as a :data:`TIMESTAMP` column.

    A tenth of the fixed cost of pandas' parsing or of Arrow's ``to_pandas()``, which a
    one-page conversion (each sweep's) pays in full.
    """
    return pd.Series(pd.array(naive, dtype=NAIVE_TIMESTAMP).tz_localize("UTC"))


#: :data:`TIMESTAMP` without its zone, as NumPy spells it (a dtype object: pandas parses no
#: string): how UTC moments are held as NumPy arrays, Timestamp objects spared.
NAIVE_TIMESTAMP = np.dtype(f"datetime64[{TIMESTAMP.unit}]")


def empty_frame() -> pd.DataFrame:
    """An empty frame with the unified columns and dtypes.

    Returns
    -------
    pandas.DataFrame
        Zero rows, the columns of :data:`COLUMNS` in order.
    """
    return pd.DataFrame({name: pd.Series([], dtype=dtype) for name, dtype in COLUMNS.items()})


def missing_column(dtype: Any, length: int) -> Any:
    """``length`` missing values of ``dtype``, as a pandas array (a new one on each call).

    Ten times faster than ``pd.array([None] * length, dtype=dtype)``: nothing is read per
    value; and the array of each dtype and length is made once and copied after that.
    """
    return _missing(dtype, length).copy()


@functools.lru_cache(maxsize=64)
def _missing(dtype: Any, length: int) -> Any:
    return pd.array([], dtype=dtype).take(np.full(length, -1, dtype=np.intp), allow_fill=True)


def frame_of(columns: Mapping[str, Any], length: int) -> pd.DataFrame:
    """A frame of the toolkit's columns from one array or Series per column, built once.

    The parsers' way to a frame: columns left out are all missing, and a column not in its
    schema dtype is cast as :func:`conform` casts it. Series are taken by position (their
    values, not their index).

    Parameters
    ----------
    columns : mapping
        Column name (of :data:`COLUMNS`) to ``length`` values.
    length : int

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS` in order, on a ``RangeIndex``.
    """
    unknown = set(columns) - set(COLUMNS)
    if unknown:
        raise ValueError(f"not columns of the toolkit: {sorted(unknown)}")
    arrays = {name: _in_dtype(columns.get(name), dtype, length) for name, dtype in COLUMNS.items()}
    # One construction from arrays in their dtypes, in order, on a RangeIndex: in shape by
    # construction (checking the built frame cost a fifth of a one-page conversion). pandas
    # copies the arrays (its default for a dict): the frame shares no memory with a caller.
    return pd.DataFrame(arrays, index=pd.RangeIndex(length))


def _in_dtype(column: Any, dtype: object, length: int, name: str = "column") -> Any:
    """One of the toolkit's columns as an array of its ``dtype``: ``column`` (a Series, taken
    by position, or an array) cast as needed, or all missing when ``column`` is ``None``."""
    if column is None:
        return missing_column(dtype, length)
    values = column.array if isinstance(column, pd.Series) else column
    if getattr(values, "dtype", None) != dtype:
        values = _cast(pd.Series(values), dtype, name).array
    return values


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with the toolkit's columns first, in order, in their dtypes.

    The toolkit's columns are the unified ones (:data:`SCHEMA`) then ``channel_name``
    (:data:`COLUMNS`). Missing ones are added as all-missing; extra columns are kept after
    them. The index is reset to a ``RangeIndex``.

    Parameters
    ----------
    frame : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame

    Notes
    -----
    Text reads as the column's type: ``"true"``/``"false"`` (also ``yes``/``no``, ``1``/``0``,
    any case) as booleans, whole numbers as counts, ISO 8601 as UTC moments, a provider's name
    in any case (``"Briq"``) as the provider. A time that does not read as one becomes
    missing, as does a provider other than ``wassist`` or ``briq``.

    Raises
    ------
    TypeError
        If ``frame`` is not a DataFrame.
    ValueError
        Naming the column and a value, when a boolean or count column holds a value that is
        neither (``"maybe"``, ``1.5``).
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    if _conforms(frame):
        # Already in shape (the usual case inside the toolkit): a new frame over the same
        # columns; pandas copies them only if one side is changed later (copy-on-write).
        result = pd.DataFrame(frame, copy=False)
        result.attrs = dict(frame.attrs)
        return result
    length = len(frame)
    columns: dict[str, Any] = {
        name: _in_dtype(frame[name].reset_index(drop=True) if name in frame.columns else None, dtype, length,
                        name)
        for name, dtype in COLUMNS.items()}
    extras = [name for name in frame.columns if name not in COLUMNS]
    for name in extras:
        columns[name] = frame[name].reset_index(drop=True)
    result = pd.DataFrame(columns, index=pd.RangeIndex(length))
    result.attrs = dict(frame.attrs)
    return result


def _conforms(frame: pd.DataFrame) -> bool:
    """The toolkit's columns first, in order and in their dtypes, on a fresh 0..n-1 index."""
    names = list(COLUMNS)
    return (list(frame.columns[:len(names)]) == names and frame.columns.is_unique
            and on_fresh_index(frame) and list(frame.dtypes.iloc[:len(names)]) == list(COLUMNS.values()))


def on_fresh_index(data: pd.Series | pd.DataFrame) -> bool:
    """Whether ``data`` is indexed 0, 1, ..., n-1 by a ``RangeIndex`` (a frame the toolkit built)."""
    index = data.index
    return isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1


_BOOLEAN_WORDS = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}


def cast_column(column: pd.Series, dtype: object, name: str = "column") -> pd.Series:
    """``column`` (its index kept) in ``dtype``, read as :func:`conform` reads text: ``"true"``,
    ``"yes"`` or ``"1"`` as a boolean, ISO 8601 as a UTC moment; ``ValueError`` naming the
    column and a value that does not read."""
    return column if column.dtype == dtype else _cast(column, dtype, name)


def _cast(column: pd.Series, dtype: object, name: str = "column") -> pd.Series:
    if isinstance(dtype, pd.BooleanDtype) and not pd.api.types.is_bool_dtype(column.dtype) and (
            pd.api.types.is_object_dtype(column.dtype) or pd.api.types.is_string_dtype(column.dtype)):
        words = column.map(lambda value: _BOOLEAN_WORDS.get(value.strip().lower(), value)
                           if isinstance(value, str) else value)
        return _checked_cast(words.astype("object"), dtype, name)
    if isinstance(dtype, pd.DatetimeTZDtype):
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            return column.dt.tz_convert("UTC").astype(dtype)
        return pd.to_datetime(column, utc=True, errors="coerce", format="ISO8601").astype(dtype)
    if isinstance(dtype, pd.CategoricalDtype):
        values = column.astype("object")
        if not values.isin(dtype.categories).all():
            # "Briq" and " WASSIST" are the providers they name, as everywhere in the toolkit
            # (an export of one's own, typed by hand, would otherwise lose every provider).
            values = values.map(provider_name)
        known = values.isin(dtype.categories)
        return values.where(known).astype(dtype)
    return _checked_cast(column, dtype, name)


def _checked_cast(column: pd.Series, dtype: object, name: str) -> pd.Series:
    """``column.astype(dtype)``, or a ``ValueError`` naming the column and a value it cannot take."""
    try:
        return column.astype(dtype)
    except (TypeError, ValueError, ArithmeticError, pa.ArrowException):
        pass
    for value in column.dropna():
        try:
            pd.Series([value], dtype=object).astype(dtype)
        except (TypeError, ValueError, ArithmeticError, pa.ArrowException):
            raise ValueError(f"column {name!r} holds {value!r}, which does not read as {dtype}") from None
    raise ValueError(f"column {name!r} does not read as {dtype}")
