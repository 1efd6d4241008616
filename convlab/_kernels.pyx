# cython: language_level=3
"""The two Cython kernels of convlab's data path: im2col (unfold) and col2im (fold).

Both work on 3-d spatial volumes; 1-d and 2-d callers pass unit dimensions
(``(N, C, 1, 1, L)``, ``(N, C, 1, H, W)``). The Python wrappers in
``convlab.ops`` own validation, dtype, contiguity and allocation: these
functions trust their arguments (bounds checking is compiled out unless
``CONVLAB_DEBUG_BUILD=1``) and only read and write the buffers they are given.

Index convention, per spatial axis with kernel tap ``t``, block (output)
index ``o``, stride ``s``, padding ``p`` and dilation ``d``::

    input index  i = o * s - p + t * d        (zero / skipped when outside)

Column layout: ``cols[n, (c, td, th, tw), (od, oh, ow)]``, row-major in both
groupings, exactly as ``torch.nn.functional.unfold`` lays out its output.
"""
from cython cimport floating
from cython.parallel cimport prange


def im2col(const floating[:, :, :, :, ::1] x, floating[:, :, ::1] cols,
           tuple kernel, tuple stride, tuple padding, tuple dilation,
           tuple blocks, int num_threads=1):
    """Gather sliding blocks into columns (zero padding implied).

    NumPy equivalent: ``cols[n, r, l] = xpad[n, c, o*s + t*d]`` for every
    row ``r = (c, t)`` and block ``l = o`` (the ``unfold`` of torch).

    x      : (N, C, D, H, W) contiguous input, unpadded.
    cols   : (N, C*kd*kh*kw, bd*bh*bw) output, fully overwritten.
    blocks : (bd, bh, bw), number of blocks per axis.
    """
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1]
    cdef Py_ssize_t D = x.shape[2], H = x.shape[3], W = x.shape[4]
    cdef Py_ssize_t kd = kernel[0], kh = kernel[1], kw = kernel[2]
    cdef Py_ssize_t sd = stride[0], sh = stride[1], sw = stride[2]
    cdef Py_ssize_t pd = padding[0], ph = padding[1], pw = padding[2]
    cdef Py_ssize_t dd = dilation[0], dh = dilation[1], dw = dilation[2]
    cdef Py_ssize_t bd = blocks[0], bh = blocks[1], bw = blocks[2]
    cdef Py_ssize_t K = kd * kh * kw
    cdef Py_ssize_t R = C * K
    cdef Py_ssize_t total = N * R
    cdef Py_ssize_t t, n, r, c, k, ti, tj, tl, a, b, e, zi, yi, xi, col
    cdef Py_ssize_t e_lo, e_hi
    if total == 0:
        return
    with nogil:
        for t in prange(total, schedule="static", num_threads=num_threads):
            n = t // R
            r = t - n * R
            c = r // K
            k = r - c * K
            ti = k // (kh * kw)
            tj = (k // kw) % kh
            tl = k % kw
            # Range of block columns e whose input column xi = e*sw - pw + tl*dw
            # lies inside [0, W): e_lo <= e < e_hi.
            e_lo = 0
            xi = pw - tl * dw                 # need e*sw >= xi
            if xi > 0:
                e_lo = (xi + sw - 1) // sw
            xi = W + pw - tl * dw             # need e*sw < xi
            if xi <= 0:
                e_hi = 0
            else:
                e_hi = (xi + sw - 1) // sw
            if e_hi > bw:
                e_hi = bw
            if e_lo > e_hi:
                e_lo = e_hi
            col = 0
            for a in range(bd):
                zi = a * sd - pd + ti * dd
                for b in range(bh):
                    yi = b * sh - ph + tj * dh
                    if zi < 0 or zi >= D or yi < 0 or yi >= H:
                        for e in range(bw):
                            cols[n, r, col + e] = 0
                    else:
                        for e in range(e_lo):
                            cols[n, r, col + e] = 0
                        for e in range(e_lo, e_hi):
                            cols[n, r, col + e] = x[n, c, zi, yi, e * sw - pw + tl * dw]
                        for e in range(e_hi, bw):
                            cols[n, r, col + e] = 0
                    col = col + bw


def col2im(const floating[:, :, ::1] cols, floating[:, :, :, :, ::1] out,
           tuple kernel, tuple stride, tuple padding, tuple dilation,
           tuple blocks, int num_threads=1):
    """Scatter-add columns back into a volume (the adjoint of im2col).

    NumPy equivalent: ``np.add.at(out, (n, c, o*s - p + t*d), cols[n, r, l])``
    for every in-range target; overlapping blocks are summed.

    cols   : (N, C*kd*kh*kw, bd*bh*bw)
    out    : (N, C, D, H, W), accumulated into (the caller zeroes it).
    """
    cdef Py_ssize_t N = out.shape[0], C = out.shape[1]
    cdef Py_ssize_t D = out.shape[2], H = out.shape[3], W = out.shape[4]
    cdef Py_ssize_t kd = kernel[0], kh = kernel[1], kw = kernel[2]
    cdef Py_ssize_t sd = stride[0], sh = stride[1], sw = stride[2]
    cdef Py_ssize_t pd = padding[0], ph = padding[1], pw = padding[2]
    cdef Py_ssize_t dd = dilation[0], dh = dilation[1], dw = dilation[2]
    cdef Py_ssize_t bd = blocks[0], bh = blocks[1], bw = blocks[2]
    cdef Py_ssize_t K = kd * kh * kw
    cdef Py_ssize_t total = N * C
    cdef Py_ssize_t t, n, r, c, k, ti, tj, tl, a, b, e, zi, yi, xi, col
    cdef Py_ssize_t e_lo, e_hi
    if total == 0:
        return
    with nogil:
        # One (sample, channel) plane per iteration: no two threads write the
        # same output element, so the sums need no atomics.
        for t in prange(total, schedule="static", num_threads=num_threads):
            n = t // C
            c = t - n * C
            for k in range(K):
                r = c * K + k
                ti = k // (kh * kw)
                tj = (k // kw) % kh
                tl = k % kw
                e_lo = 0
                xi = pw - tl * dw
                if xi > 0:
                    e_lo = (xi + sw - 1) // sw
                xi = W + pw - tl * dw
                if xi <= 0:
                    e_hi = 0
                else:
                    e_hi = (xi + sw - 1) // sw
                if e_hi > bw:
                    e_hi = bw
                if e_lo > e_hi:
                    e_lo = e_hi
                col = 0
                for a in range(bd):
                    zi = a * sd - pd + ti * dd
                    for b in range(bh):
                        yi = b * sh - ph + tj * dh
                        if zi >= 0 and zi < D and yi >= 0 and yi < H:
                            for e in range(e_lo, e_hi):
                                out[n, c, zi, yi, e * sw - pw + tl * dw] += cols[n, r, col + e]
                        col = col + bw
