"""``python -m bench.commands``: the ``cinderbench`` command."""

import sys

from bench.commands import main

sys.exit(main())
