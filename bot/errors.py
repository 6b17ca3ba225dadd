"""Errors shared by the command-line entry points."""


class CliError(Exception):
    """A problem the user can fix; printed without a traceback."""
