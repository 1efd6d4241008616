/* Hot inner loops of convlab's direct kernels, with a dispatch table chosen at run time.

   _simd_loops.h holds the loops. On x86-64 with GCC >= 12 it is compiled three times:
     level 0 "baseline"   the build's default target (x86-64: SSE2), runs everywhere;
     level 1 "x86-64-v3"  AVX2 + FMA (Haswell, Zen 1 and later);
     level 2 "x86-64-v4"  AVX-512 F/BW/DQ/VL (Skylake-X, Ice Lake, Zen 4 and later), with 512-bit
                          vectors preferred and the explicit-vector kernel (cl_dwdot) on 64-byte vectors.
   Each copy fills a table of function pointers (cl_simd_table). cl_simd_init() points cl_simd at the
   best table the CPU supports (__builtin_cpu_supports, which also checks that the OS saves the wider
   registers); cl_simd_set() moves it to any other supported level (_kernels.set_simd_level and the
   CONVLAB_SIMD environment variable). Elsewhere (other CPUs, other compilers, or CONVLAB_NO_CLONES
   defined) only the baseline copy exists and the table has one level.

   The kernels call cl_axpy_f(...) and the like: macros that go through the active table.
*/
#ifndef CONVLAB_SIMD_H
#define CONVLAB_SIMD_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12 && defined(__x86_64__) \
    && !defined(CONVLAB_NO_CLONES)
#define CL_SIMD_LEVELS 3
#else
#define CL_SIMD_LEVELS 1
#endif

/* GCC vector types for the explicit-vector kernels; aligned(4/8): unaligned loads and stores */
typedef float cl_v8f __attribute__((vector_size(32), aligned(4)));
typedef double cl_v4d __attribute__((vector_size(32), aligned(8)));
typedef float cl_v16f __attribute__((vector_size(64), aligned(4)));
typedef double cl_v8d __attribute__((vector_size(64), aligned(8)));
typedef float cl_v4f_half __attribute__((vector_size(16), aligned(4)));     /* half of a 32-byte vector */
typedef double cl_v2d_half __attribute__((vector_size(16), aligned(8)));
typedef int cl_v8i __attribute__((vector_size(32)));
typedef long long cl_v4l __attribute__((vector_size(32)));
typedef int cl_v16i __attribute__((vector_size(64)));
typedef long long cl_v8l __attribute__((vector_size(64)));

/* Ask for the cache lines of [p, p + nbytes), at most max_lines of them (a hint: it never faults and never
   changes a result). im2col asks for the next channel's input row while it copies this one's. */
static inline void cl_prefetch(const void *p, ptrdiff_t nbytes, ptrdiff_t max_lines) {
    const char *c = (const char *)((size_t)p & ~(size_t)63), *end = (const char *)p + nbytes;
    for (ptrdiff_t i = 0; i < max_lines && c + i * 64 < end; i++) __builtin_prefetch(c + i * 64, 0, 3);
}

typedef struct {
    const char *name;
    double (*fma_probe)(double, double, double);
    void (*axpy_f)(float *, float, const float *, ptrdiff_t, ptrdiff_t);
    void (*axpy_d)(double *, double, const double *, ptrdiff_t, ptrdiff_t);
    void (*axpy3_f)(float *, float, float, float, const float *, ptrdiff_t, ptrdiff_t);
    void (*axpy3_d)(double *, double, double, double, const double *, ptrdiff_t, ptrdiff_t);
    void (*set3_f)(float *, float, float, float, float, const float *, ptrdiff_t, ptrdiff_t);
    void (*set3_d)(double *, double, double, double, double, const double *, ptrdiff_t, ptrdiff_t);
    void (*row5_f)(float *, float, int, const float *, const float *, ptrdiff_t, ptrdiff_t);
    void (*row5_d)(double *, double, int, const double *, const double *, ptrdiff_t, ptrdiff_t);
    void (*row7_f)(float *, float, int, const float *, const float *, ptrdiff_t, ptrdiff_t);
    void (*row7_d)(double *, double, int, const double *, const double *, ptrdiff_t, ptrdiff_t);
    void (*dwdot_f)(float *, const float *, const float *, ptrdiff_t, const float *const *, ptrdiff_t, ptrdiff_t);
    void (*dwdot_d)(double *, const double *, const double *, ptrdiff_t, const double *const *, ptrdiff_t,
                    ptrdiff_t);
    void (*dwdot2_f)(float *, ptrdiff_t, const float *, const float *, ptrdiff_t, const float *const *, ptrdiff_t,
                     ptrdiff_t, ptrdiff_t);
    void (*dwdot2_d)(double *, ptrdiff_t, const double *, const double *, ptrdiff_t, const double *const *,
                     ptrdiff_t, ptrdiff_t, ptrdiff_t);
    int (*dwrow_f)(float *, ptrdiff_t, const float *, const float *, ptrdiff_t, const float *, ptrdiff_t,
                   const ptrdiff_t *, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t);
    int (*dwrow_d)(double *, ptrdiff_t, const double *, const double *, ptrdiff_t, const double *, ptrdiff_t,
                   const ptrdiff_t *, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t);
    void (*transpose_f)(float *, ptrdiff_t, const float *, ptrdiff_t, ptrdiff_t, ptrdiff_t);
    void (*transpose_d)(double *, ptrdiff_t, const double *, ptrdiff_t, ptrdiff_t, ptrdiff_t);
    void (*copy_f)(float *, const float *, ptrdiff_t, ptrdiff_t);
    void (*copy_d)(double *, const double *, ptrdiff_t, ptrdiff_t);
    void (*add_f)(float *, const float *, ptrdiff_t, ptrdiff_t);
    void (*add_d)(double *, const double *, ptrdiff_t, ptrdiff_t);
    void (*taps_f)(float *, ptrdiff_t, const float *, const ptrdiff_t *, ptrdiff_t, ptrdiff_t);
    void (*taps_d)(double *, ptrdiff_t, const double *, const ptrdiff_t *, ptrdiff_t, ptrdiff_t);
    int (*wino_in_f)(const float *, ptrdiff_t, ptrdiff_t, float *, ptrdiff_t);
    int (*wino_in_d)(const double *, ptrdiff_t, ptrdiff_t, double *, ptrdiff_t);
    void (*wino_out_f)(const float *, ptrdiff_t, ptrdiff_t, float, float *, ptrdiff_t);
    void (*wino_out_d)(const double *, ptrdiff_t, ptrdiff_t, double, double *, ptrdiff_t);
    void (*deinterleave_f)(float *, float *, const float *, ptrdiff_t);
    void (*deinterleave_d)(double *, double *, const double *, ptrdiff_t);
    int (*wino4_in_f)(const float *, ptrdiff_t, ptrdiff_t, float *, ptrdiff_t);
    int (*wino4_in_d)(const double *, ptrdiff_t, ptrdiff_t, double *, ptrdiff_t);
    void (*wino4_out_f)(const float *, ptrdiff_t, ptrdiff_t, float, float *, ptrdiff_t);
    void (*wino4_out_d)(const double *, ptrdiff_t, ptrdiff_t, double, double *, ptrdiff_t);
    void (*deinterleave4_f)(float *, ptrdiff_t, const float *, ptrdiff_t);
    void (*deinterleave4_d)(double *, ptrdiff_t, const double *, ptrdiff_t);
    void (*gemm_small_f)(ptrdiff_t, ptrdiff_t, ptrdiff_t, const float *, ptrdiff_t, const float *, ptrdiff_t, float *,
                         ptrdiff_t, int);
    void (*gemm_small_d)(ptrdiff_t, ptrdiff_t, ptrdiff_t, const double *, ptrdiff_t, const double *, ptrdiff_t,
                         double *, ptrdiff_t, int);
    void (*gemm_rows_f)(ptrdiff_t, ptrdiff_t, ptrdiff_t, const float *, ptrdiff_t, const float *const *, float *,
                        ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t, const float *);
    void (*gemm_rows_d)(ptrdiff_t, ptrdiff_t, ptrdiff_t, const double *, ptrdiff_t, const double *const *, double *,
                        ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t, const double *);
    void (*pad_rows_f)(float *, const float *, const ptrdiff_t *, const ptrdiff_t *, ptrdiff_t, ptrdiff_t, ptrdiff_t,
                       ptrdiff_t, int, float, ptrdiff_t, ptrdiff_t);
    void (*pad_rows_d)(double *, const double *, const ptrdiff_t *, const ptrdiff_t *, ptrdiff_t, ptrdiff_t,
                       ptrdiff_t, ptrdiff_t, int, double, ptrdiff_t, ptrdiff_t);
    void (*dconv_f)(float *, ptrdiff_t, ptrdiff_t, const float *, const float *, const float *, ptrdiff_t, ptrdiff_t,
                    ptrdiff_t, ptrdiff_t, const ptrdiff_t *, ptrdiff_t, ptrdiff_t, ptrdiff_t, const ptrdiff_t *,
                    ptrdiff_t);
    int (*nonfinite_f)(const float *, ptrdiff_t);
    void (*wgrad_f)(float *, const float *, const float *, const ptrdiff_t *, const unsigned short *, ptrdiff_t,
                    ptrdiff_t);   /* NULL below x86-64-v4 */
    void (*scatter2_f)(float *, ptrdiff_t, const float *, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t);
                                  /* NULL below x86-64-v4 */
    int (*wino_w_f)(const float *, ptrdiff_t, float *, ptrdiff_t, int);
    int (*wino_w_d)(const double *, ptrdiff_t, double *, ptrdiff_t, int);
} cl_simd_table;

/* cl_gemm_small / cl_gemm_rows: the columns of B they take at a time where k >= m, as many as fit this many bytes
   of B's k rows (each block of 4 rows of A reads that chunk of B from L1; all of B per block read it from L2, or
   from memory where B is the input itself). Set by gemm_small_chunk() in _kernels.pyx (the tests, and the A/B of
   bench/README.md's "Few-output 1x1 layers"). */
static ptrdiff_t cl_gs_chunk_bytes = 32 * 1024;
static inline ptrdiff_t cl_gemm_small_chunk_get(void) { return cl_gs_chunk_bytes; }
static inline void cl_gemm_small_chunk_set(ptrdiff_t bytes) { cl_gs_chunk_bytes = bytes; }
/* ... and only where A and a chunk fit this many bytes together (the L1 data cache, set by convlab.ops.conv from
   the machine's at import; gemm_small_l1() in _kernels.pyx): where they do not, A's rows and the chunk evict each
   other while every block of rows reads them, and one chunk for all of B ran faster (ResNet-18's stem: A 64 x 147,
   a chunk 147 x 48: 37 + 28 KiB against a 48 KiB L1, 1.06-1.07x the time in chunks). Until then 32 KiB, the
   fallback convlab.ops.conv takes where sysfs gives no size (the smaller L1 of the CPUs seen). */
static ptrdiff_t cl_gs_l1_bytes = 32 * 1024;
/* cl_gemm_small / cl_gemm_rows at x86-64-v4: whole strips in blocks of 8 rows of A (1), or of 4 only (0) */
static int cl_gs_rows8 = 1;
static inline int cl_gemm_small_rows8_get(void) { return cl_gs_rows8; }
static inline void cl_gemm_small_rows8_set(int on) { cl_gs_rows8 = on != 0; }
static inline ptrdiff_t cl_gemm_small_l1_get(void) { return cl_gs_l1_bytes; }
static inline void cl_gemm_small_l1_set(ptrdiff_t bytes) { cl_gs_l1_bytes = bytes; }

/* level 0: the baseline, compiled with the build's own flags */
#define CL_FN(name) name##_base
#define CL_LEVEL_NAME "baseline"
#define CL_VECTOR_BYTES 32
#include "_simd_loops.h"
#undef CL_FN
#undef CL_LEVEL_NAME
#undef CL_VECTOR_BYTES

#if CL_SIMD_LEVELS == 3
#pragma GCC push_options
#pragma GCC target("arch=x86-64-v3")
#define CL_FN(name) name##_v3
#define CL_LEVEL_NAME "x86-64-v3"
#define CL_VECTOR_BYTES 32
#include "_simd_loops.h"
#undef CL_FN
#undef CL_LEVEL_NAME
#undef CL_VECTOR_BYTES
#pragma GCC pop_options

/* prefer-vector-width=512: without it GCC's auto-vectorised loops stay on 256-bit ymm registers */
#pragma GCC push_options
#pragma GCC target("arch=x86-64-v4,prefer-vector-width=512")
#define CL_FN(name) name##_v4
#define CL_LEVEL_NAME "x86-64-v4"
#define CL_VECTOR_BYTES 64
#include "_simd_loops.h"
#undef CL_FN
#undef CL_LEVEL_NAME
#undef CL_VECTOR_BYTES
#pragma GCC pop_options

static const cl_simd_table *const cl_simd_tables[3] = {&cl_table_base, &cl_table_v3, &cl_table_v4};
#else
static const cl_simd_table *const cl_simd_tables[1] = {&cl_table_base};
#endif

static const cl_simd_table *cl_simd = &cl_table_base;   /* the active level's table */

static int cl_simd_count(void) { return CL_SIMD_LEVELS; }

static const char *cl_simd_name(int level) {
    return level >= 0 && level < CL_SIMD_LEVELS ? cl_simd_tables[level]->name : "";
}

/* 1 if this CPU (and OS) can run the level's code */
static int cl_simd_supported(int level) {
    if (level == 0) return 1;
#if CL_SIMD_LEVELS == 3
    __builtin_cpu_init();
    if (level == 1) return __builtin_cpu_supports("x86-64-v3") != 0;
    if (level == 2) return __builtin_cpu_supports("x86-64-v4") != 0;
#endif
    return 0;
}

/* the active level */
static int cl_simd_get(void) {
    for (int i = 0; i < CL_SIMD_LEVELS; i++)
        if (cl_simd == cl_simd_tables[i]) return i;
    return 0;
}

/* make a level active; returns 0 (and changes nothing) if the CPU cannot run it */
static int cl_simd_set(int level) {
    if (level < 0 || level >= CL_SIMD_LEVELS || !cl_simd_supported(level)) return 0;
    __atomic_store_n(&cl_simd, cl_simd_tables[level], __ATOMIC_RELEASE);
    return 1;
}

/* the best level this CPU runs; returns it */
static int cl_simd_init(void) {
    int best = 0;
    for (int i = 1; i < CL_SIMD_LEVELS; i++)
        if (cl_simd_supported(i)) best = i;
    cl_simd_set(best);
    return best;
}

#define cl_fma_probe (cl_simd->fma_probe)
#define cl_axpy_f (cl_simd->axpy_f)
#define cl_axpy_d (cl_simd->axpy_d)
#define cl_axpy3_f (cl_simd->axpy3_f)
#define cl_axpy3_d (cl_simd->axpy3_d)
#define cl_set3_f (cl_simd->set3_f)
#define cl_set3_d (cl_simd->set3_d)
#define cl_row5_f (cl_simd->row5_f)
#define cl_row5_d (cl_simd->row5_d)
#define cl_row7_f (cl_simd->row7_f)
#define cl_row7_d (cl_simd->row7_d)
#define cl_dwdot_f (cl_simd->dwdot_f)
#define cl_dwdot_d (cl_simd->dwdot_d)
#define cl_dwdot2_f (cl_simd->dwdot2_f)
#define cl_dwdot2_d (cl_simd->dwdot2_d)
#define cl_dwrow_f (cl_simd->dwrow_f)
#define cl_dwrow_d (cl_simd->dwrow_d)
#define cl_transpose_f (cl_simd->transpose_f)
#define cl_transpose_d (cl_simd->transpose_d)
#define cl_copy_f (cl_simd->copy_f)
#define cl_copy_d (cl_simd->copy_d)
#define cl_taps_f (cl_simd->taps_f)
#define cl_taps_d (cl_simd->taps_d)
#define cl_add_f (cl_simd->add_f)
#define cl_add_d (cl_simd->add_d)
#define cl_wino_in_f (cl_simd->wino_in_f)
#define cl_wino_in_d (cl_simd->wino_in_d)
#define cl_wino_out_f (cl_simd->wino_out_f)
#define cl_wino_out_d (cl_simd->wino_out_d)
#define cl_deinterleave_f (cl_simd->deinterleave_f)
#define cl_deinterleave_d (cl_simd->deinterleave_d)
#define cl_wino4_in_f (cl_simd->wino4_in_f)
#define cl_wino4_in_d (cl_simd->wino4_in_d)
#define cl_wino4_out_f (cl_simd->wino4_out_f)
#define cl_wino4_out_d (cl_simd->wino4_out_d)
#define cl_deinterleave4_f (cl_simd->deinterleave4_f)
#define cl_deinterleave4_d (cl_simd->deinterleave4_d)
#define cl_gemm_small_f (cl_simd->gemm_small_f)
#define cl_gemm_small_d (cl_simd->gemm_small_d)
#define cl_gemm_rows_f (cl_simd->gemm_rows_f)
#define cl_gemm_rows_d (cl_simd->gemm_rows_d)
#define cl_pad_rows_f (cl_simd->pad_rows_f)
#define cl_pad_rows_d (cl_simd->pad_rows_d)
#define cl_dconv_f (cl_simd->dconv_f)
#define cl_nonfinite_f (cl_simd->nonfinite_f)
#define cl_wino_w_f (cl_simd->wino_w_f)
#define cl_wino_w_d (cl_simd->wino_w_d)
#define cl_wgrad_f (cl_simd->wgrad_f)
static inline int cl_wgrad_available(void) { return cl_simd->wgrad_f != NULL; }
#define cl_scatter2_f (cl_simd->scatter2_f)
static inline int cl_scatter2_available(void) { return cl_simd->scatter2_f != NULL; }

#endif
