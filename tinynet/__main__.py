"""python -m tinynet: the tinynet command."""
import sys

from tinynet.cli import main

sys.exit(main())
