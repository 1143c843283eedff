"""TorchScript helpers called by generated graph modules. Tensors are in TF's NHWC layout.

Convolutions and pools view NHWC as NCHW with a permute (no copy: the permuted tensor is
channels-last, which torch's kernels handle natively) and apply TF's padding rules, which may be
asymmetric ('SAME' puts the extra row/column at the bottom/right). Pads are [top, bottom, left,
right], computed at conversion time from the static spatial sizes.
"""
from typing import List, Optional

import torch
import torch.nn.functional as F


def _nchw(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 3, 1, 2)


def _nhwc(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1)


def conv2d_nhwc(x: torch.Tensor, w: torch.Tensor, b: Optional[torch.Tensor], stride: List[int],
                pads: List[int], dilation: List[int], groups: int) -> torch.Tensor:
    """TF Conv2D/DepthwiseConv2dNative; w is already OIHW (grouped for depthwise)."""
    y = _nchw(x)
    padding = [0, 0]
    if pads[0] == pads[1] and pads[2] == pads[3]:
        padding = [pads[0], pads[2]]  # symmetric: let the conv kernel pad
    else:
        y = F.pad(y, [pads[2], pads[3], pads[0], pads[1]])
    return _nhwc(F.conv2d(y, w, b, stride, padding, dilation, groups))


def conv2d_transpose_nhwc(x: torch.Tensor, w: torch.Tensor, stride: List[int], pads: List[int],
                          out_hw: List[int]) -> torch.Tensor:
    """TF Conv2DBackpropInput: the full transposed conv, cropped to the forward conv's padding."""
    y = F.conv_transpose2d(_nchw(x), w, None, stride)
    y = y[:, :, pads[0]:pads[0] + out_hw[0], pads[2]:pads[2] + out_hw[1]]
    return _nhwc(y)


def max_pool_nhwc(x: torch.Tensor, k: List[int], stride: List[int], pads: List[int]) -> torch.Tensor:
    y = _nchw(x)
    if pads[0] + pads[1] + pads[2] + pads[3] > 0:
        y = F.pad(y, [pads[2], pads[3], pads[0], pads[1]], value=float('-inf'))
    return _nhwc(F.max_pool2d(y, k, stride))


def avg_pool_nhwc(x: torch.Tensor, k: List[int], stride: List[int], pads: List[int]) -> torch.Tensor:
    """TF AvgPool: padded cells are not counted in the average."""
    y = _nchw(x)
    if pads[0] + pads[1] + pads[2] + pads[3] == 0:
        return _nhwc(F.avg_pool2d(y, k, stride))
    p = [pads[2], pads[3], pads[0], pads[1]]
    ones = torch.ones([1, 1, y.size(2), y.size(3)], dtype=y.dtype, device=y.device)
    total = F.avg_pool2d(F.pad(y, p), k, stride)
    share = F.avg_pool2d(F.pad(ones, p), k, stride)  # fraction of real cells in each window
    return _nhwc(total / share)


def _source_coords(out_size: int, in_size: int, align_corners: bool, half_pixel: bool,
                   like: torch.Tensor):
    """TF.js's resize coordinate rule -> (lower index, upper index, fraction) along one axis.

    Computed in float64 like JS does, so the fractions match TF.js to the last float32 bit.
    """
    dst = torch.arange(out_size, dtype=torch.float64, device=like.device)
    if align_corners and out_size > 1:
        scale = (in_size - 1) / (out_size - 1)
    else:
        scale = in_size / out_size
    src = (dst + 0.5) * scale - 0.5 if half_pixel else dst * scale
    lower = torch.floor(src).clamp(min=0.0)
    upper = torch.ceil(src).clamp(max=float(in_size - 1))
    frac = (src - lower).to(like.dtype)
    return lower.to(torch.long), upper.to(torch.long), frac


def resize_bilinear_nhwc(x: torch.Tensor, size: List[int], align_corners: bool,
                         half_pixel: bool) -> torch.Tensor:
    """TF ResizeBilinear (all three coordinate conventions), written with gathers and lerps."""
    h_in, w_in = x.size(1), x.size(2)
    y0, y1, fy = _source_coords(size[0], h_in, align_corners, half_pixel, x)
    x0, x1, fx = _source_coords(size[1], w_in, align_corners, half_pixel, x)
    # Advanced indexing, not index_select: on CPU index_select along a non-leading dimension
    # copies slice by slice and is ~15x slower (a quarter of selfie's time).
    top = x[:, y0]
    bottom = x[:, y1]
    fy = fy.view(1, -1, 1, 1)
    rows = top + (bottom - top) * fy
    left = rows[:, :, x0]
    right = rows[:, :, x1]
    return left + (right - left) * fx.view(1, 1, -1, 1)


def mirror_pad(x: torch.Tensor, pads: List[int], symmetric: bool) -> torch.Tensor:
    """TF MirrorPad; pads = [before0, after0, before1, after1, ...] for every dimension."""
    skip = 0 if symmetric else 1
    for d in range(x.dim()):
        before, after = pads[2 * d], pads[2 * d + 1]
        parts: List[torch.Tensor] = []
        if before > 0:
            parts.append(x.narrow(d, skip, before).flip([d]))
        parts.append(x)
        if after > 0:
            parts.append(x.narrow(d, x.size(d) - after - skip, after).flip([d]))
        if len(parts) > 1:
            x = torch.cat(parts, d)
    return x


def prelu(x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    return torch.where(x < 0, x * alpha, x)


def prelu_nhwc(x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """PReLU with alpha per channel (last dimension) or scalar, broadcast as TF would.

    For 4-D inputs F.prelu on the channels-last view is one pass, ~10x faster than torch.where."""
    if x.dim() == 4 and alpha.dim() <= 4 and (alpha.numel() == 1 or alpha.numel() == x.size(3)):
        return F.prelu(x.permute(0, 3, 1, 2), alpha.reshape(-1)).permute(0, 2, 3, 1)
    return torch.where(x < 0, x * alpha, x)


def leaky_relu(x: torch.Tensor, alpha: float) -> torch.Tensor:
    return torch.where(x < 0, x * alpha, x)


def relu6(x: torch.Tensor) -> torch.Tensor:
    return torch.clamp(x, 0.0, 6.0)
