# Shared declarations of convlab/_kernels.pyx (Cython reads this file before the .pyx of the same name).
#
# Geom: one convolution's geometry as the kernels read it; PaddingMode: the ``mode`` codes (Python gets
# them from ``_kernels.padding_modes()``); the 64-bit BLAS types of NumPy's OpenBLAS that ``_gemm`` calls.

cdef enum PaddingMode:
    ZEROS = 0
    REFLECT = 1                   # mirror about the edge cell (pad < size)
    REPLICATE = 2                 # the edge cell
    CIRCULAR = 3                  # wrap around (pad <= size)

cdef struct Geom:
    Py_ssize_t D, H, W            # input (im2col) or output (col2im) volume of one channel
    Py_ssize_t kd, kh, kw
    Py_ssize_t sd, sh, sw
    Py_ssize_t pd, ph, pw
    Py_ssize_t dd, dh, dw
    Py_ssize_t bd, bh, bw         # blocks per axis
    int mode                      # a PaddingMode
    Py_ssize_t alo[16]            # ... and of kernel depth tap ti: output depths [alo[ti], ahi[ti])
    Py_ssize_t ahi[16]
    Py_ssize_t blo[16]            # ... and of kernel row tap tj: output rows [blo[tj], bhi[tj])
    Py_ssize_t bhi[16]
    Py_ssize_t clo[16]            # blocks whose column tap tl reads a real cell: [clo[tl], chi[tl]) (tl < 16)
    Py_ssize_t chi[16]

# The GEMM call: Fortran-order sgemm/dgemm, through NumPy's ILP64 OpenBLAS when found (set_blas_gemm),
# else SciPy's cython_blas (C int sizes); ``_gemm`` in the .pyx picks.
ctypedef long long blas64
ctypedef void (*sgemm64_t)(const char*, const char*, const blas64*, const blas64*, const blas64*, const float*,
                           const float*, const blas64*, const float*, const blas64*, const float*, float*,
                           const blas64*) noexcept nogil
ctypedef void (*dgemm64_t)(const char*, const char*, const blas64*, const blas64*, const blas64*, const double*,
                           const double*, const blas64*, const double*, const blas64*, const double*, double*,
                           const blas64*) noexcept nogil
