"""The two einops.rearrange patterns Florence-2's DaViT uses, as plain reshapes."""


def rearrange(x, pattern, **sizes):
    pattern = " ".join(pattern.split())
    if pattern == "b (h w) c -> b c h w":
        b, _, c = x.shape
        return x.transpose(1, 2).reshape(b, c, sizes["h"], sizes["w"])
    if pattern == "b c h w -> b (h w) c":
        b, c, h, w = x.shape
        return x.reshape(b, c, h * w).transpose(1, 2)
    raise NotImplementedError(f"einops stand-in: pattern {pattern!r}")
