"""``python -m toolkit``: the same as ``wa-toolkit``."""

import sys

from .cli import main

sys.exit(main())
