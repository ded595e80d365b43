"""The one exception family the CLI turns into a single clear line and a non-zero exit."""


class BrightspotsError(Exception):
    """A problem the user can fix: bad input, a missing workspace, a wrong option."""
