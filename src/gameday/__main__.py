"""`python -m gameday` runs the CLI."""

from gameday.cli import main

main()
