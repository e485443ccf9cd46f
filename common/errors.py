"""The error both stages raise for bad data, so that callers catch one kind."""


class DataError(ValueError):
    """A dataset file or folder that is missing, unreadable or inconsistent; the message names it."""


class DataFileMissing(DataError, FileNotFoundError):
    """A data file that does not exist (a DataError, and a FileNotFoundError for callers that ask)."""
