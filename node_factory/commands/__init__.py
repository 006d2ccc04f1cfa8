"""The subcommands of `python -m node_factory`: each module has HELP, `add_arguments(parser)` and `run(args)`."""
