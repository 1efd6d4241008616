/* The SIMD inner loops of convlab's direct kernels, one copy per x86-64 level.

   Included by _simd.h once per level (no include guard), after it has defined
     CL_FN(name)        the level's name for a function (cl_axpy_f -> cl_axpy_f_v3, ...),
     CL_VECTOR_BYTES    the width of the explicit GCC vectors in cl_dwdot (32, or 64 at x86-64-v4),
   and set the level's target with "#pragma GCC target". Each copy ends with the level's table of
   function pointers (cl_simd_table, declared in _simd.h).
*/
/* a * b + c, compiled like the kernels: x86-64-v3 and v4 contract it to one FMA (a single rounding),
   the baseline rounds twice. simd_fma_probe() in _kernels.pyx feeds it a = b = 1 + 2^-30,
   c = -(1 + 2^-29), whose exact result 2^-60 survives only the FMA: the tests' proof that a level's
   code really is compiled for that level. */
static double CL_FN(cl_fma_probe)(double a, double b, double c) { return a * b + c; }

/* dst[e] += a * src[e * step], e < n */
static void CL_FN(cl_axpy_f)(float *restrict dst, float a, const float *restrict src,
                                     ptrdiff_t n, ptrdiff_t step) {
    if (step == 1) { for (ptrdiff_t e = 0; e < n; e++) dst[e] += a * src[e]; }
    else { for (ptrdiff_t e = 0; e < n; e++) dst[e] += a * src[e * step]; }
}

static void CL_FN(cl_axpy_d)(double *restrict dst, double a, const double *restrict src,
                                     ptrdiff_t n, ptrdiff_t step) {
    if (step == 1) { for (ptrdiff_t e = 0; e < n; e++) dst[e] += a * src[e]; }
    else { for (ptrdiff_t e = 0; e < n; e++) dst[e] += a * src[e * step]; }
}

/* dst[e] += w0 * src[e] + w1 * src[e + dw] + w2 * src[e + 2 dw], e < n: three taps of a kernel row at once
   (one pass over dst instead of three; conv_depthwise's 3-wide rows) */
static void CL_FN(cl_axpy3_f)(float *restrict dst, float w0, float w1, float w2,
                                      const float *restrict src, ptrdiff_t dw, ptrdiff_t n) {
    const float *s1 = src + dw, *s2 = src + 2 * dw;
    for (ptrdiff_t e = 0; e < n; e++) dst[e] += w0 * src[e] + w1 * s1[e] + w2 * s2[e];
}

static void CL_FN(cl_axpy3_d)(double *restrict dst, double w0, double w1, double w2,
                                      const double *restrict src, ptrdiff_t dw, ptrdiff_t n) {
    const double *s1 = src + dw, *s2 = src + 2 * dw;
    for (ptrdiff_t e = 0; e < n; e++) dst[e] += w0 * src[e] + w1 * s1[e] + w2 * s2[e];
}

/* dst[e] = b + w0 * src[e] + w1 * src[e + dw] + w2 * src[e + 2 dw], e < n: the first kernel row, which
   also writes the bias (so the output needs no separate clearing pass) */
static void CL_FN(cl_set3_f)(float *restrict dst, float b, float w0, float w1, float w2,
                                     const float *restrict src, ptrdiff_t dw, ptrdiff_t n) {
    const float *s1 = src + dw, *s2 = src + 2 * dw;
    for (ptrdiff_t e = 0; e < n; e++) dst[e] = b + w0 * src[e] + w1 * s1[e] + w2 * s2[e];
}

static void CL_FN(cl_set3_d)(double *restrict dst, double b, double w0, double w1, double w2,
                                     const double *restrict src, ptrdiff_t dw, ptrdiff_t n) {
    const double *s1 = src + dw, *s2 = src + 2 * dw;
    for (ptrdiff_t e = 0; e < n; e++) dst[e] = b + w0 * src[e] + w1 * s1[e] + w2 * s2[e];
}

/* One kernel row of KW taps (5 or 7) in one pass over dst (conv_depthwise's 5- and 7-wide rows, as cl_axpy3 for
   3): dst[e] (= b if set, else dst[e]) + sum_t w[t] * src[e + t dw], e < n. The weights stay in registers. */
#define CL_ROWK(NAME, T, KW)                                                                          \
static void NAME(T *restrict dst, T b, int set, const T *restrict w, const T *restrict src, ptrdiff_t dw,  \
                 ptrdiff_t n) {                                                                        \
    T wk[KW];                                                                                          \
    for (int t = 0; t < KW; t++) wk[t] = w[t];                                                         \
    if (set) {                                                                                         \
        for (ptrdiff_t e = 0; e < n; e++) {                                                            \
            T acc = b;                                                                                 \
            _Pragma("GCC unroll 8")                                                                    \
            for (int t = 0; t < KW; t++) acc += wk[t] * src[e + t * dw];                               \
            dst[e] = acc;                                                                              \
        }                                                                                              \
    } else {                                                                                           \
        for (ptrdiff_t e = 0; e < n; e++) {                                                            \
            T acc = dst[e];                                                                            \
            _Pragma("GCC unroll 8")                                                                    \
            for (int t = 0; t < KW; t++) acc += wk[t] * src[e + t * dw];                               \
            dst[e] = acc;                                                                              \
        }                                                                                              \
    }                                                                                                  \
}
CL_ROWK(CL_FN(cl_row5_f), float, 5)
CL_ROWK(CL_FN(cl_row5_d), double, 5)
CL_ROWK(CL_FN(cl_row7_f), float, 7)
CL_ROWK(CL_FN(cl_row7_d), double, 7)
#undef CL_ROWK

/* Channels-last depthwise dot product at one output position:
   out[c] = init[c] + sum_k w[k * ldw + c] * src[k][c] for c < n (init may be NULL: zeros).
   The channels are the vector lanes (GCC vector types: 512-bit at x86-64-v4, 256-bit at x86-64-v3,
   two SSE registers per 256-bit vector at the baseline); four vectors of channels at a time in independent accumulators,
   then one vector at a time, then one half-width vector (HV) if half a vector or more is left, then single channels. */
#define CL_DWDOT(NAME, T, V, LANES, HV)                                                               \
static void NAME(T *restrict out, const T *restrict init, const T *restrict w,          \
                                ptrdiff_t ldw, const T *const *src, ptrdiff_t K, ptrdiff_t n) {        \
    ptrdiff_t c = 0, k;                                                                                \
    const V zero = {0};                                                                                \
    for (; c + 4 * LANES <= n; c += 4 * LANES) {                                                       \
        V a0 = zero, a1 = zero, a2 = zero, a3 = zero;                                                  \
        if (init) {                                                                                    \
            a0 = *(const V *)(init + c); a1 = *(const V *)(init + c + LANES);                          \
            a2 = *(const V *)(init + c + 2 * LANES); a3 = *(const V *)(init + c + 3 * LANES);          \
        }                                                                                              \
        for (k = 0; k < K; k++) {                                                                      \
            const T *s = src[k] + c, *wk = w + k * ldw + c;                                            \
            a0 += *(const V *)wk * *(const V *)s;                                                      \
            a1 += *(const V *)(wk + LANES) * *(const V *)(s + LANES);                                  \
            a2 += *(const V *)(wk + 2 * LANES) * *(const V *)(s + 2 * LANES);                          \
            a3 += *(const V *)(wk + 3 * LANES) * *(const V *)(s + 3 * LANES);                          \
        }                                                                                              \
        *(V *)(out + c) = a0; *(V *)(out + c + LANES) = a1;                                            \
        *(V *)(out + c + 2 * LANES) = a2; *(V *)(out + c + 3 * LANES) = a3;                            \
    }                                                                                                  \
    for (; c + LANES <= n; c += LANES) {                                                               \
        V a0 = init ? *(const V *)(init + c) : zero;                                                   \
        for (k = 0; k < K; k++) a0 += *(const V *)(w + k * ldw + c) * *(const V *)(src[k] + c);       \
        *(V *)(out + c) = a0;                                                                          \
    }                                                                                                  \
    if (c + LANES / 2 <= n) {                                                                          \
        const HV hzero = {0};                                                                          \
        HV a0 = init ? *(const HV *)(init + c) : hzero;                                                \
        for (k = 0; k < K; k++) a0 += *(const HV *)(w + k * ldw + c) * *(const HV *)(src[k] + c);     \
        *(HV *)(out + c) = a0;                                                                         \
        c += LANES / 2;                                                                                \
    }                                                                                                  \
    for (; c < n; c++) {                                                                               \
        T acc = init ? init[c] : (T)0;                                                                 \
        for (k = 0; k < K; k++) acc += w[k * ldw + c] * src[k][c];                                     \
        out[c] = acc;                                                                                  \
    }                                                                                                  \
}
/* Two output positions at once (conv_depthwise_cl's rows): out[c] from src[k] and out[ldo + c] from src[k] + ps,
   c < n. Eight independent sums per block of four vectors of channels (four would leave the FMA units waiting on
   their own latency), and each weight vector is loaded once for both positions. */
#define CL_DWDOT2(NAME, T, V, LANES, HV)                                                              \
static void NAME(T *restrict out, ptrdiff_t ldo, const T *restrict init, const T *restrict w, ptrdiff_t ldw,     \
                 const T *const *src, ptrdiff_t ps, ptrdiff_t K, ptrdiff_t n) {                        \
    ptrdiff_t c = 0, k;                                                                                \
    const V zero = {0};                                                                                \
    for (; c + 4 * LANES <= n; c += 4 * LANES) {                                                       \
        V a0 = zero, a1 = zero, a2 = zero, a3 = zero;                                                  \
        if (init) {                                                                                    \
            a0 = *(const V *)(init + c); a1 = *(const V *)(init + c + LANES);                          \
            a2 = *(const V *)(init + c + 2 * LANES); a3 = *(const V *)(init + c + 3 * LANES);          \
        }                                                                                              \
        V b0 = a0, b1 = a1, b2 = a2, b3 = a3;                                                          \
        for (k = 0; k < K; k++) {                                                                      \
            const T *s = src[k] + c, *t = s + ps, *wk = w + k * ldw + c;                               \
            const V w0 = *(const V *)wk, w1 = *(const V *)(wk + LANES);                                \
            const V w2 = *(const V *)(wk + 2 * LANES), w3 = *(const V *)(wk + 3 * LANES);              \
            a0 += w0 * *(const V *)s; b0 += w0 * *(const V *)t;                                        \
            a1 += w1 * *(const V *)(s + LANES); b1 += w1 * *(const V *)(t + LANES);                    \
            a2 += w2 * *(const V *)(s + 2 * LANES); b2 += w2 * *(const V *)(t + 2 * LANES);            \
            a3 += w3 * *(const V *)(s + 3 * LANES); b3 += w3 * *(const V *)(t + 3 * LANES);            \
        }                                                                                              \
        *(V *)(out + c) = a0; *(V *)(out + c + LANES) = a1;                                            \
        *(V *)(out + c + 2 * LANES) = a2; *(V *)(out + c + 3 * LANES) = a3;                            \
        *(V *)(out + ldo + c) = b0; *(V *)(out + ldo + c + LANES) = b1;                                \
        *(V *)(out + ldo + c + 2 * LANES) = b2; *(V *)(out + ldo + c + 3 * LANES) = b3;                \
    }                                                                                                  \
    for (; c + LANES <= n; c += LANES) {                                                               \
        V a0 = init ? *(const V *)(init + c) : zero, b0 = a0;                                          \
        for (k = 0; k < K; k++) {                                                                      \
            const V wv = *(const V *)(w + k * ldw + c);                                                \
            a0 += wv * *(const V *)(src[k] + c); b0 += wv * *(const V *)(src[k] + ps + c);             \
        }                                                                                              \
        *(V *)(out + c) = a0; *(V *)(out + ldo + c) = b0;                                              \
    }                                                                                                  \
    if (c + LANES / 2 <= n) {                                                                          \
        const HV hzero = {0};                                                                          \
        HV a0 = init ? *(const HV *)(init + c) : hzero, b0 = a0;                                       \
        for (k = 0; k < K; k++) {                                                                      \
            const HV wv = *(const HV *)(w + k * ldw + c);                                              \
            a0 += wv * *(const HV *)(src[k] + c); b0 += wv * *(const HV *)(src[k] + ps + c);           \
        }                                                                                              \
        *(HV *)(out + c) = a0; *(HV *)(out + ldo + c) = b0;                                            \
        c += LANES / 2;                                                                                \
    }                                                                                                  \
    for (; c < n; c++) {                                                                               \
        T a0 = init ? init[c] : (T)0, b0 = a0;                                                         \
        for (k = 0; k < K; k++) { a0 += w[k * ldw + c] * src[k][c]; b0 += w[k * ldw + c] * src[k][ps + c]; } \
        out[c] = a0; out[ldo + c] = b0;                                                                \
    }                                                                                                  \
}
/* One output row of the channels-last kernel, register-blocked over the output width (conv_depthwise_cl's rows
   with kernel rows 3, 5 or 7 wide, column stride 1 or 2, no column dilation):
     out[e * ldo + c] = init[c] (0 if NULL) + sum_{r < KR, t < KW} w[(r KW + t) ldw + c] * base[rowoff[r] + (e S + t) ps + c]
   for e < bw (>= CL_DWROW_R), c < n. CL_DWROW_R = 7 outputs at a time in 7 accumulators: each input vector of a
   kernel row is loaded once and feeds every output whose window covers it (13 loads for 49 FMAs in a 7-wide
   row at stride 1, where a dot product per position loads 49), the row's KW weight vectors stay in registers
   (7 + 7 + 1 of AVX2's 16). A width not a multiple of 7 ends with a block that overlaps the one before (the
   same values written twice). Channels beyond the last whole vector: one half-width vector if half a vector or
   more is left (the 8 channels a block of 40 leaves at x86-64-v4), then the same loop on scalars. */
#define CL_DWROW_R 7
#define CL_DWROW_BLOCK(T, U, LOAD, STORE, KW, S)                                                         \
    {                                                                                                  \
        U acc[CL_DWROW_R];                                                                             \
        _Pragma("GCC unroll 8")                                                                        \
        for (int q = 0; q < CL_DWROW_R; q++) acc[q] = init ? LOAD(init + c) : zero;                    \
        for (ptrdiff_t r = 0; r < KR; r++) {                                                           \
            const T *row = base + rowoff[r] + e0 * S * ps + c, *wr = w + r * KW * ldw + c;             \
            U wv[KW];                                                                                  \
            _Pragma("GCC unroll 8")                                                                    \
            for (int t = 0; t < KW; t++) wv[t] = LOAD(wr + t * ldw);                                   \
            _Pragma("GCC unroll 32")                                                                   \
            for (int j = 0; j < (CL_DWROW_R - 1) * S + KW; j++) {                                      \
                const U in = LOAD(row + j * ps);                                                       \
                _Pragma("GCC unroll 8")                                                                \
                for (int q = 0; q < CL_DWROW_R; q++) {                                                 \
                    const int t = j - q * S;                                                           \
                    if (t >= 0 && t < KW) acc[q] += wv[t] * in;                                        \
                }                                                                                      \
            }                                                                                          \
        }                                                                                              \
        _Pragma("GCC unroll 8")                                                                        \
        for (int q = 0; q < CL_DWROW_R; q++) STORE(out + (e0 + q) * ldo + c, acc[q]);                  \
    }
/* every output row of channels [c, c + width of U), U a vector type or T itself (one channel) */
#define CL_DWROW_PASS(T, U, LOAD, STORE, KW, S)                                                        \
    {                                                                                                  \
        const U zero = {0};                                                                            \
        for (ptrdiff_t b = 0; b < nrows; b++) {                                                        \
            const T *base = base0 + b * in_rstep;                                                      \
            T *out = out0 + b * bw * ldo;                                                              \
            for (ptrdiff_t e = 0; e < bw; e += CL_DWROW_R) {                                           \
                const ptrdiff_t e0 = e + CL_DWROW_R <= bw ? e : bw - CL_DWROW_R;                       \
                CL_DWROW_BLOCK(T, U, LOAD, STORE, KW, S)                                               \
            }                                                                                          \
        }                                                                                              \
    }
#define CL_DWROW_KS(NAME, T, V, LANES, HV, KW, S)                                                      \
static void NAME(T *restrict out0, ptrdiff_t ldo, const T *restrict init, const T *restrict w, ptrdiff_t ldw,\
                 const T *restrict base0, ptrdiff_t ps, const ptrdiff_t *rowoff, ptrdiff_t KR, ptrdiff_t bw,\
                 ptrdiff_t n, ptrdiff_t nrows, ptrdiff_t in_rstep) {                                   \
    ptrdiff_t c = 0;                                                                                   \
    for (; c + LANES <= n; c += LANES)                                                                 \
        CL_DWROW_PASS(T, V, CL_VLOAD_##V, CL_VSTORE_##V, KW, S)                                        \
    if (c + LANES / 2 <= n) {                                                                          \
        CL_DWROW_PASS(T, HV, CL_VLOAD_##HV, CL_VSTORE_##HV, KW, S)                                     \
        c += LANES / 2;                                                                                \
    }                                                                                                  \
    for (; c < n; c++)                                                                                 \
        CL_DWROW_PASS(T, T, CL_SLOAD, CL_SSTORE, KW, S)                                                \
}
#define CL_SLOAD(p) (*(p))
#define CL_SSTORE(p, v) (*(p) = (v))
#define CL_VLOAD_cl_v8f(p) (*(const cl_v8f *)(p))
#define CL_VSTORE_cl_v8f(p, v) (*(cl_v8f *)(p) = (v))
#define CL_VLOAD_cl_v4d(p) (*(const cl_v4d *)(p))
#define CL_VSTORE_cl_v4d(p, v) (*(cl_v4d *)(p) = (v))
#define CL_VLOAD_cl_v16f(p) (*(const cl_v16f *)(p))
#define CL_VSTORE_cl_v16f(p, v) (*(cl_v16f *)(p) = (v))
#define CL_VLOAD_cl_v8d(p) (*(const cl_v8d *)(p))
#define CL_VSTORE_cl_v8d(p, v) (*(cl_v8d *)(p) = (v))
#define CL_VLOAD_cl_v4f_half(p) (*(const cl_v4f_half *)(p))
#define CL_VSTORE_cl_v4f_half(p, v) (*(cl_v4f_half *)(p) = (v))
#define CL_VLOAD_cl_v2d_half(p) (*(const cl_v2d_half *)(p))
#define CL_VSTORE_cl_v2d_half(p, v) (*(cl_v2d_half *)(p) = (v))
/* the dispatcher: returns 0 (and writes nothing) for a kernel width or stride it has no copy for */
#define CL_DWROW(NAME, T, V, LANES, HV)                                                               \
CL_DWROW_KS(CL_FN(NAME##_3_1), T, V, LANES, HV, 3, 1) CL_DWROW_KS(CL_FN(NAME##_5_1), T, V, LANES, HV, 5, 1) \
CL_DWROW_KS(CL_FN(NAME##_7_1), T, V, LANES, HV, 7, 1) CL_DWROW_KS(CL_FN(NAME##_3_2), T, V, LANES, HV, 3, 2) \
CL_DWROW_KS(CL_FN(NAME##_5_2), T, V, LANES, HV, 5, 2) CL_DWROW_KS(CL_FN(NAME##_7_2), T, V, LANES, HV, 7, 2) \
static int CL_FN(NAME)(T *out, ptrdiff_t ldo, const T *init, const T *w, ptrdiff_t ldw, const T *base,       \
                       ptrdiff_t ps, const ptrdiff_t *rowoff, ptrdiff_t KR, ptrdiff_t KW, ptrdiff_t S,        \
                       ptrdiff_t bw, ptrdiff_t n, ptrdiff_t nrows, ptrdiff_t in_rstep) {               \
    if (bw < CL_DWROW_R) return 0;                                                                     \
    void (*f)(T *restrict, ptrdiff_t, const T *restrict, const T *restrict, ptrdiff_t, const T *restrict,       \
              ptrdiff_t, const ptrdiff_t *, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t) =    \
        S == 1 ? (KW == 3 ? CL_FN(NAME##_3_1) : KW == 5 ? CL_FN(NAME##_5_1) : KW == 7 ? CL_FN(NAME##_7_1) : NULL) \
      : S == 2 ? (KW == 3 ? CL_FN(NAME##_3_2) : KW == 5 ? CL_FN(NAME##_5_2) : KW == 7 ? CL_FN(NAME##_7_2) : NULL) \
      : NULL;                                                                                          \
    if (!f) return 0;                                                                                  \
    f(out, ldo, init, w, ldw, base, ps, rowoff, KR, bw, n, nrows, in_rstep);                                            \
    return 1;                                                                                          \
}
#if CL_VECTOR_BYTES == 64           /* x86-64-v4: one zmm register per vector */
CL_DWDOT(CL_FN(cl_dwdot_f), float, cl_v16f, 16, cl_v8f)
CL_DWDOT(CL_FN(cl_dwdot_d), double, cl_v8d, 8, cl_v4d)
CL_DWDOT2(CL_FN(cl_dwdot2_f), float, cl_v16f, 16, cl_v8f)
CL_DWDOT2(CL_FN(cl_dwdot2_d), double, cl_v8d, 8, cl_v4d)
CL_DWROW(cl_dwrow_f, float, cl_v16f, 16, cl_v8f)
CL_DWROW(cl_dwrow_d, double, cl_v8d, 8, cl_v4d)
#else
CL_DWDOT(CL_FN(cl_dwdot_f), float, cl_v8f, 8, cl_v4f_half)
CL_DWDOT(CL_FN(cl_dwdot_d), double, cl_v4d, 4, cl_v2d_half)
CL_DWDOT2(CL_FN(cl_dwdot2_f), float, cl_v8f, 8, cl_v4f_half)
CL_DWDOT2(CL_FN(cl_dwdot2_d), double, cl_v4d, 4, cl_v2d_half)
CL_DWROW(cl_dwrow_f, float, cl_v8f, 8, cl_v4f_half)
CL_DWROW(cl_dwrow_d, double, cl_v4d, 4, cl_v2d_half)
#endif
#undef CL_DWDOT
#undef CL_DWDOT2
#undef CL_DWROW
#undef CL_DWROW_KS
#undef CL_DWROW_PASS
#undef CL_DWROW_BLOCK
#undef CL_DWROW_R
#undef CL_SLOAD
#undef CL_SSTORE
#undef CL_VLOAD_cl_v8f
#undef CL_VSTORE_cl_v8f
#undef CL_VLOAD_cl_v4d
#undef CL_VSTORE_cl_v4d
#undef CL_VLOAD_cl_v16f
#undef CL_VSTORE_cl_v16f
#undef CL_VLOAD_cl_v8d
#undef CL_VSTORE_cl_v8d
#undef CL_VLOAD_cl_v4f_half
#undef CL_VSTORE_cl_v4f_half
#undef CL_VLOAD_cl_v2d_half
#undef CL_VSTORE_cl_v2d_half

/* dst[j * ldd + i] = src[i * lds + j] for i < rows, j < cols: 8x8 (float) / 4x4 (double) blocks
   transposed in registers (unpack, shuffle, swap 128-bit halves). A row or column count that is not a multiple
   of the block ends on a block moved back to end at the last row or column (it overlaps the one before and
   writes its cells again with the same values); only fewer rows or columns than one block go one element at
   a time. */
#define CL_TRANSPOSE_EDGE(B)                                                                           \
    if (rows < B || cols < B) {                                                                        \
        for (i = 0; i < rows; i++)                                                                     \
            for (j = 0; j < cols; j++) dst[j * ldd + i] = src[i * lds + j];                            \
        return;                                                                                        \
    }
static void CL_FN(cl_transpose_f)(float *restrict dst, ptrdiff_t ldd, const float *restrict src,
                                          ptrdiff_t lds, ptrdiff_t rows, ptrdiff_t cols) {
    const cl_v8i lo = {0, 8, 1, 9, 4, 12, 5, 13}, hi = {2, 10, 3, 11, 6, 14, 7, 15};
    const cl_v8i plo = {0, 1, 8, 9, 4, 5, 12, 13}, phi = {2, 3, 10, 11, 6, 7, 14, 15};
    const cl_v8i h0 = {0, 1, 2, 3, 8, 9, 10, 11}, h1 = {4, 5, 6, 7, 12, 13, 14, 15};
    ptrdiff_t i, j, i0, j0;
    CL_TRANSPOSE_EDGE(8)
    for (i0 = 0; i0 < rows; i0 += 8) {
        if (i0 + 8 > rows) i0 = rows - 8;
        for (j0 = 0; j0 < cols; j0 += 8) {
            if (j0 + 8 > cols) j0 = cols - 8;
            const float *s = src + i0 * lds + j0;
            cl_v8f r0 = *(const cl_v8f *)s, r1 = *(const cl_v8f *)(s + lds);
            cl_v8f r2 = *(const cl_v8f *)(s + 2 * lds), r3 = *(const cl_v8f *)(s + 3 * lds);
            cl_v8f r4 = *(const cl_v8f *)(s + 4 * lds), r5 = *(const cl_v8f *)(s + 5 * lds);
            cl_v8f r6 = *(const cl_v8f *)(s + 6 * lds), r7 = *(const cl_v8f *)(s + 7 * lds);
            cl_v8f t0 = __builtin_shuffle(r0, r1, lo), t1 = __builtin_shuffle(r0, r1, hi);
            cl_v8f t2 = __builtin_shuffle(r2, r3, lo), t3 = __builtin_shuffle(r2, r3, hi);
            cl_v8f t4 = __builtin_shuffle(r4, r5, lo), t5 = __builtin_shuffle(r4, r5, hi);
            cl_v8f t6 = __builtin_shuffle(r6, r7, lo), t7 = __builtin_shuffle(r6, r7, hi);
            cl_v8f u0 = __builtin_shuffle(t0, t2, plo), u1 = __builtin_shuffle(t0, t2, phi);
            cl_v8f u2 = __builtin_shuffle(t1, t3, plo), u3 = __builtin_shuffle(t1, t3, phi);
            cl_v8f u4 = __builtin_shuffle(t4, t6, plo), u5 = __builtin_shuffle(t4, t6, phi);
            cl_v8f u6 = __builtin_shuffle(t5, t7, plo), u7 = __builtin_shuffle(t5, t7, phi);
            float *d = dst + j0 * ldd + i0;
            *(cl_v8f *)d = __builtin_shuffle(u0, u4, h0);
            *(cl_v8f *)(d + ldd) = __builtin_shuffle(u1, u5, h0);
            *(cl_v8f *)(d + 2 * ldd) = __builtin_shuffle(u2, u6, h0);
            *(cl_v8f *)(d + 3 * ldd) = __builtin_shuffle(u3, u7, h0);
            *(cl_v8f *)(d + 4 * ldd) = __builtin_shuffle(u0, u4, h1);
            *(cl_v8f *)(d + 5 * ldd) = __builtin_shuffle(u1, u5, h1);
            *(cl_v8f *)(d + 6 * ldd) = __builtin_shuffle(u2, u6, h1);
            *(cl_v8f *)(d + 7 * ldd) = __builtin_shuffle(u3, u7, h1);
        }
    }
}

static void CL_FN(cl_transpose_d)(double *restrict dst, ptrdiff_t ldd, const double *restrict src,
                                          ptrdiff_t lds, ptrdiff_t rows, ptrdiff_t cols) {
    const cl_v4l lo = {0, 4, 2, 6}, hi = {1, 5, 3, 7}, h0 = {0, 1, 4, 5}, h1 = {2, 3, 6, 7};
    ptrdiff_t i, j, i0, j0;
    CL_TRANSPOSE_EDGE(4)
    for (i0 = 0; i0 < rows; i0 += 4) {
        if (i0 + 4 > rows) i0 = rows - 4;
        for (j0 = 0; j0 < cols; j0 += 4) {
            if (j0 + 4 > cols) j0 = cols - 4;
            const double *s = src + i0 * lds + j0;
            cl_v4d r0 = *(const cl_v4d *)s, r1 = *(const cl_v4d *)(s + lds);
            cl_v4d r2 = *(const cl_v4d *)(s + 2 * lds), r3 = *(const cl_v4d *)(s + 3 * lds);
            cl_v4d t0 = __builtin_shuffle(r0, r1, lo), t1 = __builtin_shuffle(r0, r1, hi);
            cl_v4d t2 = __builtin_shuffle(r2, r3, lo), t3 = __builtin_shuffle(r2, r3, hi);
            double *d = dst + j0 * ldd + i0;
            *(cl_v4d *)d = __builtin_shuffle(t0, t2, h0);
            *(cl_v4d *)(d + ldd) = __builtin_shuffle(t1, t3, h0);
            *(cl_v4d *)(d + 2 * ldd) = __builtin_shuffle(t0, t2, h1);
            *(cl_v4d *)(d + 3 * ldd) = __builtin_shuffle(t1, t3, h1);
        }
    }
}
#undef CL_TRANSPOSE_EDGE

/* dst[e] = src[e * step], e < n (im2col's strided row copies). Step 2 with more than one vector of cells: two
   loads and a shuffle per vector of even cells, the last vector moved back to end at n (loaded one cell early,
   its odd cells taken), so nothing is read past src[2 (n - 1)] and no cell-by-cell tail is left. */
#define CL_COPY_STRIDED(NAME, T, VT, IT, VN, ...)                                                      \
static void NAME(T *restrict dst, const T *restrict src, ptrdiff_t n, ptrdiff_t step) {                \
    if (step == 2 && n > VN) {                                                                         \
        const IT even = {__VA_ARGS__}, odd = even + 1;                                                 \
        for (ptrdiff_t e = 0; e + VN < n; e += VN)                                                     \
            *(VT *)(dst + e) = __builtin_shuffle(*(const VT *)(src + 2 * e),                           \
                                                 *(const VT *)(src + 2 * e + VN), even);               \
        *(VT *)(dst + n - VN) = __builtin_shuffle(*(const VT *)(src + 2 * n - 2 * VN - 1),             \
                                                  *(const VT *)(src + 2 * n - VN - 1), odd);           \
    }                                                                                                  \
    else if (step == 2) { for (ptrdiff_t e = 0; e < n; e++) dst[e] = src[2 * e]; }                     \
    else { for (ptrdiff_t e = 0; e < n; e++) dst[e] = src[e * step]; }                                 \
}
CL_COPY_STRIDED(CL_FN(cl_copy_f), float, cl_v8f, cl_v8i, 8, 0, 2, 4, 6, 8, 10, 12, 14)
CL_COPY_STRIDED(CL_FN(cl_copy_d), double, cl_v4d, cl_v4l, 4, 0, 2, 4, 6)
#undef CL_COPY_STRIDED

/* im2col's taps of one output row from the row's phase copies (_gather_rows): dst[t * ld + e] = src[off[t] + e]
   for e < n, t < kw. One call a row instead of a libc memcpy a tap (a DCGAN discriminator's 4x4 stride-2 layer
   copies 262,144 runs of 16 cells a call). A run of at least half a vector ends with a vector that overlaps the one
   before (the two buffers never overlap each other, so cells copied twice get the same value). */
#define CL_TAPS(NAME, T, VT, HT)                                                                        \
static void NAME(T *restrict dst, ptrdiff_t ld, const T *restrict src, const ptrdiff_t *off, ptrdiff_t kw,  \
                 ptrdiff_t n) {                                                                         \
    const ptrdiff_t vn = sizeof(VT) / sizeof(T), hn = sizeof(HT) / sizeof(T);                           \
    for (ptrdiff_t t = 0; t < kw; t++) {                                                                \
        T *d = dst + t * ld;                                                                            \
        const T *s = src + off[t];                                                                      \
        if (n >= vn) {                                                                                  \
            for (ptrdiff_t e = 0; e + vn < n; e += vn) {                                               \
                __asm__("" : "+r"(e));   /* (GCC would make this loop a call to memcpy) */              \
                *(VT *)(d + e) = *(const VT *)(s + e);                                                  \
            }                                                                                           \
            *(VT *)(d + n - vn) = *(const VT *)(s + n - vn);                                            \
        } else if (n >= hn) {                                                                           \
            *(HT *)d = *(const HT *)s;                                                                  \
            *(HT *)(d + n - hn) = *(const HT *)(s + n - hn);                                            \
        } else {                                                                                        \
            for (ptrdiff_t e = 0; e < n; e++) d[e] = s[e];                                              \
        }                                                                                               \
    }                                                                                                   \
}
#if CL_VECTOR_BYTES == 64
CL_TAPS(CL_FN(cl_taps_f), float, cl_v16f, cl_v8f)
CL_TAPS(CL_FN(cl_taps_d), double, cl_v8d, cl_v4d)
#else
CL_TAPS(CL_FN(cl_taps_f), float, cl_v8f, cl_v4f_half)
CL_TAPS(CL_FN(cl_taps_d), double, cl_v4d, cl_v2d_half)
#endif
#undef CL_TAPS

/* dst[e * step] += src[e], e < n (col2im's scatter-add rows) */
static void CL_FN(cl_add_f)(float *restrict dst, const float *restrict src, ptrdiff_t n, ptrdiff_t step) {
    if (step == 1) { for (ptrdiff_t e = 0; e < n; e++) dst[e] += src[e]; }
    else { for (ptrdiff_t e = 0; e < n; e++) dst[e * step] += src[e]; }
}

static void CL_FN(cl_add_d)(double *restrict dst, const double *restrict src, ptrdiff_t n,
                                    ptrdiff_t step) {
    if (step == 1) { for (ptrdiff_t e = 0; e < n; e++) dst[e] += src[e]; }
    else { for (ptrdiff_t e = 0; e < n; e++) dst[e * step] += src[e]; }
}

/* Winograd F(2x2, 3x3) transforms (conv_winograd in _kernels.pyx has the matrices).
   cl_wino_in: V = B^T d B for tw tiles side by side. The band holds the 4 padded input rows a tile row
   reads, each split into its even and odd columns (band[(2k + q) * hw + j] = row k, column 2j + q), so
   that every load below is unit-stride. v[e * es + j] receives tile j's e-th value (e = 4 * row + col).
   Returns 1 if the band holds an inf or NaN (x - x is NaN exactly for those), else 0: an integer OR,
   which vectorises (a floating-point sum would not, without -ffast-math). */
#define CL_WINO_IN(NAME, T)                                                                            \
static int NAME(const T *restrict band, ptrdiff_t hw, ptrdiff_t tw, T *restrict v,      \
                              ptrdiff_t es) {                                                          \
    const T *ev = band, *od = band + hw;                                                               \
    const ptrdiff_t ld = 2 * hw;                                                                       \
    int bad = 0;                                                                                       \
    /* the 16 v rows are es apart: without ivdep GCC cannot rule out overlaps and does not vectorise */ \
    _Pragma("GCC ivdep")                                                                               \
    for (ptrdiff_t j = 0; j < tw; j++) {                                                               \
        T h[4][4];                                                                                     \
        for (int k = 0; k < 4; k++) {          /* d B along row k */                                   \
            const T e0 = ev[k * ld + j], e1 = ev[k * ld + j + 1];                                      \
            const T o0 = od[k * ld + j], o1 = od[k * ld + j + 1];                                      \
            bad |= (e0 - e0 != 0) | (o0 - o0 != 0);                                                    \
            h[k][0] = e0 - e1; h[k][1] = o0 + e1; h[k][2] = e1 - o0; h[k][3] = o0 - o1;                \
        }                                                                                              \
        for (int q = 0; q < 4; q++) {          /* B^T (d B) down column q */                           \
            v[q * es + j] = h[0][q] - h[2][q];                                                         \
            v[(4 + q) * es + j] = h[1][q] + h[2][q];                                                   \
            v[(8 + q) * es + j] = h[2][q] - h[1][q];                                                   \
            v[(12 + q) * es + j] = h[1][q] - h[3][q];                                                  \
        }                                                                                              \
    }                                                                                                  \
    for (int k = 0; k < 4; k++) bad |= (ev[k * ld + tw] - ev[k * ld + tw] != 0)                        \
                                     | (od[k * ld + tw] - od[k * ld + tw] != 0);                       \
    return bad;                                                                                        \
}
CL_WINO_IN(CL_FN(cl_wino_in_f), float)
CL_WINO_IN(CL_FN(cl_wino_in_d), double)
#undef CL_WINO_IN

/* cl_wino_out: Y = A^T M A + bv for tw tiles: m[e * es + j] is tile j's e-th product sum; output row r
   of the tiles goes to y[r * ldy + 2j], y[r * ldy + 2j + 1]. */
#define CL_WINO_OUT(NAME, T)                                                                           \
static void NAME(const T *restrict m, ptrdiff_t es, ptrdiff_t tw, T bv, T *restrict y,  \
                                ptrdiff_t ldy) {                                                       \
    T *restrict y0 = y, *restrict y1 = y + ldy;                                                        \
    for (ptrdiff_t j = 0; j < tw; j++) {                                                               \
        T p[4][2];                                                                                     \
        for (int a = 0; a < 4; a++) {          /* M A along row a */                                   \
            const T m0 = m[4 * a * es + j], m1 = m[(4 * a + 1) * es + j];                              \
            const T m2 = m[(4 * a + 2) * es + j], m3 = m[(4 * a + 3) * es + j];                        \
            p[a][0] = m0 + m1 + m2; p[a][1] = m1 - m2 - m3;                                            \
        }                                                                                              \
        y0[2 * j] = p[0][0] + p[1][0] + p[2][0] + bv;                                                  \
        y0[2 * j + 1] = p[0][1] + p[1][1] + p[2][1] + bv;                                              \
        y1[2 * j] = p[1][0] - p[2][0] - p[3][0] + bv;                                                  \
        y1[2 * j + 1] = p[1][1] - p[2][1] - p[3][1] + bv;                                              \
    }                                                                                                  \
}
CL_WINO_OUT(CL_FN(cl_wino_out_f), float)
CL_WINO_OUT(CL_FN(cl_wino_out_d), double)
#undef CL_WINO_OUT

/* ev[j] = src[2j], od[j] = src[2j + 1], j < n: a row split into its even and odd columns. From a vector of pairs
   on: two loads and two shuffles per vector of each, the last vector moved back to end at n (its cells written
   twice with the same values), so nothing is read past src[2n - 1]. */
#define CL_DEINTERLEAVE(NAME, T, VT, IT, ...)                                                          \
static void NAME(T *restrict ev, T *restrict od, const T *restrict src, ptrdiff_t n) {                 \
    const ptrdiff_t vn = sizeof(VT) / sizeof(T);                                                       \
    if (n >= vn) {                                                                                     \
        const IT even = {__VA_ARGS__}, odd = even + 1;                                                 \
        for (ptrdiff_t j = 0;; j += vn) {                                                              \
            if (j > n - vn) j = n - vn;                                                                \
            const VT a = *(const VT *)(src + 2 * j), b = *(const VT *)(src + 2 * j + vn);              \
            *(VT *)(ev + j) = __builtin_shuffle(a, b, even);                                           \
            *(VT *)(od + j) = __builtin_shuffle(a, b, odd);                                            \
            if (j == n - vn) break;                                                                    \
        }                                                                                              \
        return;                                                                                        \
    }                                                                                                  \
    for (ptrdiff_t j = 0; j < n; j++) { ev[j] = src[2 * j]; od[j] = src[2 * j + 1]; }                  \
}
#if CL_VECTOR_BYTES == 64
CL_DEINTERLEAVE(CL_FN(cl_deinterleave_f), float, cl_v16f, cl_v16i, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24,
                26, 28, 30)
CL_DEINTERLEAVE(CL_FN(cl_deinterleave_d), double, cl_v8d, cl_v8l, 0, 2, 4, 6, 8, 10, 12, 14)
#else
CL_DEINTERLEAVE(CL_FN(cl_deinterleave_f), float, cl_v8f, cl_v8i, 0, 2, 4, 6, 8, 10, 12, 14)
CL_DEINTERLEAVE(CL_FN(cl_deinterleave_d), double, cl_v4d, cl_v4l, 0, 2, 4, 6)
#endif
#undef CL_DEINTERLEAVE

/* Winograd's weight transform (winograd_weights) for n 3x3 filters w (row-major, 9 floats apart): u[e * es + i] =
   (G w_i G^T)[e] for filter i, e < (tile + 2)^2, F(tile x tile, 3x3), tile 2 or 4 (G in CL_WINO_G: the rows of
   Lavin and Gray's F(2, 3) and F(4, 3), whose output transforms are cl_wino_out_f / cl_wino4_out_f). 16 filters at
   a time, filter i in lane i: the 16 results of an e go to u as one contiguous run (one filter at a time scattered
   its 16 (or 36) results over as many rows, and its index was two integer divisions). Every block but a partial
   last one is compiled for its tile and for 16 filters: with both read at run time, 256 x 256 float32 filters
   took 0.80 ms by F(2x2) at one thread against 0.24 now (4 MiB written: about a copy's time), F(4x4) 0.86 against
   0.63, float64 F(2x2) 0.83 against 0.46 (F(4x4), 19 MB written, 1.69 either way). Returns 1 if a weight is inf
   or NaN (x * 0 is 0 for every finite x). */
#define CL_WINO_W(NAME, BLOCK, T)                                                                      \
/* one block of m <= 16 filters (tile and m constants once inlined: the lanes' loops vectorise) */     \
static inline __attribute__((always_inline)) void BLOCK(const T *restrict wb, const int m,             \
                                                        T *restrict u, ptrdiff_t es, const int tile,   \
                                                        T *restrict chk) {                             \
    const int nn = tile + 2;                                                                           \
    const T half = (T)0.5;                                                                             \
    T g[9][16], r[6][3][16], c[6][16];                                                                 \
    for (int a = 0; a < 9; a++)                                                                        \
        for (int i = 0; i < 16; i++) g[a][i] = i < m ? wb[i * 9 + a] : 0;                              \
    for (int a = 0; a < 9; a++)                                                                        \
        for (int i = 0; i < 16; i++) chk[i] += g[a][i] * 0;                                            \
    for (int k = 0; k < 3; k++)             /* G g, one column at a time */                            \
        CL_WINO_G(g[k], g[3 + k], g[6 + k], r, [k])                                                    \
    for (int a = 0; a < nn; a++) {          /* (G g) G^T, one row at a time */                         \
        CL_WINO_G(r[a][0], r[a][1], r[a][2], c, )                                                      \
        for (int q = 0; q < nn; q++)                                                                   \
            for (int i = 0; i < m; i++) u[(ptrdiff_t)(nn * a + q) * es + i] = c[q][i];                 \
    }                                                                                                  \
}                                                                                                      \
static int NAME(const T *restrict w, ptrdiff_t n, T *restrict u, ptrdiff_t es, int tile) {             \
    T chk[16] = {0};                    /* per lane: one serial sum would bound the loop by its adds */ \
    ptrdiff_t i0 = 0;                                                                                  \
    if (tile == 2)                                                                                     \
        for (; i0 + 16 <= n; i0 += 16) BLOCK(w + i0 * 9, 16, u + i0, es, 2, chk);                      \
    else                                                                                               \
        for (; i0 + 16 <= n; i0 += 16) BLOCK(w + i0 * 9, 16, u + i0, es, 4, chk);                      \
    if (i0 < n)                                                                                        \
        BLOCK(w + i0 * 9, (int)(n - i0), u + i0, es, tile, chk);                                       \
    T all = 0;                                                                                         \
    for (int i = 0; i < 16; i++) all += chk[i];                                                        \
    return !(all == 0);                                                                                \
}
/* t[j] IDX[i] = (G (g0, g1, g2))[j] in lane i, G the 4 rows of F(2x2, 3x3) or the 6 of F(4x4, 3x3) */
#define CL_WINO_G(g0, g1, g2, t, IDX)                                                                  \
    if (tile == 2) {                                                                                   \
        for (int i = 0; i < 16; i++) {                                                                 \
            t[0] IDX[i] = g0[i];                                                                       \
            t[1] IDX[i] = (g0[i] + g1[i] + g2[i]) * half;                                              \
            t[2] IDX[i] = (g0[i] - g1[i] + g2[i]) * half;                                              \
            t[3] IDX[i] = g2[i];                                                                       \
        }                                                                                              \
    } else {                                                                                           \
        for (int i = 0; i < 16; i++) {                                                                 \
            t[0] IDX[i] = g0[i] / 4;                                                                   \
            t[1] IDX[i] = -(g0[i] + g1[i] + g2[i]) / 6;                                                \
            t[2] IDX[i] = -(g0[i] - g1[i] + g2[i]) / 6;                                                \
            t[3] IDX[i] = g0[i] / 24 + g1[i] / 12 + g2[i] / 6;                                         \
            t[4] IDX[i] = g0[i] / 24 - g1[i] / 12 + g2[i] / 6;                                         \
            t[5] IDX[i] = g2[i];                                                                       \
        }                                                                                              \
    }
CL_WINO_W(CL_FN(cl_wino_w_f), CL_FN(cl_wino_w_block_f), float)
CL_WINO_W(CL_FN(cl_wino_w_d), CL_FN(cl_wino_w_block_d), double)
#undef CL_WINO_W
#undef CL_WINO_G

/* F(4x4, 3x3): 6x6 input patches, 4x4 output tiles, 36 products (Lavin & Gray's matrices, points
   0, -1, 1, -2, 2 and infinity). The band holds 6 rows, each split into 4 phases: band[(4k + q) * hw + j]
   = row k, column 4j + q. v[e * es + j], e = 6 * row + col. */
#define CL_WINO4_IN(NAME, T)                                                                           \
static int NAME(const T *restrict band, ptrdiff_t hw, ptrdiff_t tw, T *restrict v,      \
                              ptrdiff_t es) {                                                          \
    int bad = 0;                                                                                       \
    _Pragma("GCC ivdep")               /* the 36 v rows are es apart (see cl_wino_in) */                \
    for (ptrdiff_t j = 0; j < tw; j++) {                                                               \
        T h[6][6];                                                                                     \
        _Pragma("GCC unroll 6")                /* unrolled, or the j loop does not vectorise */        \
        for (int k = 0; k < 6; k++) {          /* d B along row k */                                   \
            const T *r = band + 4 * k * hw;                                                            \
            const T d0 = r[j], d1 = r[hw + j], d2 = r[2 * hw + j], d3 = r[3 * hw + j];                 \
            const T d4 = r[j + 1], d5 = r[hw + j + 1];                                                 \
            bad |= (d0 - d0 != 0) | (d1 - d1 != 0) | (d2 - d2 != 0) | (d3 - d3 != 0);                  \
            h[k][0] = 4 * d0 - 5 * d2 + d4;                                                            \
            h[k][1] = (d3 + d4) - 4 * (d1 + d2);                                                       \
            h[k][2] = (d4 - d3) + 4 * (d1 - d2);                                                       \
            h[k][3] = (d4 - d2) + 2 * (d3 - d1);                                                       \
            h[k][4] = (d4 - d2) - 2 * (d3 - d1);                                                       \
            h[k][5] = 4 * d1 - 5 * d3 + d5;                                                            \
        }                                                                                              \
        _Pragma("GCC unroll 6")                                                                        \
        for (int q = 0; q < 6; q++) {          /* B^T (d B) down column q */                           \
            const T a0 = h[0][q], a1 = h[1][q], a2 = h[2][q], a3 = h[3][q], a4 = h[4][q], a5 = h[5][q]; \
            v[q * es + j] = 4 * a0 - 5 * a2 + a4;                                                      \
            v[(6 + q) * es + j] = (a3 + a4) - 4 * (a1 + a2);                                           \
            v[(12 + q) * es + j] = (a4 - a3) + 4 * (a1 - a2);                                          \
            v[(18 + q) * es + j] = (a4 - a2) + 2 * (a3 - a1);                                          \
            v[(24 + q) * es + j] = (a4 - a2) - 2 * (a3 - a1);                                          \
            v[(30 + q) * es + j] = 4 * a1 - 5 * a3 + a5;                                               \
        }                                                                                              \
    }                                                                                                  \
    for (int k = 0; k < 6; k++) {                                                                      \
        const T a = band[4 * k * hw + tw], b = band[(4 * k + 1) * hw + tw];                            \
        bad |= (a - a != 0) | (b - b != 0);                                                            \
    }                                                                                                  \
    return bad;                                                                                        \
}
CL_WINO4_IN(CL_FN(cl_wino4_in_f), float)
CL_WINO4_IN(CL_FN(cl_wino4_in_d), double)
#undef CL_WINO4_IN

#define CL_WINO4_OUT(NAME, T)                                                                          \
static void NAME(const T *restrict m, ptrdiff_t es, ptrdiff_t tw, T bv, T *restrict y,  \
                                ptrdiff_t ldy) {                                                       \
    for (ptrdiff_t j = 0; j < tw; j++) {                                                               \
        T p[6][4];                                                                                     \
        for (int a = 0; a < 6; a++) {          /* M A along row a */                                   \
            const T *ma = m + 6 * a * es + j;                                                          \
            const T m0 = ma[0], m1 = ma[es], m2 = ma[2 * es], m3 = ma[3 * es], m4 = ma[4 * es];        \
            const T m5 = ma[5 * es];                                                                   \
            p[a][0] = m0 + m1 + m2 + m3 + m4;                                                          \
            p[a][1] = (m1 - m2) + 2 * (m3 - m4);                                                       \
            p[a][2] = (m1 + m2) + 4 * (m3 + m4);                                                       \
            p[a][3] = (m1 - m2) + 8 * (m3 - m4) + m5;                                                  \
        }                                                                                              \
        for (int c = 0; c < 4; c++) {          /* A^T (M A) down column c */                           \
            y[4 * j + c] = p[0][c] + p[1][c] + p[2][c] + p[3][c] + p[4][c] + bv;                       \
            y[ldy + 4 * j + c] = (p[1][c] - p[2][c]) + 2 * (p[3][c] - p[4][c]) + bv;                   \
            y[2 * ldy + 4 * j + c] = (p[1][c] + p[2][c]) + 4 * (p[3][c] + p[4][c]) + bv;               \
            y[3 * ldy + 4 * j + c] = (p[1][c] - p[2][c]) + 8 * (p[3][c] - p[4][c]) + p[5][c] + bv;     \
        }                                                                                              \
    }                                                                                                  \
}
CL_WINO4_OUT(CL_FN(cl_wino4_out_f), float)
CL_WINO4_OUT(CL_FN(cl_wino4_out_d), double)
#undef CL_WINO4_OUT

/* p[q * hw + j] = src[4j + q], q < 4, j < n: a row split into 4 phases */
#define CL_DEINTERLEAVE4(NAME, T)                                                                      \
static void NAME(T *restrict p, ptrdiff_t hw, const T *restrict src, ptrdiff_t n) {     \
    T *restrict p1 = p + hw, *restrict p2 = p + 2 * hw, *restrict p3 = p + 3 * hw;                     \
    for (ptrdiff_t j = 0; j < n; j++) {                                                                \
        p[j] = src[4 * j]; p1[j] = src[4 * j + 1]; p2[j] = src[4 * j + 2]; p3[j] = src[4 * j + 3];     \
    }                                                                                                  \
}
CL_DEINTERLEAVE4(CL_FN(cl_deinterleave4_f), float)
CL_DEINTERLEAVE4(CL_FN(cl_deinterleave4_d), double)
#undef CL_DEINTERLEAVE4

/* C[i ldc + j] = (acc ? C[i ldc + j] : 0) + sum_p A[i lda + p] B_p[j], i < m, j < n: a GEMM with few rows (the
   output channels of a group) and long rows (output positions), reading B where it lies (no packing pass, which
   costs BLAS more than it saves at m <= 16). B_p is row p of a matrix (cl_gemm_small: B + p ldb, a gathered tile)
   or any p-th pointer (cl_gemm_rows: Bp[p], a tap's run in a padded input slab). Registers (x86-64-v4 takes blocks
   of 8 rows first, CL_GEMM_SMALL_ROWS8): 4 rows of A x 3 vectors of columns = 12 sums (named vectors: as an array,
   GCC rotated three of them through copies every step);
   each p loads 3 vectors of B_p once for the 4 rows and broadcasts 4 elements of A. A block of fewer than 4 rows
   repeats its last row (computed, not stored). The columns after the last whole vector are one vector moved back
   to end at n (cell by cell, 11 columns left of ResNeXt's 811 took 15% of its g32 s2 layer's time); only rows
   shorter than a vector are summed cell by cell. PUT(V, LANES, J, SR, FROM) stores lanes FROM.. of the rows'
   sums SR[r] at column J, PUT1(J, r, SUM) one sum: cl_gemm_small into C's rows, cl_gemm_rows into output rows.
   Where B has at least as many rows as A (k >= m), the columns go in chunks of whole 3-vector strips, as many as
   fit cl_gs_chunk_bytes of B's k rows (at least one strip; only the last chunk has the tails above; and only where
   A's m x k and a chunk fit cl_gs_l1_bytes together, _simd.h), every block of rows over a chunk before the next:
   a chunk stays in L1 while the blocks read it, where one chunk for all of B read it from L2 (or from memory,
   where B is the input itself) once per block of 4 rows. 32 KiB against one chunk, paired in one process,
   Sapphire Rapids, 1 / 2 threads: 1x1 layers on conv_rows (MobileNetV2 32->16, 96->24, 144->24, ShuffleNet
   58->58) 0.80-0.89 / 0.84-0.86, the article's Conv2d 0.91 / 0.93; VGG-16's 3->64 (k 27 < m 64: one chunk) lost
   10% at 2 threads in chunks, its 64 rows of C written a chunk at a time (bench/README.md). */
#define CL_GEMM_SMALL_VEC(V, BROW, J)   /* sr[r]: rows a0..a3's sums at the columns from J */          \
    V s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};                                                          \
    for (ptrdiff_t p = 0; p < k; p++) {                                                                \
        const V b0 = *(const V *)(BROW(p) + (J));                                                      \
        s0 += a0[p] * b0; s1 += a1[p] * b0; s2 += a2[p] * b0; s3 += a3[p] * b0;                        \
    }                                                                                                  \
    const V sr[4] = {s0, s1, s2, s3};
/* 8 rows of A x 3 vectors of columns = 24 sums, for the whole strips of a chunk (CL_GS_ROWS8: where there are 32
   vector registers, x86-64-v4): each p loads 3 vectors of B_p once for 8 rows, so B is read once per 8 rows of A,
   not 4, and a step does 24 multiply-adds for 3 vector loads and 8 broadcasts, not 12 for 3 and 4. The vectors
   after the last strip go 8 rows x 1 vector, as the 4-row blocks take them (one moved back to end at n); only
   rows shorter than a vector are left to the 4-row blocks (cell by cell). The sums are stored as two blocks of 4
   rows (PUT's c, bv and mr). */
#define CL_GS8_STEP(T, r, a) { const T w = a[p]; s##r##0 += w * b0; s##r##1 += w * b1; s##r##2 += w * b2; }
#define CL_GS8_PUT(T, V, LANES, PUT, J, FROM, R0, X0, X1, X2, X3)  /* a strip's three vectors, the first \
                                                                       from lane FROM */                  \
    CL_GS8_PUT1(T, V, LANES, PUT, J, FROM, R0, X0##0, X1##0, X2##0, X3##0)                              \
    CL_GS8_PUT1(T, V, LANES, PUT, (J) + LANES, 0, R0, X0##1, X1##1, X2##1, X3##1)                       \
    CL_GS8_PUT1(T, V, LANES, PUT, (J) + 2 * LANES, 0, R0, X0##2, X1##2, X2##2, X3##2)
#define CL_GS8_PUT1(T, V, LANES, PUT, J, FROM, R0, X0, X1, X2, X3) {                                    \
        const ptrdiff_t mr = 4;                                                                        \
        T **c = c8 + ((R0) - i8);                                                                      \
        const T *bv = bv8 + ((R0) - i8);                                                               \
        (void)bv;                                                                                      \
        const V q0[4] = {X0, X1, X2, X3};                                                              \
        PUT(V, LANES, J, q0, FROM)                                                                     \
    }
/* The 24 sums of a strip, by a function of its own (S8, CL_GS8_STRIP): inlined into cl_gemm_small, GCC kept one
   of B's three vectors on the stack, stored and reloaded by 8 of the 24 multiply-adds every step (a 16 x 222 x
   432 GEMM ran at 96 GFLOP/s on Sapphire Rapids, where the same loop on its own ran at 180). */
#define CL_GS8_STRIP(FNAME, T, V, LANES, BPARAMS, BROW)                                                \
static __attribute__((noinline)) void FNAME(ptrdiff_t k, const T *restrict A, ptrdiff_t lda, CL_ID BPARAMS, \
                                            ptrdiff_t j, V *restrict q) {                              \
    const T *a0 = A, *a1 = a0 + lda, *a2 = a0 + 2 * lda, *a3 = a0 + 3 * lda;                           \
    const T *a4 = a0 + 4 * lda, *a5 = a0 + 5 * lda, *a6 = a0 + 6 * lda, *a7 = a0 + 7 * lda;           \
    V s00 = {0}, s01 = {0}, s02 = {0}, s10 = {0}, s11 = {0}, s12 = {0};                                \
    V s20 = {0}, s21 = {0}, s22 = {0}, s30 = {0}, s31 = {0}, s32 = {0};                                \
    V s40 = {0}, s41 = {0}, s42 = {0}, s50 = {0}, s51 = {0}, s52 = {0};                                \
    V s60 = {0}, s61 = {0}, s62 = {0}, s70 = {0}, s71 = {0}, s72 = {0};                                \
    for (ptrdiff_t p = 0; p < k; p++) {                                                                \
        const T *b = BROW(p) + j;                                                                      \
        const V b0 = *(const V *)b, b1 = *(const V *)(b + LANES), b2 = *(const V *)(b + 2 * LANES);    \
        CL_GS8_STEP(T, 0, a0) CL_GS8_STEP(T, 1, a1) CL_GS8_STEP(T, 2, a2) CL_GS8_STEP(T, 3, a3)        \
        CL_GS8_STEP(T, 4, a4) CL_GS8_STEP(T, 5, a5) CL_GS8_STEP(T, 6, a6) CL_GS8_STEP(T, 7, a7)        \
    }                                                                                                  \
    q[0] = s00; q[1] = s01; q[2] = s02; q[3] = s10; q[4] = s11; q[5] = s12;                            \
    q[6] = s20; q[7] = s21; q[8] = s22; q[9] = s30; q[10] = s31; q[11] = s32;                          \
    q[12] = s40; q[13] = s41; q[14] = s42; q[15] = s50; q[16] = s51; q[17] = s52;                      \
    q[18] = s60; q[19] = s61; q[20] = s62; q[21] = s70; q[22] = s71; q[23] = s72;                      \
}
#define CL_ID(...) __VA_ARGS__
/* the 24 sums of a strip, as S8 returned them, by name: s<row><vector> */
#define CL_GS8_SUMS(V, Q)                                                                              \
    const V s00 = Q[0], s01 = Q[1], s02 = Q[2], s10 = Q[3], s11 = Q[4], s12 = Q[5];                    \
    const V s20 = Q[6], s21 = Q[7], s22 = Q[8], s30 = Q[9], s31 = Q[10], s32 = Q[11];                  \
    const V s40 = Q[12], s41 = Q[13], s42 = Q[14], s50 = Q[15], s51 = Q[16], s52 = Q[17];              \
    const V s60 = Q[18], s61 = Q[19], s62 = Q[20], s70 = Q[21], s71 = Q[22], s72 = Q[23];
#define CL_GEMM_SMALL_ROWS8(T, V, LANES, BROW, PUT, S8, BARGS)                                         \
    const T *a0 = A + i8 * lda, *a1 = a0 + lda, *a2 = a0 + 2 * lda, *a3 = a0 + 3 * lda;                \
    const T *a4 = a0 + 4 * lda, *a5 = a0 + 5 * lda, *a6 = a0 + 6 * lda, *a7 = a0 + 7 * lda;           \
    T *c8[8];                           /* the block's rows of C and their biases, once for its strips  \
                                           (set at each store, their vector multiplies and reloads were \
                                           most of the 10-12% of a 1x1 96 -> 24 layer's time spent      \
                                           outside its strips) */                                      \
    T bv8[8];                                                                                          \
    for (ptrdiff_t r = 0; r < 8; r++) {                                                                \
        c8[r] = C + (i8 + r) * ldc;                                                                    \
        bv8[r] = bias ? bias[i8 + r] : 0;                                                              \
    }                                                                                                  \
    for (ptrdiff_t j = jc; j < jfull; j += 3 * LANES) {                                                \
        V q_[24];                                                                                      \
        S8(k, a0, lda, CL_ID BARGS, j, q_);                                                            \
        CL_GS8_SUMS(V, q_)                                                                             \
        CL_GS8_PUT(T, V, LANES, PUT, j, 0, i8, s0, s1, s2, s3)                                         \
        CL_GS8_PUT(T, V, LANES, PUT, j, 0, i8 + 4, s4, s5, s6, s7)                                     \
    }                                                                                                  \
    jdone = jfull;                                                                                     \
    if (jend - jfull > 2 * LANES && jend >= 3 * LANES) {                                               \
        /* 33-47 columns left: one more strip, moved back to end at jend (its first                      \
           lanes, columns done above, computed again but not stored; doubles: 17-23 left), not three     \
           single vectors, which read B three times for 8 sums a load (a third of LeNet-5's 5x5 6 -> 16,  \
           136 columns a plane) */                                                                     \
        const ptrdiff_t j = jend - 3 * LANES;                                                          \
        V q_[24];                                                                                      \
        S8(k, a0, lda, CL_ID BARGS, j, q_);                                                            \
        CL_GS8_SUMS(V, q_)                                                                             \
        const ptrdiff_t f0 = jfull - j;  /* lanes of the first vector done above: 1 .. LANES - 1 */     \
        CL_GS8_PUT(T, V, LANES, PUT, j, f0, i8, s0, s1, s2, s3)                                        \
        CL_GS8_PUT(T, V, LANES, PUT, j, f0, i8 + 4, s4, s5, s6, s7)                                    \
        jdone = jend;                                                                                  \
    }                                                                                                  \
    for (ptrdiff_t j = jdone; j < jend && n >= LANES; j += LANES) {                                    \
        /* the whole vectors left, then one vector moved back to end at n (its first lanes, columns    \
           done above, computed again but not stored): 8 rows x 1 vector */                            \
        const ptrdiff_t j0 = j + LANES <= jend ? j : n - LANES;                                        \
        V s00 = {0}, s10 = {0}, s20 = {0}, s30 = {0}, s40 = {0}, s50 = {0}, s60 = {0}, s70 = {0};      \
        for (ptrdiff_t p = 0; p < k; p++) {                                                            \
            const V b0 = *(const V *)(BROW(p) + j0);                                                   \
            s00 += a0[p] * b0; s10 += a1[p] * b0; s20 += a2[p] * b0; s30 += a3[p] * b0;                \
            s40 += a4[p] * b0; s50 += a5[p] * b0; s60 += a6[p] * b0; s70 += a7[p] * b0;                \
        }                                                                                              \
        CL_GS8_PUT1(T, V, LANES, PUT, j0, j - j0, i8, s00, s10, s20, s30)                              \
        CL_GS8_PUT1(T, V, LANES, PUT, j0, j - j0, i8 + 4, s40, s50, s60, s70)                          \
        jdone = j0 + LANES;                                                                            \
    }
#define CL_GEMM_SMALL_BODY(T, V, LANES, BROW, PUT, PUT1, S8, BARGS)                                   \
    const ptrdiff_t nc_ = cl_gs_chunk_bytes / ((k > 0 ? k : 1) * (ptrdiff_t)sizeof(T))                 \
                          / (3 * LANES) * (3 * LANES);                                                 \
    const ptrdiff_t ncm_ = nc_ > 3 * LANES ? nc_ : 3 * LANES;                                          \
    const ptrdiff_t chunk = k < m || (m + ncm_) * k * (ptrdiff_t)sizeof(T) > cl_gs_l1_bytes            \
                            ? (n > 0 ? n : 1) : ncm_;                                                  \
    for (ptrdiff_t jc = 0; jc < n; jc += chunk) {                                                      \
    const ptrdiff_t jend = n - jc > chunk ? jc + chunk : n;                                            \
    const ptrdiff_t jfull = jc + (jend - jc) / (3 * LANES) * (3 * LANES);                              \
    ptrdiff_t i8 = 0, jdone = jc;       /* rows the 8-row blocks below took, up to column jdone */     \
    if (CL_GS_ROWS8)                                                                                   \
        for (; i8 + 8 <= m; i8 += 8) {                                                                 \
            CL_GEMM_SMALL_ROWS8(T, V, LANES, BROW, PUT, S8, BARGS)                                     \
        }                                                                                              \
    for (ptrdiff_t i = 0; i < m; i += 4) {                                                             \
        const ptrdiff_t mr = m - i < 4 ? m - i : 4;                                                    \
        const T *a0 = A + i * lda, *a1 = a0 + (mr > 1) * lda, *a2 = a0 + (mr > 2 ? 2 : mr - 1) * lda;  \
        const T *a3 = a0 + (mr - 1) * lda;                                                             \
        T *c[4] = {C + i * ldc, C + (i + 1) * ldc, C + (i + 2) * ldc, C + (i + 3) * ldc};              \
        const T bv[4] = {bias ? bias[i] : 0, bias && mr > 1 ? bias[i + 1] : 0,                         \
                         bias && mr > 2 ? bias[i + 2] : 0, bias && mr > 3 ? bias[i + 3] : 0};          \
        (void)bv;                       /* (cl_gemm_small stores no bias) */                           \
        ptrdiff_t j = i < i8 ? jdone : jc;                                                             \
        for (; j + 3 * LANES <= jend; j += 3 * LANES) {                                                \
            V s00 = {0}, s01 = {0}, s02 = {0}, s10 = {0}, s11 = {0}, s12 = {0};                        \
            V s20 = {0}, s21 = {0}, s22 = {0}, s30 = {0}, s31 = {0}, s32 = {0};                        \
            for (ptrdiff_t p = 0; p < k; p++) {                                                        \
                const T *b = BROW(p) + j;                                                              \
                const V b0 = *(const V *)b, b1 = *(const V *)(b + LANES), b2 = *(const V *)(b + 2 * LANES); \
                const T w0 = a0[p], w1 = a1[p], w2 = a2[p], w3 = a3[p];                                \
                s00 += w0 * b0; s01 += w0 * b1; s02 += w0 * b2;                                        \
                s10 += w1 * b0; s11 += w1 * b1; s12 += w1 * b2;                                        \
                s20 += w2 * b0; s21 += w2 * b1; s22 += w2 * b2;                                        \
                s30 += w3 * b0; s31 += w3 * b1; s32 += w3 * b2;                                        \
            }                                                                                          \
            const V q0[4] = {s00, s10, s20, s30}, q1[4] = {s01, s11, s21, s31};                        \
            const V q2[4] = {s02, s12, s22, s32};                                                      \
            PUT(V, LANES, j, q0, 0)                                                                    \
            PUT(V, LANES, j + LANES, q1, 0)                                                            \
            PUT(V, LANES, j + 2 * LANES, q2, 0)                                                        \
        }                                                                                              \
        for (; j + LANES <= jend; j += LANES) {                                                        \
            CL_GEMM_SMALL_VEC(V, BROW, j)                                                              \
            PUT(V, LANES, j, sr, 0)                                                                    \
        }                                                                                              \
        if (j < jend && n >= LANES) {   /* the last columns: one vector ending at n, whose first lanes   \
                                           (columns done above) are computed again but not stored */    \
            const ptrdiff_t j0 = n - LANES;                                                            \
            CL_GEMM_SMALL_VEC(V, BROW, j0)                                                             \
            PUT(V, LANES, j0, sr, j - j0)                                                              \
            j = n;                                                                                     \
        }                                                                                              \
        for (; j < jend; j++)                                                                          \
            for (ptrdiff_t r = 0; r < mr; r++) {                                                       \
                const T *ar = A + (i + r) * lda;                                                       \
                T sum = 0;                                                                             \
                for (ptrdiff_t p = 0; p < k; p++) sum += ar[p] * BROW(p)[j];                           \
                PUT1(j, r, sum)                                                                        \
            }                                                                                          \
    }                                                                                                  \
    }
#define CL_STRIDED_ROW(p) (B + (p) * ldb)
#define CL_POINTED_ROW(p) (Bp[p])
/* cl_gemm_small's stores: column J of C's rows, added to what is there with acc */
#define CL_SMALL_PUT(V, LANES, J, SR, FROM)                                                            \
    for (ptrdiff_t r = 0; r < mr; r++) {                                                               \
        if ((FROM) == 0) {                                                                             \
            V *o = (V *)(c[r] + (J));                                                                  \
            *o = acc ? *o + SR[r] : SR[r];                                                             \
        } else {                                                                                       \
            for (ptrdiff_t q = (FROM); q < LANES; q++)                                                 \
                c[r][(J) + q] = acc ? c[r][(J) + q] + SR[r][q] : SR[r][q];                             \
        }                                                                                              \
    }
#define CL_SMALL_PUT1(J, r, SUM) c[r][J] = acc ? c[r][J] + (SUM) : (SUM);
/* cl_gemm_rows' stores (conv_rows): column J numbers output (J / wq, J % wq) of rows wq apart, of which the first bw
   are real and the rest spare; C's rows hold the output rows ldr apart (conv_rows: bw, one plane's rows; conv_gemm's
   batched samples: wq = bw = L, a sample's C_out x L cells apart), the bias added. A vector within one row's real
   cells is one store; one that reaches a row's spare cells or the next row goes under lane masks (ROWS_MSTORE(d, v,
   a, b) stores lanes [a, b) of v at d + a ..): in rows of at least a vector, two at most, their bounds worked out
   once for the block's rows; in shorter rows, one per row it reaches (lane l of row t, l in [t wq - e0, t wq - e0
   + bw), goes to d - t (wq - ldr) + l). No sum goes through a workspace (copying the sums out took 10% of the
   ResNet-18 stem's time). Where the rows have no spare cells and lie end to end (``dense``: wq = bw = ldr, a 1x1
   layer read in place), column J is output J: a plain store, or lanes FROM.. under a mask, and no division. */
#define CL_ROWS_PUT(V, LANES, J, SR, FROM) {                                                           \
        const ptrdiff_t rr = dense ? 0 : (J) / wq, e0 = (J) - rr * wq;                                 \
        if (dense) {                                                                                   \
            for (ptrdiff_t r = 0; r < mr; r++) {                                                       \
                if ((FROM) == 0) *(V *)(c[r] + (J)) = SR[r] + bv[r];                                   \
                else ROWS_MSTORE(c[r] + (J), SR[r] + bv[r], (FROM), LANES);                            \
            }                                                                                          \
        } else if ((FROM) == 0 && e0 + LANES <= bw) {                                                  \
            for (ptrdiff_t r = 0; r < mr; r++) *(V *)(c[r] + rr * ldr + e0) = SR[r] + bv[r];           \
        } else if (wq >= LANES) {       /* two rows at most: this row's real cells, the next row's */  \
            const ptrdiff_t hi0 = bw - e0 < LANES ? bw - e0 : LANES;                                   \
            const ptrdiff_t lo1 = wq - e0 > (FROM) ? wq - e0 : (FROM);                                 \
            const ptrdiff_t hi1 = wq - e0 + bw < LANES ? wq - e0 + bw : LANES;                         \
            for (ptrdiff_t r = 0; r < mr; r++) {                                                       \
                __typeof__(c[0]) d = c[r] + rr * ldr + e0;                                             \
                const V v = SR[r] + bv[r];                                                             \
                if ((FROM) < hi0) ROWS_MSTORE(d, v, (FROM), hi0);                                      \
                if (lo1 < hi1) ROWS_MSTORE(d - (wq - ldr), v, lo1, hi1);                               \
            }                                                                                          \
        } else {                                                                                       \
            for (ptrdiff_t r = 0; r < mr; r++) {                                                       \
                __typeof__(c[0]) d = c[r] + rr * ldr + e0;                                             \
                const V v = SR[r] + bv[r];                                                             \
                for (ptrdiff_t lo = -e0; lo < LANES; lo += wq, d -= wq - ldr) {                        \
                    const ptrdiff_t a = lo > (FROM) ? lo : (FROM), b = lo + bw < LANES ? lo + bw : LANES; \
                    if (a < b) ROWS_MSTORE(d, v, a, b);                                                \
                }                                                                                      \
            }                                                                                          \
        }                                                                                              \
    }
#define CL_ROWS_PUT1(J, r, SUM) {                                                                      \
        const ptrdiff_t rr = (J) / wq, e0 = (J) - rr * wq;                                             \
        if (e0 < bw) c[r][rr * ldr + e0] = (SUM) + bv[r];                                              \
    }
#define CL_GEMM_SMALL(NAME, ROWS_NAME, S8, ROWS_S8, T, V, LANES)                                       \
CL_GS8_STRIP(S8, T, V, LANES, (const T *restrict B, ptrdiff_t ldb), CL_STRIDED_ROW)                    \
CL_GS8_STRIP(ROWS_S8, T, V, LANES, (const T *const *Bp), CL_POINTED_ROW)                               \
static void NAME(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const T *restrict A, ptrdiff_t lda,            \
                 const T *restrict B, ptrdiff_t ldb, T *restrict C, ptrdiff_t ldc, int acc) {          \
    const T *bias = NULL;                                                                              \
    CL_GEMM_SMALL_BODY(T, V, LANES, CL_STRIDED_ROW, CL_SMALL_PUT, CL_SMALL_PUT1, S8, (B, ldb))         \
}                                                                                                      \
static void ROWS_NAME(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const T *restrict A, ptrdiff_t lda,       \
                      const T *const *Bp, T *restrict C, ptrdiff_t ldc, ptrdiff_t wq, ptrdiff_t bw,    \
                      ptrdiff_t ldr, const T *restrict bias) {                                         \
    const int dense = wq == bw && ldr == bw;                                                           \
    CL_GEMM_SMALL_BODY(T, V, LANES, CL_POINTED_ROW, CL_ROWS_PUT, CL_ROWS_PUT1, ROWS_S8, (Bp))          \
}
#define CL_MASK_BITS(a, b) ((1u << (b)) - (1u << (a)))
#if CL_VECTOR_BYTES == 64
#define CL_GS_ROWS8 cl_gs_rows8         /* 32 zmm registers: 24 sums fit */
#define CL_MSTORE_F(d, v, a, b) _mm512_mask_storeu_ps(d, (__mmask16)CL_MASK_BITS(a, b), (__m512)(v))
#define CL_MSTORE_D(d, v, a, b) _mm512_mask_storeu_pd(d, (__mmask8)CL_MASK_BITS(a, b), (__m512d)(v))
#define CL_GS_VF cl_v16f
#define CL_GS_LF 16
#define CL_GS_VD cl_v8d
#define CL_GS_LD 8
#else
#if defined(__AVX2__)
#define CL_MSTORE_F(d, v, a, b) _mm256_maskstore_ps(d, (__m256i)(((cl_v8i){0, 1, 2, 3, 4, 5, 6, 7} >= (int)(a))    \
                                                    & ((cl_v8i){0, 1, 2, 3, 4, 5, 6, 7} < (int)(b))), (__m256)(v))
#define CL_MSTORE_D(d, v, a, b) _mm256_maskstore_pd(d, (__m256i)(((cl_v4l){0, 1, 2, 3} >= (long long)(a))           \
                                                    & ((cl_v4l){0, 1, 2, 3} < (long long)(b))), (__m256d)(v))
#else
#define CL_MSTORE_F(d, v, a, b) for (ptrdiff_t q_ = (a); q_ < (b); q_++) (d)[q_] = (v)[q_];
#define CL_MSTORE_D CL_MSTORE_F
#endif
#define CL_GS_ROWS8 0
#define CL_GS_VF cl_v8f
#define CL_GS_LF 8
#define CL_GS_VD cl_v4d
#define CL_GS_LD 4
#endif
#define ROWS_MSTORE CL_MSTORE_F
CL_GEMM_SMALL(CL_FN(cl_gemm_small_f), CL_FN(cl_gemm_rows_f), CL_FN(cl_gs8_strip_f), CL_FN(cl_gs8_rows_f),
              float, CL_GS_VF, CL_GS_LF)
#undef ROWS_MSTORE
#define ROWS_MSTORE CL_MSTORE_D
CL_GEMM_SMALL(CL_FN(cl_gemm_small_d), CL_FN(cl_gemm_rows_d), CL_FN(cl_gs8_strip_d), CL_FN(cl_gs8_rows_d),
              double, CL_GS_VD, CL_GS_LD)
#undef ROWS_MSTORE
#undef CL_GS_ROWS8
#undef CL_GS_VF
#undef CL_GS_LF
#undef CL_GS_VD
#undef CL_GS_LD
#undef CL_MASK_BITS
#undef CL_MSTORE_F
#undef CL_MSTORE_D
#undef CL_GEMM_SMALL
#undef CL_SMALL_PUT
#undef CL_SMALL_PUT1
#undef CL_ROWS_PUT
#undef CL_ROWS_PUT1
#undef CL_GEMM_SMALL_VEC
#undef CL_GEMM_SMALL_BODY
#undef CL_GS8_STRIP
#undef CL_ID
#undef CL_STRIDED_ROW
#undef CL_POINTED_ROW
/* F.pad's rows (pad_volume). Measured on Zen 3 (a 32x32 plane padded by 1, circular, 1 thread): loops
   that GCC vectorised itself cost more than the copy on rows this short (each 1- or 2-cell edge loop
   went through a vector prologue: 66 us against 40 us for a memcpy of the output), and short copy loops
   it turns into memcpy calls (~3 ns each). So these functions are compiled with neither
   (no-tree-vectorize, no-tree-loop-distribute-patterns): the copies and fills are written in explicit
   vectors of VN elements, the edges of a few cells as plain loops (46 us).

   dst[e] = src[e] (CL_PADCOPY) or v (CL_PADFILL), e < n: whole vectors, the last one moved back to end at
   n (it rewrites a few cells with the same values), so no element-by-element tail for n >= VN. Long
   copies go to memcpy (the C library's block copy). */
#define CL_PAD_LOOPS __attribute__((optimize("no-tree-vectorize", "no-tree-loop-distribute-patterns")))
#define CL_INLINE __attribute__((always_inline))   /* (GCC left the copies as calls: ~30 instructions a row more) */
#define CL_PADCOPY(NAME, T, VT, VN)                                                                    \
CL_PAD_LOOPS static inline CL_INLINE void NAME(T *restrict dst, const T *restrict src, ptrdiff_t n) {          \
    if (n >= 1024) { memcpy(dst, src, (size_t)n * sizeof(T)); return; }                                \
    if (n < VN) { for (ptrdiff_t e = 0; e < n; e++) dst[e] = src[e]; return; }                         \
    ptrdiff_t e = 0;                                                                                   \
    for (; e + VN <= n; e += VN) *(VT *)(dst + e) = *(const VT *)(src + e);                            \
    if (e < n) *(VT *)(dst + n - VN) = *(const VT *)(src + n - VN);                                    \
}
#define CL_PADFILL(NAME, T, VT, VN)                                                                    \
CL_PAD_LOOPS static inline CL_INLINE void NAME(T *restrict dst, T v, ptrdiff_t n) {                         \
    if (n < VN) { for (ptrdiff_t e = 0; e < n; e++) dst[e] = v; return; }                              \
    const VT b = (VT){0} + v;                                                                          \
    ptrdiff_t e = 0;                                                                                   \
    for (; e + VN <= n; e += VN) *(VT *)(dst + e) = b;                                                 \
    if (e < n) *(VT *)(dst + n - VN) = b;                                                              \
}

/* Edge cell k of a row s of W cells padded by lw on the left (CL_PAD_LEFT, k < lw) or on the right (CL_PAD_RIGHT,
   k < rw), by mode: 1 reflect (mirrored without the edge cell), 2 replicate (the edge cell), 3 circular (the other
   end of the row), else fill. Where the mode is a constant the choice folds away. */
#define CL_PAD_LEFT(mode, s, W, lw, k, fill)                                                             \
    ((mode) == 1 ? (s)[(lw) - (k)] : (mode) == 2 ? (s)[0] : (mode) == 3 ? (s)[(W) - (lw) + (k)] : (fill))
#define CL_PAD_RIGHT(mode, s, W, k, fill)                                                                \
    ((mode) == 1 ? (s)[(W) - 2 - (k)] : (mode) == 2 ? (s)[(W) - 1] : (mode) == 3 ? (s)[k] : (fill))
/* Rows j < nrows of F.pad's output, each lw + W + rw cells long and stored one after another from out:
   row j is all fill when rowsrc[j] < 0, else source row src + rowsrc[j] * W in its middle and edges by
   mode (CL_PAD_LEFT, CL_PAD_RIGHT; edges of 8 cells or more of the last three modes as one fill or copy).
   The caller has checked lw, rw against W. run[j] >= 1 counts the rows from j on (past nrows too: the caller's
   row blocks cut a plane's runs) that are all fill or whose sources follow rowsrc[j] one by one; computed once a
   call, so no row loop looks at its neighbours' sources. With no column padding such a run is contiguous in both
   arrays: one copy or fill. One row loop per mode (CL_PAD_EACH_ROW): no mode test per row. */
#define CL_PAD_EACH_ROW(COPY, FILL, ...)                                                               \
    for (; j < nrows; j++) {                                                                           \
        o = out + j * Wo;                                                                              \
        r = o + lw + W;                                                                                \
        if (rowsrc[j] < 0) { FILL(o, fill, Wo); continue; }                                            \
        s = src + rowsrc[j] * W;                                                                       \
        COPY(o + lw, s, W);                                                                            \
        __VA_ARGS__                                                                                    \
    }
/* The rows of the common pads, 1, 2 or 3 cells on both sides of rows of VN to 1023 cells: P and the mode are
   constants where this is called (CL_PAD_FIXED_CASE), and the same rows of np planes (source planes sp cells
   apart) go through one call, so the row loop is chosen once for all of them. A run of rows whose sources
   follow each other (run[j] of them: every row of a plane but the padding rows) steps its source pointer by W
   instead of reading rowsrc per row, and a run of fill rows is one fill. An output row of Wo = W + 2P cells is
   written in whole vectors: its first VN cells (the P left edge cells, then source cells 0 to VN - P - 1) and
   its last VN are each a permute and a blend of the row's first and last source vectors a and t (every mode's
   edge cells are cells of a or t, or the fill: CL_PAD_EDGES); between them, K = (W + P) / VN - 1 vectors at
   output cells VN (q + 1), each VN source cells read at VN (q + 1) - P; if these leave cells before the last
   vector uncovered (fewer than P of them), t is stored once more, to end at the last source cell. So a row of
   34 cells (W 32, P 1) is 5 vector stores where it was a middle of 4 vectors and 2 single-cell edges, and a row
   of 34 with P 3 is 5 where it was 4 and 6 single cells. K <= 4 is a constant (one row loop per K), longer
   rows a loop two vectors a step.
   Measured on Zen 4 (x86-64-v4, 1 thread; the rows of all planes through a C harness, medians of 11 rounds,
   against np.copyto of the output): 256 planes of 32x32 padded by 1, circular: a call per plane with edges of
   single cells 29.4-30.0 us, one call for all planes 28.7-29.4, with vector edges 28.9-29.7 (copy 26.0);
   reflect 27.3-28.3 / 26.6-26.7 / 26.7-26.8; 64 planes of 28x28 padded by 3, circular: 9.4-9.6 / 9.0-9.4 /
   6.7-7.0 (copy 5.9-6.1); 64 of 14x14 by 1, reflect: 2.8 / 2.6 / 2.4 (copy 1.8-1.9). Rows of 56 padded by 1
   lost 1-3% with vector edges (160-166 against 159-161 us, copy 164-172). Earlier (one call per plane): rowsrc
   read per row 32.7-33.6 us on the 32x32 planes, runs 30.5-31.1, a loop per middle length 29.3-29.8.
   A two-vector __builtin_shuffle of a and t (one vpermt2ps at v4) ran the 32x32 rows ~3% slower than a
   vpermps and a blend with a broadcast cell, so float32's permutes, blends and broadcasts are intrinsics from
   x86-64-v3 on (GCC otherwise merges them back: a blend with a broadcast fill became two lane inserts). */
/* Lanes of a row's first vector from a (the row's first N source cells) and of its last from t (its last N):
   the edge lanes say the cell for reflect (mirrored) and replicate (the end cell); circular and zeros overwrite
   theirs with a blend (CL_PAD_BLEND_*: lane N + i is lane i of the second operand) of the other end of the row
   (from t or a, or one broadcast cell when P is 1) or of the fill. */
#define CL_PAD_A_LANE(mode, P, N, i) ((i) >= (P) ? (i) - (P) : (mode) == 1 ? (P) - (i) : 0)
#define CL_PAD_T_LANE(mode, P, N, i) ((i) < (N) - (P) ? (i) + (P) : (mode) == 1 ? 2 * (N) - 2 - (i) - (P) : (N) - 1)
#define CL_PAD_TL_LANE(mode, P, N, i) ((i) < (P) ? (N) - (P) + (i) : 0)
#define CL_PAD_AR_LANE(mode, P, N, i) ((i) >= (N) - (P) ? (i) - (N) + (P) : 0)
#define CL_PAD_BLEND_L(mode, P, N, i) ((i) < (P) ? (N) + (i) : (i))
#define CL_PAD_BLEND_R(mode, P, N, i) ((i) >= (N) - (P) ? (N) + (i) : (i))
#define CL_LANES4(F, mode, P, N) F(mode, P, N, 0), F(mode, P, N, 1), F(mode, P, N, 2), F(mode, P, N, 3)
#define CL_LANES8(F, mode, P, N) CL_LANES4(F, mode, P, N), F(mode, P, N, 4), F(mode, P, N, 5), F(mode, P, N, 6), \
    F(mode, P, N, 7)
/* The first and last vectors of an output row (see CL_PAD_FIXED_NV). PERM is a one-vector permute: vpermps
   for float32 from x86-64-v3 on (GCC's two-vector shuffle of a and t became one vpermt2ps at v4 and ran the
   32x32 rows 3% slower than a vpermps and a blend with a broadcast cell), __builtin_shuffle otherwise. */
#define CL_PAD_EDGES(NAME, T, VT, IT, VN, LANES, PERM, BLEND, BCAST)                                   \
CL_PAD_LOOPS static inline CL_INLINE void NAME(VT *first, VT *last, const VT *a, const VT *t, const T *restrict s, \
                                               ptrdiff_t W, const int P, const int mode, T fill) {     \
    const IT ma = {LANES(CL_PAD_A_LANE, mode, P, VN)}, mt = {LANES(CL_PAD_T_LANE, mode, P, VN)};       \
    const IT bl = {LANES(CL_PAD_BLEND_L, mode, P, VN)}, br = {LANES(CL_PAD_BLEND_R, mode, P, VN)};     \
    const IT mtl = {LANES(CL_PAD_TL_LANE, mode, P, VN)}, mar = {LANES(CL_PAD_AR_LANE, mode, P, VN)};   \
    VT x = PERM(*a, ma), y = PERM(*t, mt), el, er;                                                     \
    (void)bl; (void)br;                        /* (the intrinsic BLEND takes its lanes as bits) */     \
    if (mode == 1 || mode == 2) { *first = x; *last = y; return; }                                     \
    if (mode == 3 && P == 1) { el = BCAST(s + W - 1); er = BCAST(s); }                                 \
    else if (mode == 3) { el = PERM(*t, mtl); er = PERM(*a, mar); }                                    \
    else { el = (VT){0} + fill; er = el; }                                                             \
    *first = BLEND(x, el, bl, (1 << P) - 1);                                                           \
    *last = BLEND(y, er, br, ((1 << P) - 1) << (VN - P));                                              \
}
#define CL_PAD_FIXED_NV(NAME, EDGES, FILL, T, VT, VN)                                                  \
CL_PAD_LOOPS static inline CL_INLINE void NAME(                                                        \
        T *restrict out, const T *restrict src, const ptrdiff_t *restrict rowsrc, const ptrdiff_t *restrict run, \
        ptrdiff_t nrows, ptrdiff_t W, const int P, const int mode, T fill, const int NM, ptrdiff_t np, \
        ptrdiff_t sp) {                                                                                \
    const ptrdiff_t Wo = W + 2 * P, K = (W + P) / VN - 1;                                              \
    const int gap = VN * (K + 1) < Wo - VN;                                                            \
    T *o = out;                                                                                        \
    for (ptrdiff_t j = 0, pl = 0; pl < np; pl++, j = 0, src += sp)                                     \
    while (j < nrows) {                                                                                \
        const ptrdiff_t end = j + run[j] < nrows ? j + run[j] : nrows;                                 \
        if (__builtin_expect(rowsrc[j] < 0, 0)) {       /* fill rows (zeros mode) */                   \
            FILL(o, fill, (end - j) * Wo);                                                             \
            o += (end - j) * Wo;                                                                       \
            j = end;                                                                                   \
            continue;                                                                                  \
        }                                                                                              \
        const T *s = src + rowsrc[j] * W;                                                              \
        for (; j < end; j++, o += Wo, s += W) {                                                        \
            const VT a = *(const VT *)s, t = *(const VT *)(s + W - VN);                                \
            VT first, last;                                                                            \
            EDGES(&first, &last, &a, &t, s, W, P, mode, fill);                                         \
            *(VT *)o = first;                                                                          \
            /* output cells VN (q + 1) <- source cells VN (q + 1) - P, q < K (NM = K a constant, or -1) */ \
            if (NM >= 0) {                                                                             \
                _Pragma("GCC unroll 4") for (int q = 0; q < NM; q++)                                   \
                    *(VT *)(o + VN * (q + 1)) = *(const VT *)(s + VN * (q + 1) - P);                   \
            } else {                                                                                   \
                ptrdiff_t e = VN;                                                                      \
                for (; e + VN < VN * (K + 1); e += 2 * VN) {                                           \
                    const VT b0 = *(const VT *)(s + e - P), b1 = *(const VT *)(s + e + VN - P);        \
                    *(VT *)(o + e) = b0;                                                               \
                    *(VT *)(o + e + VN) = b1;                                                          \
                }                                                                                      \
                if (e < VN * (K + 1)) *(VT *)(o + e) = *(const VT *)(s + e - P);                       \
            }                                                                                          \
            if (gap) *(VT *)(o + W + P - VN) = t;                                                      \
            *(VT *)(o + Wo - VN) = last;                                                               \
        }                                                                                              \
    }                                                                                                  \
}
#define CL_PAD_FIXED(NAME, FIXED_NV, T)                                                                \
CL_PAD_LOOPS static inline CL_INLINE void NAME(                                                        \
        T *restrict out, const T *restrict src, const ptrdiff_t *restrict rowsrc, const ptrdiff_t *restrict run, \
        ptrdiff_t nrows, ptrdiff_t W, const int P, const int mode, T fill, ptrdiff_t nm, ptrdiff_t np, \
        ptrdiff_t sp) {                                                                                \
    switch (nm) {                                                                                      \
    case 0: FIXED_NV(out, src, rowsrc, run, nrows, W, P, mode, fill, 0, np, sp); return;               \
    case 1: FIXED_NV(out, src, rowsrc, run, nrows, W, P, mode, fill, 1, np, sp); return;               \
    case 2: FIXED_NV(out, src, rowsrc, run, nrows, W, P, mode, fill, 2, np, sp); return;               \
    case 3: FIXED_NV(out, src, rowsrc, run, nrows, W, P, mode, fill, 3, np, sp); return;               \
    case 4: FIXED_NV(out, src, rowsrc, run, nrows, W, P, mode, fill, 4, np, sp); return;               \
    default: FIXED_NV(out, src, rowsrc, run, nrows, W, P, mode, fill, -1, np, sp); return;             \
    }                                                                                                  \
}
#define CL_PAD_FIXED_CASE(FIXED, MODE, P)                                                              \
    case 4 * (MODE) + (P): FIXED(out, src, rowsrc, run, nrows, W, P, MODE, fill, nm, np, sp); return;
#define CL_PADROWS(NAME, PLANE, COPY, FILL, FIXED, FIXED_NV, EDGES, T, VT, IT, VN, LANES, PERM, BLEND, BCAST) \
CL_PAD_EDGES(EDGES, T, VT, IT, VN, LANES, PERM, BLEND, BCAST)                                          \
CL_PAD_FIXED_NV(FIXED_NV, EDGES, FILL, T, VT, VN)                                                      \
CL_PAD_FIXED(FIXED, FIXED_NV, T)                                                                       \
CL_PAD_LOOPS static inline void PLANE(T *restrict out, const T *restrict src, const ptrdiff_t *restrict rowsrc, \
                                      const ptrdiff_t *restrict run, ptrdiff_t nrows, ptrdiff_t W, ptrdiff_t lw, \
                                      ptrdiff_t rw, int mode, T fill) {                                \
    const ptrdiff_t Wo = lw + W + rw;                                                                  \
    ptrdiff_t j = 0, e, k;                                                                             \
    T *o, *r;                                                                                          \
    const T *s;                                                                                        \
    if (lw == 0 && rw == 0) {                                                                          \
        while (j < nrows) {                                                                            \
            o = out + j * Wo;                                                                          \
            e = j + run[j] < nrows ? j + run[j] : nrows;                                               \
            if (rowsrc[j] < 0)                                                                         \
                FILL(o, fill, (e - j) * Wo);                                                           \
            else                                                                                       \
                COPY(o, src + rowsrc[j] * W, (e - j) * W);                                             \
            j = e;                                                                                     \
        }                                                                                              \
        return;                                                                                        \
    }                                                                                                  \
    switch (mode) {                                                                                    \
    case 1:                                                                                            \
        CL_PAD_EACH_ROW(COPY, FILL,                                                                    \
            for (k = 0; k < lw; k++) o[k] = CL_PAD_LEFT(1, s, W, lw, k, fill);                         \
            for (k = 0; k < rw; k++) r[k] = CL_PAD_RIGHT(1, s, W, k, fill);)                           \
        break;                                                                                         \
    case 2:                                                                                            \
        CL_PAD_EACH_ROW(COPY, FILL,                                                                    \
            if (lw < 8) { for (k = 0; k < lw; k++) o[k] = CL_PAD_LEFT(2, s, W, lw, k, fill); }         \
            else FILL(o, s[0], lw);                                                                    \
            if (rw < 8) { for (k = 0; k < rw; k++) r[k] = CL_PAD_RIGHT(2, s, W, k, fill); }            \
            else FILL(r, s[W - 1], rw);)                                                               \
        break;                                                                                         \
    case 3:                                                                                            \
        CL_PAD_EACH_ROW(COPY, FILL,                                                                    \
            if (lw < 8) { for (k = 0; k < lw; k++) o[k] = CL_PAD_LEFT(3, s, W, lw, k, fill); }         \
            else COPY(o, s + W - lw, lw);                                                              \
            if (rw < 8) { for (k = 0; k < rw; k++) r[k] = CL_PAD_RIGHT(3, s, W, k, fill); }            \
            else COPY(r, s, rw);)                                                                      \
        break;                                                                                         \
    default:                                                                                           \
        CL_PAD_EACH_ROW(COPY, FILL,                                                                    \
            if (lw < 8) { for (k = 0; k < lw; k++) o[k] = fill; } else FILL(o, fill, lw);              \
            if (rw < 8) { for (k = 0; k < rw; k++) r[k] = fill; } else FILL(r, fill, rw);)             \
    }                                                                                                  \
}                                                                                                      \
CL_PAD_LOOPS static void NAME(T *restrict out, const T *restrict src, const ptrdiff_t *restrict rowsrc, \
                              const ptrdiff_t *restrict run, ptrdiff_t nrows, ptrdiff_t W, ptrdiff_t lw,  \
                              ptrdiff_t rw, int mode, T fill, ptrdiff_t np, ptrdiff_t sp) {            \
    const ptrdiff_t Wo = lw + W + rw, nm = (W + lw) / VN - 1 > 4 ? -1 : (W + lw) / VN - 1;             \
    if (lw == rw && lw >= 1 && lw <= 3 && mode >= 0 && mode <= 3 && W >= VN && W < 1024) {             \
        switch (4 * mode + lw) {                                                                       \
        CL_PAD_FIXED_CASE(FIXED, 0, 1) CL_PAD_FIXED_CASE(FIXED, 0, 2) CL_PAD_FIXED_CASE(FIXED, 0, 3)   \
        CL_PAD_FIXED_CASE(FIXED, 1, 1) CL_PAD_FIXED_CASE(FIXED, 1, 2) CL_PAD_FIXED_CASE(FIXED, 1, 3)   \
        CL_PAD_FIXED_CASE(FIXED, 2, 1) CL_PAD_FIXED_CASE(FIXED, 2, 2) CL_PAD_FIXED_CASE(FIXED, 2, 3)   \
        CL_PAD_FIXED_CASE(FIXED, 3, 1) CL_PAD_FIXED_CASE(FIXED, 3, 2) CL_PAD_FIXED_CASE(FIXED, 3, 3)   \
        }                                                                                              \
    }                                                                                                  \
    for (ptrdiff_t pl = 0; pl < np; pl++)                                                              \
        PLANE(out + pl * nrows * Wo, src + pl * sp, rowsrc, run, nrows, W, lw, rw, mode, fill);        \
}
CL_PADCOPY(CL_FN(cl_padcopy_f), float, cl_v8f, 8)
CL_PADCOPY(CL_FN(cl_padcopy_d), double, cl_v4d, 4)
CL_PADFILL(CL_FN(cl_padfill_f), float, cl_v8f, 8)
CL_PADFILL(CL_FN(cl_padfill_d), double, cl_v4d, 4)
/* the edges' vector operations; from x86-64-v3 on, float32's are intrinsics, so that GCC keeps them as one
   vpermps, vbroadcastss and vblendps each (see CL_PAD_EDGES) */
#define CL_PAD_PERM(v, m) __builtin_shuffle(v, m)
#define CL_PAD_BLEND(x, y, m, bits) __builtin_shuffle(x, y, m)
#define CL_PAD_BCAST_F(p) ((cl_v8f){0} + *(p))
#define CL_PAD_BCAST_D(p) ((cl_v4d){0} + *(p))
#if defined(__AVX2__)
#define CL_PAD_PERM_F(v, m) ((cl_v8f)_mm256_permutevar8x32_ps((__m256)(v), (__m256i)(m)))
#define CL_PAD_BLEND_F(x, y, m, bits) ((cl_v8f)_mm256_blend_ps((__m256)(x), (__m256)(y), (bits)))
#define CL_PAD_BCAST_FV(p) ((cl_v8f)_mm256_broadcast_ss(p))
#else
#define CL_PAD_PERM_F CL_PAD_PERM
#define CL_PAD_BLEND_F CL_PAD_BLEND
#define CL_PAD_BCAST_FV CL_PAD_BCAST_F
#endif
CL_PADROWS(CL_FN(cl_pad_rows_f), CL_FN(cl_pad_plane_f), CL_FN(cl_padcopy_f), CL_FN(cl_padfill_f), CL_FN(cl_pad_fixed_f),
           CL_FN(cl_pad_fixed_nv_f), CL_FN(cl_pad_edges_f), float, cl_v8f, cl_v8i, 8, CL_LANES8, CL_PAD_PERM_F,
           CL_PAD_BLEND_F, CL_PAD_BCAST_FV)
CL_PADROWS(CL_FN(cl_pad_rows_d), CL_FN(cl_pad_plane_d), CL_FN(cl_padcopy_d), CL_FN(cl_padfill_d), CL_FN(cl_pad_fixed_d),
           CL_FN(cl_pad_fixed_nv_d), CL_FN(cl_pad_edges_d), double, cl_v4d, cl_v4l, 4, CL_LANES4, CL_PAD_PERM,
           CL_PAD_BLEND, CL_PAD_BCAST_D)
#undef CL_PADCOPY
#undef CL_PADFILL
#undef CL_PAD_EACH_ROW
#undef CL_PADROWS
#undef CL_PAD_FIXED
#undef CL_PAD_A_LANE
#undef CL_PAD_T_LANE
#undef CL_PAD_TL_LANE
#undef CL_PAD_AR_LANE
#undef CL_PAD_BLEND_L
#undef CL_PAD_BLEND_R
#undef CL_PAD_EDGES
#undef CL_PAD_PERM_F
#undef CL_PAD_PERM
#undef CL_PAD_BLEND_F
#undef CL_PAD_BLEND
#undef CL_PAD_BCAST_FV
#undef CL_PAD_BCAST_F
#undef CL_PAD_BCAST_D
#undef CL_LANES4
#undef CL_LANES8
#undef CL_PAD_FIXED_NV
#undef CL_PAD_FIXED_CASE
#undef CL_PAD_LEFT
#undef CL_PAD_RIGHT
#undef CL_PAD_LOOPS
#undef CL_INLINE

/* Direct convolution on channel blocks (conv_blocked, float32): the input of one sample as [CB][H][WP][16] (16 input
   channels side by side per cell; each row between PWL zero columns on the left and WP - W - PWL on the right, as
   many as the last output cell's taps reach past it), a task's pair of blocks of 16 output channels' weights
   interleaved as [CB][KH][KW][16 ic][2][16 oc], so that one input value (a broadcast) times one vector of 16 output
   channels' weights is a step of 16 multiply-adds, and a run reads its weights front to back: 128 contiguous bytes a
   step, one stream for the prefetcher (with [CB * 16 ic][KH][KW] a step read 128 bytes KH * KW * 128 bytes past the
   last: 0.97-0.99x the time with the taps' 16 input channels side by side, paired). A micro-kernel keeps CL_DC_OBK
   blocks of 16 output channels x CL_DC_R output cells of one row (or CL_DC_R2 cells of each of two rows, at
   x86-64-v4) in registers over all input channels and taps (CL_DC_NV vectors per block; at x86-64-v4 28 sums either
   way: lone rows in runs of at most 8 cells, 16 sums, made 1-d layers 1.05-1.09x the time, bench/README.md), and
   skips the taps that read only padding: kernel rows above or below the input per output row, and kernel columns
   where every cell of the run reads a padding column. A run's first or last cells may read a zero column where the
   others read the row: where one cell does, the run computes them all (3x3 with padding 1: 1 cell of 7 at one tap of
   3 in a row's first and last run; the branch per cell cost more on Sapphire Rapids, where conv_blocked ran at
   1.09-1.29x torch's time), else only the cells that read the row (2 or more: the same time either way on Sapphire
   Rapids, and on Zen 4, FMA-bound, reading zeros for every such cell lost 1.6-9%, bench/README.md). Sums start from
   the bias and are stored into the NCHW output (cells of channels >= O, the zero-padded last block, are dropped).
   (Tasks of 4 blocks, 28 sums of 7 cells in zmm, ran in the same time as pairs on Sapphire Rapids: 0.99-1.00x,
   paired, 6 layers.)
   geom = {KH, KW, SH, SW, PH, PW, DH, DW, WP, PWL, ORS, OCS}: the blocked input's rows hold PWL >= PW zero columns on
   the left (a transposed layer's output phases share one blocked input, each with its own PW, which may be
   negative: the phase's first cell reads past column 0), and output cell (y, x) of a channel is stored at
   y * ORS + x * OCS (OW, 1 for a plain layer; a phase of a stride-s transposed layer writes every s-th cell of
   every s-th row); rows [y0, y1) of the sample.
   A 3-d layer (depth = {KD, SD, PD, DD, D, OH}; NULL for 1-d/2-d): the input as [CB][D][H][WP][16], its D planes of
   H rows one column of rows, the weights [CB][KD][KH][KW][16 ic][2][16 oc]; output row y is row y % OH of plane
   y / OH (stored at y * ORS: the planes follow each other), and its runs sum the kernel planes whose input plane
   lies inside 0..D-1 (the others read only padding) as they sum the kernel rows. Two rows go together only inside
   one plane (the next plane's first row reads other input planes). */
#if CL_VECTOR_BYTES == 64
#define CL_DC_VT cl_v16f
#define CL_DC_NV 1
#define CL_DC_OBK 2
#define CL_DC_R 14                  /* a lone row's runs (1-d layers: every row), 28 sums as a pair's */
#define CL_DC_RR 2                  /* two output rows per run, of at most CL_DC_R2 cells each: 28 sums */
#define CL_DC_R2 7
#else
#define CL_DC_VT cl_v8f
#define CL_DC_NV 2
#define CL_DC_OBK 1
#define CL_DC_R 6
#define CL_DC_RR 1
#define CL_DC_R2 6
#endif
#define CL_DC_NA (CL_DC_OBK * CL_DC_NV)
#define CL_DC_LANES (16 / CL_DC_NV)
/* A pair's weights are one stream, [CB][KH][KW][16 ic][32], read once per run; past L1 (ResNet-18's 128 -> 256: 144
   KiB, Inception's 288 -> 384: 324 KiB) each step's lines (two at x86-64-v4) come from L2. The whole-run loop
   prefetches the lines CL_DC_PF floats (8 steps) ahead: 0.95-1.00x the time on the 2-d layers of conv_blocked and of
   the transposed phases on Sapphire Rapids, 0.95-1.00x in the AVX2 stand-in; HiFi-GAN's 1-d phases, whose weights
   fit L1, 1.02-1.04x, and as slow with the prefetch skipped where a pair's weights fit L1 (the loop compiled apart),
   so kept for all (bench/README.md). 128-1024 floats ahead ran alike. A prefetch past the end of the weights is a
   hint that never faults. */
#define CL_DC_PF 256
#define CL_DC_WROW 32               /* floats of one (input channel, tap) row of a pair's weights */
/* the blocks' weights for input channel ic of the tap at wk: CL_DC_NA vectors */
#define CL_DC_WEIGHTS(w)                                                                               \
    CL_DC_VT w[CL_DC_NA];                                                                              \
    for (int a = 0; a < NA; a++)                                                                       \
        w[a] = *(const CL_DC_VT *)(wk + ic * CL_DC_WROW + (a / CL_DC_NV) * 16 + (a % CL_DC_NV) * CL_DC_LANES);
/* one run: nb (1..CL_DC_OBK) blocks, the R cells from column ox0 on of RR output rows from oy on (RR 2 at
   x86-64-v4, rows whose kernel rows [kh0, kh1) reach the input alike: each weight vector, read from L2, serves
   twice the cells). R and RR are constants once inlined: the sums stay in registers. wb: the weights of the
   run's first block in its pair's rows. NA: the vectors of output channels a cell sums (CL_DC_NA; 1 for a lone
   last block at x86-64-v4, nb == 1, whose runs then hold up to CL_DC_R cells on each of two rows: the same 28
   sums as a pair's 2 x 14, where the pair's zero-filled second slot would have doubled the multiply-adds). ICL:
   the input channels of the last 16-channel block that exist (C_in - 16 (CB - 1)): the channels past them are
   zero in the blocked input and skipped (a 6-channel input, LeNet-5's second layer, does 6 of 16 steps). */
static inline __attribute__((always_inline)) void CL_FN(cl_dconv_run)(
        float *restrict out, ptrdiff_t ldc, ptrdiff_t nvalid, const float *restrict xb, const float *restrict wb,
        const float *restrict bias, ptrdiff_t CB, ptrdiff_t H, ptrdiff_t W, const ptrdiff_t *restrict geom,
        ptrdiff_t nb, ptrdiff_t oy, ptrdiff_t ox0, const int R, const int RR, const int SWC, const int NA,
        ptrdiff_t kh0, ptrdiff_t kh1, const ptrdiff_t *restrict dg, ptrdiff_t id0, ptrdiff_t kd0, ptrdiff_t kd1,
        ptrdiff_t ys, int icl) {
    const ptrdiff_t KH = geom[0], KW = geom[1], SH = geom[2], SW = SWC ? SWC : geom[3], PH = geom[4],
                    PW = geom[5], DH = geom[6], DW = geom[7], WP = geom[8], PWL = geom[9], ORS = geom[10],
                    OCS = geom[11];
    const ptrdiff_t KD = dg[0], DD = dg[3], D = dg[4];
    const ptrdiff_t wds = KH * KW * CL_DC_WROW * 16, wcs = KD * wds, xds = H * WP * 16, xcs = D * xds,
                    rs = SH * WP * 16;
    CL_DC_VT acc[CL_DC_NA][CL_DC_RR * CL_DC_R];       /* used: NA x RR x R (a pair's 2 x 2 x 7, a lone block's 1 x 2 x 14) */
    for (int a = 0; a < NA; a++) {
        CL_DC_VT b0 = (CL_DC_VT){0};
        if (bias && a / CL_DC_NV < nb)
            b0 = *(const CL_DC_VT *)(bias + (a / CL_DC_NV) * 16 + (a % CL_DC_NV) * CL_DC_LANES);
        for (int r = 0; r < RR * R; r++) acc[a][r] = b0;
    }
    for (ptrdiff_t cb = 0; cb < CB; cb++)
    for (ptrdiff_t kd = kd0; kd < kd1; kd++) {
        const int icn = cb == CB - 1 ? icl : 16;
        const float *xc = xb + cb * xcs + (id0 + kd * DD) * xds, *wc = wb + cb * wcs + kd * wds;
        for (ptrdiff_t kh = kh0; kh < kh1; kh++) {
            const float *xr = xc + ((oy * SH + kh * DH - PH) * WP + PWL) * 16;  /* input column 0 of the row */
            for (ptrdiff_t kw = 0; kw < KW; kw++) {
                const ptrdiff_t base = ox0 * SW + kw * DW - PW;     /* input column of cell 0 */
                const ptrdiff_t lo = base < 0 ? (-base + SW - 1) / SW : 0;
                ptrdiff_t hi = W - base <= 0 ? 0 : (W - base + SW - 1) / SW;
                if (hi > R) hi = R;
                if (lo >= hi) continue;             /* every cell of the run reads padding at this tap */
                const float *wk = wc + (kh * KW + kw) * 16 * CL_DC_WROW, *xp = xr + base * 16;
                const float *xq[2] = {xp, xp + rs};                 /* the run's first cell in each row */
                if (hi - lo >= R - 1) {
                    /* the whole run, its one cell r < lo or >= hi (if any) on a zero column beside the row */
                    for (int ic = 0; ic < icn; ic++) {
                        CL_DC_WEIGHTS(w)
                        __builtin_prefetch(wk + ic * CL_DC_WROW + CL_DC_PF, 0, 3);
#if CL_DC_OBK > 1
                        if (NA > 1) __builtin_prefetch(wk + ic * CL_DC_WROW + CL_DC_PF + 16, 0, 3);
#endif
#pragma GCC unroll 28
                        for (int r = 0; r < RR * R; r++) {
                            const float v = xq[r / R][(r % R) * SW * 16 + ic];  /* a broadcast */
                            for (int a = 0; a < NA; a++) acc[a][r] += v * w[a];
                        }
                    }
                } else {
                    /* 2 or more cells on zero columns (5x5, 1x7, dilated 'same'): the cells that read the row */
                    for (int ic = 0; ic < icn; ic++) {
                        CL_DC_WEIGHTS(w)
#pragma GCC unroll 28
                        for (int r = 0; r < RR * R; r++) {
                            if (r % R >= lo && r % R < hi) {
                                const float v = xq[r / R][(r % R) * SW * 16 + ic];
                                for (int a = 0; a < NA; a++) acc[a][r] += v * w[a];
                            }
                        }
                    }
                }
            }
        }
    }
    float cells[CL_DC_RR * CL_DC_R][CL_DC_OBK * 16];
    for (int a = 0; a < NA; a++)
        for (int r = 0; r < RR * R; r++)
            *(CL_DC_VT *)(&cells[r][a * CL_DC_LANES]) = acc[a][r];
    for (ptrdiff_t c = 0; c < nb * 16 && c < nvalid; c++)
        for (int q = 0; q < RR; q++) {
            float *o = out + c * ldc + (ys + q) * ORS + ox0 * OCS;
            for (ptrdiff_t r = 0; r < R; r++) o[r * OCS] = cells[q * R + r][c];
        }
}
/* a run of nr (1..CL_DC_R; 1..CL_DC_R2 on rr = 2 rows, 1..CL_DC_R for a lone block at x86-64-v4) cells, by the
   copy of cl_dconv_run compiled for that shape and, for SW 1 and 2, that stride along rows (SWC; 0: SW read from
   geom): with the cells' offsets constants, each broadcast addresses its cell as a displacement from the row's
   first cell, where a variable stride kept an index register per cell and, 14 cells being more than the free
   registers, reloaded 4 of them from the stack every step (Sapphire Rapids: conv_blocked's rows 0.95-0.96x the
   time, paired) */
static inline __attribute__((always_inline)) void CL_FN(cl_dconv_runs_sw)(
        float *out, ptrdiff_t ldc, ptrdiff_t nvalid, const float *xb, const float *wb, const float *bias,
        ptrdiff_t CB, ptrdiff_t H, ptrdiff_t W, const ptrdiff_t *geom, ptrdiff_t nb, ptrdiff_t oy, ptrdiff_t ox0,
        ptrdiff_t nr, int rr, const int SWC, ptrdiff_t kh0, ptrdiff_t kh1, const ptrdiff_t *dg, ptrdiff_t id0,
        ptrdiff_t kd0, ptrdiff_t kd1, ptrdiff_t ys, int icl) {
#define CL_DC_CASE(R, RR, NA) case R: CL_FN(cl_dconv_run)(out, ldc, nvalid, xb, wb, bias, CB, H, W, geom, nb, oy, \
                                          ox0, R, RR, SWC, NA, kh0, kh1, dg, id0, kd0, kd1, ys, icl); break;
#define CL_DC_CASES_6(RR, NA) CL_DC_CASE(1, RR, NA) CL_DC_CASE(2, RR, NA) CL_DC_CASE(3, RR, NA) \
                              CL_DC_CASE(4, RR, NA) CL_DC_CASE(5, RR, NA) CL_DC_CASE(6, RR, NA)
#define CL_DC_CASES_14(RR, NA) CL_DC_CASES_6(RR, NA) CL_DC_CASE(7, RR, NA) CL_DC_CASE(8, RR, NA) \
                               CL_DC_CASE(9, RR, NA) CL_DC_CASE(10, RR, NA) CL_DC_CASE(11, RR, NA) \
                               CL_DC_CASE(12, RR, NA) CL_DC_CASE(13, RR, NA) CL_DC_CASE(14, RR, NA)
#if CL_DC_OBK > 1
    if (nb == 1) {                  /* a lone block: one vector of sums a cell, twice the cells */
        if (rr == 2) {
            switch (nr) { CL_DC_CASES_14(2, 1) default: break; }
        } else {
            switch (nr) { CL_DC_CASES_14(1, 1) default: break; }
        }
        return;
    }
#endif
#if CL_DC_RR > 1
    if (rr == 2) {
        switch (nr) {
        CL_DC_CASES_6(2, CL_DC_NA) CL_DC_CASE(7, 2, CL_DC_NA)
        default: break;
        }
        return;
    }
#endif
    (void)rr;
    switch (nr) {
#if CL_DC_R > 6
    CL_DC_CASES_14(1, CL_DC_NA)
#else
    CL_DC_CASES_6(1, CL_DC_NA)
#endif
    default: break;
    }
#undef CL_DC_CASES_14
#undef CL_DC_CASES_6
#undef CL_DC_CASE
}
static void CL_FN(cl_dconv_runs)(float *out, ptrdiff_t ldc, ptrdiff_t nvalid, const float *xb, const float *wb,
                                 const float *bias, ptrdiff_t CB, ptrdiff_t H, ptrdiff_t W, const ptrdiff_t *geom,
                                 ptrdiff_t nb, ptrdiff_t oy, ptrdiff_t ox0, ptrdiff_t nr, int rr, ptrdiff_t kh0,
                                 ptrdiff_t kh1, const ptrdiff_t *dg, ptrdiff_t id0, ptrdiff_t kd0, ptrdiff_t kd1,
                                 ptrdiff_t ys, int icl) {
    if (geom[3] == 1)
        CL_FN(cl_dconv_runs_sw)(out, ldc, nvalid, xb, wb, bias, CB, H, W, geom, nb, oy, ox0, nr, rr, 1, kh0, kh1, dg,
                                id0, kd0, kd1, ys, icl);
    else if (geom[3] == 2)
        CL_FN(cl_dconv_runs_sw)(out, ldc, nvalid, xb, wb, bias, CB, H, W, geom, nb, oy, ox0, nr, rr, 2, kh0, kh1, dg,
                                id0, kd0, kd1, ys, icl);
    else
        CL_FN(cl_dconv_runs_sw)(out, ldc, nvalid, xb, wb, bias, CB, H, W, geom, nb, oy, ox0, nr, rr, 0, kh0, kh1, dg,
                                id0, kd0, kd1, ys, icl);
}
/* [*k0, *k1): the kernel rows whose input row (oy * SH + kh * DH - PH) lies inside 0..H-1 (empty: *k0 == *k1) */
static inline void CL_FN(cl_dc_kernel_rows)(ptrdiff_t oy, ptrdiff_t H, ptrdiff_t KH, ptrdiff_t SH, ptrdiff_t PH,
                                            ptrdiff_t DH, ptrdiff_t *k0, ptrdiff_t *k1) {
    ptrdiff_t a = 0, b = KH;
    while (a < KH && oy * SH + a * DH - PH < 0) a++;
    while (b > a && oy * SH + (b - 1) * DH - PH >= H) b--;
    *k0 = a;
    *k1 = b;
}
/* out: this sample's first channel of block b0 (NCHW, channel stride ldc: the output's plane); OW: the cells of a
   row (of the phase, for a transposed layer's); O_left: output channels from block b0 on that exist; wb: the
   pair's weights (interleaved). A row's OW cells are split into the fewest runs of at most CL_DC_R cells, as even
   as they go (OW = 16: 8 + 8, where 7 + 7 + 2 left a short run with a third of the row's weight traffic); two rows
   whose kernel rows reach the input alike go together, in runs of at most CL_DC_R2 cells each (x86-64-v4; a lone
   block's, CL_DC_R). icl: the input channels of the last 16-channel block that exist (1..16). */
static void CL_FN(cl_dconv_f)(float *out, ptrdiff_t ldc, ptrdiff_t O_left, const float *xb, const float *wb,
                              const float *bias, ptrdiff_t CB, ptrdiff_t H, ptrdiff_t W, ptrdiff_t OW,
                              const ptrdiff_t *geom, ptrdiff_t nblocks, ptrdiff_t y0, ptrdiff_t y1,
                              const ptrdiff_t *depth, ptrdiff_t icl) {
    const ptrdiff_t KH = geom[0], SH = geom[2], PH = geom[4], DH = geom[6];
    const ptrdiff_t flat[6] = {1, 1, 0, 1, 1, PTRDIFF_MAX}, *dg = depth ? depth : flat;
    const ptrdiff_t KD = dg[0], SD = dg[1], PD = dg[2], DD = dg[3], D = dg[4], OH = dg[5];
    const ptrdiff_t runs = (OW + CL_DC_R - 1) / CL_DC_R;
    for (ptrdiff_t b = 0; b < nblocks; b += CL_DC_OBK) {
        const ptrdiff_t nb = nblocks - b < CL_DC_OBK ? nblocks - b : CL_DC_OBK;
        const ptrdiff_t r2 = CL_DC_OBK > 1 && nb == 1 ? CL_DC_R : CL_DC_R2, runs2 = (OW + r2 - 1) / r2;
        float *ob = out + b * 16 * ldc;
        const float *wbb = wb + b * 16, *bb = bias ? bias + b * 16 : NULL;
        for (ptrdiff_t y = y0; y < y1;) {
            const ptrdiff_t od = y / OH, oy = y - od * OH;     /* output plane, its row */
            ptrdiff_t kd0, kd1, kh0, kh1, k0, k1;             /* kernel planes, rows that reach the input */
            CL_FN(cl_dc_kernel_rows)(od, D, KD, SD, PD, DD, &kd0, &kd1);
            CL_FN(cl_dc_kernel_rows)(oy, H, KH, SH, PH, DH, &kh0, &kh1);
            CL_FN(cl_dc_kernel_rows)(oy + 1, H, KH, SH, PH, DH, &k0, &k1);
            const int rr = CL_DC_RR > 1 && y + 1 < y1 && oy + 1 < OH && k0 == kh0 && k1 == kh1 ? 2 : 1;
            const ptrdiff_t n = rr == 2 ? runs2 : runs;
            for (ptrdiff_t j = 0; j < n; j++) {
                const ptrdiff_t ox = j * OW / n;
                CL_FN(cl_dconv_runs)(ob, ldc, O_left - b * 16, xb, wbb, bb, CB, H, W, geom, nb, oy, ox,
                                     (j + 1) * OW / n - ox, rr, kh0, kh1, dg, od * SD - PD, kd0, kd1, y,
                                     (int)icl);
            }
            y += rr;
        }
    }
}
/* 1 if any of p[0], ..., p[n - 1] is an inf or a NaN (x - x is 0 for every finite x, NaN otherwise) */
static int CL_FN(cl_nonfinite_f)(const float *p, ptrdiff_t n) {
    cl_v16f acc = {0};
    ptrdiff_t i = 0;
    float s = 0;
    for (; i + 16 <= n; i += 16) {
        const cl_v16f v = *(const cl_v16f *)(p + i);
        acc += v - v;
    }
    for (; i < n; i++) s += p[i] - p[i];
    for (int l = 0; l < 16; l++) s += acc[l];
    return !(s == 0);
}
#undef CL_DC_WEIGHTS
#undef CL_DC_VT
#undef CL_DC_NV
#undef CL_DC_OBK
#undef CL_DC_R
#undef CL_DC_RR
#undef CL_DC_R2
#undef CL_DC_NA
#undef CL_DC_LANES
#undef CL_DC_WROW
#undef CL_DC_PF

/* The weight gradient of a float32 layer with stride 1 along rows (conv_wgrad_direct), at x86-64-v4 only (masked
   AVX-512 loads; the other levels' table entry is NULL): dW[co][ci][tz][ty][tx] = the sum over samples and output
   cells of go[n][co][z][y][x] * x[n][ci][z*sd + tz*dd - pd][y*sh + ty*dh - ph][x + tx*dw - pw]. A register block
   is 4 output channels x 2 input channels x 3 taps of a row (24 zmm sums, 16 output columns a lane each) over
   every output row of a slab of rows; the lanes of a tap that read padding (every lane, for a tap row outside the
   input) or lie past the row load zeros under a mask (masks[c * KWp + t]: chunk c of 16 output columns, tap t, 0
   for t >= KW). The sums are reduced across lanes once per slab into dW (og, cg, KD, KH, KW), accumulated.
   A task is one (4 output, 2 input channel) block; tasks [task0, task1) run slab by slab, so a slab's rows
   stay in L2 while every block of the task range reads them. Blocks past og or cg read their last channel again
   and drop the sums. x, go: the group's first channel of sample 0; geom = {N, C_in, C_out, cg, og, D, H, W, OD,
   OH, OW, KD, KH, KW, sd, sh, dd, dh, dw, pd, ph, pw, slab, KWp}. */
#if CL_VECTOR_BYTES == 64
#define CL_WG_XT(B, T, XV)                                                                             \
    XV = _mm512_maskz_loadu_ps(mk[T], xr##B + c * 16 + (T) * dw);
#define CL_WG_FMA4(B, T, XV)                                                                           \
    s0##B##T = _mm512_fmadd_ps(g0, XV, s0##B##T); s1##B##T = _mm512_fmadd_ps(g1, XV, s1##B##T);       \
    s2##B##T = _mm512_fmadd_ps(g2, XV, s2##B##T); s3##B##T = _mm512_fmadd_ps(g3, XV, s3##B##T);
#define CL_WG_STEP(B, T) { __m512 xv; CL_WG_XT(B, T, xv) CL_WG_FMA4(B, T, xv) }
#define CL_WG_SUMS(A) __m512 s##A##00 = z0, s##A##01 = z0, s##A##02 = z0, s##A##10 = z0, s##A##11 = z0, s##A##12 = z0;
#define CL_WG_PUT(A, B, T)                                                                             \
    if (co0 + A < og && ci0 + B < cg && t0 + T < KW)                                                   \
        dW[((((co0 + A) * cg + ci0 + B) * KD + tz) * KH + ty) * KW + t0 + T] += _mm512_reduce_add_ps(s##A##B##T);
#define CL_WG_PUT6(A) CL_WG_PUT(A, 0, 0) CL_WG_PUT(A, 0, 1) CL_WG_PUT(A, 0, 2) CL_WG_PUT(A, 1, 0) CL_WG_PUT(A, 1, 1) \
    CL_WG_PUT(A, 1, 2)
static void CL_FN(cl_wgrad_f)(float *dW, const float *x, const float *go, const ptrdiff_t *geom,
                              const unsigned short *masks, ptrdiff_t task0, ptrdiff_t task1) {
    const ptrdiff_t N = geom[0], C_in = geom[1], C_out = geom[2], cg = geom[3], og = geom[4], D = geom[5],
                    H = geom[6], W = geom[7], OD = geom[8], OH = geom[9], OW = geom[10], KD = geom[11],
                    KH = geom[12], KW = geom[13], sd = geom[14], sh = geom[15], dd = geom[16], dh = geom[17],
                    dw = geom[18], pd = geom[19], ph = geom[20], pw = geom[21], slab = geom[22], KWp = geom[23];
    const ptrdiff_t xplane = D * H * W, gplane = OD * OH * OW, srows = OD * OH, rows = N * srows;
    const ptrdiff_t nch = (OW + 15) / 16, ncib = (cg + 1) / 2;
    const __m512 z0 = _mm512_setzero_ps();
    static const unsigned short none[3] = {0, 0, 0};
    for (ptrdiff_t r0 = 0; r0 < rows; r0 += slab) {
        const ptrdiff_t r1 = r0 + slab < rows ? r0 + slab : rows;
        for (ptrdiff_t task = task0; task < task1; task++) {
            const ptrdiff_t co0 = task / ncib * 4, ci0 = task % ncib * 2;
            ptrdiff_t co[4], ci[2];
            for (int a = 0; a < 4; a++) co[a] = co0 + a < og ? co0 + a : og - 1;
            for (int b = 0; b < 2; b++) ci[b] = ci0 + b < cg ? ci0 + b : cg - 1;
            for (ptrdiff_t tz = 0; tz < KD; tz++)
            for (ptrdiff_t ty = 0; ty < KH; ty++)
            for (ptrdiff_t t0 = 0; t0 < KW; t0 += 3) {
                CL_WG_SUMS(0) CL_WG_SUMS(1) CL_WG_SUMS(2) CL_WG_SUMS(3)
                const unsigned short *mt = masks + t0;
                for (ptrdiff_t r = r0; r < r1; r++) {
                    const ptrdiff_t n = r / srows, zy = r - n * srows, z = zy / OH, y = zy - z * OH;
                    const ptrdiff_t zi = z * sd + tz * dd - pd, yi = y * sh + ty * dh - ph;
                    /* a tap row outside the input reads zeros (mask 0: nothing is loaded), so an inf or NaN in
                       grad_output gives NaN there as on the GEMM path, whose columns hold the padding's zeros */
                    const int inside = zi >= 0 && zi < D && yi >= 0 && yi < H;
                    const float *g = go + n * C_out * gplane + zy * OW;
                    const float *g_0 = g + co[0] * gplane, *g_1 = g + co[1] * gplane, *g_2 = g + co[2] * gplane,
                                *g_3 = g + co[3] * gplane;
                    const float *xs = x + n * C_in * xplane + (inside ? zi * H + yi : 0) * W + t0 * dw - pw;
                    const float *xr0 = xs + ci[0] * xplane, *xr1 = xs + ci[1] * xplane;
                    for (ptrdiff_t c = 0; c < nch; c++) {
                        const __mmask16 om = c * 16 + 16 <= OW ? 0xFFFF : (__mmask16)((1u << (OW - c * 16)) - 1);
                        const __m512 g0 = _mm512_maskz_loadu_ps(om, g_0 + c * 16),
                                     g1 = _mm512_maskz_loadu_ps(om, g_1 + c * 16),
                                     g2 = _mm512_maskz_loadu_ps(om, g_2 + c * 16),
                                     g3 = _mm512_maskz_loadu_ps(om, g_3 + c * 16);
                        const unsigned short *mk = inside ? mt + c * KWp : none;
                        CL_WG_STEP(0, 0) CL_WG_STEP(0, 1) CL_WG_STEP(0, 2)
                        CL_WG_STEP(1, 0) CL_WG_STEP(1, 1) CL_WG_STEP(1, 2)
                    }
                }
                CL_WG_PUT6(0) CL_WG_PUT6(1) CL_WG_PUT6(2) CL_WG_PUT6(3)
            }
        }
    }
}
#undef CL_WG_XT
#undef CL_WG_FMA4
#undef CL_WG_STEP
#undef CL_WG_SUMS
#undef CL_WG_PUT
#undef CL_WG_PUT6
#define CL_WGRAD_F CL_FN(cl_wgrad_f)
#else
#define CL_WGRAD_F NULL
#endif

/* col2im's scatter-add of one output row at column stride 2 (transposed layers and fold; a DCGAN generator's
   4x4 stride-2 layers on 8x8 planes add 8-cell rows 4 times over each 16-cell output row), x86-64-v4 only:
   orow[2 e + t - pw] += src[t * ld + e] for every tap t < kw and cell e < bw, the targets within [0, W).
   Instead of one strided pass per tap, the row goes in chunks of 16 output cells held in one register: each
   tap's (at most) 8 cells that land in the chunk are one masked load, spread over the even or the odd lanes by a
   permute and added under a mask; the chunk is loaded and stored once, masked to [0, W) (the cells past the row
   may be another thread's). The sums per cell run in tap order, as the per-tap passes did. */
#if CL_VECTOR_BYTES == 64
static void CL_FN(cl_scatter2_f)(float *restrict orow, ptrdiff_t W, const float *restrict src, ptrdiff_t ld,
                                 ptrdiff_t bw, ptrdiff_t kw, ptrdiff_t pw) {
    const __m512i pairs = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
    ptrdiff_t end = 2 * (bw - 1) + kw - pw;            /* one past the last cell any tap reaches */
    if (end > W) end = W;
    for (ptrdiff_t o0 = 0; o0 < end; o0 += 16) {
        const unsigned rows = end - o0 < 16 ? (unsigned)(end - o0) : 16u;
        const __mmask16 in_row = (__mmask16)((1u << rows) - 1);
        __m512 acc = _mm512_maskz_loadu_ps(in_row, orow + o0);
        for (ptrdiff_t t = 0; t < kw; t++) {
            /* chunk lane k gets tap t's cell e = (o0 + k + pw - t) / 2 where that is whole: lanes of parity par,
               cells e0 + i for lane 2 i + par */
            const ptrdiff_t q = o0 + pw - t;
            const ptrdiff_t par = q & 1, e0 = (q + par) / 2;     /* (q + par is even: exact for negative q) */
            ptrdiff_t i0 = -e0, i1 = bw - e0;                    /* cells e0 + i inside [0, bw) */
            if (i0 < 0) i0 = 0;
            if (i1 > 8) i1 = 8;
            if (i1 <= i0) continue;
            const unsigned cells = ((1u << i1) - 1) & ~((1u << i0) - 1);
            const __m512 v = _mm512_castps256_ps512(_mm256_maskz_loadu_ps((__mmask8)cells, src + t * ld + e0));
            const unsigned lanes = (unsigned)_pdep_u32(cells, par ? 0xAAAAu : 0x5555u) & in_row;
            /* lane k takes cell i = k / 2 of v: lane 2 i for par 0, 2 i + 1 for par 1 (the mask picks) */
            acc = _mm512_mask_add_ps(acc, (__mmask16)lanes, acc, _mm512_permutexvar_ps(pairs, v));
        }
        _mm512_mask_storeu_ps(orow + o0, in_row, acc);
    }
}
#define CL_SCATTER2_F CL_FN(cl_scatter2_f)
#else
#define CL_SCATTER2_F NULL
#endif

static const cl_simd_table CL_FN(cl_table) = {
    CL_LEVEL_NAME, CL_FN(cl_fma_probe),
    CL_FN(cl_axpy_f), CL_FN(cl_axpy_d), CL_FN(cl_axpy3_f), CL_FN(cl_axpy3_d), CL_FN(cl_set3_f), CL_FN(cl_set3_d),
    CL_FN(cl_row5_f), CL_FN(cl_row5_d), CL_FN(cl_row7_f), CL_FN(cl_row7_d),
    CL_FN(cl_dwdot_f), CL_FN(cl_dwdot_d), CL_FN(cl_dwdot2_f), CL_FN(cl_dwdot2_d),
    CL_FN(cl_dwrow_f), CL_FN(cl_dwrow_d), CL_FN(cl_transpose_f), CL_FN(cl_transpose_d),
    CL_FN(cl_copy_f), CL_FN(cl_copy_d), CL_FN(cl_add_f), CL_FN(cl_add_d), CL_FN(cl_taps_f), CL_FN(cl_taps_d),
    CL_FN(cl_wino_in_f), CL_FN(cl_wino_in_d), CL_FN(cl_wino_out_f), CL_FN(cl_wino_out_d),
    CL_FN(cl_deinterleave_f), CL_FN(cl_deinterleave_d),
    CL_FN(cl_wino4_in_f), CL_FN(cl_wino4_in_d), CL_FN(cl_wino4_out_f), CL_FN(cl_wino4_out_d),
    CL_FN(cl_deinterleave4_f), CL_FN(cl_deinterleave4_d),
    CL_FN(cl_gemm_small_f), CL_FN(cl_gemm_small_d), CL_FN(cl_gemm_rows_f), CL_FN(cl_gemm_rows_d),
    CL_FN(cl_pad_rows_f), CL_FN(cl_pad_rows_d), CL_FN(cl_dconv_f), CL_FN(cl_nonfinite_f), CL_WGRAD_F,
    CL_SCATTER2_F, CL_FN(cl_wino_w_f), CL_FN(cl_wino_w_d),
};
#undef CL_WGRAD_F
#undef CL_SCATTER2_F
