"""`python -m findcode` runs the command line."""

import sys

from findcode.cli import main

sys.exit(main())
