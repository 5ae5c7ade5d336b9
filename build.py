#!/usr/bin/env python3
"""Build the Mend guide.  Run ``python build.py --help`` for the commands."""

import sys

from mend.cli import main

if __name__ == "__main__":
    sys.exit(main())
