"""``python -m studio``: the same front door as the ``artifacts-studio`` command."""

import sys

from studio.cli import main

sys.exit(main())
