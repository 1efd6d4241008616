# cython: language_level=3
"""The Cython kernels of convlab's data path.

* ``im2col`` / ``col2im``: gather sliding blocks into columns, and scatter-add
  them back (the adjoint). Used by Unfold/Fold and the gradients.
* ``pad_volume``: ``F.pad`` (all four modes) in one pass over the output.
* ``conv_gemm``: a forward convolution that fuses im2col and the GEMM per tile:
  each thread gathers the columns of a few output rows into its own small
  workspace (sized for L2) and multiplies it with single-threaded BLAS
  (``sgemm``/``dgemm`` from ``scipy.linalg.cython_blas``); the whole-batch
  column matrix never exists.
* ``conv_transpose_gemm``: GEMM into a per-thread workspace, then col2im into
  the output plane (never zero insertion).
  Both GEMM kernels put several samples side by side in one GEMM when an
  output (or input) is too small to fill one.
* ``conv_depthwise``: depthwise layers (groups == C_in). Each input channel is
  padded once into a per-thread buffer; then, with row stride 1, every output
  row of a slice is one long run per tap (no per-row overhead).
* ``conv_depthwise_cl``: depthwise layers on tiny planes (MobileNet's 7x7), strided
  layers, and 5/7-wide kernel rows: blocks of channels moved to channels-last order,
  channels as the SIMD lanes; 3/5/7-wide rows a whole output row at a time (cl_dwrow).
* ``conv_winograd``: 3x3 and 3x3x3 stride-1 layers (ResNet's, C3D's) by Winograd's F(2x2, 3x3) or
  F(4x4, 3x3): a 2x2 (4x4) block of outputs costs 16 (36) multiplications per
  channel pair instead of 36 (144), as 16 (36) GEMMs over transformed inputs and
  weights (``winograd_weights``).
* ``conv_blocked``: float32 1-d/2-d/3-d layers (groups 1, zero padding) directly on blocks of 16 channels (a 3-d
  input's planes stacked as one column of rows, the kernel planes summed as the kernel rows):
  input and weights transposed so that 16 output channels' weights are one vector, a register block of
  32 output channels x up to 14 cells of a row, or of two rows x up to 7 (AVX-512; 16 x 6 below; a row in
  the fewest runs, as even as they go) summed over every input channel and every tap where the run reads the
  input (its edge cells read zero columns); no column matrix, no BLAS.
* ``conv_transpose_blocked``: float32 transposed 1-d/2-d layers (groups 1, dilation 1, kernel >= stride) as
  their output phases (``transpose_phases``), each a stride-1 convolution on conv_blocked's micro-kernel over
  one shared blocked input, stored into every stride-th output cell; no columns, no col2im.
* ``conv_direct``: plain loops for tiny problems, where a GEMM would be mostly
  overhead. The innermost loop runs along contiguous memory.

The hot inner loops live in ``_simd_loops.h``, compiled for the baseline, for
x86-64-v3 (AVX2 + FMA) and for x86-64-v4 (AVX-512); ``_simd.h`` picks the best
level the CPU runs at import (``CONVLAB_SIMD=baseline|x86-64-v3|x86-64-v4``
or ``set_simd_level`` force another); ``simd_path()`` says which runs.

All kernels work on 3-d volumes; 1-d and 2-d callers pass unit dimensions
(``(N, C, 1, 1, L)``, ``(N, C, 1, H, W)``). Padding modes (zeros, reflect,
replicate, circular) are applied while gathering, so no padded copy of the
input is made (``conv_depthwise`` pads one plane at a time into its workspace).

The Python wrappers in ``convlab.ops`` own validation, dtype, contiguity and
allocation: these functions trust their arguments (bounds checking is compiled
out unless ``CONVLAB_DEBUG_BUILD=1``).

Map of this file (shared declarations -- ``Geom``, the padding modes, the BLAS types -- are in
``_kernels.pxd``): 0. geometry helpers and SIMD wrappers; 1. gather / scatter (``im2col``,
``col2im``, ``pad_volume``); 2. GEMM (the BLAS call, ``conv_gemm``, ``conv_weight_gemm``); 3. transposed
(``conv_transpose_gemm``); 4. depthwise (``conv_depthwise``, ``conv_depthwise_cl``);
5. Winograd (``winograd_weights``, ``conv_winograd``); 6. direct (``conv_blocked``, ``conv_transpose_blocked``,
``conv_direct``, and the
lean entries of tiny calls: ``DirectPlan``, ``DirectTransposePlan``).

Per spatial axis, block (output) index ``o``, tap ``t``::

    input index  i = o * stride - padding + t * dilation
"""
from cython cimport floating
from cython.parallel cimport parallel, prange, threadid
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset
from scipy.linalg.cython_blas cimport dgemm, sgemm

cimport numpy as cnp
import numpy as np

cnp.import_array()

cdef inline Py_ssize_t _src(Py_ssize_t i, Py_ssize_t size, int mode) noexcept nogil:
    """The input cell read at index ``i`` (maybe outside), or -1 for a zero."""
    if 0 <= i < size:
        return i
    if mode == ZEROS:
        return -1
    if mode == REFLECT:                 # reflect: mirror about the edge cell (pad < size)
        return -i if i < 0 else 2 * (size - 1) - i
    if mode == REPLICATE:               # replicate: the edge cell
        return 0 if i < 0 else size - 1
    i = i % size                        # circular
    return i + size if i < 0 else i


cdef inline Py_ssize_t _hi(Py_ssize_t t, Py_ssize_t size, Py_ssize_t p, Py_ssize_t d, Py_ssize_t s,
                           Py_ssize_t blocks) noexcept nogil:
    """First block o whose input index o*s - p + t*d is >= size (clipped to blocks)."""
    cdef Py_ssize_t b = size + p - t * d, hi
    hi = 0 if b <= 0 else (b + s - 1) // s
    return hi if hi < blocks else blocks


cdef inline Py_ssize_t _lo(Py_ssize_t t, Py_ssize_t size, Py_ssize_t p, Py_ssize_t d, Py_ssize_t s,
                           Py_ssize_t blocks) noexcept nogil:
    """First block o whose input index is >= 0, never past _hi: [lo, hi) are the blocks reading real cells."""
    cdef Py_ssize_t a = p - t * d, lo = 0, hi = _hi(t, size, p, d, s, blocks)
    if a > 0:
        lo = (a + s - 1) // s
    return lo if lo < hi else hi


cdef inline Py_ssize_t _col_hi(Py_ssize_t tl, const Geom* g) noexcept nogil:
    """First block e whose input column e*sw - pw + tl*dw is >= W (clipped to bw)."""
    cdef Py_ssize_t b = g.W + g.pw - tl * g.dw, hi
    hi = 0 if b <= 0 else (b + g.sw - 1) // g.sw
    return hi if hi < g.bw else g.bw


cdef inline Py_ssize_t _col_lo(Py_ssize_t tl, const Geom* g) noexcept nogil:
    """First block e whose input column is >= 0, but never past _col_hi: [lo, hi) are the in-range blocks.

    (Returned by value, not through pointers, so that prange makes the results thread-private.)
    """
    cdef Py_ssize_t a = g.pw - tl * g.dw, lo = 0, hi = _col_hi(tl, g)
    if a > 0:
        lo = (a + g.sw - 1) // g.sw
    return lo if lo < hi else hi

cdef Geom _geom(tuple size, tuple kernel, tuple stride, tuple padding, tuple dilation, tuple blocks, int mode):
    cdef Geom g
    g.D, g.H, g.W = size
    g.kd, g.kh, g.kw = kernel
    g.sd, g.sh, g.sw = stride
    g.pd, g.ph, g.pw = padding
    g.dd, g.dh, g.dw = dilation
    g.bd, g.bh, g.bw = blocks
    g.mode = mode
    cdef Py_ssize_t tl
    for tl in range(min(g.kw, 16)):
        g.clo[tl] = _col_lo(tl, &g)
        g.chi[tl] = _col_hi(tl, &g)
    return g


cdef extern from "_simd.h" nogil:
    # the dispatch table's levels (0 baseline, 1 x86-64-v3, 2 x86-64-v4): how many this build has, their
    # names, whether this CPU runs one, the active one, make one active (0 if the CPU cannot), the best
    int cl_simd_count() noexcept
    const char* cl_simd_name(int level) noexcept
    int cl_simd_supported(int level) noexcept
    int cl_simd_get() noexcept
    int cl_simd_set(int level) noexcept
    int cl_simd_init() noexcept
    Py_ssize_t cl_gemm_small_chunk_get() noexcept
    void cl_gemm_small_chunk_set(Py_ssize_t nbytes) noexcept
    Py_ssize_t cl_gemm_small_l1_get() noexcept
    void cl_gemm_small_l1_set(Py_ssize_t nbytes) noexcept
    int cl_gemm_small_rows8_get() noexcept
    void cl_gemm_small_rows8_set(int on) noexcept
    # a cache hint for the lines of [p, p + nbytes), at most max_lines of them
    void cl_prefetch(const void* p, Py_ssize_t nbytes, Py_ssize_t max_lines) noexcept
    # the loops below go through the active level's table
    # dst[e] += a * src[e * step]
    void cl_axpy_f(float* dst, float a, const float* src, Py_ssize_t n, Py_ssize_t step) noexcept
    void cl_axpy_d(double* dst, double a, const double* src, Py_ssize_t n, Py_ssize_t step) noexcept
    void cl_axpy3_f(float* dst, float w0, float w1, float w2, const float* src, Py_ssize_t dw, Py_ssize_t n) noexcept
    void cl_axpy3_d(double* dst, double w0, double w1, double w2, const double* src, Py_ssize_t dw,
                    Py_ssize_t n) noexcept
    double cl_fma_probe(double a, double b, double c) noexcept
    # dst[e * step] += src[e]
    void cl_add_f(float* dst, const float* src, Py_ssize_t n, Py_ssize_t step) noexcept
    void cl_add_d(double* dst, const double* src, Py_ssize_t n, Py_ssize_t step) noexcept
    # dst[e] = src[e * step]
    void cl_copy_f(float* dst, const float* src, Py_ssize_t n, Py_ssize_t step) noexcept
    void cl_copy_d(double* dst, const double* src, Py_ssize_t n, Py_ssize_t step) noexcept
    # dst[t * ld + e] = src[off[t] + e], e < n, t < kw (im2col's taps of a row from its phase copies)
    void cl_taps_f(float* dst, Py_ssize_t ld, const float* src, const Py_ssize_t* off, Py_ssize_t kw,
                   Py_ssize_t n) noexcept
    void cl_taps_d(double* dst, Py_ssize_t ld, const double* src, const Py_ssize_t* off, Py_ssize_t kw,
                   Py_ssize_t n) noexcept
    # out[c] = init[c] (or 0 if NULL) + sum_k w[k * ldw + c] * src[k][c]: channels as vector lanes
    void cl_dwdot_f(float* out, const float* init, const float* w, Py_ssize_t ldw, const float** src,
                    Py_ssize_t K, Py_ssize_t n) noexcept
    void cl_dwdot_d(double* out, const double* init, const double* w, Py_ssize_t ldw, const double** src,
                    Py_ssize_t K, Py_ssize_t n) noexcept
    # the same for two positions: out[c] from src[k], out[ldo + c] from src[k] + ps
    void cl_dwdot2_f(float* out, Py_ssize_t ldo, const float* init, const float* w, Py_ssize_t ldw, const float** src,
                     Py_ssize_t ps, Py_ssize_t K, Py_ssize_t n) noexcept
    void cl_dwdot2_d(double* out, Py_ssize_t ldo, const double* init, const double* w, Py_ssize_t ldw,
                     const double** src, Py_ssize_t ps, Py_ssize_t K, Py_ssize_t n) noexcept
    # one output row, 7 positions per pass, kernel rows KW = 3/5/7 wide at column stride S = 1/2 (0: not handled):
    # out[e * ldo + c] = init[c] + sum_{r, t} w[(r KW + t) ldw + c] * base[rowoff[r] + (e S + t) ps + c], e < bw
    int cl_dwrow_f(float* out, Py_ssize_t ldo, const float* init, const float* w, Py_ssize_t ldw, const float* base,
                   Py_ssize_t ps, const Py_ssize_t* rowoff, Py_ssize_t KR, Py_ssize_t KW, Py_ssize_t S, Py_ssize_t bw,
                   Py_ssize_t n, Py_ssize_t nrows, Py_ssize_t in_rstep) noexcept
    int cl_dwrow_d(double* out, Py_ssize_t ldo, const double* init, const double* w, Py_ssize_t ldw,
                   const double* base, Py_ssize_t ps, const Py_ssize_t* rowoff, Py_ssize_t KR, Py_ssize_t KW,
                   Py_ssize_t S, Py_ssize_t bw, Py_ssize_t n, Py_ssize_t nrows, Py_ssize_t in_rstep) noexcept
    # dst[j * ldd + i] = src[i * lds + j], i < rows, j < cols
    void cl_transpose_f(float* dst, Py_ssize_t ldd, const float* src, Py_ssize_t lds, Py_ssize_t rows,
                        Py_ssize_t cols) noexcept
    void cl_transpose_d(double* dst, Py_ssize_t ldd, const double* src, Py_ssize_t lds, Py_ssize_t rows,
                        Py_ssize_t cols) noexcept
    # Winograd F(2x2, 3x3) / F(4x4, 3x3) input and output transforms, rows split into phases (conv_winograd)
    int cl_wino_in_f(const float* band, Py_ssize_t hw, Py_ssize_t tw, float* v, Py_ssize_t es) noexcept
    int cl_wino_in_d(const double* band, Py_ssize_t hw, Py_ssize_t tw, double* v, Py_ssize_t es) noexcept
    void cl_wino_out_f(const float* m, Py_ssize_t es, Py_ssize_t tw, float bv, float* y, Py_ssize_t ldy) noexcept
    void cl_wino_out_d(const double* m, Py_ssize_t es, Py_ssize_t tw, double bv, double* y, Py_ssize_t ldy) noexcept
    int cl_wino4_in_f(const float* band, Py_ssize_t hw, Py_ssize_t tw, float* v, Py_ssize_t es) noexcept
    int cl_wino4_in_d(const double* band, Py_ssize_t hw, Py_ssize_t tw, double* v, Py_ssize_t es) noexcept
    void cl_wino4_out_f(const float* m, Py_ssize_t es, Py_ssize_t tw, float bv, float* y, Py_ssize_t ldy) noexcept
    void cl_wino4_out_d(const double* m, Py_ssize_t es, Py_ssize_t tw, double bv, double* y, Py_ssize_t ldy) noexcept
    void cl_deinterleave4_f(float* p, Py_ssize_t hw, const float* src, Py_ssize_t n) noexcept
    void cl_deinterleave4_d(double* p, Py_ssize_t hw, const double* src, Py_ssize_t n) noexcept
    void cl_gemm_small_f(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const float* A, Py_ssize_t lda, const float* B,
                         Py_ssize_t ldb, float* C, Py_ssize_t ldc, int acc) noexcept
    void cl_gemm_small_d(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const double* A, Py_ssize_t lda, const double* B,
                         Py_ssize_t ldb, double* C, Py_ssize_t ldc, int acc) noexcept
    void cl_gemm_rows_f(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const float* A, Py_ssize_t lda,
                        const float* const* Bp, float* C, Py_ssize_t ldc, Py_ssize_t wq, Py_ssize_t bw,
                        Py_ssize_t ldr, const float* bias) noexcept
    void cl_gemm_rows_d(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const double* A, Py_ssize_t lda,
                        const double* const* Bp, double* C, Py_ssize_t ldc, Py_ssize_t wq, Py_ssize_t bw,
                        Py_ssize_t ldr, const double* bias) noexcept
    void cl_deinterleave_f(float* ev, float* od, const float* src, Py_ssize_t n) noexcept
    void cl_dconv_f(float* out, Py_ssize_t ldc, Py_ssize_t o_left, const float* xb, const float* wb,
                    const float* bias, Py_ssize_t CB, Py_ssize_t H, Py_ssize_t W, Py_ssize_t OW,
                    const Py_ssize_t* geom, Py_ssize_t nblocks, Py_ssize_t y0, Py_ssize_t y1,
                    const Py_ssize_t* depth, Py_ssize_t icl) noexcept
    int cl_nonfinite_f(const float* p, Py_ssize_t n) noexcept
    # conv_wgrad_direct's kernel (x86-64-v4 only: cl_wgrad_available() says whether the active level has it)
    void cl_wgrad_f(float* dW, const float* x, const float* go, const Py_ssize_t* geom, const unsigned short* masks,
                    Py_ssize_t task0, Py_ssize_t task1) noexcept
    int cl_wgrad_available() noexcept
    # col2im's row at column stride 2: orow[2 e + t - pw] += src[t * ld + e] within [0, W) (x86-64-v4 only)
    void cl_scatter2_f(float* orow, Py_ssize_t W, const float* src, Py_ssize_t ld, Py_ssize_t bw, Py_ssize_t kw,
                       Py_ssize_t pw) noexcept
    int cl_scatter2_available() noexcept
    void cl_deinterleave_d(double* ev, double* od, const double* src, Py_ssize_t n) noexcept
    # u[e * es + i] = (G w_i G^T)[e] for n 3x3 filters w_i = w + 9 i, F(tile x tile, 3x3); 1 if a weight is not finite
    int cl_wino_w_f(const float* w, Py_ssize_t n, float* u, Py_ssize_t es, int tile) noexcept
    int cl_wino_w_d(const double* w, Py_ssize_t n, double* u, Py_ssize_t es, int tile) noexcept
    # dst[e] = (b if set else dst[e]) + sum_t w[t] * src[e + t dw], t < 5 / 7
    void cl_row5_f(float* dst, float b, int set, const float* w, const float* src, Py_ssize_t dw, Py_ssize_t n) noexcept
    void cl_row5_d(double* dst, double b, int set, const double* w, const double* src, Py_ssize_t dw,
                   Py_ssize_t n) noexcept
    void cl_row7_f(float* dst, float b, int set, const float* w, const float* src, Py_ssize_t dw, Py_ssize_t n) noexcept
    void cl_row7_d(double* dst, double b, int set, const double* w, const double* src, Py_ssize_t dw,
                   Py_ssize_t n) noexcept
    # dst[e] = b + w0 * src[e] + w1 * src[e + dw] + w2 * src[e + 2 dw]
    void cl_set3_f(float* dst, float b, float w0, float w1, float w2, const float* src, Py_ssize_t dw,
                   Py_ssize_t n) noexcept
    void cl_set3_d(double* dst, double b, double w0, double w1, double w2, const double* src, Py_ssize_t dw,
                   Py_ssize_t n) noexcept
    # F.pad's rows: out row j (lw + W + rw cells) = fill if rowsrc[j] < 0, else source row rowsrc[j] padded;
    # run[j]: how many rows from j on are all fill or have sources following rowsrc[j] one by one
    # the same rows of nplanes planes: source planes plane cells apart, output planes one after another
    void cl_pad_rows_f(float* out, const float* src, const Py_ssize_t* rowsrc, const Py_ssize_t* run,
                       Py_ssize_t nrows, Py_ssize_t W, Py_ssize_t lw, Py_ssize_t rw, int mode, float fill,
                       Py_ssize_t nplanes, Py_ssize_t plane) noexcept
    void cl_pad_rows_d(double* out, const double* src, const Py_ssize_t* rowsrc, const Py_ssize_t* run,
                       Py_ssize_t nrows, Py_ssize_t W, Py_ssize_t lw, Py_ssize_t rw, int mode, double fill,
                       Py_ssize_t nplanes, Py_ssize_t plane) noexcept


cdef inline void _copy(floating* dst, const floating* src, Py_ssize_t n, Py_ssize_t step) noexcept nogil:
    """dst[e] = src[e * step] for e < n (locals only, so the compiler keeps them in registers)."""
    cdef Py_ssize_t e
    if step == 1:
        for e in range(n):
            dst[e] = src[e]
    elif n >= 16 or (step == 2 and n > 32 // sizeof(floating)):  # (step 2: more than a vector, see cl_copy_f)
        if floating is float:
            cl_copy_f(dst, src, n, step)
        else:
            cl_copy_d(dst, src, n, step)
    else:
        for e in range(n):
            dst[e] = src[e * step]


cdef inline void _add(floating* dst, const floating* src, Py_ssize_t n, Py_ssize_t step) noexcept nogil:
    """dst[e * step] += src[e] for e < n."""
    cdef Py_ssize_t e
    if n >= 16:
        if floating is float:
            cl_add_f(dst, src, n, step)
        else:
            cl_add_d(dst, src, n, step)
    elif step == 1:
        for e in range(n):
            dst[e] += src[e]
    else:
        for e in range(n):
            dst[e * step] += src[e]


SIMD_LEVELS = ("baseline", "x86-64-v3", "x86-64-v4")     # the dispatch levels, in order (see _simd.h)


def gemm_small_chunk(nbytes=None):
    """The bytes of B's rows that cl_gemm_small and cl_gemm_rows (conv_gemm's GEMMs for few output channels,
    conv_rows) take at a time: every block of 4 output channels runs over that strip of columns before the next
    strip (a whole row of B per block re-read B from memory where it is the input itself, MobileNetV2's 1x1
    layers). Returns the setting before the call; ``nbytes`` (>= 1) sets it, for every SIMD level."""
    cdef Py_ssize_t old = cl_gemm_small_chunk_get()
    if nbytes is not None:
        cl_gemm_small_chunk_set(_positive_bytes("gemm_small_chunk", nbytes))
    return old


def gemm_small_rows8(on=None):
    """Whether cl_gemm_small and cl_gemm_rows at x86-64-v4 (32 vector registers) take the whole 3-vector strips of
    their columns in blocks of 8 output channels (24 sums; B read once per 8 rows of A) before the blocks of 4 that
    take the rest. Returns the setting before the call; ``on`` (a bool) sets it. Other levels always use blocks
    of 4 (16 registers: 12 sums)."""
    cdef int old = cl_gemm_small_rows8_get()
    if on is not None:
        if not isinstance(on, (bool, np.bool_)):
            raise TypeError(f"gemm_small_rows8: on must be a bool, got {on!r}")
        cl_gemm_small_rows8_set(1 if on else 0)
    return bool(old)


def gemm_small_l1(nbytes=None):
    """The bytes of L1 data cache that cl_gemm_small and cl_gemm_rows count on: they take B's columns in chunks
    (``gemm_small_chunk``) only where A (m x k) and a chunk fit this many bytes together. convlab.ops.conv sets it
    to the machine's L1d size at import. Returns the setting before the call; ``nbytes`` (>= 1) sets it, for
    every SIMD level."""
    cdef Py_ssize_t old = cl_gemm_small_l1_get()
    if nbytes is not None:
        cl_gemm_small_l1_set(_positive_bytes("gemm_small_l1", nbytes))
    return old


def _positive_bytes(name, nbytes):
    """nbytes as a C size (capped at 2**62), or a ValueError naming the setter ``name``."""
    if not isinstance(nbytes, int) or isinstance(nbytes, bool) or nbytes < 1:
        raise ValueError(f"{name}: nbytes must be an int >= 1, got {nbytes!r}")
    return min(nbytes, 1 << 62)


def simd_levels():
    """The SIMD levels this CPU can run in this build, lowest first: ``("baseline", "x86-64-v3")`` on an
    AVX2 + FMA CPU, ``+ ("x86-64-v4",)`` with AVX-512, ``("baseline",)`` on other CPUs or compilers."""
    return tuple(cl_simd_name(i).decode() for i in range(cl_simd_count()) if cl_simd_supported(i))


def simd_path():
    """The active SIMD level of the inner loops: ``"baseline"``, ``"x86-64-v3"`` or ``"x86-64-v4"``
    (the best in ``simd_levels()`` unless ``CONVLAB_SIMD`` or ``set_simd_level`` chose another)."""
    return cl_simd_name(cl_simd_get()).decode()


def set_simd_level(name):
    """Run the inner loops at SIMD level ``name`` (one of ``simd_levels()``; ``"best"`` for the best);
    returns the level that was active. A level this CPU cannot run is a ``ValueError``, never an illegal
    instruction. Meant for tests and benchmarks: set it while no kernel is running."""
    before = simd_path()
    levels = simd_levels()
    if name == "best":
        name = levels[len(levels) - 1]      # (no negative indices: wraparound is off)
    if name not in SIMD_LEVELS[:cl_simd_count()] or name not in levels:
        why = "this CPU cannot run it" if name in SIMD_LEVELS[:cl_simd_count()] else \
            "this build has no such level" if name in SIMD_LEVELS else "unknown level"
        raise ValueError(f"SIMD level {name!r}: {why}; this CPU runs {', '.join(levels)} "
                         f"(levels: {', '.join(SIMD_LEVELS)})")
    cl_simd_set(SIMD_LEVELS.index(name))
    return before


def simd_fma_probe():
    """``a * b + c`` with a = b = 1 + 2**-30, c = -(1 + 2**-29), computed by the active level's code: 2**-60
    if it was compiled with fused multiply-adds (x86-64-v3, v4), 0.0 if not (the baseline)."""
    cdef double a = 1.0 + 2.0 ** -30
    return cl_fma_probe(a, a, -(1.0 + 2.0 ** -29))


def _init_simd():
    """Pick the best level at import, or the one the ``CONVLAB_SIMD`` environment variable names (a level
    the CPU cannot run, or an unknown name, warns and keeps the best)."""
    import os
    import warnings
    cl_simd_init()
    wanted = os.environ.get("CONVLAB_SIMD", "").strip()
    if wanted:
        try:
            set_simd_level(wanted)
        except ValueError as e:
            warnings.warn(f"CONVLAB_SIMD={wanted}: {e}; using {simd_path()}", RuntimeWarning, stacklevel=2)


_init_simd()


cdef inline void _axpy(floating* dst, floating a, const floating* src, Py_ssize_t n, Py_ssize_t step) noexcept nogil:
    """dst[e] += a * src[e * step] for e < n (dst and src never overlap); short rows stay inline."""
    cdef Py_ssize_t e
    if n < 16:
        for e in range(n):
            dst[e] += a * src[e * step]
    elif floating is float:
        cl_axpy_f(dst, a, src, n, step)
    else:
        cl_axpy_d(dst, a, src, n, step)


cdef inline void _axpy3(floating* dst, const floating* wr, const floating* src, Py_ssize_t dw,
                        Py_ssize_t n) noexcept nogil:
    """dst[e] += wr[0] * src[e] + wr[1] * src[e + dw] + wr[2] * src[e + 2 dw] for e < n (one pass over dst)."""
    cdef Py_ssize_t e
    if n < 16:
        for e in range(n):
            dst[e] += wr[0] * src[e] + wr[1] * src[e + dw] + wr[2] * src[e + 2 * dw]
    elif floating is float:
        cl_axpy3_f(dst, wr[0], wr[1], wr[2], src, dw, n)
    else:
        cl_axpy3_d(dst, wr[0], wr[1], wr[2], src, dw, n)


cdef inline void _set3(floating* dst, floating b, const floating* wr, const floating* src, Py_ssize_t dw,
                       Py_ssize_t n) noexcept nogil:
    """dst[e] = b + wr[0] * src[e] + wr[1] * src[e + dw] + wr[2] * src[e + 2 dw] for e < n."""
    cdef Py_ssize_t e
    if n < 16:
        for e in range(n):
            dst[e] = b + wr[0] * src[e] + wr[1] * src[e + dw] + wr[2] * src[e + 2 * dw]
    elif floating is float:
        cl_set3_f(dst, b, wr[0], wr[1], wr[2], src, dw, n)
    else:
        cl_set3_d(dst, b, wr[0], wr[1], wr[2], src, dw, n)


cdef inline void _rowk(floating* dst, floating b, bint first, const floating* wr, const floating* src,
                       Py_ssize_t dw, Py_ssize_t n, Py_ssize_t kw) noexcept nogil:
    """One kernel row of kw taps (3, 5 or 7) in one pass: dst[e] (= b if first, else dst[e]) + sum_t wr[t] *
    src[e + t dw], e < n."""
    cdef Py_ssize_t e, t
    cdef floating acc
    if kw == 3:
        if first:
            _set3(dst, b, wr, src, dw, n)
        else:
            _axpy3(dst, wr, src, dw, n)
    elif n < 16:
        for e in range(n):
            acc = b if first else dst[e]
            for t in range(kw):
                acc = acc + wr[t] * src[e + t * dw]
            dst[e] = acc
    elif floating is float:
        if kw == 5:
            cl_row5_f(dst, b, first, wr, src, dw, n)
        else:
            cl_row7_f(dst, b, first, wr, src, dw, n)
    else:
        if kw == 5:
            cl_row5_d(dst, b, first, wr, src, dw, n)
        else:
            cl_row7_d(dst, b, first, wr, src, dw, n)


cdef inline Py_ssize_t _clo(Py_ssize_t tl, const Geom* g) noexcept nogil:
    return g.clo[tl] if tl < 16 else _col_lo(tl, g)


cdef inline Py_ssize_t _chi(Py_ssize_t tl, const Geom* g) noexcept nogil:
    return g.chi[tl] if tl < 16 else _col_hi(tl, g)


# =================================================================================================================
# 1. Gather / scatter: im2col and col2im (and the row copies the GEMM kernels share)
# =================================================================================================================

cdef enum:
    GATHER_OFFSETS = 2048       # source row offsets _gather keeps on its stack: kd * kh per output row
    PAIR_AHEAD = 2              # _phase_pair asks for the input row this many rows of its phase ahead (ResNeXt g32
                                # s2 on one sample, paired bursts: 0.989, quartiles 0.981-0.999)
    PREFETCH_ROW_LINES = 4      # cache lines of the next channel's input row _gather asks for (longer rows are
                                # streamed by the hardware's own prefetch)


cdef inline Py_ssize_t _next_channel(Py_ssize_t ci, Py_ssize_t cg, Py_ssize_t plane, Py_ssize_t W,
                                     Py_ssize_t itemsize) noexcept nogil:
    """How far ahead _gather's copies of channel ci ask the cache to look: one channel plane, or 0 (no hint) for
    the last channel or rows shorter than a cache line (see _gather)."""
    return plane if ci + 1 < cg and W * itemsize >= 64 else 0


cdef void _gather(const floating* x, floating* ws, Py_ssize_t cg, Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t ld,
                  const Geom* g, Py_ssize_t ns=1, Py_ssize_t x_step=0, Py_ssize_t ws_step=0) noexcept nogil:
    """Columns of output rows [r0, r1) (row = (od, oh) pair) for cg channels starting at x.

    ws is (cg * K, (r1 - r0) * bw), row-major with row stride ld (>= (r1 - r0) * bw); one ws row per
    (channel, tap), taps in (ti, tj, tl) order. With ns > 1, the same rows of ns samples (x_step
    elements apart) go side by side, ws_step columns apart.

    The input row that each (ti, tj, output row) reads is looked up once per call (``_row_offsets``), for
    chunks of output rows. Kernel rows wider than the column stride (taps share input cells) go through
    _gather_rows, which copies each input row once into its column phases, the padding mode applied, and
    every tap's run from there (a memcpy each); 1x1(x1) kernels without padding through _gather_point, a plane
    at a time; the others (kernel <= stride, or no memory for the phase rows) through _gather_taps, tap by tap
    from the input.

    Both ask the cache for the next channel's input row (cl_prefetch) as they copy a row of the first kernel
    row (the others read mostly the same input rows), where rows are a cache line or longer: on small planes the
    rows are a few lines each, read rows apart, so the hardware sees no stream to follow and the copies waited on
    their loads (perf, ResNet 3x3 s2 128->256 on 28x28: 55% of the copy's samples on its first load, 15% on the
    instruction after it). With the hint and step-2 rows copied by vector shuffles, the gather's share of that
    layer went 14.5% -> 9.6-10.2% (its copies included). Rows under a line (1x1 s2 on 14x14): the hint measured
    4% slower, the hardware catches runs of consecutive short rows. A hint at every kernel row: Unfold k3 on
    56x56 1.11-1.13x (bench/pair.py), with the first kernel row's only 0.89-1.04x.
    """
    cdef Py_ssize_t offs_here[GATHER_OFFSETS]
    cdef Py_ssize_t* offs = offs_here
    cdef Py_ssize_t chunk = GATHER_OFFSETS // (g.kd * g.kh), c0 = r0, c1
    if g.kd == 1 and g.kh == 1 and g.kw == 1 and g.pd == 0 and g.ph == 0 and g.pw == 0:
        _gather_point(x, ws, cg, r0, r1, ld, g, ns, x_step, ws_step)
        return
    cdef Py_ssize_t span = 0        # cells of each column phase row (_gather_rows only)
    cdef floating* buf = NULL
    cdef Py_ssize_t* taps = NULL
    if chunk == 0:                  # (a kernel of over GATHER_OFFSETS rows: offsets computed row by row)
        offs = NULL
        chunk = r1 - r0
    if g.kw > g.sw:
        span = g.bw + ((g.kw - 1) * g.dw) // g.sw
        buf = <floating*> malloc(g.sw * span * sizeof(floating))
        taps = <Py_ssize_t*> malloc((g.kw + 3 * g.sw) * sizeof(Py_ssize_t))
        if buf == NULL or taps == NULL:
            free(buf)
            free(taps)
            buf = NULL
        else:
            _phase_layout(g, span, buf, taps)
    while c0 < r1:
        c1 = min(r1, c0 + chunk)
        if offs != NULL:
            _row_offsets(g, c0, c1, offs)
        if buf != NULL:
            _gather_rows(x, ws + (c0 - r0) * g.bw, cg, c0, c1, ld, g, ns, x_step, ws_step, offs, buf, span, taps)
        else:
            _gather_taps(x, ws + (c0 - r0) * g.bw, cg, c0, c1, ld, g, ns, x_step, ws_step, offs)
        c0 = c1
    if buf != NULL:
        free(buf)
        free(taps)


cdef void _gather_point(const floating* x, floating* ws, Py_ssize_t cg, Py_ssize_t r0, Py_ssize_t r1,
                        Py_ssize_t ld, const Geom* g, Py_ssize_t ns, Py_ssize_t x_step,
                        Py_ssize_t ws_step) noexcept nogil:
    """_gather for a 1x1(x1) kernel without padding: each (sample, channel) ws row is the input plane read with
    the layer's strides, one memcpy where the strides are 1 (the output rows are then a contiguous run of the
    input). The general loops spend most of their time per output row (its offset, padding and prefetch checks):
    on ResNet-18's 1x1 s2 256 -> 512 (7-cell rows) they were 9% of the layer (perf, 1 thread)."""
    cdef Py_ssize_t plane = g.D * g.H * g.W, si, ci, r, a, b
    cdef bint whole = g.sd == 1 and g.sh == 1 and g.sw == 1 and g.bw == g.W and g.bh == g.H
    cdef const floating* src
    cdef floating* dst
    for si in range(ns):
        for ci in range(cg):
            src = x + si * x_step + ci * plane
            dst = ws + ci * ld + si * ws_step
            if whole:
                memcpy(dst, src + r0 * g.W, (r1 - r0) * g.W * sizeof(floating))
                continue
            a = r0 // g.bh
            b = r0 - a * g.bh
            for r in range(r0, r1):
                _copy(dst, src + (a * g.sd * g.H + b * g.sh) * g.W, g.bw, g.sw)
                dst = dst + g.bw
                b = b + 1
                if b == g.bh:
                    b = 0
                    a = a + 1


cdef inline Py_ssize_t _row_offset(const Geom* g, const Py_ssize_t* offs, Py_ssize_t k, Py_ssize_t r0,
                                   Py_ssize_t r1, Py_ssize_t r) noexcept nogil:
    """Where the input row read by kernel row k = ti * kh + tj at output row r (r0 <= r < r1) starts in a
    channel's volume, or -1 for a row of zero padding: from ``offs`` (``_row_offsets`` of [r0, r1)), or worked
    out here if it is NULL."""
    if offs != NULL:
        return offs[k * (r1 - r0) + r - r0]
    cdef Py_ssize_t ti = k // g.kh, tj = k - ti * g.kh, a = r // g.bh, b = r - a * g.bh
    cdef Py_ssize_t zs = _src(a * g.sd - g.pd + ti * g.dd, g.D, g.mode)
    cdef Py_ssize_t ys = _src(b * g.sh - g.ph + tj * g.dh, g.H, g.mode)
    return -1 if zs < 0 or ys < 0 else (zs * g.H + ys) * g.W


cdef void _row_offsets(const Geom* g, Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t* offs) noexcept nogil:
    """offs[(ti * kh + tj) * (r1 - r0) + r - r0]: where in a channel's volume the input row read by depth tap ti
    and row tap tj at output row r (an (od, oh) pair) starts, or -1 for a row of zero padding. Output rows
    are walked with counters: no division per row. The caller holds kd * kh * (r1 - r0) entries."""
    cdef Py_ssize_t ti, tj, r, a, b, zs, ys, nr = r1 - r0
    cdef Py_ssize_t a0 = r0 // g.bh, b0 = r0 - a0 * g.bh
    for ti in range(g.kd):
        for tj in range(g.kh):
            a = a0
            b = b0
            zs = _src(a * g.sd - g.pd + ti * g.dd, g.D, g.mode)
            for r in range(nr):
                ys = _src(b * g.sh - g.ph + tj * g.dh, g.H, g.mode)
                offs[(ti * g.kh + tj) * nr + r] = -1 if zs < 0 or ys < 0 else (zs * g.H + ys) * g.W
                b = b + 1
                if b == g.bh:
                    b = 0
                    a = a + 1
                    zs = _src(a * g.sd - g.pd + ti * g.dd, g.D, g.mode)


cdef void _phase_layout(const Geom* g, Py_ssize_t span, floating* buf, Py_ssize_t* taps) noexcept nogil:
    """The phase rows of _gather_rows: sw rows of span cells in buf, phase q's cell e holding padded input
    column e * sw + q. Fills taps[:kw] (tap tl's run starts at buf + taps[tl]: phase (tl * dw) % sw, cell
    (tl * dw) // sw), then per phase q: lo[q], hi[q] (cells [lo, hi) are input columns) and need[q] (the
    taps read cells [0, need): no more, since a reflected index past them could leave the row), at taps + kw,
    + kw + sw, + kw + 2 sw. In zeros mode the padding cells are written here, once."""
    cdef Py_ssize_t sw = g.sw, q, tl, c0
    cdef Py_ssize_t* lo = taps + g.kw
    cdef Py_ssize_t* hi = lo + sw
    cdef Py_ssize_t* need = hi + sw
    for q in range(sw):
        need[q] = 0
    for tl in range(g.kw):
        q = (tl * g.dw) % sw
        taps[tl] = q * span + (tl * g.dw) // sw
        need[q] = max(need[q], (tl * g.dw) // sw + g.bw)
    for q in range(sw):
        c0 = q - g.pw                               # input column of phase q's cell 0
        lo[q] = 0 if c0 >= 0 else min(need[q], (-c0 + sw - 1) // sw)
        hi[q] = 0 if g.W - c0 <= 0 else min(need[q], (g.W - c0 + sw - 1) // sw)
        hi[q] = max(hi[q], lo[q])
        if g.mode == ZEROS:
            memset(buf + q * span, 0, lo[q] * sizeof(floating))
            memset(buf + q * span + hi[q], 0, (need[q] - hi[q]) * sizeof(floating))


cdef void _gather_rows(const floating* x, floating* ws, Py_ssize_t cg, Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t ld,
                       const Geom* g,
                       Py_ssize_t ns, Py_ssize_t x_step, Py_ssize_t ws_step, const Py_ssize_t* offs, floating* buf,
                       Py_ssize_t span, const Py_ssize_t* taps) noexcept nogil:
    """_gather of output rows [r0, r1) for kernel rows wider than the column stride: each (channel, ti, tj, output
    row) input row is copied once into its phase rows (``_phase_layout``), then each tap's bw columns are one
    contiguous run there (a memcpy; no per-cell index work: tap by tap, a strided 4x4 layer's 16-cell rows
    cost ~190 instructions each)."""
    cdef Py_ssize_t sw = g.sw, kw = g.kw, W = g.W, plane = g.D * g.H * g.W, nbytes = g.bw * sizeof(floating)
    cdef const Py_ssize_t* lo = taps + kw
    cdef const Py_ssize_t* hi = lo + sw
    cdef const Py_ssize_t* need = hi + sw
    cdef Py_ssize_t ci, k, r, si, q, e, c0, tl, off
    cdef const floating* src
    cdef floating* dst
    cdef floating* base
    cdef floating* rows = ws
    cdef Py_ssize_t ahead
    for ci in range(cg):
        ahead = _next_channel(ci, cg, plane, W, sizeof(floating))
        for k in range(g.kd * g.kh):
            for r in range(r0, r1):
                off = _row_offset(g, offs, k, r0, r1, r)
                for si in range(ns):
                    dst = rows + (r - r0) * g.bw + si * ws_step
                    if off < 0:
                        for tl in range(kw):
                            memset(dst + tl * ld, 0, nbytes)
                        continue
                    src = x + ci * plane + si * x_step + off
                    if ahead and k == 0:
                        cl_prefetch(src + ahead, W * sizeof(floating), PREFETCH_ROW_LINES)
                    for q in range(sw):
                        base = buf + q * span
                        c0 = q - g.pw
                        if g.mode != ZEROS:
                            for e in range(lo[q]):
                                base[e] = src[_src(e * sw + c0, W, g.mode)]
                            for e in range(hi[q], need[q]):
                                base[e] = src[_src(e * sw + c0, W, g.mode)]
                        if sw == 1:
                            memcpy(base + lo[q], src + lo[q] + c0, (hi[q] - lo[q]) * sizeof(floating))
                        else:
                            _copy(base + lo[q], src + lo[q] * sw + c0, hi[q] - lo[q], sw)
                    if floating is float:
                        cl_taps_f(dst, ld, buf, taps, kw, g.bw)
                    else:
                        cl_taps_d(dst, ld, buf, taps, kw, g.bw)
            rows = rows + kw * ld


cdef void _gather_taps(const floating* x, floating* ws, Py_ssize_t cg, Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t ld,
                       const Geom* g, Py_ssize_t ns, Py_ssize_t x_step, Py_ssize_t ws_step, const Py_ssize_t* offs) noexcept nogil:
    """_gather of output rows [r0, r1) tap by tap: each (channel, tap) ws row in turn, its cells read from the input
    with the tap's column stride."""
    cdef Py_ssize_t plane = g.D * g.H * g.W
    cdef Py_ssize_t ci, k, tl, r, e, xs, e_lo, e_hi, off, at, si, ahead
    cdef const floating* src
    cdef floating* row = ws
    cdef floating* dst
    for ci in range(cg):
        ahead = _next_channel(ci, cg, plane, g.W, sizeof(floating))
        for k in range(g.kd * g.kh):
            for tl in range(g.kw):
                e_lo = _clo(tl, g)
                e_hi = _chi(tl, g)
                off = tl * g.dw - g.pw
                for r in range(r0, r1):
                    at = _row_offset(g, offs, k, r0, r1, r)
                    for si in range(ns):
                        dst = row + (r - r0) * g.bw + si * ws_step
                        if at < 0:
                            memset(dst, 0, g.bw * sizeof(floating))
                            continue
                        src = x + ci * plane + si * x_step + at
                        if ahead and k == 0 and tl == 0:
                            cl_prefetch(src + ahead, g.W * sizeof(floating), PREFETCH_ROW_LINES)
                        for e in range(e_lo):
                            xs = _src(e * g.sw + off, g.W, g.mode)
                            dst[e] = src[xs] if xs >= 0 else 0
                        _copy(dst + e_lo, src + e_lo * g.sw + off, e_hi - e_lo, g.sw)
                        for e in range(e_hi, g.bw):
                            xs = _src(e * g.sw + off, g.W, g.mode)
                            dst[e] = src[xs] if xs >= 0 else 0
                row = row + ld


cdef inline void _put(floating* dst, const floating* src, Py_ssize_t n, Py_ssize_t step, floating b) noexcept nogil:
    """dst[e * step] = src[e] + b for e < n."""
    cdef Py_ssize_t e
    if step == 1:
        for e in range(n):
            dst[e] = src[e] + b
    else:
        for e in range(n):
            dst[e * step] = src[e] + b


cdef void _scatter2(const float* ws, float* out, Py_ssize_t cg, Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t ld,
                    const Geom* g) noexcept nogil:
    """_scatter (adding) at column stride 2 and dilation 1 on x86-64-v4: each output row gets all kw taps of an
    input row in one pass (cl_scatter2_f), the same additions in the same order as _scatter's per-tap passes."""
    cdef Py_ssize_t plane = g.D * g.H * g.W
    cdef Py_ssize_t ci, ti, tj, r, a, b, zi, yi, col
    cdef float* oc
    cdef const float* row = ws
    cdef Py_ssize_t a0 = r0 // g.bh, b0 = r0 - a0 * g.bh
    for ci in range(cg):
        oc = out + ci * plane
        for ti in range(g.kd):
            for tj in range(g.kh):
                a = a0
                b = b0
                col = 0
                for r in range(r0, r1):
                    zi = a * g.sd - g.pd + ti * g.dd
                    yi = b * g.sh - g.ph + tj * g.dh
                    if 0 <= zi < g.D and 0 <= yi < g.H:
                        cl_scatter2_f(oc + (zi * g.H + yi) * g.W, g.W, row + col, ld, g.bw, g.kw, g.pw)
                    col = col + g.bw
                    b = b + 1
                    if b == g.bh:
                        b = 0
                        a = a + 1
                row = row + g.kw * ld


cdef void _scatter(const floating* ws, floating* out, Py_ssize_t cg, Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t ld,
                   const Geom* g, bint overwrite=False, const floating* bias=NULL) noexcept nogil:
    """Adjoint of _gather (zero padding): add ws (cg*K, (r1-r0)*bw; row stride ld) into cg output channels.

    overwrite (only when no two (block, tap) pairs reach the same cell: stride == kernel, dilation 1):
    store ws + bias[ci] instead of adding, so the output needs no clearing pass first.
    """
    cdef Py_ssize_t plane = g.D * g.H * g.W
    cdef Py_ssize_t ci, ti, tj, tl, r, a, b, zi, yi, col, e_lo, e_hi, off
    cdef floating* oc
    cdef const floating* row = ws
    cdef Py_ssize_t a0 = r0 // g.bh, b0 = r0 - a0 * g.bh
    if floating is float:
        if g.sw == 2 and g.dw == 1 and not overwrite and cl_scatter2_available():
            _scatter2(ws, out, cg, r0, r1, ld, g)
            return
    for ci in range(cg):
        oc = out + ci * plane
        for ti in range(g.kd):
            for tj in range(g.kh):
                for tl in range(g.kw):
                    e_lo = _clo(tl, g)
                    e_hi = _chi(tl, g)
                    off = tl * g.dw - g.pw
                    a = a0
                    b = b0
                    col = 0
                    for r in range(r0, r1):
                        zi = a * g.sd - g.pd + ti * g.dd
                        yi = b * g.sh - g.ph + tj * g.dh
                        if 0 <= zi < g.D and 0 <= yi < g.H:
                            if overwrite:
                                _put(oc + (zi * g.H + yi) * g.W + e_lo * g.sw + off, row + col + e_lo, e_hi - e_lo,
                                     g.sw, bias[ci] if bias != NULL else 0)
                            else:
                                _add(oc + (zi * g.H + yi) * g.W + e_lo * g.sw + off, row + col + e_lo,
                                     e_hi - e_lo, g.sw)
                        col = col + g.bw
                        b = b + 1
                        if b == g.bh:
                            b = 0
                            a = a + 1
                    row = row + ld


def im2col(const floating[:, :, :, :, ::1] x, floating[:, :, ::1] cols, tuple kernel, tuple stride,
           tuple padding, tuple dilation, tuple blocks, int num_threads=1, int mode=ZEROS):
    """Gather sliding blocks into columns.

    NumPy equivalent: ``cols[n, (c, t), o] = xpad[n, c, o*s + t*d]`` (torch's ``unfold``, N-d).

    x    : (N, C, D, H, W) contiguous, unpadded; mode 0..3 = zeros, reflect, replicate, circular.
    cols : (N, C*kd*kh*kw, bd*bh*bw), fully overwritten.
    """
    cdef Geom g = _geom((x.shape[2], x.shape[3], x.shape[4]), kernel, stride, padding, dilation, blocks, mode)
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], K = g.kd * g.kh * g.kw
    cdef Py_ssize_t L = g.bd * g.bh * g.bw, t, n, c
    if N * C == 0 or L == 0:
        return
    with nogil:
        for t in prange(N * C, schedule="static", num_threads=num_threads):
            n = t // C
            c = t - n * C
            _gather(&x[n, c, 0, 0, 0], &cols[n, c * K, 0], 1, 0, g.bd * g.bh, L, &g)


def col2im(const floating[:, :, ::1] cols, floating[:, :, :, :, ::1] out, tuple kernel, tuple stride,
           tuple padding, tuple dilation, tuple blocks, int num_threads=1):
    """Scatter-add columns back into a volume (the adjoint of im2col; overlaps are summed).

    NumPy equivalent: ``np.add.at(out, (n, c, o*s - p + t*d), cols[n, (c, t), o])`` for in-range targets.
    out : (N, C, D, H, W), accumulated into (the caller zeroes it).
    """
    cdef Geom g = _geom((out.shape[2], out.shape[3], out.shape[4]), kernel, stride, padding, dilation, blocks, ZEROS)
    cdef Py_ssize_t N = out.shape[0], C = out.shape[1], K = g.kd * g.kh * g.kw
    cdef Py_ssize_t L = g.bd * g.bh * g.bw, t, n, c
    if N * C == 0 or L == 0:
        return
    with nogil:
        # one (sample, channel) plane per iteration: no two threads write the same element
        for t in prange(N * C, schedule="static", num_threads=num_threads):
            n = t // C
            c = t - n * C
            _scatter(&cols[n, c * K, 0], &out[n, c, 0, 0, 0], 1, 0, g.bd * g.bh, L, &g)


cdef inline void _row_sources(Py_ssize_t* rowsrc, Py_ssize_t* run, Py_ssize_t n, Py_ssize_t start, Py_ssize_t step,
                              Py_ssize_t H, int mode) noexcept nogil:
    """The source rows of ``n`` rows read at ``start``, ``start + step``, ... of an input of ``H`` rows padded by
    ``mode`` (``rowsrc``: -1 for a zero row), and their runs for cl_pad_rows (``run[j]``: how many rows from j on
    are all zero rows or have sources following ``rowsrc[j]`` one by one)."""
    cdef Py_ssize_t j
    if n < 1:
        return
    for j in range(n):
        rowsrc[j] = _src(start + j * step, H, mode)
    run[n - 1] = 1
    for j in range(n - 2, -1, -1):
        if (rowsrc[j] < 0 and rowsrc[j + 1] < 0) or (rowsrc[j] >= 0 and rowsrc[j + 1] == rowsrc[j] + 1):
            run[j] = run[j + 1] + 1
        else:
            run[j] = 1


cdef inline void _pad_part(const floating* x0, floating* o0, const Py_ssize_t* rowsrc, const Py_ssize_t* run,
                           Py_ssize_t u, Py_ssize_t nb, Py_ssize_t D, Py_ssize_t H, Py_ssize_t W, Py_ssize_t Do,
                           Py_ssize_t Ho, Py_ssize_t Wo, Py_ssize_t ld, Py_ssize_t lw, Py_ssize_t rw, int mode,
                           floating fill) noexcept nogil:
    """Part u of pad_volume's output: row block u % nb of output plane u // nb."""
    cdef Py_ssize_t q = u // nb, b = u - q * nb, p, i, si, j0, j1, k
    cdef floating* orow
    p = q // Do
    i = q - p * Do
    j0 = b * Ho // nb
    j1 = (b + 1) * Ho // nb
    orow = o0 + (q * Ho + j0) * Wo
    si = _src(i - ld, D, mode)
    if si < 0:
        for k in range((j1 - j0) * Wo):
            orow[k] = fill
    elif floating is float:
        cl_pad_rows_f(orow, x0 + (p * D + si) * H * W, rowsrc + j0, run + j0, j1 - j0, W, lw, rw, mode, fill, 1, 0)
    else:
        cl_pad_rows_d(orow, x0 + (p * D + si) * H * W, rowsrc + j0, run + j0, j1 - j0, W, lw, rw, mode, fill, 1, 0)


cdef inline void _pad_planes(const floating* x0, floating* o0, const Py_ssize_t* rowsrc, const Py_ssize_t* run,
                             Py_ssize_t q0, Py_ssize_t q1, Py_ssize_t H, Py_ssize_t W, Py_ssize_t Ho,
                             Py_ssize_t Wo, Py_ssize_t lw, Py_ssize_t rw, int mode, floating fill) noexcept nogil:
    """Output planes [q0, q1) of a pad_volume without depth padding (output plane q from input plane q), in one
    call of cl_pad_rows."""
    if q1 <= q0:
        return
    if floating is float:
        cl_pad_rows_f(o0 + q0 * Ho * Wo, x0 + q0 * H * W, rowsrc, run, Ho, W, lw, rw, mode, fill, q1 - q0, H * W)
    else:
        cl_pad_rows_d(o0 + q0 * Ho * Wo, x0 + q0 * H * W, rowsrc, run, Ho, W, lw, rw, mode, fill, q1 - q0, H * W)


cdef int _pad_run(const floating* x0, floating* o0, Py_ssize_t P, Py_ssize_t D, Py_ssize_t H, Py_ssize_t W,
                  Py_ssize_t Do, Py_ssize_t Ho, Py_ssize_t Wo, Py_ssize_t ld, Py_ssize_t lh, Py_ssize_t lw, int mode,
                  floating fill, int num_threads) except -1:
    """pad_volume's work on checked pointers and sizes."""
    cdef Py_ssize_t rw = Wo - lw - W, planes = P * Do, nb = 1, u
    cdef Py_ssize_t* rowsrc
    cdef Py_ssize_t* run
    if planes * Ho == 0 or Wo == 0:
        return 0
    if num_threads > 1 and planes < 8:
        nb = min(Ho, 8)
    rowsrc = <Py_ssize_t*>malloc(2 * Ho * sizeof(Py_ssize_t))
    if rowsrc == NULL:
        raise MemoryError()
    run = rowsrc + Ho
    _row_sources(rowsrc, run, Ho, -lh, 1, H, mode)
    with nogil:
        if Do == D and ld == 0 and nb == 1 and P * D * H * W > 0:
            if num_threads == 1:
                _pad_planes(x0, o0, rowsrc, run, 0, planes, H, W, Ho, Wo, lw, rw, mode, fill)
            else:
                for u in prange(num_threads, schedule="static", num_threads=num_threads):
                    _pad_planes(x0, o0, rowsrc, run, u * planes // num_threads, (u + 1) * planes // num_threads,
                                H, W, Ho, Wo, lw, rw, mode, fill)
        elif num_threads == 1:
            for u in range(planes * nb):
                _pad_part(x0, o0, rowsrc, run, u, nb, D, H, W, Do, Ho, Wo, ld, lw, rw, mode, fill)
        else:
            for u in prange(planes * nb, schedule="static", num_threads=num_threads):
                _pad_part(x0, o0, rowsrc, run, u, nb, D, H, W, Do, Ho, Wo, ld, lw, rw, mode, fill)
    free(rowsrc)
    return 0


cdef bint _is_product(Py_ssize_t n, Py_ssize_t a, Py_ssize_t b, Py_ssize_t c, Py_ssize_t d) noexcept:
    """n == a * b * c * d for sizes >= 0, without overflowing."""
    if a == 0 or b == 0 or c == 0 or d == 0:
        return n == 0
    if n % a or (n // a) % b or (n // a // b) % c:
        return False
    return n // a // b // c == d


cdef int _check_pad_axis(str axis, Py_ssize_t n, Py_ssize_t left, Py_ssize_t right, int mode) except -1:
    if left < 0 or right < 0:
        raise ValueError(f"pad_volume: pads of the {axis} axis must be >= 0, got ({left}, {right})")
    if (left or right) and mode != ZEROS and n == 0:
        raise ValueError(f"pad_volume: cannot pad the empty {axis} axis by its cells (mode {mode})")
    if mode == REFLECT and (left or right) and max(left, right) >= n:
        raise ValueError(f"pad_volume: reflect pads of the {axis} axis must be < its size {n}, got ({left}, {right})")
    if mode == CIRCULAR and max(left, right) > n:
        raise ValueError(f"pad_volume: circular pads of the {axis} axis must be <= its size {n}, "
                         f"got ({left}, {right})")
    return 0


def pad_volume(x, out, Py_ssize_t P, Py_ssize_t D, Py_ssize_t H, Py_ssize_t W, Py_ssize_t Do, Py_ssize_t Ho,
               Py_ssize_t Wo, Py_ssize_t ld, Py_ssize_t lh, Py_ssize_t lw, int mode, double value=0,
               int num_threads=1):
    """``F.pad`` of a stack of volumes: ``out[p, i, j, k] = x[p, src(i - ld), src(j - lh), src(k - lw)]``.

    x   : C-contiguous float32 or float64 array of P * D * H * W cells, read as (P, D, H, W) whatever its shape;
    out : C-contiguous, writeable, of x's dtype, with P * Do * Ho * Wo cells, read as (P, Do, Ho, Wo) with
          Do = D + ld + rd, Ho = H + lh + rh, Wo = W + lw + rw; fully overwritten.
    mode: ZEROS (cells outside ``x`` get ``value``), REFLECT, REPLICATE or CIRCULAR (``_src``). The sizes are
    passed, not read from the arrays' shapes, so F.pad's cached calls pass their arrays without 4-d views
    (two reshapes and two typed memoryviews cost ~0.7 us a call). Checked here, before the unchecked loops:
    the dtypes, contiguity, cell counts and the pads against the sizes (all >= 0, reflect < size, circular
    <= size; a ValueError or TypeError names the values).

    The source row of every output row index is looked up once per call (``rowsrc``), and so are the runs of
    rows whose sources follow each other (``run``), the source plane once per output plane; the rows of a
    plane are then written by ``cl_pad_rows`` (_simd_loops.h): the middle as a vector copy, the edges by
    mode, a run of rows stepping through its source, or as one copy when the rows are not padded. The work
    is split over output planes (and over row blocks when there are fewer planes than 8); on one thread the
    parts run in a plain loop (no OpenMP region: ~0.5 us less a call). Without depth padding, each thread's
    planes go to cl_pad_rows in one call, which picks its row loop once for all of them (a call per 32x32
    plane cost ~1.2 us of 30 over 256 planes).
    """
    cdef cnp.ndarray xa, oa
    cdef int typ
    if not isinstance(x, np.ndarray) or not isinstance(out, np.ndarray):
        raise TypeError(f"pad_volume: x and out must be ndarrays, got {type(x).__name__} and {type(out).__name__}")
    xa = <cnp.ndarray>x
    oa = <cnp.ndarray>out
    typ = cnp.PyArray_TYPE(xa)
    if (typ != cnp.NPY_FLOAT32 and typ != cnp.NPY_FLOAT64) or cnp.PyArray_TYPE(oa) != typ:
        raise TypeError(f"pad_volume: x and out must both be float32 or both float64, got {x.dtype} and {out.dtype}")
    if not cnp.PyArray_IS_C_CONTIGUOUS(xa) or not cnp.PyArray_IS_C_CONTIGUOUS(oa) or not cnp.PyArray_ISWRITEABLE(oa):
        raise ValueError("pad_volume: x and out must be C-contiguous and out writeable")
    if P < 0 or D < 0 or H < 0 or W < 0 or Do < 0 or Ho < 0 or Wo < 0:
        raise ValueError(f"pad_volume: sizes must be >= 0, got ({P}, {D}, {H}, {W}) and ({P}, {Do}, {Ho}, {Wo})")
    if not _is_product(cnp.PyArray_SIZE(xa), P, D, H, W) or not _is_product(cnp.PyArray_SIZE(oa), P, Do, Ho, Wo):
        raise ValueError(f"pad_volume: x has {x.size} cells and out {out.size}; the sizes say "
                         f"({P}, {D}, {H}, {W}) and ({P}, {Do}, {Ho}, {Wo})")
    if mode < ZEROS or mode > CIRCULAR:
        raise ValueError(f"pad_volume: mode must be {ZEROS}..{CIRCULAR}, got {mode}")
    _check_pad_axis("depth", D, ld, Do - D - ld, mode)
    _check_pad_axis("height", H, lh, Ho - H - lh, mode)
    _check_pad_axis("width", W, lw, Wo - W - lw, mode)
    if num_threads < 1:
        raise ValueError(f"pad_volume: num_threads must be >= 1, got {num_threads}")
    if typ == cnp.NPY_FLOAT32:
        _pad_run(<const float*>cnp.PyArray_DATA(xa), <float*>cnp.PyArray_DATA(oa), P, D, H, W, Do, Ho, Wo, ld, lh,
                 lw, mode, <float>value, num_threads)
    else:
        _pad_run(<const double*>cnp.PyArray_DATA(xa), <double*>cnp.PyArray_DATA(oa), P, D, H, W, Do, Ho, Wo, ld, lh,
                 lw, mode, value, num_threads)


# =================================================================================================================
# 2. GEMM: the BLAS call (Fortran sgemm/dgemm, 64-bit when NumPy's OpenBLAS is found), its thread pinning, and the
#    fused im2col + GEMM forward and weight-gradient kernels
# =================================================================================================================

cdef sgemm64_t _sgemm64 = NULL      # NumPy's OpenBLAS (ILP64), when set_blas_gemm() found it
cdef dgemm64_t _dgemm64 = NULL


ctypedef int (*blas_get_threads_t)() noexcept nogil
ctypedef void (*blas_set_threads_t)(int) noexcept nogil
cdef enum:
    MAX_BLAS_LIBS = 4
cdef blas_get_threads_t _blas_get[MAX_BLAS_LIBS]
cdef blas_set_threads_t _blas_set[MAX_BLAS_LIBS]
cdef int _n_blas_libs = 0


def set_blas_thread_controls(list controls):
    """``[(get_num_threads address, set_num_threads address), ...]`` of the BLAS libraries the GEMM
    kernels may call: the kernels then pin them to one thread themselves, around their parallel region
    (C calls, ~ns, instead of threadpoolctl's ~5 us a library). ``[]`` leaves pinning to the caller."""
    global _n_blas_libs
    if len(controls) > MAX_BLAS_LIBS:
        raise ValueError(f"at most {MAX_BLAS_LIBS} BLAS libraries, got {len(controls)}")
    _n_blas_libs = 0
    for i, (get_address, set_address) in enumerate(controls):
        _blas_get[i] = <blas_get_threads_t><void*><size_t>get_address
        _blas_set[i] = <blas_set_threads_t><void*><size_t>set_address
    _n_blas_libs = len(controls)


def blas_thread_controls():
    """How many BLAS libraries the GEMM kernels pin to one thread themselves (see set_blas_thread_controls)."""
    return _n_blas_libs


# How many kernel calls have the BLAS pinned right now, and the thread counts to restore when the last one
# ends. Pin and unpin run with the GIL held (kernel entry and exit), so the count needs no other lock.
# With a save/restore per call instead, one Python thread's restore let another thread's GEMMs run
# multi-threaded mid-call (other blocking, other rounding: results differed bitwise between runs).
cdef int _blas_pins = 0
cdef int _blas_saved[MAX_BLAS_LIBS]


cdef void _blas_single() noexcept:
    """Pin the BLAS libraries to one thread (GIL held); paired with _blas_restore()."""
    global _blas_pins
    cdef int i
    if _blas_pins == 0:
        for i in range(_n_blas_libs):
            _blas_saved[i] = _blas_get[i]()
            if _blas_saved[i] != 1:
                _blas_set[i](1)
    _blas_pins += 1


cdef void _blas_restore() noexcept:
    """End of one pinned call (GIL held): the last one to end restores the thread counts."""
    global _blas_pins
    cdef int i
    _blas_pins -= 1
    if _blas_pins == 0:
        for i in range(_n_blas_libs):
            if _blas_saved[i] != 1:
                _blas_set[i](_blas_saved[i])


def blas_pins():
    """Kernel calls that hold the BLAS pinned to one thread right now (0 when none runs)."""
    return _blas_pins


def forget_blas_pins():
    """In a forked child: calls that were running in the parent's other threads do not exist here, so
    nothing will unpin; restore the saved thread counts and start counting from 0."""
    global _blas_pins
    cdef int i
    if _blas_pins > 0:
        for i in range(_n_blas_libs):
            if _blas_saved[i] != 1:
                _blas_set[i](_blas_saved[i])
    _blas_pins = 0


def set_blas_gemm(size_t sgemm_address=0, size_t dgemm_address=0):
    """Route the GEMMs of conv_gemm/conv_transpose_gemm through these ILP64 ``?gemm`` entry points
    (addresses of NumPy's bundled OpenBLAS, found by ``convlab.ops._blas``); 0 restores SciPy's
    ``cython_blas``. The caller keeps that library loaded and single-threaded during kernels."""
    global _sgemm64, _dgemm64
    _sgemm64 = <sgemm64_t><void*>sgemm_address
    _dgemm64 = <dgemm64_t><void*>dgemm_address


cdef inline void _gemm(char* ta, char* tb, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const floating* A,
                       Py_ssize_t lda, const floating* B, Py_ssize_t ldb, floating beta, floating* C,
                       Py_ssize_t ldc) noexcept nogil:
    """Column-major C = op(A) @ op(B) + beta * C through BLAS. NumPy's OpenBLAS takes 64-bit sizes; SciPy's
    ``cython_blas`` takes C ints, so every size must be <= blas_index_max() (the kernels check on entry)."""
    cdef floating alpha = 1
    cdef blas64 m8 = m, n8 = n, k8 = k, lda8 = lda, ldb8 = ldb, ldc8 = ldc
    cdef int m4 = <int>m, n4 = <int>n, k4 = <int>k, lda4 = <int>lda, ldb4 = <int>ldb, ldc4 = <int>ldc
    if floating is float:
        if _sgemm64 != NULL:
            _sgemm64(ta, tb, &m8, &n8, &k8, &alpha, <float*>A, &lda8, <float*>B, &ldb8, &beta, C, &ldc8)
        else:
            sgemm(ta, tb, &m4, &n4, &k4, &alpha, <float*>A, &lda4, <float*>B, &ldb4, &beta, C, &ldc4)
    else:
        if _dgemm64 != NULL:
            _dgemm64(ta, tb, &m8, &n8, &k8, &alpha, <double*>A, &lda8, <double*>B, &ldb8, &beta, C, &ldc8)
        else:
            dgemm(ta, tb, &m4, &n4, &k4, &alpha, <double*>A, &lda4, <double*>B, &ldb4, &beta, C, &ldc4)


cdef inline void _gemm_rows(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const floating* A, Py_ssize_t lda,
                            const floating* B, Py_ssize_t ldb, floating* C, Py_ssize_t ldc, bint acc,
                            bint small) noexcept nogil:
    """Row-major C (m, n) = A (m, k) @ B (k, n) (+ C if acc): through BLAS, or with small (few rows m, the
    output channels of a group) through cl_gemm_small, which reads B in place instead of packing it."""
    if small:
        if floating is float:
            cl_gemm_small_f(m, n, k, A, lda, B, ldb, C, ldc, acc)
        else:
            cl_gemm_small_d(m, n, k, A, lda, B, ldb, C, ldc, acc)
    else:
        # row-major C = A @ B  <=>  column-major C^T = B^T @ A^T
        _gemm(b"N", b"N", n, m, k, B, ldb, A, lda, 1 if acc else 0, C, ldc)


cdef enum:
    LINE_BYTES = 64             # a cache line: rows of gathered columns start on one (conv_gemm)


def lined(Py_ssize_t n, Py_ssize_t itemsize):
    """``n`` elements of ``itemsize`` bytes rounded up to whole cache lines (LINE_BYTES), an odd count of them:
    the row stride of the columns conv_gemm gathers, so that every row starts on a line where the workspace does
    (vectors that cross a line cost two loads: cl_gemm_small's strips on a 512 x 384 x 256 product ran 173
    GFLOP/s on rows 16 bytes off a line, 195 on lines, Sapphire Rapids; bench/README.md), and rows read down a
    column (a strip's k rows, BLAS packing them) spread over all the cache's sets, where an even count of lines
    would leave them a half, a quarter, ... of them."""
    if n < 0 or itemsize <= 0 or LINE_BYTES % itemsize:
        raise ValueError(f"lined: n must be >= 0 and itemsize divide {LINE_BYTES}; got n={n}, itemsize={itemsize}")
    return _lined(n, itemsize)


cdef inline Py_ssize_t _lined(Py_ssize_t n, Py_ssize_t itemsize) noexcept nogil:
    cdef Py_ssize_t per = LINE_BYTES // itemsize, lines = (n + per - 1) // per
    return (lines + 1 - lines % 2 if lines > 0 else 0) * per


def gemm_workspace(Py_ssize_t kk, Py_ssize_t og, Py_ssize_t samples, Py_ssize_t length, Py_ssize_t tile,
                   bint batch_rows, Py_ssize_t itemsize):
    """Elements of conv_gemm's per-thread workspace (the size its check asks for): kk = C_in/groups x taps rows
    of gathered columns, lined(...) elements apart -- ``samples`` outputs of ``length`` cells side by side where
    samples > 1 (and og rows of BLAS's result block unless batch_rows), else a tile of ``tile`` cells (col_tile,
    or rows_per_tile x bw)."""
    if kk < 0 or og < 0 or samples < 1 or length < 0 or tile < 0 or itemsize <= 0 or LINE_BYTES % itemsize:
        raise ValueError(f"gemm_workspace: needs sizes >= 0, samples >= 1 and itemsize dividing {LINE_BYTES}; got "
                         f"kk={kk}, og={og}, samples={samples}, length={length}, tile={tile}, itemsize={itemsize}")
    return _gemm_need(kk, og, samples, length, tile, batch_rows, itemsize)


cdef inline Py_ssize_t _gemm_need(Py_ssize_t kk, Py_ssize_t og, Py_ssize_t S, Py_ssize_t L, Py_ssize_t tile,
                                  bint batch_rows, Py_ssize_t itemsize) noexcept nogil:
    """gemm_workspace's count (batch_rows only counts with S > 1)."""
    if S > 1:
        return (kk + (0 if batch_rows else og)) * _lined(S * L, itemsize)
    return kk * _lined(tile, itemsize)


def gemm_small(const floating[:, ::1] a, const floating[:, ::1] b, floating[:, ::1] c, bint accumulate=False):
    """``c[...] = a @ b`` (``c += a @ b`` with accumulate) through cl_gemm_small at the active SIMD level: the
    GEMM that conv_gemm uses for a few output channels per group (exposed for the tests)."""
    if a.shape[1] != b.shape[0] or c.shape[0] != a.shape[0] or c.shape[1] != b.shape[1]:
        raise ValueError(f"gemm_small: shapes ({a.shape[0]}, {a.shape[1]}) @ ({b.shape[0]}, {b.shape[1]}) -> "
                         f"({c.shape[0]}, {c.shape[1]}) do not match")
    if a.shape[0] == 0 or b.shape[1] == 0:
        return
    with nogil:
        _gemm_rows(a.shape[0], b.shape[1], a.shape[1], &a[0, 0] if a.shape[1] else NULL, a.shape[1],
                   &b[0, 0] if b.shape[0] else NULL, b.shape[1], &c[0, 0], c.shape[1], accumulate, True)


def blas_index_max():
    """The largest matrix size or leading dimension the GEMM kernels can pass: 2**63 - 1 through NumPy's
    ILP64 OpenBLAS, 2**31 - 1 through SciPy's ``cython_blas`` (C ints)."""
    return 2 ** 63 - 1 if _sgemm64 != NULL and _dgemm64 != NULL else 2 ** 31 - 1


cdef int _check_blas_sizes(str kernel, tuple sizes) except -1:
    """Raise before a kernel runs if a GEMM size or leading dimension would not fit the BLAS's integers
    (a truncated one makes OpenBLAS print "illegal value" and return garbage)."""
    cdef object top = blas_index_max()
    for v in sizes:
        if v > top:
            raise ValueError(f"{kernel}: a GEMM size or leading dimension of {v} exceeds {top}, the largest "
                             f"the BLAS in use takes (SciPy's cython_blas has 32-bit sizes; sizes {sizes})")
    return 0


cdef struct GemmTask:
    Py_ssize_t n, gi, r0, r1          # first sample, group, output rows [r0, r1)


cdef inline GemmTask _gemm_task(Py_ssize_t t, Py_ssize_t ntiles, Py_ssize_t groups, Py_ssize_t samples,
                                Py_ssize_t rows_per_tile, Py_ssize_t rows) noexcept nogil:
    """Task t of conv_gemm / conv_weight_gemm, counted over (sample block, group, tile of output rows);
    returned by value so that prange keeps it thread-private."""
    cdef GemmTask k
    cdef Py_ssize_t tile = t % ntiles
    k.gi = (t // ntiles) % groups
    k.n = (t // (ntiles * groups)) * samples
    k.r0 = tile * rows_per_tile
    k.r1 = k.r0 + rows_per_tile if k.r0 + rows_per_tile < rows else rows
    return k


cdef int _check_split(str name, Py_ssize_t C, Py_ssize_t C_out, int groups, Py_ssize_t per, str per_name,
                      int num_threads) except -1:
    """A kernel's groups (dividing C_in and, where ``C_out`` >= 0, C_out), its unit of work (``per``: rows per
    tile or task, named ``per_name``; none where that is empty) and thread count, checked before any division by
    them (the kernels divide with C semantics: a zero would stop the process, not raise)."""
    if groups < 1 or C % groups or (C_out >= 0 and C_out % groups):
        raise ValueError(f"{name}: groups={groups} must be >= 1 and divide C_in={C}"
                         + (f" and C_out={C_out}" if C_out >= 0 else ""))
    if not per_name and num_threads < 1:
        raise ValueError(f"{name}: num_threads must be >= 1, got {num_threads}")
    if per < 1 or num_threads < 1:
        raise ValueError(f"{name}: {per_name} and num_threads must be >= 1, got {per} and {num_threads}")
    return 0


def conv_gemm(const floating[:, :, :, :, ::1] x, const floating[:, ::1] w2d, const floating[::1] bias,
              floating[:, :, ::1] out,
              tuple kernel, tuple stride, tuple padding, tuple dilation, tuple blocks, int groups,
              int mode, Py_ssize_t rows_per_tile, floating[:, ::1] workspace, int num_threads=1,
              Py_ssize_t samples=1, bint small_gemm=False, Py_ssize_t col_tile=0, bint batch_rows=False):
    """Forward convolution, im2col fused with GEMM per tile of output rows.

    NumPy equivalent: ``out[n, g] = w2d[g] @ im2col(x)[n, g]`` for every sample and group.

    x   : (N, C_in, D, H, W) unpadded; w2d : (C_out, C_in/groups * K); out : (N, C_out, L), overwritten.
    workspace : (num_threads, >= gemm_workspace(...)), one row per thread (allocated by the caller; the gathered
    columns' rows are lined(...) elements apart, whole cache lines: a workspace on a line keeps every row on one).
    A 1x1(x1) kernel at stride 1 without padding (samples 1) reads its tiles' columns from x in place: no copy,
    the workspace unused.
    samples > 1 (only with one tile per sample, for small outputs): that many samples' columns side by
    side in one GEMM, whose (og, samples*L) result is then copied out; the workspace rows then hold
    (cg*K + og) * lined(samples * L) elements. With batch_rows, cl_gemm_rows multiplies the gathered columns (its
    runs their rows) and stores each sample's sums straight into out, bias added: no result block (the workspace
    rows hold cg*K * lined(samples * L) elements), no copy out (the copy and BLAS's packing of the columns were a
    fifth of ResNet-18's 1x1 s2 256 -> 512 on 7x7 outputs).
    BLAS must run single-threaded here (the caller pins it): threads split sample x group x tile.
    small_gemm: the GEMMs through cl_gemm_small instead of BLAS (few output channels per group).
    col_tile > 0 (one output row per sample: 1-d layers; samples 1): tiles of that many output cells of the row,
    so that one sample is several tasks and still feeds every thread (rows_per_tile is then 1 and the workspace
    rows hold cg*K*lined(col_tile)). A tile is the layer on the columns [c0, c1): the same geometry with c1 - c0
    blocks and padding pw - c0*sw (negative past the first tile: the tile starts inside the input).
    """
    _check_split("conv_gemm", x.shape[1], w2d.shape[0], groups, rows_per_tile, "rows_per_tile", num_threads)
    cdef Geom g = _geom((x.shape[2], x.shape[3], x.shape[4]), kernel, stride, padding, dilation, blocks, mode)
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], C_out = w2d.shape[0]
    cdef Py_ssize_t cg = C // groups, og = C_out // groups, K = g.kd * g.kh * g.kw
    cdef Py_ssize_t rows = g.bd * g.bh, L = rows * g.bw
    cdef Py_ssize_t ntiles = (rows + rows_per_tile - 1) // rows_per_tile if col_tile <= 0 else \
        (g.bw + col_tile - 1) // col_tile
    cdef Geom gl = g
    cdef Py_ssize_t c0 = 0
    cdef Py_ssize_t S = samples if samples > 1 else 1, nblocks = (N + S - 1) // S
    cdef Py_ssize_t total = nblocks * groups * ntiles, t, n, gi, r0, r1, co, e, s, ns, cols
    cdef GemmTask task
    cdef Py_ssize_t kk = cg * K, ldc = L, m, nn = og
    # a tile's cells (col_tile, or rows_per_tile whole rows); the gathered columns' row stride is the widest
    # tile's columns in whole cache lines
    cdef Py_ssize_t tile = col_tile if col_tile > 0 else rows_per_tile * g.bw
    cdef Py_ssize_t ldw = _lined(S * L if S > 1 else tile, sizeof(floating))
    cdef floating* ws
    cdef floating* res
    cdef floating* orow
    cdef const floating* rrow
    cdef const floating* B
    cdef Py_ssize_t ldb
    cdef floating bv
    cdef bint has_bias = bias is not None
    cdef const floating** bp
    cdef const floating** bp_all = NULL
    # a 1x1(x1) kernel at stride 1 without padding: a tile's columns are the input's cells as they lie
    cdef bint in_place = K == 1 and g.sd == 1 and g.sh == 1 and g.sw == 1 and g.pd == 0 and g.ph == 0 \
        and g.pw == 0 and S == 1 and col_tile <= 0
    if col_tile > 0 and (rows != 1 or S > 1 or rows_per_tile != 1):
        raise ValueError(f"conv_gemm: col_tile needs one output row per sample, samples 1 and rows_per_tile 1; "
                         f"got {rows} rows, samples {samples}, rows_per_tile {rows_per_tile}")
    if total == 0:
        return
    batch_rows = batch_rows and S > 1
    # (batched samples: their columns, and BLAS's result block unless cl_gemm_rows stores into the output)
    cdef Py_ssize_t need = 0 if in_place else _gemm_need(kk, og, S, L, tile, batch_rows, sizeof(floating))
    if workspace.shape[0] < num_threads or workspace.shape[1] < need:
        raise ValueError(f"conv_gemm: the workspace ({workspace.shape[0]}, {workspace.shape[1]}) is smaller than "
                         f"({num_threads}, {need}): a row of that many elements per thread")
    _check_blas_sizes("conv_gemm", (kk, ldc, nn, ldw))
    if batch_rows:
        bp_all = <const floating**>malloc(num_threads * kk * sizeof(floating*) + 1)
        if bp_all == NULL:
            raise MemoryError(f"conv_gemm: could not allocate {num_threads} x {kk} row pointers")
    ws = NULL
    bp = NULL
    _blas_single()                      # BLAS runs single-threaded inside our threads
    with nogil, parallel(num_threads=num_threads):
        ws = &workspace[threadid(), 0]       # this thread's (cg*K, rows_per_tile*bw) buffer
        if batch_rows:
            bp = bp_all + threadid() * kk
        for t in prange(total, schedule="static"):
            task = _gemm_task(t, ntiles, groups, S, rows_per_tile, rows)
            n = task.n
            gi = task.gi
            if S > 1:
                # several small samples in one GEMM: ws = [cols (kk, ns*L) | res (og, ns*L)]
                ns = N - n if N - n < S else S
                cols = ns * L
                _gather(&x[n, gi * cg, 0, 0, 0], ws, cg, 0, rows, ldw, &g, ns, C * g.D * g.H * g.W, L)
                if batch_rows:                  # sample s's sums to out[n + s], rows of L cells C_out * L apart
                    for e in range(kk):
                        bp[e] = ws + e * ldw
                    if floating is float:
                        cl_gemm_rows_f(og, cols, kk, &w2d[gi * og, 0], kk, bp, &out[n, gi * og, 0], L, L, L,
                                       C_out * L, &bias[gi * og] if has_bias else NULL)
                    else:
                        cl_gemm_rows_d(og, cols, kk, &w2d[gi * og, 0], kk, bp, &out[n, gi * og, 0], L, L, L,
                                       C_out * L, &bias[gi * og] if has_bias else NULL)
                    continue
                res = ws + kk * ldw
                m = cols
                _gemm_rows(nn, m, kk, &w2d[gi * og, 0], kk, ws, ldw, res, ldw, False, small_gemm)
                for s in range(ns):
                    for co in range(og):
                        orow = &out[n + s, gi * og + co, 0]
                        rrow = res + co * ldw + s * L
                        if has_bias:
                            bv = bias[gi * og + co]
                            for e in range(L):
                                orow[e] = rrow[e] + bv
                        else:
                            for e in range(L):
                                orow[e] = rrow[e]
                continue
            gl = g
            if col_tile > 0:                        # columns [c0, c0 + m) of the one output row
                c0 = (t % ntiles) * col_tile
                gl.bw = g.bw - c0 if g.bw - c0 < col_tile else col_tile
                gl.pw = g.pw - c0 * g.sw
                r0 = 0
                r1 = 1
                m = gl.bw
            else:                                   # output rows [r0, r1)
                r0 = task.r0
                r1 = task.r1
                m = (r1 - r0) * g.bw
                c0 = r0 * g.bw
            if in_place:
                B = &x[n, gi * cg, 0, 0, 0] + c0
                ldb = L
            else:
                _gather(&x[n, gi * cg, 0, 0, 0], ws, cg, r0, r1, ldw, &gl)
                B = ws
                ldb = ldw
            if has_bias:
                for co in range(gi * og, (gi + 1) * og):
                    orow = &out[n, co, c0]
                    for e in range(m):
                        orow[e] = bias[co]
            # out[og, m] = w[og, kk] @ cols[kk, m] (+ out: the bias), from the tile's first output cell c0
            _gemm_rows(nn, m, kk, &w2d[gi * og, 0], kk, B, ldb, &out[n, gi * og, c0], ldc, has_bias, small_gemm)
    _blas_restore()
    free(bp_all)



def rows_workspace(Py_ssize_t cg, tuple kernel, tuple stride, tuple dilation, tuple blocks,
                   Py_ssize_t rows_per_task):
    """Elements of conv_rows's per-thread workspace: for each of cg channels and kd kernel planes, sh x sw phase
    planes of rows_per_task + (kh - 1) * dh // sh rows of Wq = Wo + (kw - 1) * dw // sw cells (the sums go straight
    to the output)."""
    cdef Py_ssize_t kd = kernel[0], kh = kernel[1], kw = kernel[2], sh = stride[1], sw = stride[2], dh = dilation[1]
    cdef Py_ssize_t dw = dilation[2], wq = blocks[2] + (kw - 1) * dw // sw
    return cg * kd * sh * sw * (rows_per_task + (kh - 1) * dh // sh) * wq


cdef inline void _phase_cells(const Geom* g, Py_ssize_t b, Py_ssize_t sw, Py_ssize_t wq, Py_ssize_t* lo,
                              Py_ssize_t* hi) noexcept nogil:
    """Cells [lo, hi) of a conv_rows column-phase row (wq cells, cell e holding padded column e * sw + b) that are
    input columns, read from input column e * sw + b - pw; the cells outside are padding."""
    lo[0] = (g.pw - b + sw - 1) // sw if g.pw > b else 0
    hi[0] = (g.W + g.pw - b + sw - 1) // sw if g.W + g.pw > b else 0
    if hi[0] > wq:
        hi[0] = wq
    if lo[0] > hi[0]:
        lo[0] = hi[0]


cdef inline void _phase_padding(floating* row, const floating* src, Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t wq,
                                Py_ssize_t b, Py_ssize_t sw, const Geom* g) noexcept nogil:
    """The padding cells of a conv_rows column-phase row (cells before lo and from hi, see _phase_cells), by the
    padding mode, from the input row src."""
    cdef Py_ssize_t e, xs
    for e in range(lo):
        xs = _src(e * sw + b - g.pw, g.W, g.mode)
        row[e] = src[xs] if xs >= 0 else 0
    for e in range(hi, wq):
        xs = _src(e * sw + b - g.pw, g.W, g.mode)
        row[e] = src[xs] if xs >= 0 else 0


cdef inline void _rows_runs(const floating** bp, floating* slab, Py_ssize_t cg, const Geom* g, Py_ssize_t section,
                            Py_ssize_t plane, Py_ssize_t wq, Py_ssize_t base) noexcept nogil:
    """conv_rows' runs, one per (channel, tap) in the weights' order: tap (td, ty, tx) of channel c reads the
    section of kernel-plane slot (base + td) mod kd (base 0: slot td; a ring passes od - pd), in it the phase plane
    (ty * dh % sh, tx * dw % sw), from row ty * dh // sh, cell tx * dw // sw. Those phases and offsets step along
    the taps without a division (a ring sets the runs again for every output plane: an idiv per run was 6% of
    ResNeXt-3D 512 -> 512's time)."""
    cdef Py_ssize_t q = 0, c, td, ty, tx, slot, ry, qy, rx, qx
    cdef Py_ssize_t dqh = g.dh // g.sh, drh = g.dh % g.sh, dqw = g.dw // g.sw, drw = g.dw % g.sw
    cdef floating* sec
    for c in range(cg):
        for td in range(g.kd):
            slot = (base + td) % g.kd
            if slot < 0:
                slot = slot + g.kd
            sec = slab + (c * g.kd + slot) * section
            ry = 0                      # ty * dh % sh and // sh
            qy = 0
            for ty in range(g.kh):
                rx = 0                  # tx * dw % sw and // sw
                qx = 0
                for tx in range(g.kw):
                    bp[q] = sec + (ry * g.sw + rx) * plane + qy * wq + qx
                    q = q + 1
                    rx = rx + drw
                    qx = qx + dqw
                    if rx >= g.sw:
                        rx = rx - g.sw
                        qx = qx + 1
                ry = ry + drh
                qy = qy + dqh
                if ry >= g.sh:
                    ry = ry - g.sh
                    qy = qy + 1


cdef void _phase_pair(const floating* xc, floating* p0, Py_ssize_t plane, Py_ssize_t wq, Py_ssize_t r0,
                      Py_ssize_t rows, Py_ssize_t a, const Geom* g) noexcept nogil:
    """conv_rows' two column phases at column stride 2, for one channel and row phase a: row s of phase b, at
    p0 + b * plane + s * wq, holds padded input row (r0 + s) * sh + a at padded columns 2e + b (e < wq). The
    input cells of both phases come from one pass over the input row (cl_deinterleave: its even columns feed
    one phase, its odd the other); where the phases' ranges of input cells differ, and at the padding cells,
    cell by cell. (Phase by phase, a strided copy each, read every row twice: 19% of ResNeXt's g32 s2 layer.)"""
    cdef Py_ssize_t lo[2]
    cdef Py_ssize_t hi[2]
    cdef Py_ssize_t off[2]
    cdef Py_ssize_t b, e, s, ys, jlo, jhi, pe, po
    cdef floating* row
    cdef const floating* src
    for b in range(2):                  # phase b's cells [lo, hi) are input columns; cell e reads input column
        _phase_cells(g, b, 2, wq, &lo[b], &hi[b])           # 2 (e + off[b]) + ((b - pw) & 1)
        off[b] = (b - g.pw - ((b - g.pw) & 1)) // 2
    pe = g.pw & 1                       # the phase of even input columns (b - pw even), and of odd ones
    po = 1 - pe
    jlo = max(lo[pe] + off[pe], lo[po] + off[po])       # input column pairs (2j, 2j + 1) both phases hold
    jhi = min(hi[pe] + off[pe], hi[po] + off[po])
    if jhi < jlo:
        jhi = jlo
    for s in range(rows):
        ys = _src((r0 + s) * g.sh + a - g.ph, g.H, g.mode)
        if ys < 0:
            memset(p0 + s * wq, 0, wq * sizeof(floating))
            memset(p0 + plane + s * wq, 0, wq * sizeof(floating))
            continue
        src = xc + ys * g.W
        if ys + PAIR_AHEAD * g.sh < g.H:
            cl_prefetch(src + PAIR_AHEAD * g.sh * g.W, g.W * sizeof(floating), PREFETCH_ROW_LINES)
        if jhi > jlo:
            if floating is float:
                cl_deinterleave_f(p0 + pe * plane + s * wq + jlo - off[pe], p0 + po * plane + s * wq + jlo - off[po],
                                  src + 2 * jlo, jhi - jlo)
            else:
                cl_deinterleave_d(p0 + pe * plane + s * wq + jlo - off[pe], p0 + po * plane + s * wq + jlo - off[po],
                                  src + 2 * jlo, jhi - jlo)
        for b in range(2):
            row = p0 + b * plane + s * wq
            _phase_padding(row, src, lo[b], hi[b], wq, b, 2, g)
            if jhi > jlo:
                for e in range(lo[b], jlo - off[b]):
                    row[e] = src[2 * e + b - g.pw]
                for e in range(jhi - off[b], hi[b]):
                    row[e] = src[2 * e + b - g.pw]
            else:
                for e in range(lo[b], hi[b]):
                    row[e] = src[2 * e + b - g.pw]


def conv_rows(const floating[:, :, :, :, ::1] x, const floating[:, ::1] w2d, const floating[::1] bias,
              floating[:, :, ::1] out, tuple kernel, tuple stride, tuple padding, tuple dilation, tuple blocks,
              int groups, int mode, Py_ssize_t rows_per_task, floating[:, ::1] workspace, int num_threads=1,
              Py_ssize_t planes_per_task=1):
    """Convolution of 1-d, 2-d and 3-d inputs with few output channels per group, without im2col.

    NumPy equivalent: ``out[n, g] = w2d[g] @ im2col(x)[n, g]``, as conv_gemm. A task (sample, group, output
    plane, block of rows_per_task output rows of that plane) copies the input cells it reads, padded by the
    padding mode, into sh x sw phase planes per channel and kernel plane: for kernel plane td the input plane
    od * sd - pd + td * dd (a plane of padding is zeros, or the plane the padding mode names), and in it phase
    plane (a, b) holds padded row (r0 + i) * sh + a, column j * sw + b at (i, j), with rows Wq = Wo + (kw - 1) *
    dw // sw long. Output (r, e) of the block reads, for tap (td, ty, tx), kernel plane td's phase plane
    (ty * dh % sh, tx * dw % sw) at (r + ty * dh // sh, e + tx * dw // sw): numbering outputs q = r * Wq + e (the
    Wq - Wo last numbers of a row are spare), every (channel, tap) is one run of a phase plane at a fixed offset.
    cl_gemm_rows multiplies the group's weights (og, cg * K) by those cg * K runs and stores the Wo real cells of
    each row of sums straight into out, bias added (a vector that reaches a row's spare numbers is stored under a
    lane mask). The planes hold each input cell kd times (once per kernel plane) where im2col copies it about K /
    (sd * sh * sw) times. A 1x1(x1) kernel at stride 1 within the plane, without padding, copies nothing: a
    task's rows of a channel are one run of the input plane, which cl_gemm_rows reads in place (the workspace is
    not touched). With planes_per_task > 1 (3-d layers of depth stride and dilation 1), a task takes its block of
    rows in that many consecutive output planes, and its kernel planes' sections are a ring: the next output plane
    reads kd - 1 of the same input planes, so it copies one plane per channel (slot v % kd holds input plane v), not
    kd.

    x : (N, C_in, D, H, W); w2d : (C_out, C_in/groups * kd * kh * kw); out : (N, C_out, Do * Ho * Wo),
    overwritten; stride (sd, sh, sw); padding (pd, ph, pw) on the left; blocks (Do, Ho, Wo).
    workspace : (num_threads, >= rows_workspace(...)); the row pointers (cg * K per thread) are malloc'ed.
    """
    _check_split("conv_rows", x.shape[1], w2d.shape[0], groups, rows_per_task, "rows_per_task", num_threads)
    cdef Geom g = _geom((x.shape[2], x.shape[3], x.shape[4]), kernel, stride, padding, dilation, blocks, mode)
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], C_out = w2d.shape[0]
    cdef Py_ssize_t cg = C // groups, og = C_out // groups, K = g.kd * g.kh * g.kw, kk = cg * K
    cdef Py_ssize_t R = rows_per_task, sh = g.sh, sw = g.sw, wq = g.bw + (g.kw - 1) * g.dw // g.sw
    cdef Py_ssize_t extra = (g.kh - 1) * g.dh // g.sh, prow = R + extra, plane = prow * wq
    cdef Py_ssize_t th = (g.bh + R - 1) // R, section = sh * sw * plane
    cdef Py_ssize_t P = planes_per_task, tp, total
    cdef Py_ssize_t t, n, gi, od, od0, od1, r0, nr, ci, s, ys, zs, td, v, slot, ncols, lo, hi, a, b
    cdef bint in_place, ring, padrows
    cdef floating* ws
    cdef floating* slab
    cdef floating* pc
    cdef floating* row
    cdef const floating* xc
    cdef const floating* src
    cdef const floating** bp
    cdef const floating** bp_all
    cdef Py_ssize_t* rs
    cdef Py_ssize_t* rs_all
    if R < 1 or sh < 1 or sw < 1 or g.sd < 1 or P < 1:
        raise ValueError(f"conv_rows: needs rows_per_task >= 1, planes_per_task >= 1 and strides >= 1, got "
                         f"{rows_per_task}, {planes_per_task} and {stride}")
    if w2d.shape[1] != kk or C_out % groups or C % groups or out.shape[1] != C_out \
            or out.shape[2] != g.bd * g.bh * g.bw or workspace.shape[1] < cg * g.kd * section:
        raise ValueError("conv_rows: w2d, out or workspace do not match the input and blocks")
    # a 1x1(x1) kernel at stride 1 within the plane without padding reads each input row as it lies (the rows of
    # a block are one run of the plane): no copy into the slab (which took a third of MobileNetV2's 1x1 96 -> 24
    # time)
    in_place = K == 1 and sh == 1 and sw == 1 and g.pd == 0 and g.ph == 0 and g.pw == 0 and wq == g.W \
        and g.bw == g.W
    if g.sd != 1 or g.dd != 1 or g.kd == 1 or in_place:
        P = 1                           # (a ring needs consecutive input planes; one kernel plane reuses nothing)
    P = min(P, g.bd) if g.bd > 0 else 1
    ring = P > 1
    tp = (g.bd + P - 1) // P
    total = N * groups * tp * th
    if total == 0 or C_out == 0:
        return
    # at column stride 1 a phase plane's rows are the input rows padded on both sides (wq = pw + W + right
    # padding): cl_pad_rows writes them, a vector copy and the edges by mode (cell by cell, 14-cell rows of a
    # ResNeXt-3D 512 -> 512 layer took 18% of its time); its source rows (and their runs) are worked out once a
    # task and row phase
    padrows = sw == 1 and g.pw >= 0 and wq >= g.W + g.pw \
        and (g.mode == ZEROS or (g.pw < g.W and wq - g.W - g.pw < g.W))
    padrows = padrows and not in_place
    bp_all = <const floating**>malloc(num_threads * kk * sizeof(floating*) + 1)
    if bp_all == NULL:
        raise MemoryError(f"conv_rows: could not allocate {num_threads} x {kk} row pointers")
    rs_all = NULL                       # the padded rows' sources and runs: only where cl_pad_rows writes rows
    if padrows:
        rs_all = <Py_ssize_t*>malloc(num_threads * 2 * sh * prow * sizeof(Py_ssize_t))
        if rs_all == NULL:
            free(bp_all)
            raise MemoryError(f"conv_rows: could not allocate {num_threads} x {2 * sh * prow} source rows and "
                              f"runs of the padded rows")
    with nogil, parallel(num_threads=num_threads):
        ws = &workspace[threadid(), 0]
        slab = ws
        bp = bp_all + threadid() * kk
        rs = NULL
        if padrows:
            rs = rs_all + threadid() * 2 * sh * prow     # per row phase a: source rows at a * prow, runs at (sh + a)
        _rows_runs(bp, slab, cg, &g, section, plane, wq, 0)     # the runs of (channel, tap): fixed offsets
        for t in prange(total, schedule="static"):
            n = t // (groups * tp * th)
            gi = (t // (tp * th)) % groups
            od0 = (t // th) % tp * P
            od1 = od0 + P if od0 + P < g.bd else g.bd
            r0 = (t % th) * R
            nr = g.bh - r0 if g.bh - r0 < R else R
            if padrows:
                for a in range(sh):
                    _row_sources(rs + a * prow, rs + (sh + a) * prow, nr + extra, r0 * sh + a - g.ph, sh, g.H,
                                 g.mode)
            for od in range(od0, od1):
                if ring:                        # the kernel planes' sections rotate: slot v % kd holds plane v
                    _rows_runs(bp, slab, cg, &g, section, plane, wq, od - g.pd)
                for ci in range(cg):
                    if in_place:                # 1x1(x1), stride 1 in the plane, no padding: the rows are the runs
                        bp[ci] = &x[n, gi * cg + ci, od * g.sd, r0, 0]
                        continue
                    for td in range(g.kd):
                        if ring and od > od0 and td < g.kd - 1:
                            continue            # the previous output plane's kernel plane td + 1: in its slot
                        v = od * g.sd - g.pd + td * g.dd
                        slot = td
                        if ring:
                            slot = v % g.kd
                            if slot < 0:
                                slot = slot + g.kd
                        pc = slab + (ci * g.kd + slot) * section
                        zs = _src(v, g.D, g.mode)
                        if zs < 0:              # a plane of zero padding
                            memset(pc, 0, section * sizeof(floating))
                            continue
                        xc = &x[n, gi * cg + ci, zs, 0, 0]
                        for a in range(sh):
                            if padrows:
                                if floating is float:
                                    cl_pad_rows_f(pc + a * plane, xc, rs + a * prow, rs + (sh + a) * prow,
                                                  nr + extra, g.W, g.pw, wq - g.W - g.pw, g.mode, 0, 1, 0)
                                else:
                                    cl_pad_rows_d(pc + a * plane, xc, rs + a * prow, rs + (sh + a) * prow,
                                                  nr + extra, g.W, g.pw, wq - g.W - g.pw, g.mode, 0, 1, 0)
                                continue
                            if sw == 2:
                                _phase_pair(xc, pc + a * 2 * plane, plane, wq, r0, nr + extra, a, &g)
                                continue
                            for b in range(sw):
                                lo = 0          # (assigned in the loop, so each thread has its own: prange
                                hi = 0          # shares a variable that is only written through a pointer)
                                _phase_cells(&g, b, sw, wq, &lo, &hi)
                                for s in range(nr + extra):
                                    row = pc + (a * sw + b) * plane + s * wq
                                    ys = _src((r0 + s) * sh + a - g.ph, g.H, g.mode)
                                    if ys < 0:
                                        memset(row, 0, wq * sizeof(floating))
                                        continue
                                    src = xc + ys * g.W
                                    _phase_padding(row, src, lo, hi, wq, b, sw, &g)
                                    if hi > lo:
                                        _copy(row + lo, src + lo * sw + b - g.pw, hi - lo, sw)
                ncols = (nr - 1) * wq + g.bw            # the last row's spare numbers would read past the planes
                if floating is float:
                    cl_gemm_rows_f(og, ncols, kk, &w2d[gi * og, 0], kk, bp,
                                   &out[n, gi * og, (od * g.bh + r0) * g.bw], out.shape[2], wq, g.bw, g.bw,
                                   &bias[gi * og] if bias is not None else NULL)
                else:
                    cl_gemm_rows_d(og, ncols, kk, &w2d[gi * og, 0], kk, bp,
                                   &out[n, gi * og, (od * g.bh + r0) * g.bw], out.shape[2], wq, g.bw, g.bw,
                                   &bias[gi * og] if bias is not None else NULL)
    free(bp_all)
    free(rs_all)


cdef inline void _wgrad_tile(const floating* xc, const floating* go, floating* ws, floating* part, Py_ssize_t nc,
                             Py_ssize_t og, Py_ssize_t K, Py_ssize_t L, Py_ssize_t r0, Py_ssize_t r1,
                             const Geom* g) noexcept nogil:
    """One tile of conv_weight_gemm: output rows [r0, r1) of nc input channels from xc gathered into ws, then
    part (nc * K x og, row-major) += ws @ go^T, go the tile's grad_output (og rows, L apart)."""
    cdef Py_ssize_t m = (r1 - r0) * g.bw
    cdef char* no = b"N"
    cdef char* tr = b"T"
    _gather(xc, ws, nc, r0, r1, m, g)
    # row-major part[nc*K, og] += ws[nc*K, m] @ go[og, m]^T  <=>  column-major part^T (og, nc*K) += op(A) (og, m)
    # @ B (m, nc*K): A the grad_output block read transposed ("T"), B the tile as it lies ("N")
    _gemm(tr, no, og, nc * K, m, go, L, ws, m, 1, part, og)


def conv_weight_gemm(const floating[:, :, :, :, ::1] x, const floating[:, :, ::1] gout, floating[:, :, ::1] gw,
                     tuple kernel, tuple stride, tuple padding, tuple dilation, tuple blocks, int groups,
                     Py_ssize_t rows_per_tile, floating[:, ::1] workspace, int num_threads=1,
                     Py_ssize_t channel_chunk=0):
    """Gradient of a (zero-padded) convolution with respect to its weight, im2col fused with the GEMM per
    tile of output rows, so no sample's whole column matrix is ever built.

    NumPy equivalent: ``gw.sum(0)[g] = sum_n gout[n, g] @ im2col(x)[n, g].T`` for every group g.

    x : (N, C_in, D, H, W) unpadded; gout : (N, C_out, L); gw : (num_threads, groups * C_in/groups * K,
    C_out/groups), zeros on entry: each group's gradient **transposed**, (C_in/groups * K, C_out/groups), so
    that BLAS packs the gathered tile by a straight copy (its transposing copy of the tile, the other layout,
    took 44% of a 3-d layer's time on Zen 4, three times its GEMM kernel). Each thread adds its tiles into its
    own slice (the caller sums the slices in order, so the result does not depend on which thread finished
    first, then transposes each group's block).
    workspace : (num_threads, cg*K*rows_per_tile*bw), one row per thread (allocated by the caller).

    channel_chunk > 0: a task is a group's chunk of that many input channels over every sample and tile instead,
    adding into gw[0] only: the tasks own disjoint rows of it, so gw needs one slice and nothing is summed after
    (the workspace rows then need channel_chunk*K*rows_per_tile*bw).
    """
    _check_split("conv_weight_gemm", x.shape[1], gout.shape[1], groups, rows_per_tile, "rows_per_tile",
                 num_threads)
    cdef Geom g = _geom((x.shape[2], x.shape[3], x.shape[4]), kernel, stride, padding, dilation, blocks, ZEROS)
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], C_out = gout.shape[1]
    cdef Py_ssize_t cg = C // groups, og = C_out // groups, K = g.kd * g.kh * g.kw
    cdef Py_ssize_t rows = g.bd * g.bh, L = rows * g.bw
    cdef Py_ssize_t ntiles = (rows + rows_per_tile - 1) // rows_per_tile, total = N * groups * ntiles, t
    cdef GemmTask task
    cdef Py_ssize_t kk = cg * K, cc = channel_chunk if 0 < channel_chunk < cg else cg
    cdef Py_ssize_t nchunks = (cg + cc - 1) // cc, c0, nc, n, tile, gi
    cdef floating* ws
    cdef floating* part
    if channel_chunk < 0:
        raise ValueError(f"conv_weight_gemm: channel_chunk must be >= 0 (0: tasks of samples), got {channel_chunk}")
    if total == 0 or og == 0 or kk == 0:
        return
    if gout.shape[0] != N or gout.shape[2] != L or gw.shape[1] != groups * kk or gw.shape[2] != og \
            or gw.shape[0] < (1 if channel_chunk else num_threads) or workspace.shape[0] < num_threads \
            or workspace.shape[1] < cc * K * min(rows_per_tile, rows) * g.bw:
        raise ValueError("conv_weight_gemm: gout must be (N, C_out, L), gw (threads, C_in*K, C_out/groups) (one "
                         "slice with channel_chunk) and the workspace (threads, C_in/groups*K*rows_per_tile*bw) "
                         "(channel_chunk*K*rows_per_tile*bw with channel_chunk)")
    _check_blas_sizes("conv_weight_gemm", (kk, og, L, rows_per_tile * g.bw))
    ws = NULL
    part = NULL
    _blas_single()                      # BLAS runs single-threaded inside our threads
    if channel_chunk:
        with nogil, parallel(num_threads=num_threads):
            ws = &workspace[threadid(), 0]
            for t in prange(groups * nchunks, schedule="static"):
                gi = t // nchunks                                   # the task's group, its chunk of channels:
                c0 = (t % nchunks) * cc
                nc = cg - c0 if cg - c0 < cc else cc
                part = &gw[0, gi * kk + c0 * K, 0]                  # this chunk's rows of its group's block
                for n in range(N):
                    for tile in range(ntiles):
                        task = _gemm_task(tile, ntiles, 1, 1, rows_per_tile, rows)
                        _wgrad_tile(&x[n, gi * cg + c0, 0, 0, 0], &gout[n, gi * og, task.r0 * g.bw], ws, part, nc,
                                    og, K, L, task.r0, task.r1, &g)
        _blas_restore()
        return
    with nogil, parallel(num_threads=num_threads):
        ws = &workspace[threadid(), 0]
        part = &gw[threadid(), 0, 0]
        for t in prange(total, schedule="static"):
            task = _gemm_task(t, ntiles, groups, 1, rows_per_tile, rows)
            _wgrad_tile(&x[task.n, task.gi * cg, 0, 0, 0], &gout[task.n, task.gi * og, task.r0 * g.bw], ws,
                        part + task.gi * kk * og, cg, og, K, L, task.r0, task.r1, &g)
    _blas_restore()


# =================================================================================================================
# 3. Transposed: GEMM into a workspace, then col2im
# =================================================================================================================

def conv_transpose_gemm(const floating[:, :, ::1] x, const floating[:, ::1] w2d, floating[:, :, :, :, ::1] out,
                        tuple kernel, tuple stride, tuple padding, tuple dilation, tuple blocks, int groups,
                        Py_ssize_t rows_per_tile, floating[:, ::1] workspace, int num_threads=1,
                        Py_ssize_t samples=1, const floating[::1] bias=None, bint overwrite=False,
                        Py_ssize_t channel_chunks=1):
    """Transposed convolution: columns = w2d[g]^T @ x[n, g] per tile of input rows, then col2im.

    NumPy equivalent: ``out[n] = col2im(w2d.T @ x[n])`` per group (overlaps summed).

    x   : (N, C_in, L_in) with L_in = prod(blocks); w2d : (C_in, C_out/groups * K);
    out : (N, C_out, D, H, W), accumulated into (the caller fills it with zeros or the bias).
    workspace : (num_threads, P*rows_per_tile*bw), one row per thread (allocated by the caller).
    samples > 1 (small inputs; rows_per_tile must cover a whole sample): that many samples' inputs are
    copied side by side and multiplied in one GEMM; the workspace rows then hold (P + cg) * samples * L_in.
    Threads split sample x group x chunk of output channels (each task owns its output channels, so no write
    races): channel_chunks > 1 splits each group's C_out/groups channels into that many runs, one GEMM (that
    many columns fewer) and one col2im each, so a single sample still feeds every thread.
    overwrite (no-overlap path, stride == kernel and dilation 1 only): every output cell a block reaches
    is stored once as column + bias (bias may be None), so out need not be initialised there; cells
    no block reaches (an output_padding tail) are the caller's to fill.
    """
    _check_split("conv_transpose_gemm", x.shape[1], -1, groups, rows_per_tile, "rows_per_tile", num_threads)
    cdef Geom g = _geom((out.shape[2], out.shape[3], out.shape[4]), kernel, stride, padding, dilation, blocks, ZEROS)
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], P = w2d.shape[1]
    cdef Py_ssize_t cg = C // groups, K = g.kd * g.kh * g.kw, og = P // K
    cdef Py_ssize_t rows = g.bd * g.bh, L = rows * g.bw
    cdef Py_ssize_t S = samples if samples > 1 else 1, nblocks = (N + S - 1) // S
    cdef Py_ssize_t OC = channel_chunks if 1 < channel_chunks <= og else 1, per_chunk = (og + OC - 1) // OC
    cdef Py_ssize_t total = nblocks * groups * OC, t, n, gi, r0, r1, s, ns, cols, ci, e, o0, oc
    cdef Py_ssize_t kk = cg, lda = L, ldb = P, m, pp = P
    cdef floating* ws
    cdef floating* xs
    cdef const floating* xrow
    cdef char* no = b"N"
    cdef char* tr = b"T"
    cdef const floating* bp = NULL
    if P % K:
        raise ValueError(f"conv_transpose_gemm: w2d's columns ({P}) must be a multiple of the taps ({K})")
    if x.shape[2] != L or w2d.shape[0] != C or out.shape[0] != N or out.shape[1] != og * groups \
            or (bias is not None and bias.shape[0] < og * groups):
        raise ValueError(f"conv_transpose_gemm: x {tuple(x.shape)[:3]}, w2d {tuple(w2d.shape)[:2]}, out "
                         f"{tuple(out.shape)[:5]} or the bias do not match blocks {blocks}, kernel {kernel} and "
                         f"groups {groups}: x (N, C_in, {L}), w2d (C_in, C_out/groups * {K}), out (N, C_out, ...)")
    if total == 0 or L == 0:
        return
    _check_blas_sizes("conv_transpose_gemm", (kk, lda, ldb, S * L if S > 1 else rows_per_tile * g.bw))
    if workspace.shape[0] < num_threads or workspace.shape[1] < ((P + cg) * S * L if S > 1 else
                                                                 P * min(rows_per_tile, rows) * g.bw):
        raise ValueError(f"conv_transpose_gemm: the workspace ({workspace.shape[0]}, {workspace.shape[1]}) is "
                         f"smaller than ({num_threads}, "
                         f"{(P + cg) * S * L if S > 1 else P * min(rows_per_tile, rows) * g.bw})")
    if overwrite and (g.sd != g.kd or g.sh != g.kh or g.sw != g.kw or g.dd != 1 or g.dh != 1 or g.dw != 1):
        raise ValueError("conv_transpose_gemm: overwrite needs stride == kernel and dilation 1 (no overlap)")
    if bias is not None:
        bp = &bias[0]
    ws = NULL
    _blas_single()                      # BLAS runs single-threaded inside our threads
    with nogil, parallel(num_threads=num_threads):
        ws = &workspace[threadid(), 0]       # this thread's (P, rows_per_tile*bw) buffer
        for t in prange(total, schedule="static"):
            n = (t // (groups * OC)) * S
            gi = (t // OC) % groups
            o0 = (t % OC) * per_chunk                      # this task's output channels: o0 .. o0 + oc - 1
            oc = og - o0 if og - o0 < per_chunk else per_chunk
            if oc <= 0:
                continue
            pp = oc * K
            if S > 1:
                # ws = [columns (P, ns*L) | inputs side by side (cg, ns*L)]
                ns = N - n if N - n < S else S
                cols = ns * L
                xs = ws + P * S * L
                for ci in range(cg):
                    for s in range(ns):
                        xrow = &x[n + s, gi * cg + ci, 0]
                        for e in range(L):
                            xs[ci * cols + s * L + e] = xrow[e]
                m = cols
                _gemm(no, tr, m, pp, kk, xs, m, &w2d[gi * cg, o0 * K], ldb, 0, ws, m)
                for s in range(ns):
                    _scatter(ws + s * L, &out[n + s, gi * og + o0, 0, 0, 0], oc, 0, rows, cols, &g, overwrite,
                             bp + gi * og + o0 if bp != NULL else NULL)
                continue
            r0 = 0
            while r0 < rows:
                r1 = r0 + rows_per_tile
                if r1 > rows:
                    r1 = rows
                m = (r1 - r0) * g.bw
                # row-major ws[P, m] = w[cg, P]^T @ x[cg, m]  <=>  column-major ws^T = x^T @ w
                _gemm(no, tr, m, pp, kk, &x[n, gi * cg, r0 * g.bw], lda, &w2d[gi * cg, o0 * K], ldb, 0, ws, m)
                _scatter(ws, &out[n, gi * og + o0, 0, 0, 0], oc, r0, r1, m, &g, overwrite,
                         bp + gi * og + o0 if bp != NULL else NULL)
                r0 = r1
    _blas_restore()



# =================================================================================================================
# 4. Depthwise: padded plane per channel; channels-last for tiny planes
# =================================================================================================================

cdef void _dw_channel(const floating* xc, const floating* w, const floating* bias, floating* out, Py_ssize_t og,
                      Py_ssize_t K, floating* xp, floating* ext, const Geom* g) noexcept nogil:
    """og output channels that read the one input channel xc (depthwise, channel multiplier og).

    The padded input volume is built once in xp (Dp, Hp, Wp), with Wp a multiple of the column stride.
    With row stride 1, every output row of a depth slice is then one run of the flattened padded
    slice: a tap is a single long strided axpy over all rows (the columns between rows are computed
    and dropped), instead of one short axpy per 7-wide row. ext holds that extended output, (bd, bh, Q).
    w : (og, K) weights; out : (og, L); bias : og values or NULL.
    """
    cdef Py_ssize_t Hp = (g.bh - 1) * g.sh + (g.kh - 1) * g.dh + 1
    cdef Py_ssize_t Dp = (g.bd - 1) * g.sd + (g.kd - 1) * g.dd + 1
    cdef Py_ssize_t Wn = (g.bw - 1) * g.sw + (g.kw - 1) * g.dw + 1
    cdef Py_ssize_t Q = (Wn + g.sw - 1) // g.sw, Wp = Q * g.sw, HW = Hp * Wp, L = g.bd * g.bh * g.bw
    cdef Py_ssize_t n_ext = (g.bh - 1) * Q + g.bw, c_lo, c_hi
    cdef Py_ssize_t r3, r2, c, zs, ys, xs, j, a, b, e, ti, tj, tl, k
    cdef floating* row
    cdef floating* ea
    cdef floating* o
    cdef const floating* src
    cdef const floating* sl
    cdef const floating* wj
    cdef floating bv
    # 3-, 5- and 7-wide rows at unit strides: one pass over the output per kernel row (_rowk)
    cdef bint row3 = (g.kw == 3 or g.kw == 5 or g.kw == 7) and g.sw == 1 and g.sh == 1
    # padded input: [c_lo, c_hi) of each row are real cells in a row-copy, the rest by _src
    c_lo = g.pw if g.pw < Wn else Wn
    c_hi = g.pw + g.W if g.pw + g.W < Wn else Wn
    if g.mode == ZEROS:
        # zero padding: the caller zeroed xp once, and only the real cells are ever written
        for r3 in range(g.pd if g.pd < Dp else Dp, g.pd + g.D if g.pd + g.D < Dp else Dp):
            for r2 in range(g.ph if g.ph < Hp else Hp, g.ph + g.H if g.ph + g.H < Hp else Hp):
                row = xp + r3 * HW + r2 * Wp
                src = xc + ((r3 - g.pd) * g.H + r2 - g.ph) * g.W
                for c in range(c_lo, c_hi):
                    row[c] = src[c - g.pw]
    for r3 in range(Dp if g.mode != ZEROS else 0):
        zs = _src(r3 - g.pd, g.D, g.mode)
        for r2 in range(Hp):
            ys = _src(r2 - g.ph, g.H, g.mode)
            row = xp + r3 * HW + r2 * Wp
            if zs < 0 or ys < 0:
                memset(row, 0, Wp * sizeof(floating))
                continue
            src = xc + (zs * g.H + ys) * g.W
            for c in range(c_lo):
                xs = _src(c - g.pw, g.W, g.mode)
                row[c] = src[xs] if xs >= 0 else 0
            for c in range(c_lo, c_hi):
                row[c] = src[c - g.pw]
            for c in range(c_hi, Wn):
                xs = _src(c - g.pw, g.W, g.mode)
                row[c] = src[xs] if xs >= 0 else 0
            for c in range(Wn, Wp):
                row[c] = 0
    for j in range(og):
        wj = w + j * K
        bv = bias[j] if bias != NULL else 0
        if not row3:
            memset(ext, 0, g.bd * g.bh * Q * sizeof(floating))
        for a in range(g.bd):
            ea = ext + a * g.bh * Q
            for ti in range(g.kd):
                sl = xp + (a * g.sd + ti * g.dd) * HW
                for tj in range(g.kh):
                    k = (ti * g.kh + tj) * g.kw
                    if row3:
                        # 3/5/7-wide rows, unit strides: the first kernel row writes bias + taps, the others add
                        _rowk(ea, bv, k == 0, wj + k, sl + tj * g.dh * Wp, g.dw, n_ext, g.kw)
                    elif g.sh == 1:
                        # all output rows of this depth in one run over the flattened slice
                        for tl in range(g.kw):
                            _axpy(ea, wj[k + tl], sl + tj * g.dh * Wp + tl * g.dw, n_ext, g.sw)
                    else:
                        for b in range(g.bh):
                            for tl in range(g.kw):
                                _axpy(ea + b * Q, wj[k + tl], sl + (b * g.sh + tj * g.dh) * Wp + tl * g.dw, g.bw,
                                      g.sw)
        o = out + j * L
        if row3:
            for a in range(g.bd * g.bh):
                for e in range(g.bw):
                    o[a * g.bw + e] = ext[a * Q + e]
        else:
            for a in range(g.bd * g.bh):
                for e in range(g.bw):
                    o[a * g.bw + e] = ext[a * Q + e] + bv


def depthwise_workspace(tuple kernel, tuple stride, tuple dilation, tuple blocks):
    """Elements of conv_depthwise's per-thread workspace: the padded volume and the extended output."""
    cdef Py_ssize_t Hp = (blocks[1] - 1) * stride[1] + (kernel[1] - 1) * dilation[1] + 1
    cdef Py_ssize_t Dp = (blocks[0] - 1) * stride[0] + (kernel[0] - 1) * dilation[0] + 1
    cdef Py_ssize_t Wn = (blocks[2] - 1) * stride[2] + (kernel[2] - 1) * dilation[2] + 1
    cdef Py_ssize_t Q = (Wn + stride[2] - 1) // stride[2]
    return Dp * Hp * Q * stride[2] + blocks[0] * blocks[1] * Q


def conv_depthwise(const floating[:, :, :, :, ::1] x, const floating[:, :, ::1] w, const floating[::1] bias,
                   floating[:, :, ::1] out, tuple kernel, tuple stride, tuple padding, tuple dilation, tuple blocks,
                   int mode, floating[:, ::1] workspace, int num_threads=1):
    """Depthwise convolution (groups == C_in; C_out = og * C_in): each input channel is padded once
    into a per-thread buffer, then every output row of a slice is a single long run per tap.

    NumPy equivalent: ``out[n, c, o] = sum_t w[c, 0, t] * xpad[n, c // og, o*s + t*d]`` (+ bias[c]).

    x : (N, C_in, D, H, W) unpadded; w : (C_out, 1, K); out : (N, C_out, L), overwritten.
    workspace : (num_threads, depthwise_workspace(...)) allocated by the caller.
    """
    cdef Geom g = _geom((x.shape[2], x.shape[3], x.shape[4]), kernel, stride, padding, dilation, blocks, mode)
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], og = out.shape[1] // x.shape[1]
    cdef Py_ssize_t K = g.kd * g.kh * g.kw, total = N * C, t, n, ci
    cdef Py_ssize_t Hp = (g.bh - 1) * g.sh + (g.kh - 1) * g.dh + 1
    cdef Py_ssize_t Dp = (g.bd - 1) * g.sd + (g.kd - 1) * g.dd + 1
    cdef Py_ssize_t Wn = (g.bw - 1) * g.sw + (g.kw - 1) * g.dw + 1
    cdef Py_ssize_t Wp = (Wn + g.sw - 1) // g.sw * g.sw
    cdef floating* ws
    cdef const floating* bp = NULL
    if total == 0 or og == 0 or g.bd * g.bh * g.bw == 0:
        return
    if bias is not None:
        bp = &bias[0]
    ws = NULL
    with nogil, parallel(num_threads=num_threads):
        ws = &workspace[threadid(), 0]
        memset(ws, 0, Dp * Hp * Wp * sizeof(floating))     # the zero-padding border, kept across channels
        for t in prange(total, schedule="static"):
            n = t // C
            ci = t - n * C
            _dw_channel(&x[n, ci, 0, 0, 0], &w[ci * og, 0, 0], bp + ci * og if bp != NULL else NULL,
                        &out[n, ci * og, 0], og, K, ws, ws + Dp * Hp * Wp, &g)


cdef enum:
    CL_MAX_TAPS = 64              # conv_depthwise_cl keeps one source pointer per tap on its stack
    CL_DWROW_R = 7                # cl_dwrow's outputs per pass (_simd_loops.h): rows at least this wide


cdef inline bint _cl_by_rows(Py_ssize_t kw, Py_ssize_t sw, Py_ssize_t dw, Py_ssize_t bw) noexcept nogil:
    """conv_depthwise_cl computes whole output rows by cl_dwrow: kernel rows 3, 5 or 7 wide, undilated, column
    stride 1 or 2, output rows at least CL_DWROW_R wide."""
    return dw == 1 and (kw == 3 or kw == 5 or kw == 7) and (sw == 1 or sw == 2) and bw >= CL_DWROW_R


def depthwise_cl_by_rows(tuple kernel, tuple stride, tuple dilation, tuple blocks):
    """True if conv_depthwise_cl computes this layer's output rows by cl_dwrow (register-blocked over the
    width) rather than by a dot product per position (the planner's question)."""
    return _cl_by_rows(kernel[2], stride[2], dilation[2], blocks[2])


cdef inline void _transpose(floating* dst, Py_ssize_t ldd, const floating* src, Py_ssize_t lds, Py_ssize_t rows,
                            Py_ssize_t cols) noexcept nogil:
    if floating is float:
        cl_transpose_f(dst, ldd, src, lds, rows, cols)
    else:
        cl_transpose_d(dst, ldd, src, lds, rows, cols)


def transpose_blocks(floating[:, :, :, ::1] src, floating[:, :, ::1] dst, int num_threads=1):
    """``dst[g] = (src[0, g] + src[1, g] + ...).T`` for every g, the slices added in that order into src[0]
    (src[0] is overwritten; with one slice, a transpose): on tiles of 256 rows x 64 columns, each summed while it
    is in cache and transposed by ``cl_transpose_f`` / ``_d`` (8x8 / 4x4 blocks in registers), the tiles split
    between the threads.

    src : (S, G, R, C); dst : (G, C, R). For conv_weight_gemm's per-thread slices of the weight gradient, each
    group's block transposed: NumPy's strided copy of ResNet-18's 4608 x 512 block took 60% of the GEMM's own
    time (perf, 1 thread), and its sum of two slices another pass over both.
    """
    cdef Py_ssize_t S = src.shape[0], G = src.shape[1], R = src.shape[2], C = src.shape[3]
    cdef Py_ssize_t strips = (C + 63) // 64, bands = (R + 255) // 256, t, g, s, r, c, r0, r1, c0, c1
    if S < 1 or dst.shape[0] != G or dst.shape[1] != C or dst.shape[2] != R:
        raise ValueError(f"transpose_blocks: src must hold at least one slice and dst be (G, C, R) = {(G, C, R)} "
                         f"for src (S, G, R, C) = {tuple(src.shape)[:4]}, got {tuple(dst.shape)[:3]}")
    if num_threads < 1:
        raise ValueError(f"transpose_blocks: num_threads must be >= 1, got {num_threads}")
    if G * R * C == 0:
        return
    with nogil, parallel(num_threads=num_threads):
        for t in prange(G * strips * bands, schedule="static"):
            g = t // (strips * bands)
            c0 = (t // bands) % strips * 64
            c1 = C if C < c0 + 64 else c0 + 64
            r0 = t % bands * 256
            r1 = R if R < r0 + 256 else r0 + 256
            for s in range(1, S):
                for r in range(r0, r1):
                    for c in range(c0, c1):
                        src[0, g, r, c] += src[s, g, r, c]
            _transpose(&dst[g, c0, r0], R, &src[0, g, r0, c0], C, r1 - r0, c1 - c0)


cdef enum:
    CL_ROWWISE_MIN_W = 8          # input rows at least this wide: transposed one by one into the padded extent


cdef inline Py_ssize_t _cl_staged(Py_ssize_t D, Py_ssize_t H, Py_ssize_t W) noexcept nogil:
    """Cells per channel of conv_depthwise_cl's channels-last copy of the input plane: the whole plane for
    rows narrower than CL_ROWWISE_MIN_W (one transpose of the plane, then row copies into the padded
    extent), none for wider rows (each row transposed straight into the padded extent)."""
    return D * H * W if W < CL_ROWWISE_MIN_W else 0


def depthwise_cl_workspace(tuple shape, tuple kernel, tuple stride, tuple dilation, tuple blocks):
    """Cells per channel of conv_depthwise_cl's per-thread workspace: the channels-last input plane (narrow
    rows only, see _cl_staged), its padded extent and the output plane."""
    cdef Py_ssize_t D = shape[0], H = shape[1], W = shape[2]
    return depthwise_cl_task_cells(shape, kernel, stride, dilation, blocks) - D * H * W + _cl_staged(D, H, W)


def depthwise_cl_task_cells(tuple shape, tuple kernel, tuple stride, tuple dilation, tuple blocks):
    """Cells per channel that one conv_depthwise_cl task moves through the cache: the input plane it reads
    (staged in the workspace or not), the padded extent and the output plane. The planner sizes the channel
    block by this count: with rows transposed straight into the padded extent, a block sized by the workspace
    alone (twice the channels on 56x56 planes) let the input it streams evict the extent from L2 (1.7 ms where
    16 channels took 0.95, MobileNetV2's (8,144,56,56) 3x3 s2 at one thread, Zen 4)."""
    cdef Py_ssize_t padded = 1, plane = 1, length = 1, a
    for a in range(3):
        padded *= (blocks[a] - 1) * stride[a] + (kernel[a] - 1) * dilation[a] + 1
        plane *= shape[a]
        length *= blocks[a]
    return padded + plane + length


cdef void _dw_cl_block(const floating* x, const floating* wt, const floating* bias, floating* out,
                       Py_ssize_t C, Py_ssize_t c0, Py_ssize_t nc, Py_ssize_t ldc, floating* ws,
                       const Geom* g) noexcept nogil:
    """Channels [c0, c0 + nc) of one sample: transpose to channels-last, pad (every mode) into the
    extent the taps read, then one vector dot product per output position (channels as lanes), and
    transpose back. Every tap of every position is then base + a fixed offset, borders included.

    x : (C, D, H, W) of the sample; wt : (K, C); out : (C, L) of the sample; bias : (C,) or NULL.
    ws : depthwise_cl_workspace(...) * ldc elements: the input plane (rows narrower than CL_ROWWISE_MIN_W
    only), the padded extent (Dp, Hp, Wp), the output block, each (position, channel), a position ldc >= nc
    elements apart. With zero padding the caller zeroed the padded extent once, and only its real cells are
    written here.
    """
    cdef Py_ssize_t K = g.kd * g.kh * g.kw, plane = g.D * g.H * g.W, L = g.bd * g.bh * g.bw
    cdef Py_ssize_t Dp = (g.bd - 1) * g.sd + (g.kd - 1) * g.dd + 1
    cdef Py_ssize_t Hp = (g.bh - 1) * g.sh + (g.kh - 1) * g.dh + 1
    cdef Py_ssize_t Wp = (g.bw - 1) * g.sw + (g.kw - 1) * g.dw + 1
    cdef Py_ssize_t c, a, b, e, k, ti, tj, tl, zs, ys, xs, pos, r3, r2, c_lo, c_hi, step_a, step_b, step_e
    cdef floating* xt = ws
    cdef floating* xp = ws + _cl_staged(g.D, g.H, g.W) * ldc
    cdef floating* ot = xp + Dp * Hp * Wp * ldc
    cdef floating* row
    cdef const floating* srow
    cdef const floating* xrow
    cdef const floating* xc = x + c0 * plane
    cdef const floating* base
    cdef const floating* src[CL_MAX_TAPS]
    cdef Py_ssize_t off[CL_MAX_TAPS]
    cdef Py_ssize_t rowoff[CL_MAX_TAPS]
    cdef bint by_rows, staged
    # the padded extent: each row's real cells [c_lo, c_hi), then its border cells by _src (zeros: w * 0,
    # NaN for a non-finite w, as torch). Narrow rows: the plane is transposed once (to xt) and each row
    # copied from it; wider rows are transposed from x straight into the extent, a border row (other modes)
    # from its source row again, and its border cells copied from its own real cells where the extent
    # holds them (a border cell's source cell can lie past the extent's last column: read from x).
    staged = g.W < CL_ROWWISE_MIN_W
    if staged:
        _transpose(xt, ldc, xc, plane, nc, plane)
    c_lo = g.pw if g.pw < Wp else Wp
    c_hi = g.pw + g.W if g.pw + g.W < Wp else Wp
    for r3 in range(Dp):
        zs = _src(r3 - g.pd, g.D, g.mode)
        for r2 in range(Hp):
            ys = _src(r2 - g.ph, g.H, g.mode)
            row = xp + (r3 * Hp + r2) * Wp * ldc
            if zs < 0 or ys < 0:
                continue                    # zero padding (the only mode with negative _src): already zero
            if staged:
                srow = xt + (zs * g.H + ys) * g.W * ldc
                if c_hi > c_lo:
                    memcpy(row + c_lo * ldc, srow + (c_lo - g.pw) * ldc, (c_hi - c_lo) * ldc * sizeof(floating))
            else:
                xrow = xc + (zs * g.H + ys) * g.W
                if c_hi > c_lo:
                    _transpose(row + c_lo * ldc, ldc, xrow + (c_lo - g.pw), plane, nc, c_hi - c_lo)
            if g.mode == ZEROS:
                continue
            for c in range(Wp):
                if c_lo <= c < c_hi:
                    continue
                xs = _src(c - g.pw, g.W, g.mode)
                if staged:
                    memcpy(row + c * ldc, srow + xs * ldc, nc * sizeof(floating))
                elif c_lo <= xs + g.pw < c_hi:
                    memcpy(row + c * ldc, row + (xs + g.pw) * ldc, nc * sizeof(floating))
                else:
                    for e in range(nc):
                        row[c * ldc + e] = xrow[e * plane + xs]
    k = 0
    for ti in range(g.kd):
        for tj in range(g.kh):
            for tl in range(g.kw):
                off[k] = ((ti * g.dd * Hp + tj * g.dh) * Wp + tl * g.dw) * ldc
                k = k + 1
    step_a = g.sd * Hp * Wp * ldc
    step_b = g.sh * Wp * ldc
    step_e = g.sw * ldc
    # kernel rows 3/5/7 wide without column dilation, column stride 1 or 2: a whole output row per call,
    # register-blocked over its width (cl_dwrow); rowoff[r] = the offset of kernel row r (its first tap)
    by_rows = _cl_by_rows(g.kw, g.sw, g.dw, g.bw)
    for k in range(g.kd * g.kh):
        rowoff[k] = off[k * g.kw]
    pos = 0
    for a in range(g.bd):
        if by_rows:                     # all output rows of this depth, one vector of channels at a time
            base = xp + a * step_a
            if floating is float:
                cl_dwrow_f(ot + pos * ldc, ldc, bias + c0 if bias != NULL else NULL, wt + c0, C, base, ldc,
                           rowoff, g.kd * g.kh, g.kw, g.sw, g.bw, nc, g.bh, step_b)
            else:
                cl_dwrow_d(ot + pos * ldc, ldc, bias + c0 if bias != NULL else NULL, wt + c0, C, base, ldc,
                           rowoff, g.kd * g.kh, g.kw, g.sw, g.bw, nc, g.bh, step_b)
            pos = pos + g.bh * g.bw
            continue
        for b in range(g.bh):
            base = xp + a * step_a + b * step_b
            e = 0
            while e < g.bw:
                for k in range(K):
                    src[k] = base + off[k]
                if e + 1 < g.bw:            # two positions per call: twice the independent sums
                    if floating is float:
                        cl_dwdot2_f(ot + pos * ldc, ldc, bias + c0 if bias != NULL else NULL, wt + c0, C, src, step_e,
                                    K, nc)
                    else:
                        cl_dwdot2_d(ot + pos * ldc, ldc, bias + c0 if bias != NULL else NULL, wt + c0, C, src, step_e,
                                    K, nc)
                    base = base + 2 * step_e
                    pos = pos + 2
                    e = e + 2
                    continue
                if floating is float:
                    cl_dwdot_f(ot + pos * ldc, bias + c0 if bias != NULL else NULL, wt + c0, C, src, K, nc)
                else:
                    cl_dwdot_d(ot + pos * ldc, bias + c0 if bias != NULL else NULL, wt + c0, C, src, K, nc)
                base = base + step_e
                pos = pos + 1
                e = e + 1
    _transpose(out + c0 * L, L, ot, ldc, L, nc)


def conv_depthwise_cl(const floating[:, :, :, :, ::1] x, const floating[:, ::1] wt, const floating[::1] bias,
                      floating[:, :, ::1] out, tuple kernel, tuple stride, tuple padding, tuple dilation, tuple blocks,
                      int mode, Py_ssize_t channels_per_task, floating[:, ::1] workspace, int num_threads=1):
    """Depthwise convolution (groups == C_in == C_out) with the channels as SIMD lanes, for small planes.

    NumPy equivalent: ``out[n, c, o] = sum_t wt[t, c] * xpad[n, c, o*s + t*d]`` (+ bias[c]).

    On a 7x7 plane a per-channel loop is all overhead, and with a stride conv_depthwise's runs are
    short and gathered; here a task moves a block of channels to channels-last order (8x8 register
    transposes) and pads it, computes each output position as one vector dot product over the taps
    (any stride and dilation: the taps are fixed offsets), and moves the result back. Input rows 8 or
    more wide are transposed straight into the padded extent, one row per call; narrower rows (7x7
    planes) are transposed as one plane and copied into it.

    x : (N, C, D, H, W) unpadded; wt : (K, C), the weight transposed, K <= 64; out : (N, C, L).
    workspace : (num_threads, depthwise_cl_workspace(...) * (channels_per_task + 32 // itemsize)).
    """
    cdef Geom g = _geom((x.shape[2], x.shape[3], x.shape[4]), kernel, stride, padding, dilation, blocks, mode)
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], cb = channels_per_task
    # positions ldc = cb + one 32-byte vector apart: with cb * itemsize a multiple of 256 bytes, one vector of
    # channels down a column would fall in a quarter of the L1 cache's sets (and evict itself on 7x7 planes)
    cdef Py_ssize_t ldc = cb + 32 // sizeof(floating)
    cdef Py_ssize_t nb = (C + cb - 1) // cb, total = N * nb, t, n, c0, nc
    cdef Py_ssize_t staged = _cl_staged(g.D, g.H, g.W)
    cdef Py_ssize_t padded = ((g.bd - 1) * g.sd + (g.kd - 1) * g.dd + 1) * ((g.bh - 1) * g.sh + (g.kh - 1) * g.dh + 1) \
        * ((g.bw - 1) * g.sw + (g.kw - 1) * g.dw + 1)
    cdef floating* ws
    cdef const floating* bp = NULL
    if total == 0 or g.bd * g.bh * g.bw == 0:
        return
    if g.kd * g.kh * g.kw > CL_MAX_TAPS or wt.shape[0] != g.kd * g.kh * g.kw or wt.shape[1] != C:
        raise ValueError(f"conv_depthwise_cl: wt must be (K <= {CL_MAX_TAPS}, {C}), got ({wt.shape[0]}, {wt.shape[1]})")
    if cb < 1 or workspace.shape[0] < num_threads or workspace.shape[1] < (staged + padded + g.bd * g.bh * g.bw) * ldc:
        raise ValueError(f"conv_depthwise_cl: workspace must be (>= {num_threads}, >= depthwise_cl_workspace(...) * "
                         f"{ldc}), got ({workspace.shape[0]}, {workspace.shape[1]})")
    if bias is not None:
        bp = &bias[0]
    ws = NULL
    with nogil, parallel(num_threads=num_threads):
        ws = &workspace[threadid(), 0]
        if g.mode == ZEROS:             # the zero border of the padded extent, kept across blocks
            memset(ws + staged * ldc, 0, padded * ldc * sizeof(floating))
        for t in prange(total, schedule="static"):
            n = t // nb
            c0 = (t - n * nb) * cb
            nc = C - c0 if C - c0 < cb else cb
            _dw_cl_block(&x[n, 0, 0, 0, 0], &wt[0, 0], bp, &out[n, 0, 0], C, c0, nc, ldc, ws, &g)


# =================================================================================================================
# 5. Winograd
# =================================================================================================================

# ---------------------------------------------------------------------------------------------------------------
# Winograd F(m x m, 3x3), m = 2 or 4: 3x3 stride-1 convolutions with fewer multiplications (Lavin & Gray, 2016).
# Each m x m block of outputs ("tile") reads an a x a input patch d (a = m + 2); with the 3x3 filter g,
#     Y = A^T [(G g G^T) * (B^T d B)] A      (* elementwise: a^2 products instead of 9 m^2)
# m = 2: 16 products for 4 outputs (2.25x fewer)
#     B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
#     G   = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]
#     A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]
# m = 4: 36 products for 16 outputs (4x fewer; the larger transform constants cost some float32 accuracy)
#     B^T = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0],
#            [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]
#     G   = [[1/4, 0, 0], [-1/6, -1/6, -1/6], [-1/6, 1/6, -1/6], [1/24, 1/12, 1/6], [1/24, -1/12, 1/6], [0, 0, 1]]
#     A^T = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]
# Summed over input channels, the a^2 elementwise products become a^2 GEMMs
#     M[e] (C_out, tiles) = U[e] (C_out, C_in) @ V[e] (C_in, tiles),   e = a * row + col,
# with U = G g G^T the transformed weights and V = B^T d B the transformed input patches.
# The transforms are in _simd.h (cl_wino_in/out: m = 2, cl_wino4_in/out: m = 4).

def winograd_weights(const floating[:, :, ::1] w, floating[:, ::1] u, int num_threads=1, int tile=2):
    """U[e, co * C_in + ci] = (G w[co, ci] G^T)[e] for 3x3 filters, F(tile x tile, 3x3) (tile 2 or 4);
    returns False if a weight is inf or NaN.

    w : (C_out, C_in, 9) (3x3 filters, row-major); u : ((tile + 2)^2, >= C_out * C_in), overwritten. A row
    longer than C_out * C_in (by winograd_skew()) keeps the rows off the same cache sets.
    """
    cdef Py_ssize_t Co = w.shape[0], C = w.shape[1], total = Co * C, t, t0, t1, chunks
    cdef int bad = 0
    if tile != 2 and tile != 4:
        raise ValueError(f"winograd_weights: tile must be 2 or 4, got {tile}")
    if w.shape[2] != 9 or u.shape[0] != (tile + 2) ** 2 or u.shape[1] < Co * C:
        raise ValueError(f"winograd_weights: w must be (C_out, C_in, 9) and u ({(tile + 2) ** 2}, >= C_out * C_in), "
                         f"got ({w.shape[0]}, {w.shape[1]}, {w.shape[2]}) and ({u.shape[0]}, {u.shape[1]})")
    if total == 0:
        return True
    chunks = min(num_threads, (total + 255) // 256)         # runs of whole 16-filter blocks, one per thread
    with nogil:
        for t in prange(chunks, schedule="static", num_threads=chunks):
            t0 = t * total // chunks // 16 * 16
            t1 = (t + 1) * total // chunks // 16 * 16 if t + 1 < chunks else total
            if floating is float:
                bad += cl_wino_w_f(&w[0, 0, 0] + 9 * t0, t1 - t0, &u[0, t0], u.shape[1], tile)
            else:
                bad += cl_wino_w_d(&w[0, 0, 0] + 9 * t0, t1 - t0, &u[0, t0], u.shape[1], tile)
    return bad == 0


cdef void _wino_band(const floating* xc, floating* band, Py_ssize_t ty, Py_ssize_t hw, Py_ssize_t Ho,
                     const Geom* g, Py_ssize_t T) noexcept nogil:
    """The T + 2 padded input rows that tile row ty reads, each split into T phases:
    band[(T*k + q)*hw + j] = xpad[T*ty + k, T*j + q], j < hw.

    Cells past the padded input (only the clipped outputs of an edge tile read them) are 0.
    xc : the (H, W) input plane.
    """
    cdef Py_ssize_t k, c, ys, xs, c_lo, c_hi, n_vec, nbw = T * hw, Wpad = g.bw + 2
    cdef floating* row
    cdef const floating* src
    cdef floating val
    c_lo = g.pw if g.pw < nbw else nbw
    c_hi = g.pw + g.W if g.pw + g.W < nbw else nbw
    c_lo = (c_lo + T - 1) // T * T              # the split copy starts on a phase-0 column
    n_vec = (c_hi - c_lo) // T if c_hi > c_lo else 0
    for k in range(T + 2):
        row = band + T * k * hw
        ys = _src(T * ty + k - g.ph, g.H, g.mode) if T * ty + k < Ho + 2 else -1
        if ys < 0:
            memset(row, 0, nbw * sizeof(floating))
            continue
        src = xc + ys * g.W
        if T == 2:
            if floating is float:
                cl_deinterleave_f(row + c_lo // 2, row + hw + c_lo // 2, src + c_lo - g.pw, n_vec)
            else:
                cl_deinterleave_d(row + c_lo // 2, row + hw + c_lo // 2, src + c_lo - g.pw, n_vec)
        else:
            if floating is float:
                cl_deinterleave4_f(row + c_lo // 4, hw, src + c_lo - g.pw, n_vec)
            else:
                cl_deinterleave4_d(row + c_lo // 4, hw, src + c_lo - g.pw, n_vec)
        c = 0
        while c < nbw:                           # the padding cells (and real cells left over)
            if c == c_lo and n_vec > 0:
                c = c_lo + n_vec * T
                if c >= nbw:
                    break
            xs = _src(c - g.pw, g.W, g.mode) if c < Wpad else -1
            val = src[xs] if xs >= 0 else 0
            row[(c % T) * hw + c // T] = val
            c = c + 1


cdef struct TileRow:
    Py_ssize_t n, d, ty               # sample, depth slice, tile row within the plane


cdef inline TileRow _tile_row(Py_ssize_t tr, Py_ssize_t th, Py_ssize_t D) noexcept nogil:
    """Tile row number tr of conv_winograd, counted over (sample, depth, tile row); returned by value so
    that prange keeps it thread-private."""
    cdef TileRow p
    cdef Py_ssize_t nd = tr // th
    p.ty = tr - nd * th
    p.n = nd // D
    p.d = nd - p.n * D
    return p


cdef inline int _wino_in(const floating* band, Py_ssize_t hw, Py_ssize_t tw, floating* v,
                         Py_ssize_t es, Py_ssize_t T) noexcept nogil:
    """V for one band; 1 if the band holds an inf or NaN."""
    if floating is float:
        return cl_wino_in_f(band, hw, tw, v, es) if T == 2 else cl_wino4_in_f(band, hw, tw, v, es)
    else:
        return cl_wino_in_d(band, hw, tw, v, es) if T == 2 else cl_wino4_in_d(band, hw, tw, v, es)


cdef inline void _wino_out(const floating* m, Py_ssize_t es, Py_ssize_t tw, floating bv, floating* y,
                           Py_ssize_t ldy, Py_ssize_t T) noexcept nogil:
    if floating is float:
        if T == 2:
            cl_wino_out_f(m, es, tw, bv, y, ldy)
        else:
            cl_wino4_out_f(m, es, tw, bv, y, ldy)
    else:
        if T == 2:
            cl_wino_out_d(m, es, tw, bv, y, ldy)
        else:
            cl_wino4_out_d(m, es, tw, bv, y, ldy)


cdef enum:
    WINO_SKEW = 32                # elements between the planes of U, V and M beyond their size


def winograd_skew():
    """Padding (elements) after each plane of the Winograd buffers: planes a power-of-two apart would
    share cache sets (16 or 36 streams in 8 ways)."""
    return WINO_SKEW


def winograd_workspace(Py_ssize_t c_in, Py_ssize_t c_out, Py_ssize_t rows_per_task, Py_ssize_t out_width,
                       int tile=2):
    """Elements of conv_winograd's per-thread workspace: V and M for rows_per_task tile rows, a band of
    tile + 2 padded input rows, tile output rows."""
    cdef Py_ssize_t tw = (out_width + tile - 1) // tile, E = (tile + 2) * (tile + 2)
    return E * ((c_in + c_out) * rows_per_task * tw + 2 * WINO_SKEW) + (tile + 2) * tile * (tw + 1) \
        + tile * tile * tw


def conv_winograd(const floating[:, :, :, :, ::1] x, const floating[:, ::1] u, Py_ssize_t c_out,
                  const floating[::1] bias, floating[:, :, ::1] out, tuple padding, tuple blocks, int mode,
                  Py_ssize_t rows_per_task, floating[:, ::1] workspace, int num_threads=1, int tile=2,
                  int depth_taps=1):
    """3x3 stride-1 convolution (groups 1, dilation 1) by Winograd F(tile x tile, 3x3); see the notes above.

    NumPy equivalent: ``out[n, co, o] = sum_{ci, t} w[co, ci, t] * xpad[n, ci, o + t]``, with
    ``winograd_weights(w, u, tile=tile)``.

    x : (N, C_in, D, H, W) unpadded; depth_taps kd (1 or 3): a (kd, 3, 3) kernel, stride 1, dilation 1;
    u : ((tile+2)^2, >= C_out*kd*C_in), the transformed weights with their K index in (depth tap, channel)
    order (``winograd_weights`` of w moved to (C_out, kd*C_in, 9)); out : (N, C_out, Do*Ho*Wo), overwritten;
    padding (pd, ph, pw) on the left, blocks (Do, Ho, Wo).
    A task is rows_per_task tile rows (tile output rows each, across samples and output depths): transform
    their input patches into V -- for a 3-d kernel, the tile row of every input plane its depth taps read
    (planes in the depth padding by the padding mode, or zero), as kd*C_in rows of V -- then (tile+2)^2
    GEMMs into M (K = kd*C_in: the depth taps are summed by the GEMM), transform M into the outputs.
    workspace : (num_threads, winograd_workspace(...)); BLAS single-threaded (pinned here).
    Returns the number of tasks that met an inf or NaN input: then out is incomplete and the caller
    must use another path (the transforms would smear a non-finite value over its whole tile).
    """
    cdef Geom g = _geom((x.shape[2], x.shape[3], x.shape[4]), (depth_taps, 3, 3), (1, 1, 1), padding, (1, 1, 1),
                        blocks, mode)
    cdef Py_ssize_t T = tile, E = (tile + 2) * (tile + 2), KD = depth_taps
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], Co = c_out, D = x.shape[2], Do = g.bd
    cdef Py_ssize_t Ho = g.bh, Wo = g.bw, th = (Ho + T - 1) // T, tw = (Wo + T - 1) // T, hw = tw + 1
    cdef Py_ssize_t R = rows_per_task, TB = R * tw, TR = N * Do * th, ntasks = (TR + R - 1) // R
    cdef Py_ssize_t esv = KD * C * TB + WINO_SKEW, esm = Co * TB + WINO_SKEW
    cdef Py_ssize_t t, r, nr, ci, co, e, q, rows_here, orow, td, zs
    cdef floating* vrow
    cdef TileRow tp
    cdef Py_ssize_t bad = 0
    cdef Py_ssize_t mm, nco = Co, kc = KD * C, ld = TB
    cdef floating* ws
    cdef floating* V
    cdef floating* M
    cdef floating* band
    cdef floating* ob
    cdef floating* o0
    cdef floating bv
    cdef int nonfinite
    cdef char* no = b"N"
    cdef const floating* bp = NULL
    if tile != 2 and tile != 4:
        raise ValueError(f"conv_winograd: tile must be 2 or 4, got {tile}")
    if (depth_taps != 1 and depth_taps != 3) or g.bd != D + 2 * g.pd - KD + 1 or g.bd < 0 \
            or u.shape[0] != E or u.shape[1] < Co * KD * C or out.shape[1] != Co or out.shape[2] != Do * Ho * Wo:
        raise ValueError(f"conv_winograd: needs depth_taps 1 or 3 (got {depth_taps}), blocks[0] == D + 2 * pd - "
                         f"depth_taps + 1, u of shape ({E}, >= C_out * depth_taps * C_in) and out of shape "
                         "(N, C_out, prod(blocks))")
    if ntasks == 0 or Co == 0:
        return 0
    _check_blas_sizes("conv_winograd", (TB, Co, KD * C))
    if bias is not None:
        bp = &bias[0]
    ws = NULL
    _blas_single()
    with nogil, parallel(num_threads=num_threads):
        ws = &workspace[threadid(), 0]
        V = ws
        M = V + E * esv
        band = M + E * esm
        ob = band + (T + 2) * T * hw
        for t in prange(ntasks, schedule="static"):
            nr = TR - t * R if TR - t * R < R else R
            nonfinite = 0
            for r in range(nr):
                tp = _tile_row(t * R + r, th, Do)
                for td in range(KD):
                    zs = _src(tp.d + td - g.pd, D, g.mode)
                    for ci in range(C):
                        vrow = V + (td * C + ci) * TB + r * tw
                        if zs < 0:                   # a plane of the zero depth padding
                            for e in range(E):
                                memset(vrow + e * esv, 0, tw * sizeof(floating))
                            continue
                        _wino_band(&x[tp.n, ci, zs, 0, 0], band, tp.ty, hw, Ho, &g, T)
                        nonfinite = nonfinite | _wino_in(band, hw, tw, vrow, esv, T)
            if nonfinite:
                bad += 1
                continue
            mm = nr * tw
            for e in range(E):
                # row-major M[e] (Co, m) = U[e] (Co, C) @ V[e] (C, m)  <=>  column-major M^T = V^T @ U^T
                _gemm(no, no, mm, nco, kc, V + e * esv, ld, &u[e, 0], kc, 0, M + e * esm, ld)
            for r in range(nr):
                tp = _tile_row(t * R + r, th, Do)
                orow = (tp.d * Ho + T * tp.ty) * Wo
                rows_here = Ho - T * tp.ty if Ho - T * tp.ty < T else T
                for co in range(Co):
                    bv = bp[co] if bp != NULL else 0
                    o0 = &out[tp.n, co, orow]
                    if Wo == T * tw and rows_here == T:
                        _wino_out(M + co * TB + r * tw, esm, tw, bv, o0, Wo, T)
                    else:                            # a clipped edge tile: through the row buffer
                        _wino_out(M + co * TB + r * tw, esm, tw, bv, ob, T * tw, T)
                        for q in range(rows_here):
                            for e in range(Wo):
                                o0[q * Wo + e] = ob[q * T * tw + e]
    _blas_restore()
    return bad


# =================================================================================================================
# 6. Direct: plain loops for tiny problems
# =================================================================================================================

cdef inline void _bias_plane(floating* plane, const floating* bias, Py_ssize_t co, Py_ssize_t n) noexcept nogil:
    """``plane[:n] = bias[co]`` (0 when ``bias`` is NULL): an output plane of the direct loops before its taps add."""
    cdef Py_ssize_t e
    if bias != NULL:
        for e in range(n):
            plane[e] = bias[co]
    else:
        memset(plane, 0, n * sizeof(floating))


cdef void _direct_task(const floating* x, const floating* w, const floating* bias, floating* out, const Geom* gp,
                       Py_ssize_t t, Py_ssize_t C, Py_ssize_t C_out, Py_ssize_t cg, Py_ssize_t og,
                       bint tables) noexcept nogil:
    """Output plane ``t = n * C_out + co`` of ``conv_direct`` (x, w, out contiguous; ``bias`` may be NULL)."""
    cdef Geom g = gp[0]
    cdef Py_ssize_t K = g.kd * g.kh * g.kw, plane = g.D * g.H * g.W, L = g.bd * g.bh * g.bw
    cdef Py_ssize_t n = t // C_out, co = t % C_out
    cdef Py_ssize_t ci, k, ti, tj, tl, a, b, e, zs, ys, xs, e_lo, e_hi, off
    cdef Py_ssize_t a_lo, a_hi, b_lo, b_hi
    cdef floating wv
    cdef bint nonfinite
    cdef floating* oplane = out + t * L
    cdef floating* orow
    cdef const floating* xc
    cdef const floating* src
    _bias_plane(oplane, bias, co, L)
    for ci in range(cg):
        xc = x + (n * C + (co // og) * cg + ci) * plane
        for k in range(K):
            wv = w[(co * cg + ci) * K + k]
            ti = k // (g.kh * g.kw)
            tj = (k // g.kw) % g.kh
            tl = k % g.kw
            e_lo = _col_lo(tl, &g)
            e_hi = _col_hi(tl, &g)
            off = tl * g.dw - g.pw
            # A non-finite weight times a zero-padding cell is NaN (as in torch): only then
            # are the padding cells visited; otherwise they add nothing and are skipped.
            nonfinite = not (wv - wv == 0)
            if g.mode == ZEROS and not nonfinite:
                # zero padding: visit only the output rows whose input row exists
                if e_hi <= e_lo:             # this tap reads only padding columns
                    continue
                if tables:
                    a_lo, a_hi, b_lo, b_hi = g.alo[ti], g.ahi[ti], g.blo[tj], g.bhi[tj]
                else:
                    a_lo = _lo(ti, g.D, g.pd, g.dd, g.sd, g.bd)
                    a_hi = _hi(ti, g.D, g.pd, g.dd, g.sd, g.bd)
                    b_lo = _lo(tj, g.H, g.ph, g.dh, g.sh, g.bh)
                    b_hi = _hi(tj, g.H, g.ph, g.dh, g.sh, g.bh)
                for a in range(a_lo, a_hi):
                    zs = a * g.sd - g.pd + ti * g.dd
                    for b in range(b_lo, b_hi):
                        src = xc + (zs * g.H + b * g.sh - g.ph + tj * g.dh) * g.W + e_lo * g.sw + off
                        orow = oplane + (a * g.bh + b) * g.bw + e_lo
                        _axpy(orow, wv, src, e_hi - e_lo, g.sw)
                continue
            for a in range(g.bd):
                zs = _src(a * g.sd - g.pd + ti * g.dd, g.D, g.mode)
                if zs < 0 and not nonfinite:
                    continue
                for b in range(g.bh):
                    ys = _src(b * g.sh - g.ph + tj * g.dh, g.H, g.mode)
                    orow = oplane + (a * g.bh + b) * g.bw
                    if zs < 0 or ys < 0:
                        if nonfinite:
                            for e in range(g.bw):
                                orow[e] += wv * 0
                        continue
                    src = xc + (zs * g.H + ys) * g.W
                    for e in range(e_lo):
                        xs = _src(e * g.sw + off, g.W, g.mode)
                        if xs >= 0:
                            orow[e] += wv * src[xs]
                        elif nonfinite:
                            orow[e] += wv * 0
                    _axpy(orow + e_lo, wv, src + e_lo * g.sw + off, e_hi - e_lo, g.sw)
                    for e in range(e_hi, g.bw):
                        xs = _src(e * g.sw + off, g.W, g.mode)
                        if xs >= 0:
                            orow[e] += wv * src[xs]
                        elif nonfinite:
                            orow[e] += wv * 0


cdef bint _direct_tables(Geom* g) noexcept nogil:
    """Fill the per-tap output row ranges of ``g`` (the same for every plane); False if the kernel is too deep
    or tall for the tables (``_direct_task`` then computes them per tap)."""
    cdef Py_ssize_t ti, tj
    if g.kd > 16 or g.kh > 16:
        return False
    for ti in range(g.kd):
        g.alo[ti] = _lo(ti, g.D, g.pd, g.dd, g.sd, g.bd)
        g.ahi[ti] = _hi(ti, g.D, g.pd, g.dd, g.sd, g.bd)
    for tj in range(g.kh):
        g.blo[tj] = _lo(tj, g.H, g.ph, g.dh, g.sh, g.bh)
        g.bhi[tj] = _hi(tj, g.H, g.ph, g.dh, g.sh, g.bh)
    return True


cdef void _direct_all(const floating* x, const floating* w, const floating* bias, floating* out, const Geom* g,
                      Py_ssize_t N, Py_ssize_t C, Py_ssize_t C_out, Py_ssize_t groups, bint tables,
                      int num_threads) noexcept nogil:
    cdef Py_ssize_t t, cg = C // groups, og = C_out // groups
    if num_threads > 1:
        for t in prange(N * C_out, schedule="static", num_threads=num_threads):
            _direct_task(x, w, bias, out, g, t, C, C_out, cg, og, tables)
    else:                               # no thread team for one thread (a tiny call's entry cost)
        for t in range(N * C_out):
            _direct_task(x, w, bias, out, g, t, C, C_out, cg, og, tables)


def blocked_sizes(Py_ssize_t n, Py_ssize_t c_in, Py_ssize_t c_out, Py_ssize_t h, Py_ssize_t w, Py_ssize_t taps):
    """Floats of conv_blocked's buffers: ``(input, a row of weights, bias)`` = ``(N * CB * H * W * 16,
    2 * CB * taps * 256, OB * 16)`` with CB, OB the input and output channels in blocks of 16, rounded up
    (a row holds a pair of output blocks' weights; there is a row per thread, or per pair where the weights
    are kept between calls). W is the width of the blocked input's rows, zero columns included:
    ``blocked_width(...)``."""
    cdef Py_ssize_t cb = (c_in + 15) // 16, ob = (c_out + 15) // 16
    return n * cb * h * w * 16, 2 * cb * taps * 256, ob * 16


def blocked_width(Py_ssize_t w, Py_ssize_t out_w, Py_ssize_t kw, Py_ssize_t sw, Py_ssize_t pw, Py_ssize_t dw):
    """Cells per row of conv_blocked's blocked input: the row's w cells, pw zero columns on the left and, on the
    right, as many as the last output cell's taps reach past the row."""
    return w + pw + max(0, (out_w - 1) * sw + (kw - 1) * dw - pw - (w - 1))


cdef void _blocked_input(const float[:, :, :, ::1] x, float[::1] xb, Py_ssize_t WP, Py_ssize_t PWL,
                         int num_threads) noexcept nogil:
    """conv_blocked's and conv_transpose_blocked's blocked input: x (N, C, H, W) -> xb as [N][CB][H][WP][16], 16
    channels side by side per cell, each row between PWL zero columns on the left and WP - W - PWL on the right;
    channels c >= C zero."""
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3], HW = H * W
    cdef Py_ssize_t CB = (C + 15) // 16, PWR = WP - W - PWL, u, n, cb, c, h
    cdef float* dst
    with nogil, parallel(num_threads=num_threads):
        for u in prange(N * CB, schedule="static"):         # 16 channels x H * W -> H * WP x 16
            n = u // CB
            cb = u - n * CB
            dst = &xb[u * H * WP * 16]
            c = C - cb * 16 if C - cb * 16 < 16 else 16
            if c < 16:
                memset(dst, 0, H * WP * 16 * sizeof(float))
            if WP == W:                                     # no zero columns: the plane in one call
                cl_transpose_f(dst, 16, &x[n, cb * 16, 0, 0], HW, c, HW)
            else:
                for h in range(H):
                    if c == 16:
                        memset(dst + h * WP * 16, 0, PWL * 16 * sizeof(float))
                        memset(dst + (h * WP + PWL + W) * 16, 0, PWR * 16 * sizeof(float))
                    cl_transpose_f(dst + (h * WP + PWL) * 16, 16, &x[n, cb * 16, h, 0], HW, c, W)


cdef void _bias_only(float[:, :, ::1] out, const float[::1] bias) noexcept:
    """Every output cell the bias (or 0): the layer of no input channels or cells."""
    cdef Py_ssize_t n, o, hw
    for n in range(out.shape[0]):
        for o in range(out.shape[1]):
            for hw in range(out.shape[2]):
                out[n, o, hw] = 0 if bias is None else bias[o]


cdef const float* _blocked_bias(const float[::1] bias, float[::1] bb, Py_ssize_t OB) noexcept:
    """The bias copied to bb, zero-padded to OB blocks of 16 channels; NULL for no bias."""
    cdef Py_ssize_t o, O
    if bias is None:
        return NULL
    O = bias.shape[0]
    for o in range(OB * 16):
        bb[o] = bias[o] if o < O else 0
    return &bb[0]


cdef int _blocked_deal(const float[:, :, ::1] w, float* wt, Py_ssize_t p, Py_ssize_t C, Py_ssize_t O,
                       Py_ssize_t OB, Py_ssize_t K, Py_ssize_t WB) noexcept nogil:
    """Deals pair p's weights (output blocks 2p and 2p + 1) to wt as conv_blocked reads them; 1 if one of them
    is an inf or a NaN. Layout: [CB][K][16 ic][2][16 oc] (one transpose per input channel: its K taps x 16
    output channels)."""
    cdef Py_ssize_t nbl = OB - 2 * p if OB - 2 * p < 2 else 2, u, ob, o, c
    if nbl < 2 or C % 16 or O < (2 * p + nbl) * 16:     # slots no transpose writes: zeros
        memset(wt, 0, 2 * WB * sizeof(float))
    for u in range(nbl):                    # 16 output channels x K taps of input channel c -> K rows, 16 of 32
        ob = 2 * p + u
        o = O - ob * 16 if O - ob * 16 < 16 else 16
        for c in range(C):
            cl_transpose_f(wt + ((c // 16) * K * 16 + c % 16) * 32 + u * 16, 512, &w[ob * 16, c, 0], C * K, o, K)
    return 1 if cl_nonfinite_f(wt, 2 * WB) else 0


cdef struct PairTask:
    Py_ssize_t p, n0, n1, ch          # pair of output blocks, samples [n0, n1), chunk of output rows


cdef inline PairTask _pair_task(Py_ssize_t t, Py_ssize_t pairs, Py_ssize_t N, Py_ssize_t NC, Py_ssize_t RC,
                                bint chunks_first) noexcept nogil:
    """Task t of conv_blocked / conv_transpose_blocked over (pair, sample chunk, row chunk): numbered pair by pair,
    or with ``chunks_first`` chunk by chunk (the pair varying fastest); returned by value so that prange keeps
    it thread-private."""
    cdef PairTask k
    cdef Py_ssize_t q
    if chunks_first:
        k.p = t % pairs
        q = (t // pairs) % NC
        k.ch = t // (pairs * NC)
    else:
        k.p = t // (NC * RC)
        q = (t // RC) % NC
        k.ch = t % RC
    k.n0 = q * N // NC
    k.n1 = (q + 1) * N // NC
    return k


def pair_task(Py_ssize_t t, Py_ssize_t pairs, Py_ssize_t N, Py_ssize_t NC, Py_ssize_t RC, bint chunks_first):
    """``(pair, n0, n1, chunk)`` of task t as conv_blocked and conv_transpose_blocked number their tasks (the same
    ``_pair_task``): the task's pair of output blocks, its samples [n0, n1) of N, and its chunk of RC row chunks.
    For the planner, which models how OpenMP's static schedule shares the tasks between threads."""
    if pairs < 1 or N < 0 or NC < 1 or RC < 1 or not 0 <= t < pairs * NC * RC:
        raise ValueError(f"pair_task: expected 0 <= t < pairs * NC * RC with pairs, NC, RC >= 1 and N >= 0, got "
                         f"t={t}, pairs={pairs}, N={N}, NC={NC}, RC={RC}")
    cdef PairTask k = _pair_task(t, pairs, N, NC, RC, chunks_first)
    return k.p, k.n0, k.n1, k.ch


def conv_blocked(const float[:, :, :, ::1] x, const float[:, :, ::1] w, const float[::1] bias,
                 float[:, :, ::1] out, tuple kernel, tuple stride, tuple padding, tuple dilation, tuple blocks,
                 float[::1] xb, float[:, ::1] wb, float[::1] bb, Py_ssize_t sample_chunks=1, Py_ssize_t row_chunks=1,
                 int num_threads=1, int keep_weights=0, bint chunks_first=False, Py_ssize_t depth=1):
    """Direct 2-d or 3-d convolution (float32, groups 1, zero padding) on blocks of 16 channels, without im2col
    and without the multiply-adds of the taps whose run of cells reads only padding.

    NumPy equivalent: ``out[n] = w.reshape(C_out, -1) @ im2col(x)[n]`` (+ bias).

    The input is copied to ``xb`` as [N][CB][H][WP][16] (channels c >= C_in zero, by ``cl_transpose_f``; each
    row between padding[1] zero columns and as many on the right as the last output cell reaches, WP =
    ``blocked_width(...)``), the bias to ``bb`` (zero-padded). A task is a pair of output blocks (32 channels)
    and a chunk of samples and of output rows. A pair's weights are dealt to a row of ``wb``, interleaved as
    [CB][kh * kw][16 ic][2][16 oc], in the order the micro-kernel reads them (``cl_transpose_f``; input channels
    >= C_in, output channels >= C_out zero):
    with ``keep_weights`` 0, by each task into its thread's row (the row stays in L2 from task to task); with 1,
    to row p for pair p, by the pair's task where a pair is one task, else by the threads before any task runs,
    so that calls on the caller's next chunks of samples, with 2, find them there and deal nothing. A task's
    weights stay in L2 while ``cl_dconv_f`` (_simd_loops.h) runs its micro-kernel: 32 output
    channels x up to 14 cells of a row, or of two rows x up to 7 whose kernel rows reach the input alike
    (x86-64-v4; a lone last block, 16 channels, x up to 14 cells of each of two rows; 16 x 6 of one row at
    x86-64-v3 and the baseline) in registers over every input channel that exists (the zero channels of the last
    input block skipped) and every tap where a cell of the run reads the input, stored into ``out``.

    x : (N, C_in, H, W); w : (C_out, C_in, kh * kw); bias : (C_out,) or None; out : (N, C_out, Ho * Wo),
    overwritten. kernel, stride, padding, dilation : (kh, kw), ... (2-tuples; padding on the top and left: taps
    past the bottom and right edges read zeros too); blocks : (Ho, Wo). A 3-d layer: x (N, C_in, D * H, W) with
    ``depth`` D, w (C_out, C_in, kd * kh * kw), out (N, C_out, Do * Ho * Wo), the five geometry arguments
    3-tuples (depth first): its rows are (plane, row) pairs, a run sums the kernel planes that reach the input
    as the kernel rows, and the rows a task splits are the Do * Ho output rows. xb, wb (num_threads rows; with
    keep_weights 1 or 2, a row per pair: ceil(C_out / 32)), bb : at least ``blocked_sizes(N, C_in, C_out, D * H,
    WP, kd * kh * kw)`` floats. sample_chunks, row_chunks : the samples and the output rows of a pair split into this
    many tasks (so that few output channels still feed every thread). The tasks are numbered pair by pair (a
    thread's run of tasks holds few pairs over all of the input), or with ``chunks_first`` chunk by chunk (a
    thread's run holds every pair over a share of the input: each thread then reads its share of the blocked
    input, not all of it; ``convlab.ops.conv`` takes that order where it leaves the threads as even).

    Returns 0, or 1 when a weight is inf or NaN (``out`` is then partly written): skipping the padding taps
    would drop the NaN that such a weight times a zero-padding cell makes (in torch and on every other path),
    so the caller runs another path.
    """
    cdef Py_ssize_t nd = len(kernel)
    if nd not in (2, 3) or len(stride) != nd or len(padding) != nd or len(dilation) != nd or len(blocks) != nd:
        raise ValueError(f"conv_blocked: kernel, stride, padding, dilation and blocks must be all 2-tuples (2-d) or "
                         f"all 3-tuples (3-d), got {kernel}, {stride}, {padding}, {dilation}, {blocks}")
    cdef Py_ssize_t i3 = nd - 2                         # index of the row axis in the tuples
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], HT = x.shape[2], W = x.shape[3], O = w.shape[0], D = depth, H
    cdef Py_ssize_t KD = kernel[0] if nd == 3 else 1, KH = kernel[i3], KW = kernel[i3 + 1]
    cdef Py_ssize_t SD = stride[0] if nd == 3 else 1, SH = stride[i3], SW = stride[i3 + 1]
    cdef Py_ssize_t PD = padding[0] if nd == 3 else 0, PH = padding[i3], PW = padding[i3 + 1]
    cdef Py_ssize_t DD = dilation[0] if nd == 3 else 1, DH = dilation[i3], DW = dilation[i3 + 1]
    cdef Py_ssize_t OD = blocks[0] if nd == 3 else 1, K = KD * KH * KW
    cdef Py_ssize_t CB = (C + 15) // 16, OB = (O + 15) // 16, pairs = (OB + 1) // 2, WB = CB * K * 256
    cdef Py_ssize_t OH, OW, NC = sample_chunks, RC = row_chunks, total, t, n, n0, n1, p, rows
    cdef PairTask task
    cdef Py_ssize_t ch, y0, y1, nbl, WP
    cdef bint in_task
    cdef Py_ssize_t geom[12]
    cdef Py_ssize_t dgeom[6]
    cdef float* wt
    cdef const float* bp = NULL
    cdef int bad = 0
    if KD < 1 or KH < 1 or KW < 1 or SD < 1 or SH < 1 or SW < 1 or PD < 0 or PH < 0 or PW < 0 or DD < 1 or DH < 1 \
            or DW < 1 or NC < 1 or RC < 1 or num_threads < 1 or not 0 <= keep_weights <= 2:
        raise ValueError(f"conv_blocked: needs kernel, stride, dilation >= 1, padding >= 0, sample_chunks, "
                         f"row_chunks, num_threads >= 1, keep_weights 0, 1 or 2; got {kernel}, {stride}, "
                         f"{dilation}, {padding}, {sample_chunks}, {row_chunks}, {num_threads}, {keep_weights}")
    if D < 1 or HT % D or (nd == 2 and D != 1):
        raise ValueError(f"conv_blocked: depth must be 1 for a 2-d layer and divide the input's rows "
                         f"({HT}) for a 3-d one, got depth={depth} with {nd}-tuples")
    H = HT // D
    OH = blocks[i3]
    OW = blocks[i3 + 1]
    rows = OD * OH
    if w.shape[1] != C or w.shape[2] != K or out.shape[0] != N or out.shape[1] != O or OD < 1 or OH < 1 \
            or OW < 1 or out.shape[2] != rows * OW or (bias is not None and bias.shape[0] != O):
        raise ValueError(f"conv_blocked: w {tuple(w.shape)[:3]}, out {tuple(out.shape)[:3]} or bias do not match "
                         f"the input {tuple(x.shape)[:4]} (depth {D}), kernel {kernel} and blocks {blocks}")
    WP = blocked_width(W, OW, KW, SW, PW, DW)
    if xb.shape[0] < N * CB * HT * WP * 16 or wb.shape[0] < (pairs if keep_weights else num_threads) \
            or wb.shape[1] < 2 * WB or bb.shape[0] < OB * 16:
        raise ValueError(f"conv_blocked: buffers of {xb.shape[0]}, {tuple(wb.shape)[:2]}, {bb.shape[0]} floats, "
                         f"need {blocked_sizes(N, C, O, HT, WP, K)} ("
                         + (f"{pairs} rows of weights, one per pair of 16-channel output blocks)" if keep_weights
                            else f"{num_threads} rows of weights, one per thread)"))
    if N == 0 or O == 0:
        return 0
    if C == 0 or HT * W == 0:
        _bias_only(out, bias)
        return 0
    geom[0] = KH; geom[1] = KW; geom[2] = SH; geom[3] = SW; geom[4] = PH; geom[5] = PW; geom[6] = DH; geom[7] = DW
    geom[8] = WP; geom[9] = PW; geom[10] = OW; geom[11] = 1
    dgeom[0] = KD; dgeom[1] = SD; dgeom[2] = PD; dgeom[3] = DD; dgeom[4] = D; dgeom[5] = OH
    if NC > N:
        NC = N
    if RC > rows:
        RC = rows
    total = pairs * NC * RC
    in_task = keep_weights == 0 or (keep_weights == 1 and total == pairs)
    if keep_weights == 1 and not in_task:
        with nogil, parallel(num_threads=num_threads):
            for p in prange(pairs, schedule="static"):
                bad += _blocked_deal(w, &wb[p, 0], p, C, O, OB, K, WB)
        if bad:
            return 1
    bp = _blocked_bias(bias, bb, OB)
    _blocked_input(x, xb, WP, PW, num_threads)
    with nogil, parallel(num_threads=num_threads):
        for t in prange(total, schedule="static"):
            task = _pair_task(t, pairs, N, NC, RC, chunks_first)
            p = task.p
            n0 = task.n0
            n1 = task.n1
            ch = task.ch
            y0 = ch * rows // RC
            y1 = (ch + 1) * rows // RC
            nbl = OB - 2 * p if OB - 2 * p < 2 else 2
            wt = &wb[p if keep_weights else threadid(), 0]
            if in_task and _blocked_deal(w, wt, p, C, O, OB, K, WB):
                bad += 1
                continue
            for n in range(n0, n1):
                cl_dconv_f(&out[n, 2 * p * 16, 0], rows * OW, O - 2 * p * 16, &xb[n * CB * HT * WP * 16], wt,
                           bp + 2 * p * 16 if bp != NULL else NULL, CB, H, W, OW, geom, nbl, y0, y1, dgeom,
                           C - 16 * (CB - 1))
    return 1 if bad else 0


def transpose_phases(Py_ssize_t out_n, Py_ssize_t k, Py_ssize_t s, Py_ssize_t p):
    """The output phases of one axis of a transposed convolution (kernel k >= stride s, dilation 1, padding p):
    output cell s * m + r (phase r) sums input cell m + c - j times tap t0 + s * j, j < J, with t0 = (r + p) % s,
    J = ceil((k - t0) / s), c = (r + p) // s. Read with the J taps flipped, phase r is a stride-1 convolution of
    the input with J taps and padding J - 1 - c on the left (negative: its first cell reads past input cell 0).
    Returns one ``(taps J, padding, cells of the phase, t0)`` per r < s."""
    if k < s or s < 1 or p < 0 or out_n < 0:
        raise ValueError(f"transpose_phases: needs kernel >= stride >= 1, padding >= 0, out >= 0; got "
                         f"{k}, {s}, {p}, {out_n}")
    return [((k - (r + p) % s + s - 1) // s, (k - (r + p) % s + s - 1) // s - 1 - (r + p) // s,
             (out_n - r + s - 1) // s if out_n > r else 0, (r + p) % s) for r in range(s)]


def transpose_blocked_width(Py_ssize_t w, Py_ssize_t out_w, Py_ssize_t kw, Py_ssize_t sw, Py_ssize_t pw):
    """``(WP, PWL)``: the blocked input's row width and its zero columns on the left for conv_transpose_blocked
    (one blocked input for every output phase: as many zero columns on each side as any phase reaches)."""
    cdef Py_ssize_t left = 0, right = 0
    for taps, pad, cells, _ in transpose_phases(out_w, kw, sw, pw):
        if cells:
            left = max(left, pad)
            right = max(right, cells - 1 + taps - 1 - pad - (w - 1))
    return w + left + right, left


def conv_transpose_blocked(const float[:, :, :, ::1] x, const float[:, :, ::1] w, const float[::1] bias,
                           float[:, :, ::1] out, tuple kernel, tuple stride, tuple padding, tuple blocks,
                           float[::1] xb, float[:, ::1] wb, float[::1] bb, Py_ssize_t sample_chunks=1,
                           Py_ssize_t row_chunks=1, int num_threads=1, bint chunks_first=False):
    """Transposed 2-d convolution (float32, groups 1, dilation 1, kernel >= stride on both axes) as its output
    phases, each a stride-1 convolution on conv_blocked's micro-kernel (``cl_dconv_f``), written in place.

    NumPy equivalent: ``out[n, co, i * s - p + t] += x[n, ci, i] * w[ci, co, t]`` over ci, i, t (+ bias), per
    axis.

    The output cells (s_h * a + r_h, s_w * b + r_w) form phase (r_h, r_w): a convolution of the input with the
    taps that reach it, flipped (``transpose_phases``; kernel 4, stride 2, padding 1: four 2x2 convolutions).
    The input is copied once to ``xb`` as [N][CB][H][WP][16] with the zero columns every phase reads
    (``transpose_blocked_width``). A task is a pair of output blocks (32 channels) and a chunk of samples and of
    each phase's rows: it deals the pair's weights to the phases' slots in its thread's row of ``wb`` ([CB][phase
    taps][16 ic][2][16 oc] per phase, then K x 32 floats of scratch), and runs every phase, storing each
    phase's cells with row stride s_h * Wo and column stride s_w. Every output cell belongs to one phase and
    gets bias + its sums (no zero fill, no col2im).

    x : (N, C_in, H, W); w : (C_in, C_out, kh * kw); bias : (C_out,) or None; out : (N, C_out, Ho * Wo),
    overwritten. kernel, stride, padding : 2-tuples; blocks : (Ho, Wo), output_padding included. xb, wb
    (num_threads rows), bb : at least ``transpose_blocked_sizes(...)`` floats. sample_chunks, row_chunks,
    chunks_first : as conv_blocked.

    Returns 0, or 1 when a weight is inf or NaN (``out`` is then partly written): a phase's run computes taps that
    read zero columns, where inf x 0 would make a NaN that the scatter (col2im) never makes, so the caller runs
    the GEMM path.
    """
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3], O = w.shape[1]
    cdef Py_ssize_t KH = kernel[0], KW = kernel[1], K = KH * KW
    cdef Py_ssize_t SH = stride[0], SW = stride[1], PH = padding[0], PW = padding[1]
    cdef Py_ssize_t CB = (C + 15) // 16, OB = (O + 15) // 16, pairs = (OB + 1) // 2, HW = H * W, WB = CB * K * 256
    cdef Py_ssize_t OH, OW, NC = sample_chunks, RC = row_chunks, total, t, u, n, n0, n1, ob, o, hw, p, q
    cdef PairTask task
    cdef Py_ssize_t ch, y0, y1, nbl, WP, PWL, h, ph, nph = SH * SW, ci, ky, kx, ry, rx
    cdef Py_ssize_t* geoms = NULL
    cdef Py_ssize_t* route = NULL
    cdef Py_ssize_t* gp
    cdef float* wt
    cdef float* tmp
    cdef const float* bp = NULL
    cdef int bad = 0
    if KH < 1 or KW < 1 or SH < 1 or SW < 1 or PH < 0 or PW < 0 or KH < SH or KW < SW or NC < 1 or RC < 1 \
            or num_threads < 1:
        raise ValueError(f"conv_transpose_blocked: needs kernel >= stride >= 1, padding >= 0, sample_chunks, "
                         f"row_chunks, num_threads >= 1; got {kernel}, {stride}, {padding}, {sample_chunks}, "
                         f"{row_chunks}, {num_threads}")
    OH = blocks[0]
    OW = blocks[1]
    if w.shape[0] != C or w.shape[2] != K or out.shape[0] != N or out.shape[1] != O or OH < 0 or OW < 0 \
            or out.shape[2] != OH * OW or (bias is not None and bias.shape[0] != O):
        raise ValueError(f"conv_transpose_blocked: w {tuple(w.shape)[:3]}, out {tuple(out.shape)[:3]} or bias do "
                         f"not match the input {tuple(x.shape)[:4]} and kernel {kernel}")
    WP, PWL = transpose_blocked_width(W, OW, KW, SW, PW)
    rows_h, cols_w = transpose_phases(OH, KH, SH, PH), transpose_phases(OW, KW, SW, PW)
    if xb.shape[0] < N * CB * H * WP * 16 or wb.shape[0] < num_threads or wb.shape[1] < 2 * WB + K * 32 \
            or bb.shape[0] < OB * 16:
        raise ValueError(f"conv_transpose_blocked: buffers of {xb.shape[0]}, {tuple(wb.shape)[:2]}, {bb.shape[0]} "
                         f"floats, need {transpose_blocked_sizes(N, C, O, H, WP, K)} ({num_threads} rows of "
                         f"weights)")
    if N == 0 or O == 0 or OH * OW == 0:
        return 0
    if C == 0 or HW == 0:
        _bias_only(out, bias)
        return 0
    geoms = <Py_ssize_t*>malloc(nph * 14 * sizeof(Py_ssize_t))
    route = <Py_ssize_t*>malloc(K * sizeof(Py_ssize_t) * 2)
    if geoms == NULL or route == NULL:
        free(geoms)
        free(route)
        raise MemoryError("conv_transpose_blocked: no memory for the phases' geometry")
    q = 0                                            # floats of the phases' weight slots so far
    for ry in range(SH):
        for rx in range(SW):
            gp = geoms + (ry * SW + rx) * 14
            gp[0] = rows_h[ry][0]; gp[1] = cols_w[rx][0]; gp[2] = 1; gp[3] = 1
            gp[4] = rows_h[ry][1]; gp[5] = cols_w[rx][1]; gp[6] = 1; gp[7] = 1
            gp[8] = WP; gp[9] = PWL; gp[10] = SH * OW; gp[11] = SW
            gp[12] = q                               # the phase's slot in a thread's weights
            gp[13] = rows_h[ry][2] * cols_w[rx][2]   # its cells (0: nothing to run)
            q += CB * 16 * gp[0] * gp[1] * 32
    for ky in range(KH):                             # tap (ky, kx): its phase and its (flipped) place there
        for kx in range(KW):
            ry = ((ky - PH) % SH + SH) % SH          # (C's %: the sign of ky - PH)
            rx = ((kx - PW) % SW + SW) % SW
            gp = geoms + (ry * SW + rx) * 14
            route[2 * (ky * KW + kx)] = ry * SW + rx
            route[2 * (ky * KW + kx) + 1] = (gp[0] - 1 - ky // SH) * gp[1] + gp[1] - 1 - kx // SW
    if NC > N:
        NC = N
    RC = min(RC, max([r[2] for r in rows_h]))
    total = pairs * NC * RC
    bp = _blocked_bias(bias, bb, OB)
    try:
        _blocked_input(x, xb, WP, PWL, num_threads)
        with nogil, parallel(num_threads=num_threads):
            wt = &wb[threadid(), 0]
            tmp = wt + 2 * WB
            for t in prange(total, schedule="static"):
                task = _pair_task(t, pairs, N, NC, RC, chunks_first)
                p = task.p
                n0 = task.n0
                n1 = task.n1
                ch = task.ch
                nbl = OB - 2 * p if OB - 2 * p < 2 else 2
                if nbl < 2 or C % 16 or O < (2 * p + nbl) * 16:     # slots no row copy fills: zeros, and the
                    memset(wt, 0, (2 * WB + K * 32) * sizeof(float))  # scratch's columns no transpose writes
                for ci in range(C):                  # input channel ci: 32 output channels x K taps, dealt
                    for u in range(nbl):
                        ob = 2 * p + u
                        o = O - ob * 16 if O - ob * 16 < 16 else 16
                        cl_transpose_f(tmp + u * 16, 32, &w[ci, ob * 16, 0], K, o, K)
                    for hw in range(K):
                        gp = geoms + route[2 * hw] * 14
                        memcpy(wt + gp[12] + (((ci // 16) * gp[0] * gp[1] + route[2 * hw + 1]) * 16 + ci % 16) * 32,
                               tmp + hw * 32,
                               32 * sizeof(float))
                if cl_nonfinite_f(wt, 2 * WB):
                    bad += 1
                    continue
                for n in range(n0, n1):
                    for ph in range(nph):
                        gp = geoms + ph * 14
                        if gp[13] == 0:
                            continue
                        ry = ph // SW
                        h = (OH - ry + SH - 1) // SH         # the phase's rows
                        y0 = ch * h // RC
                        y1 = (ch + 1) * h // RC
                        if y0 < y1:
                            cl_dconv_f(&out[n, 2 * p * 16, 0] + ry * OW + ph % SW, OH * OW, O - 2 * p * 16,
                                       &xb[n * CB * H * WP * 16], wt + gp[12],
                                       bp + 2 * p * 16 if bp != NULL else NULL, CB, H, W,
                                       (OW - ph % SW + SW - 1) // SW, gp, nbl, y0, y1, NULL, C - 16 * (CB - 1))
    finally:
        free(geoms)
        free(route)
    return 1 if bad else 0


def transpose_blocked_sizes(Py_ssize_t n, Py_ssize_t c_in, Py_ssize_t c_out, Py_ssize_t h, Py_ssize_t w,
                            Py_ssize_t taps):
    """Floats of conv_transpose_blocked's buffers: as ``blocked_sizes``, each thread's weights followed by
    taps x 32 floats of scratch (one input channel's weights for the pair, before they are dealt)."""
    xs, ws, bs = blocked_sizes(n, c_in, c_out, h, w, taps)
    return xs, ws + taps * 32, bs


def wgrad_direct_available():
    """Whether the active SIMD level has conv_wgrad_direct's kernel (x86-64-v4: masked AVX-512 loads)."""
    return cl_wgrad_available() != 0


def conv_wgrad_direct(const float[:, :, :, :, ::1] x, const float[:, :, :, :, ::1] gout, float[:, :, ::1] gw,
                      tuple kernel, tuple stride, tuple padding, tuple dilation, int groups, Py_ssize_t slab=64,
                      int num_threads=1):
    """Weight gradient of a zero-padded float32 convolution with stride 1 along rows, with no columns and no
    BLAS: ``cl_wgrad_f`` (_simd_loops.h) keeps 4 output x 2 input channels x 3 taps of a row in AVX-512
    registers over every output row of a slab of ``slab`` rows (all samples' rows one after another).

    NumPy equivalent: ``gw[g*og + o, i, t] = sum_n gout[n, g*og + o] . im2col(x)[n, (g*cg + i, t)]``.

    x : (N, C_in, D, H, W); gout : (N, C_out, OD, OH, OW), the output's shape for these arguments;
    gw : (C_out, C_in/groups, KD*KH*KW), zeros on entry (the sums are added). kernel, stride, padding,
    dilation: 3-tuples (depth, height, width), stride[2] == 1. Threads split each group's (4 output, 2 input
    channel) blocks, which write disjoint cells of gw: no partial sums, the same result on any thread count.
    """
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], D = x.shape[2], H = x.shape[3], W = x.shape[4]
    cdef Py_ssize_t C_out = gout.shape[1], OD = gout.shape[2], OH = gout.shape[3], OW = gout.shape[4]
    cdef Py_ssize_t KD = kernel[0], KH = kernel[1], KW = kernel[2], sd = stride[0], sh = stride[1]
    cdef Py_ssize_t pd = padding[0], ph = padding[1], pw = padding[2]
    cdef Py_ssize_t dd = dilation[0], dh = dilation[1], dw = dilation[2]
    cdef Py_ssize_t cg, og, KWp, nch, ntasks, c, t, l, xo, xi, g, p
    cdef unsigned m
    cdef Py_ssize_t geom[24]
    cdef unsigned short* masks
    if not cl_wgrad_available():
        raise RuntimeError(f"conv_wgrad_direct needs SIMD level x86-64-v4; the active level is {simd_path()}")
    _check_split("conv_wgrad_direct", C, C_out, groups, slab, "slab", num_threads)
    if stride[2] != 1 or min(sd, sh, dd, dh, dw, KD, KH, KW) < 1 or min(pd, ph, pw) < 0:
        raise ValueError(f"conv_wgrad_direct: stride {stride} must end in 1, kernel {kernel}, the other strides and "
                         f"dilation {dilation} >= 1, padding {padding} >= 0")
    if gout.shape[0] != N or OD != (D + 2 * pd - dd * (KD - 1) - 1) // sd + 1 \
            or OH != (H + 2 * ph - dh * (KH - 1) - 1) // sh + 1 or OW != W + 2 * pw - dw * (KW - 1) \
            or min(OD, OH, OW) < 0:
        raise ValueError(f"conv_wgrad_direct: gout {tuple(gout.shape)} is not the output of x {tuple(x.shape)[:5]} "
                         f"with kernel {kernel}, stride {stride}, padding {padding}, dilation {dilation}")
    cg = C // groups
    og = C_out // groups
    if gw.shape[0] != C_out or gw.shape[1] != cg or gw.shape[2] != KD * KH * KW:
        raise ValueError(f"conv_wgrad_direct: gw must be ({C_out}, {cg}, {KD * KH * KW}), got {tuple(gw.shape)[:3]}")
    if N * C * D * H * W == 0 or N * C_out * OD * OH * OW == 0:
        return
    KWp = (KW + 2) // 3 * 3
    nch = (OW + 15) // 16
    masks = <unsigned short*>malloc(nch * KWp * sizeof(unsigned short))
    if masks == NULL:
        raise MemoryError()
    for c in range(nch):
        for t in range(KWp):
            m = 0
            if t < KW:
                for l in range(16):
                    xo = c * 16 + l
                    xi = xo + t * dw - pw
                    if xo < OW and 0 <= xi < W:
                        m = m | (1u << l)
            masks[c * KWp + t] = <unsigned short>m
    geom[0] = N; geom[1] = C; geom[2] = C_out; geom[3] = cg; geom[4] = og; geom[5] = D; geom[6] = H; geom[7] = W
    geom[8] = OD; geom[9] = OH; geom[10] = OW; geom[11] = KD; geom[12] = KH; geom[13] = KW; geom[14] = sd
    geom[15] = sh; geom[16] = dd; geom[17] = dh; geom[18] = dw; geom[19] = pd; geom[20] = ph; geom[21] = pw
    geom[22] = max(1, slab); geom[23] = KWp
    ntasks = ((og + 3) // 4) * ((cg + 1) // 2)
    num_threads = max(1, min(num_threads, ntasks))
    with nogil:
        for g in range(groups):
            if num_threads == 1:
                cl_wgrad_f(&gw[g * og, 0, 0], &x[0, g * cg, 0, 0, 0], &gout[0, g * og, 0, 0, 0], geom, masks, 0,
                           ntasks)
            else:
                for p in prange(num_threads, schedule="static", num_threads=num_threads):
                    cl_wgrad_f(&gw[g * og, 0, 0], &x[0, g * cg, 0, 0, 0], &gout[0, g * og, 0, 0, 0], geom, masks,
                               p * ntasks // num_threads, (p + 1) * ntasks // num_threads)
    free(masks)


def conv_direct(const floating[:, :, :, :, ::1] x, const floating[:, :, ::1] w, const floating[::1] bias,
                floating[:, :, ::1] out, tuple kernel, tuple stride, tuple padding, tuple dilation, tuple blocks,
                int groups, int mode, int num_threads=1):
    """Direct convolution loops (tiny problems, where a GEMM call is mostly overhead); ``bias`` may be None.

    NumPy equivalent: ``out[n, co, o] = sum_{ci, t} w[co, ci, t] * xpad[n, g*cg + ci, o*s + t*d]``.

    x : (N, C_in, D, H, W) unpadded; w : (C_out, C_in/groups, K); out : (N, C_out, L), overwritten.
    """
    _check_split("conv_direct", x.shape[1], w.shape[0], groups, 1, "", num_threads)
    cdef Geom g = _geom((x.shape[2], x.shape[3], x.shape[4]), kernel, stride, padding, dilation, blocks, mode)
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], C_out = w.shape[0]
    cdef Py_ssize_t L = g.bd * g.bh * g.bw
    if N * C_out == 0 or L == 0:
        return
    cdef bint tables = _direct_tables(&g)
    cdef const floating* xp = &x[0, 0, 0, 0, 0] if x.shape[1] * x.shape[2] * x.shape[3] * x.shape[4] else NULL
    cdef const floating* wp = &w[0, 0, 0] if w.shape[1] * w.shape[2] else NULL
    cdef const floating* bp = &bias[0] if bias is not None else NULL
    with nogil:
        _direct_all(xp, wp, bp, &out[0, 0, 0], &g, N, C, C_out, groups, tables, num_threads)


cdef object _plan_array(object a, int typenum, object dtype, Py_ssize_t size, str name):
    """``a`` itself when it is a C-contiguous array of ``dtype``, else such a copy; it must hold ``size`` items."""
    if not (cnp.PyArray_Check(a) and cnp.PyArray_TYPE(<cnp.ndarray>a) == typenum
            and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>a)):
        a = np.ascontiguousarray(a, dtype=dtype)
    if cnp.PyArray_SIZE(<cnp.ndarray>a) != size:
        raise ValueError(f"{name} holds {cnp.PyArray_SIZE(<cnp.ndarray>a)} values, the plan expects {size}")
    return a


cdef class _LeanPlan:
    """What DirectPlan and DirectTransposePlan share: the dtype, the sizes each call checks, the output's final
    shape, and ``plan(x, w, bias)``, which reads the arrays' data pointers once (no typed memoryviews), copies
    an array that is strided, read-only or of another dtype, allocates ``out`` and hands the pointers to the
    subclass's ``_run``."""
    cdef Geom g
    cdef Py_ssize_t N, C, C_out, groups, nx, nw, nout
    cdef int threads, typenum
    cdef object dtype
    cdef int out_nd
    cdef cnp.npy_intp out_dims[8]

    cdef int _set_dtype(self, dtype) except -1:
        self.dtype = np.dtype(dtype)
        if self.dtype != np.float32 and self.dtype != np.float64:
            raise TypeError(f"{type(self).__name__}: float32 or float64, got {self.dtype}")
        self.typenum = self.dtype.num
        return 0

    cdef int _set_out(self, tuple out_shape) except -1:
        cdef Py_ssize_t i, total = 1
        if len(out_shape) > 8:
            raise ValueError(f"{type(self).__name__}: out_shape {out_shape} has more than 8 axes")
        self.out_nd = len(out_shape)
        for i in range(self.out_nd):
            self.out_dims[i] = out_shape[i]
            total *= out_shape[i]
        if total != self.nout:
            raise ValueError(f"{type(self).__name__}: out_shape {out_shape} does not hold {self.nout} outputs")
        return 0

    cdef void _run(self, const void* x, const void* w, const void* bias, void* out) noexcept nogil:
        pass

    def __call__(self, x, w, bias=None):
        x = _plan_array(x, self.typenum, self.dtype, self.nx, "x")
        w = _plan_array(w, self.typenum, self.dtype, self.nw, "w")
        if bias is not None:
            bias = _plan_array(bias, self.typenum, self.dtype, self.C_out, "bias")
        cdef cnp.ndarray out = cnp.PyArray_EMPTY(self.out_nd, self.out_dims, self.typenum, 0)
        if self.nout == 0:
            return out
        cdef const void* xp = cnp.PyArray_DATA(<cnp.ndarray>x)
        cdef const void* wp = cnp.PyArray_DATA(<cnp.ndarray>w)
        cdef const void* bp = NULL if bias is None else cnp.PyArray_DATA(<cnp.ndarray>bias)
        cdef void* op = cnp.PyArray_DATA(out)
        with nogil:
            self._run(xp, wp, bp, op)
        return out


cdef class DirectPlan(_LeanPlan):
    """``conv_direct`` with its geometry fixed once: ``plan(x, w, bias)`` allocates and returns ``out``.

    The lean entry of tiny convolutions, whose cost is mostly the call: no typed memoryviews (the arrays'
    data pointers are read once), the output allocated here in its final ``out_shape``, no thread team on
    one thread. The caller has validated the shapes once (the plan caches are keyed on them); each call
    still checks sizes, dtypes and contiguity, and copies an array that is strided or of another dtype.

    NumPy equivalent: as ``conv_direct``, ``out.reshape(out_shape)``.
    """
    cdef bint tables

    def __init__(self, tuple x_shape, tuple w_shape, dtype, tuple kernel, tuple stride, tuple padding,
                 tuple dilation, tuple blocks, int groups, int mode, int num_threads, tuple out_shape):
        self._set_dtype(dtype)
        self.N, self.C = x_shape[0], x_shape[1]
        self.C_out = w_shape[0]
        self.g = _geom(tuple(x_shape[2:]), kernel, stride, padding, dilation, blocks, mode)
        if groups < 1 or self.C % groups or self.C_out % groups or w_shape[1] * groups != self.C:
            raise ValueError(f"DirectPlan: inconsistent shapes x {x_shape}, w {w_shape}, groups {groups}")
        self.groups = groups
        self.tables = _direct_tables(&self.g)
        self.threads = max(num_threads, 1)
        self.nx = self.N * self.C * self.g.D * self.g.H * self.g.W
        self.nw = self.C_out * w_shape[1] * self.g.kd * self.g.kh * self.g.kw
        self.nout = self.N * self.C_out * self.g.bd * self.g.bh * self.g.bw
        self._set_out(out_shape)

    cdef void _run(self, const void* x, const void* w, const void* bias, void* out) noexcept nogil:
        if self.typenum == cnp.NPY_FLOAT:
            _direct_all(<const float*>x, <const float*>w, <const float*>bias, <float*>out, &self.g, self.N, self.C,
                        self.C_out, self.groups, self.tables, self.threads)
        else:
            _direct_all(<const double*>x, <const double*>w, <const double*>bias, <double*>out, &self.g, self.N,
                        self.C, self.C_out, self.groups, self.tables, self.threads)


cdef inline void _t_range(Py_ssize_t t, Py_ssize_t size, Py_ssize_t out_size, Py_ssize_t p, Py_ssize_t d,
                          Py_ssize_t s, Py_ssize_t* lo, Py_ssize_t* hi) noexcept nogil:
    """Input cells ``[lo, hi)`` of one axis whose target ``i * s - p + t * d`` of tap ``t`` is in the output."""
    cdef Py_ssize_t off = t * d - p, lim
    lo[0] = 0 if off >= 0 else (s - 1 - off) // s
    lim = out_size - 1 - off
    hi[0] = 0 if lim < 0 else min(size, lim // s + 1)
    if hi[0] < lo[0]:
        hi[0] = lo[0]


cdef void _direct_t_task(const floating* x, const floating* w, const floating* bias, floating* out, const Geom* gp,
                         const Py_ssize_t* osize, Py_ssize_t t, Py_ssize_t C, Py_ssize_t C_out, Py_ssize_t cg,
                         Py_ssize_t og) noexcept nogil:
    """Output plane ``t = n * C_out + co`` of a transposed convolution, by scattering (``g`` holds the input
    volume in D, H, W and the output's in ``osize``; ``bias`` may be NULL)."""
    cdef Geom g = gp[0]
    cdef Py_ssize_t K = g.kd * g.kh * g.kw, plane = g.D * g.H * g.W
    cdef Py_ssize_t OD = osize[0], OH = osize[1], OW = osize[2], OL = OD * OH * OW
    cdef Py_ssize_t n = t // C_out, co = t % C_out, grp = co // og, col = co % og
    cdef Py_ssize_t ci, k, ti, tj, tl, a, b, e, a_lo, a_hi, b_lo, b_hi, e_lo, e_hi, z, y
    cdef floating wv
    cdef floating* oplane = out + t * OL
    cdef floating* dst
    cdef const floating* xc
    cdef const floating* src
    _bias_plane(oplane, bias, co, OL)
    for ci in range(grp * cg, (grp + 1) * cg):
        xc = x + (n * C + ci) * plane
        for k in range(K):
            wv = w[(ci * og + col) * K + k]
            ti = k // (g.kh * g.kw)
            tj = (k // g.kw) % g.kh
            tl = k % g.kw
            _t_range(ti, g.D, OD, g.pd, g.dd, g.sd, &a_lo, &a_hi)
            _t_range(tj, g.H, OH, g.ph, g.dh, g.sh, &b_lo, &b_hi)
            _t_range(tl, g.W, OW, g.pw, g.dw, g.sw, &e_lo, &e_hi)
            if e_hi <= e_lo:
                continue
            for a in range(a_lo, a_hi):
                z = a * g.sd - g.pd + ti * g.dd
                for b in range(b_lo, b_hi):
                    y = b * g.sh - g.ph + tj * g.dh
                    src = xc + (a * g.H + b) * g.W
                    dst = oplane + (z * OH + y) * OW + e_lo * g.sw - g.pw + tl * g.dw
                    for e in range(e_hi - e_lo):
                        dst[e * g.sw] += wv * src[e_lo + e]


cdef void _direct_t_all(const floating* x, const floating* w, const floating* bias, floating* out, const Geom* g,
                        const Py_ssize_t* osize, Py_ssize_t N, Py_ssize_t C, Py_ssize_t C_out, Py_ssize_t groups,
                        int num_threads) noexcept nogil:
    cdef Py_ssize_t t, cg = C // groups, og = C_out // groups
    if num_threads > 1:
        for t in prange(N * C_out, schedule="static", num_threads=num_threads):
            _direct_t_task(x, w, bias, out, g, osize, t, C, C_out, cg, og)
    else:
        for t in range(N * C_out):
            _direct_t_task(x, w, bias, out, g, osize, t, C, C_out, cg, og)


cdef class DirectTransposePlan(_LeanPlan):
    """A transposed convolution by direct scattering, its geometry fixed once: ``plan(x, w, bias)`` returns
    ``out`` of ``out_shape`` (tiny layers, whose cost is mostly the call: the lean entry of ``DirectPlan``).

    NumPy equivalent: ``out[n, co, i*s - p + t*d] += x[n, ci, i] * w[ci, co % og, t]`` for the input channels
    ci of co's group and in-range targets, ``out`` starting from the bias (or zeros).

    x : (N, C_in, D, H, W); w : (C_in, C_out/groups, K); the output volume ``out_size`` (3 axes).
    """
    cdef Py_ssize_t osize[3]

    def __init__(self, tuple x_shape, tuple w_shape, dtype, tuple out_size, tuple kernel, tuple stride,
                 tuple padding, tuple dilation, int groups, int num_threads, tuple out_shape):
        self._set_dtype(dtype)
        self.N, self.C = x_shape[0], x_shape[1]
        if groups < 1 or self.C % groups or w_shape[0] != self.C:
            raise ValueError(f"DirectTransposePlan: inconsistent shapes x {x_shape}, w {w_shape}, groups {groups}")
        self.C_out = w_shape[1] * groups
        self.groups = groups
        self.g = _geom(tuple(x_shape[2:]), kernel, stride, padding, dilation, (1, 1, 1), ZEROS)
        self.osize[0], self.osize[1], self.osize[2] = out_size
        self.threads = max(num_threads, 1)
        self.nx = self.N * self.C * self.g.D * self.g.H * self.g.W
        self.nw = self.C * w_shape[1] * self.g.kd * self.g.kh * self.g.kw
        self.nout = self.N * self.C_out * self.osize[0] * self.osize[1] * self.osize[2]
        self._set_out(out_shape)

    cdef void _run(self, const void* x, const void* w, const void* bias, void* out) noexcept nogil:
        if self.typenum == cnp.NPY_FLOAT:
            _direct_t_all(<const float*>x, <const float*>w, <const float*>bias, <float*>out, &self.g, self.osize,
                          self.N, self.C, self.C_out, self.groups, self.threads)
        else:
            _direct_t_all(<const double*>x, <const double*>w, <const double*>bias, <double*>out, &self.g,
                          self.osize, self.N, self.C, self.C_out, self.groups, self.threads)


def padding_modes():
    """``{'zeros': 0, 'reflect': 1, 'replicate': 2, 'circular': 3}``: the ``mode`` codes the kernels take."""
    return {"zeros": ZEROS, "reflect": REFLECT, "replicate": REPLICATE, "circular": CIRCULAR}
