"""The `hermes` command: argparse entry (main) and one module per subcommand."""
