"""Limits the providers document for query values, importable without pandas.

The command line's help states them, and ``wa-toolkit --help`` should not wait for pandas
to load to print a line of text.
"""

from __future__ import annotations

#: Briq's ``recipient``: an exact number of this many characters (a leading ``+`` counted).
RECIPIENT_LENGTH = (4, 20)
#: Briq's ``search``: at most this many characters.
SEARCH_MAX_LENGTH = 64
