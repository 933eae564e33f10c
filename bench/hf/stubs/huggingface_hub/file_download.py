import re

from .utils import _unavailable

REGEX_COMMIT_HASH = re.compile(r"^[0-9a-f]{40}$")


def http_get(*args, **kwargs):
    _unavailable("http_get")
