"""``python -m jwtgate``: the same as the ``jwtgate`` command."""

import sys

from .cli import main

sys.exit(main())
