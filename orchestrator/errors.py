"""The one exception type a user can cause: the CLI prints its message as one sentence and exits 1."""


class ResyncError(Exception):
    """A problem with the user's input or environment, explained in one sentence."""
