"""``python -m greenscreen`` runs the command line."""

from greenscreen.cli import main

main(prog_name="greenscreen")
