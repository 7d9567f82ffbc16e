"""`python -m engine.cli`: the same as the `maestro` command."""
import sys

from .main import main

sys.exit(main())
