"""`python -m gameday` runs the CLI."""

from gameday.adapters.cli import main

main()
