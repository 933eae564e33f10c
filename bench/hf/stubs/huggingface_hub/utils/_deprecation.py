def _deprecate_method(*, version, message=None):
    def decorator(f):
        return f

    return decorator
