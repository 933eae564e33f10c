import torch

from . import read_arrays


def load_file(filename, device="cpu"):
    """{name: tensor}; each tensor is a view of a private (copy-on-write) memory map of the file."""
    if str(device) != "cpu":
        raise ValueError("this reader loads to the CPU only")
    return {name: torch.from_numpy(array) for name, array in read_arrays(filename).items()}


def save_file(*args, **kwargs):
    raise RuntimeError("safetensors stand-in: writing is not supported")


def _storage(tensor):
    return tensor.untyped_storage() if hasattr(tensor, "untyped_storage") else tensor.storage()


def storage_ptr(tensor):
    """Address of the tensor's storage (transformers uses it to find tensors sharing memory)."""
    try:
        return _storage(tensor).data_ptr()
    except NotImplementedError:
        return 0


def storage_size(tensor):
    """Bytes of the tensor's storage."""
    storage = _storage(tensor)
    return storage.nbytes() if hasattr(storage, "nbytes") else storage.size() * tensor.element_size()
