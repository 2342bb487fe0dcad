"""``python -m cinderbench``: the ``cinderbench`` command."""

import sys

from cinderbench import main

sys.exit(main())
