"""Stand-in for huggingface_hub.utils: its error classes and functions that refuse to run."""


def _unavailable(name):
    raise RuntimeError(f"huggingface_hub.{name}: not available (offline stand-in; load models from a local folder)")


class HfHubHTTPError(Exception):
    pass


class EntryNotFoundError(HfHubHTTPError):
    pass


class LocalEntryNotFoundError(EntryNotFoundError, FileNotFoundError, ValueError):
    pass


class RepositoryNotFoundError(HfHubHTTPError):
    pass


class GatedRepoError(RepositoryNotFoundError):
    pass


class RevisionNotFoundError(HfHubHTTPError):
    pass


class HFValidationError(ValueError):
    pass


class OfflineModeIsEnabled(ConnectionError):
    pass


_progress_bars = False


def are_progress_bars_disabled(name=None):
    return not _progress_bars


def enable_progress_bars(name=None):
    global _progress_bars
    _progress_bars = True


def disable_progress_bars(name=None):
    global _progress_bars
    _progress_bars = False


def _refusing_function(name):
    """A module's __getattr__: any other public name is a function that refuses to run."""
    if name.startswith("__"):
        raise AttributeError(name)

    def missing(*args, **kwargs):
        _unavailable(name)

    missing.__name__ = name
    return missing


__getattr__ = _refusing_function
