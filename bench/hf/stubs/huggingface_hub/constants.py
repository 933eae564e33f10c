"""The constants transformers reads from huggingface_hub (offline values)."""

import os

HF_HOME = os.path.expanduser(os.environ.get("HF_HOME", "~/.cache/huggingface"))
HF_HUB_CACHE = os.path.join(HF_HOME, "hub")
HUGGINGFACE_HUB_CACHE = HF_HUB_CACHE
default_cache_path = HF_HUB_CACHE
HF_HUB_OFFLINE = True
HF_HUB_DISABLE_TELEMETRY = True
HF_HUB_ENABLE_HF_TRANSFER = False
ENDPOINT = "https://huggingface.co"
HUGGINGFACE_CO_URL_TEMPLATE = ENDPOINT + "/{repo_id}/resolve/{revision}/{filename}"
HUGGINGFACE_HEADER_X_REPO_COMMIT = "X-Repo-Commit"
HUGGINGFACE_HEADER_X_LINKED_ETAG = "X-Linked-Etag"
HUGGINGFACE_HEADER_X_LINKED_SIZE = "X-Linked-Size"
REPO_TYPES = [None, "model", "dataset", "space"]
REPO_TYPES_URL_PREFIXES = {"dataset": "datasets/", "space": "spaces/"}
DEFAULT_REVISION = "main"
