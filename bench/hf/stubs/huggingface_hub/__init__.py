"""Stand-in for huggingface_hub: the names transformers imports, none of them usable (no hub here)."""

from . import constants
from .utils import _refusing_function, _unavailable

_CACHED_NO_EXIST = object()


class CommitOperationAdd:
    def __init__(self, *args, **kwargs):
        _unavailable("CommitOperationAdd")


class ModelCard:
    def __init__(self, *args, **kwargs):
        _unavailable("ModelCard")


class ModelCardData:
    def __init__(self, *args, **kwargs):
        _unavailable("ModelCardData")


def try_to_load_from_cache(*args, **kwargs):
    """Nothing is cached: transformers then looks for the file where it was told (a local folder)."""
    return None


__getattr__ = _refusing_function
