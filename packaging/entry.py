"""The frozen app's entry point: the same front door as ``artifacts-studio`` / ``python -m studio``."""

import sys

from studio.cli import main

if __name__ == "__main__":
    sys.exit(main())
