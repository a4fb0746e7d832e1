"""Jupyter/pandas analytics for WhatsApp conversation backlogs on Wassist and Briq.

>>> import toolkit as tk
>>> df = tk.load_conversations()        # doctest: +SKIP
>>> tk.unread_summary(df)               # doctest: +SKIP
"""

from __future__ import annotations

from ._errors import (
    ApiError,
    AuthenticationError,
    DataQualityWarning,
    PaginationError,
    ResponseFormatError,
    ToolkitError,
)
from ._http import RateLimit, RetryPolicy
from ._schema import SCHEMA, conform, empty_frame
from .providers import load_briq, load_conversations, load_wassist

__version__ = "0.1.0"

__all__ = [
    "load_wassist",
    "load_briq",
    "load_conversations",
    "SCHEMA",
    "conform",
    "empty_frame",
    "RetryPolicy",
    "RateLimit",
    "ToolkitError",
    "ApiError",
    "AuthenticationError",
    "ResponseFormatError",
    "PaginationError",
    "DataQualityWarning",
]
