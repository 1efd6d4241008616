/* Hot inner loops of convlab's direct kernel, compiled twice on x86-64 GCC/Clang:
 * once for the baseline (SSE2, runs everywhere) and once for Haswell (AVX2 + FMA);
 * the loader picks the clone the CPU supports (function multiversioning), so a
 * wheel built here still runs on older x86-64 machines.
 */
#ifndef CONVLAB_SIMD_H
#define CONVLAB_SIMD_H
#include <stddef.h>

#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__) && !defined(CONVLAB_NO_CLONES)
#define CONVLAB_CLONES __attribute__((target_clones("arch=haswell", "default")))
#else
#define CONVLAB_CLONES

/* dst[e] += w0 * src[e] + w1 * src[e + dw] + w2 * src[e + 2 dw], e < n: three taps of a kernel row at once
   (one pass over dst instead of three; the 3x3 depthwise case) */
CONVLAB_CLONES static void cl_axpy3_f(float *restrict dst, float w0, float w1, float w2,
                                      const float *restrict src, ptrdiff_t dw, ptrdiff_t n) {
    const float *s1 = src + dw, *s2 = src + 2 * dw;
    for (ptrdiff_t e = 0; e < n; e++) dst[e] += w0 * src[e] + w1 * s1[e] + w2 * s2[e];
}

CONVLAB_CLONES static void cl_axpy3_d(double *restrict dst, double w0, double w1, double w2,
                                      const double *restrict src, ptrdiff_t dw, ptrdiff_t n) {
    const double *s1 = src + dw, *s2 = src + 2 * dw;
    for (ptrdiff_t e = 0; e < n; e++) dst[e] += w0 * src[e] + w1 * s1[e] + w2 * s2[e];
}
#endif

/* dst[e] += a * src[e * step], e < n */
CONVLAB_CLONES static void cl_axpy_f(float *restrict dst, float a, const float *restrict src,
                                     ptrdiff_t n, ptrdiff_t step) {
    if (step == 1) { for (ptrdiff_t e = 0; e < n; e++) dst[e] += a * src[e]; }
    else { for (ptrdiff_t e = 0; e < n; e++) dst[e] += a * src[e * step]; }
}

CONVLAB_CLONES static void cl_axpy_d(double *restrict dst, double a, const double *restrict src,
                                     ptrdiff_t n, ptrdiff_t step) {
    if (step == 1) { for (ptrdiff_t e = 0; e < n; e++) dst[e] += a * src[e]; }
    else { for (ptrdiff_t e = 0; e < n; e++) dst[e] += a * src[e * step]; }
}

/* dst[e] += w0 * src[e] + w1 * src[e + dw] + w2 * src[e + 2 dw], e < n: three taps of a kernel row at once
   (one pass over dst instead of three; the 3x3 depthwise case) */
CONVLAB_CLONES static void cl_axpy3_f(float *restrict dst, float w0, float w1, float w2,
                                      const float *restrict src, ptrdiff_t dw, ptrdiff_t n) {
    const float *s1 = src + dw, *s2 = src + 2 * dw;
    for (ptrdiff_t e = 0; e < n; e++) dst[e] += w0 * src[e] + w1 * s1[e] + w2 * s2[e];
}

CONVLAB_CLONES static void cl_axpy3_d(double *restrict dst, double w0, double w1, double w2,
                                      const double *restrict src, ptrdiff_t dw, ptrdiff_t n) {
    const double *s1 = src + dw, *s2 = src + 2 * dw;
    for (ptrdiff_t e = 0; e < n; e++) dst[e] += w0 * src[e] + w1 * s1[e] + w2 * s2[e];
}
#endif
