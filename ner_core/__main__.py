"""Entry point for ``python -m ner_core``."""

import sys

from ner_core.cli import main

sys.exit(main())
