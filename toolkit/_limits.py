"""Limits the providers document for query values, and the toolkit's own defaults that
several modules state; importable without pandas.

The command line's help states them, and ``wa-toolkit --help`` should not wait for pandas
to load to print a line of text.
"""

from __future__ import annotations

#: Briq's ``recipient``: an exact number of this many characters (a leading ``+`` counted).
RECIPIENT_LENGTH = (4, 20)
#: Briq's ``search``: at most this many characters.
SEARCH_MAX_LENGTH = 64

#: How far ahead the at-risk list looks by default: unread threads whose window closes
#: within this (``metrics.at_risk``, the report, the workbook, ``watch``, ``--within``).
AT_RISK_WITHIN = "2h"

#: Days of simulated customers and agents behind the inbox the sandbox serves
#: (``wa-toolkit sandbox``, ``watch --sandbox``, the notebooks; ``toolkit.demo.simulated_sandbox``).
SANDBOX_DAYS = 3
