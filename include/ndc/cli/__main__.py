"""``python -m ndc.cli``: the ``ndc`` command (the end-to-end tests run it so)."""

from ndc.cli import main

main()
