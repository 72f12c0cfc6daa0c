"""Exception hierarchy of AnimeCeleb Studio.

Every error a user can cause (bad image, bad pose, wrong checkpoint) is one of these, with a message that says what
was expected. The CLI turns them into a one-line message and exit code 2; the app turns them into ``gr.Error``.
"""


class AnimeCelebError(Exception):
    """Base class of every error raised on purpose by this package."""


class InputError(AnimeCelebError, ValueError):
    """Bad user input: an image, video, pose or file that cannot be used as given."""


class CheckpointError(AnimeCelebError, ValueError):
    """A checkpoint or model folder that is unreadable, of the wrong kind, or does not fit the architecture."""
