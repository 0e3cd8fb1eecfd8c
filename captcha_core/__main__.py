"""Entry point for `python -m captcha_core`."""
import sys

from .cli import main

sys.exit(main())
