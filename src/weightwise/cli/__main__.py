"""``python -m weightwise.cli``: the same as the ``weightwise`` command."""

from . import main

main()
