// vesta's own GEMM for AVX-512 (see own_gemm in level3.hpp). Eigen 3.4's kernel for AVX-512
// computes a 48 x 4 block of the result at a time in 12 of the 32 vector registers, and reaches
// about 150 GFLOP/s in float on a training step's shapes here, two thirds of the FMA units'
// rate. This one is laid out as BLIS lays out its kernels (Van Zee and van de Geijn, "BLIS: A
// Framework for Rapidly Instantiating BLAS Functionality", 2015):
// - the depth is cut in slices of kKc; for each, a block of kMc rows of A is packed in panels
//   of kMr rows (two vectors), each panel contiguous, with zeros past A's edge, and B is read
//   where it is stored, in panels of kNr columns (see BStorage: unlike BLIS, B is not packed);
// - the kernel keeps a kMr x kNr block of C (24 registers) while it walks the slice: per step
//   two loads of A, kNr broadcasts of B and 2 kNr FMAs;
// - a B panel (kNr x kKc) stays in the L1 cache while the A block (kMc x kKc) streams from L2.
// Each entry of C sums its products in the order of the depth, slice by slice, whatever block
// of C a call is given: a product split over threads by blocks of C's rows or columns gives
// the same numbers as one call.
#include <vesta/core/level3.hpp>

#include <algorithm>
#include <stdexcept>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace vesta::detail {

#if defined(__AVX512F__)

namespace {

// The 128-bit lanes of four vectors transposed: lane k of a, b, c and d become lanes 0, 1, 2
// and 3 of out[k] (the last two rounds of a transpose in registers, for floats and doubles).
void transpose_lanes(__m512 a, __m512 b, __m512 c, __m512 d, __m512 (&out)[4]) {
  const __m512 ab02 = _mm512_shuffle_f32x4(a, b, 0x88);  // lanes 0, 2 of a, then of b
  const __m512 ab13 = _mm512_shuffle_f32x4(a, b, 0xdd);  // lanes 1, 3
  const __m512 cd02 = _mm512_shuffle_f32x4(c, d, 0x88);
  const __m512 cd13 = _mm512_shuffle_f32x4(c, d, 0xdd);
  out[0] = _mm512_shuffle_f32x4(ab02, cd02, 0x88);
  out[1] = _mm512_shuffle_f32x4(ab13, cd13, 0x88);
  out[2] = _mm512_shuffle_f32x4(ab02, cd02, 0xdd);
  out[3] = _mm512_shuffle_f32x4(ab13, cd13, 0xdd);
}

template <class T>
struct Simd;

template <>
struct Simd<float> {
  using V = __m512;
  static constexpr int kWidth = 16;
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V zero() { return _mm512_setzero_ps(); }
  static V broadcast(float x) { return _mm512_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V load(unsigned mask, const float* p) {
    return _mm512_maskz_loadu_ps(static_cast<__mmask16>(mask), p);
  }
  static void store(unsigned mask, float* p, V v) {
    _mm512_mask_storeu_ps(p, static_cast<__mmask16>(mask), v);
  }
  // r[q] becomes column q of the 16 x 16 matrix whose rows were r[0..16): three rounds of
  // interleaving (32-bit pairs, then 64-bit pairs, then 128-bit lanes twice).
  static void transpose(V (&r)[16]) {
    V t[16];
    for (int k = 0; k < 16; k += 2) {  // t[k]: columns 4L, 4L + 1 of rows k, k + 1 in lane L
      t[k] = _mm512_unpacklo_ps(r[k], r[k + 1]);
      t[k + 1] = _mm512_unpackhi_ps(r[k], r[k + 1]);  // columns 4L + 2, 4L + 3
    }
    V u[16];  // u[4g + m]: column 4L + m of rows 4g..4g + 3 in lane L
    for (int g = 0; g < 16; g += 4) {
      const __m512d a0 = _mm512_castps_pd(t[g]), a1 = _mm512_castps_pd(t[g + 1]);
      const __m512d b0 = _mm512_castps_pd(t[g + 2]), b1 = _mm512_castps_pd(t[g + 3]);
      u[g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, b0));
      u[g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, b0));
      u[g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, b1));
      u[g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, b1));
    }
    for (int m = 0; m < 4; ++m) {  // column 4k + m is lane k of u[m], u[4 + m], u[8 + m], u[12 + m]
      V col[4];
      transpose_lanes(u[m], u[4 + m], u[8 + m], u[12 + m], col);
      for (int k = 0; k < 4; ++k) r[4 * k + m] = col[k];
    }
  }
};

template <>
struct Simd<double> {
  using V = __m512d;
  static constexpr int kWidth = 8;
  static V load(const double* p) { return _mm512_loadu_pd(p); }
  static void store(double* p, V v) { _mm512_storeu_pd(p, v); }
  static V zero() { return _mm512_setzero_pd(); }
  static V broadcast(double x) { return _mm512_set1_pd(x); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static V load(unsigned mask, const double* p) {
    return _mm512_maskz_loadu_pd(static_cast<__mmask8>(mask), p);
  }
  static void store(unsigned mask, double* p, V v) {
    _mm512_mask_storeu_pd(p, static_cast<__mmask8>(mask), v);
  }
  // r[q] becomes column q of the 8 x 8 matrix whose rows were r[0..8).
  static void transpose(V (&r)[8]) {
    V t[8];
    for (int k = 0; k < 8; k += 2) {  // t[k]: column 2L of rows k, k + 1 in lane L
      t[k] = _mm512_unpacklo_pd(r[k], r[k + 1]);
      t[k + 1] = _mm512_unpackhi_pd(r[k], r[k + 1]);  // column 2L + 1
    }
    for (int m = 0; m < 2; ++m) {  // column 2k + m is lane k of t[m], t[2 + m], t[4 + m], t[6 + m]
      __m512 col[4];
      transpose_lanes(_mm512_castpd_ps(t[m]), _mm512_castpd_ps(t[2 + m]),
                      _mm512_castpd_ps(t[4 + m]), _mm512_castpd_ps(t[6 + m]), col);
      for (int k = 0; k < 4; ++k) r[2 * k + m] = _mm512_castps_pd(col[k]);
    }
  }
};

using S = Simd<Scalar>;
constexpr int kW = S::kWidth;
constexpr Index kMr = 2 * kW;  // rows of a kernel's block of C: two vectors
constexpr Index kNr = 12;      // its columns
// A B panel of kNr x kKc (18 KiB in float; in B's own storage it spans up to twice that in cache
// lines) stays in a 48 KiB L1 cache; an A block of kMc x kKc, a few hundred KiB of the 1 MiB L2.
constexpr Index kKc = kW == 16 ? 384 : 256;
constexpr Index kMc = 192;

// The mask of a vector's first n lanes (all of them from kW on, none from 0 down).
unsigned lanes(Index n) { return n >= kW ? (1u << kW) - 1 : n <= 0 ? 0u : (1u << n) - 1; }

// Writes the transpose of a tile of `rows` x np entries (np <= kW), whose row r is src[r * stride
// + [0, np)], to out[q * ld + [0, kW)] for q < np, in the lanes of `out_lanes`: kW rows are
// loaded (zeros past `rows`) and transposed in registers.
void transpose_tile(const Scalar* src, Index stride, Index rows, Index np, Scalar* out, Index ld,
                    unsigned out_lanes) {
  const unsigned in_lanes = lanes(np);
  S::V tile[kW];
  for (Index r = 0; r < kW; ++r)
    tile[r] = r < rows ? S::load(in_lanes, src + r * stride) : S::zero();
  S::transpose(tile);
  for (Index q = 0; q < np; ++q) S::store(out_lanes, out + q * ld, tile[q]);
}

// Packs rows [0, mc) and depth [0, kc) of A, whose entry (i, p) is a[i * row_step + p *
// depth_step] with one of the two steps 1, in panels of kMr rows: panel r holds entry
// (r kMr + i, p) at r kMr kc + p kMr + i. Rows past mc are zero.
void pack_a(Index mc, Index kc, const Scalar* a, Index row_step, Index depth_step, Scalar* out) {
  for (Index i0 = 0; i0 < mc; i0 += kMr) {
    const Index mr = std::min(kMr, mc - i0);
    Scalar* panel = out + i0 * kc;
    const Scalar* src = a + i0 * row_step;
    if (row_step == 1) {  // A's columns are contiguous: a panel's column is two vectors
      const unsigned lo = lanes(mr), hi = lanes(mr - kW);
      for (Index p = 0; p < kc; ++p) {
        const Scalar* s = src + p * depth_step;
        S::store(panel + p * kMr, S::load(lo, s));
        S::store(panel + p * kMr + kW, S::load(hi, s + kW));
      }
      continue;
    }
    // A's rows are contiguous (A is a transpose): tiles of kW rows x kW depth steps.
    for (Index p = 0; p < kc; p += kW) {
      for (Index h = 0; h < kMr; h += kW) {
        transpose_tile(src + h * row_step + p, row_step, mr - h, std::min<Index>(kW, kc - p),
                       panel + p * kMr + h, kMr, lanes(kW));
      }
    }
  }
}

// How B is stored, which says how the kernel finds a panel of kNr columns by kc depth steps
// in it. B is never packed: the kernel broadcasts one entry of each of the panel's columns at
// each depth step, which it finds as easily where B is stored as in a copy, and a copy would
// read B, write it and read it again. A panel's kc x kNr entries come from memory once, for the
// first block of kMr rows of A, and from the L1 cache for the others (a few, at a training step's
// batch sizes).
// - by_rows: B stored by rows (a backward product's transposed weights): entry (p, j) at
//   p b_step + j;
// - by_columns: B stored by columns (a forward product's weights, a weight gradient's output
//   gradient): entry (p, j) at j b_step + p.
enum class BStorage { by_rows, by_columns };

// C[0, mr) x [0, Cols) += the A panel times B's panel (stored as L says, b_step apart) over
// kc steps of the depth (or = when not `add`), with Rows vectors of rows (mr <= Rows kW) and
// Cols columns (the rest of the panel's columns are not read).
template <int Rows, int Cols, BStorage L>
void kernel(Index kc, const Scalar* a, const Scalar* b, Index b_step, Scalar* c, Index ldc,
            Index mr, bool add) {
  S::V acc[Rows][Cols];
  for (int v = 0; v < Rows; ++v) {
    for (int j = 0; j < Cols; ++j) acc[v][j] = S::zero();
  }
  for (Index p = 0; p < kc; ++p) {
    S::V av[Rows];
    for (int v = 0; v < Rows; ++v) av[v] = S::load(a + p * kMr + v * kW);
    const Scalar* bp = L == BStorage::by_rows ? b + p * b_step : b + p;
    const Index column_step = L == BStorage::by_rows ? 1 : b_step;  // a constant by rows
#pragma GCC unroll 12
    for (int j = 0; j < Cols; ++j) {
      const S::V bj = S::broadcast(bp[j * column_step]);
      for (int v = 0; v < Rows; ++v) acc[v][j] = S::fma(av[v], bj, acc[v][j]);
    }
  }
  if (mr == Rows * kW) {
    for (int j = 0; j < Cols; ++j) {
      for (int v = 0; v < Rows; ++v) {
        Scalar* cj = c + j * ldc + v * kW;
        S::store(cj, add ? S::add(S::load(cj), acc[v][j]) : acc[v][j]);
      }
    }
    return;
  }
  for (int v = 0; v < Rows; ++v) {
    const unsigned mask = lanes(mr - v * kW);
    for (int j = 0; j < Cols; ++j) {
      Scalar* cj = c + j * ldc + v * kW;
      S::store(mask, cj, add ? S::add(S::load(mask, cj), acc[v][j]) : acc[v][j]);
    }
  }
}

// The kernel for a block of nr <= kNr columns: nothing past B's last column is read.
template <int Rows, BStorage L>
void kernel_for_columns(Index kc, const Scalar* a, const Scalar* b, Index b_step, Scalar* c,
                        Index ldc, Index mr, Index nr, bool add) {
  switch (nr) {
    case 12:
      return kernel<Rows, 12, L>(kc, a, b, b_step, c, ldc, mr, add);
    case 11:
      return kernel<Rows, 11, L>(kc, a, b, b_step, c, ldc, mr, add);
    case 10:
      return kernel<Rows, 10, L>(kc, a, b, b_step, c, ldc, mr, add);
    case 9:
      return kernel<Rows, 9, L>(kc, a, b, b_step, c, ldc, mr, add);
    case 8:
      return kernel<Rows, 8, L>(kc, a, b, b_step, c, ldc, mr, add);
    case 7:
      return kernel<Rows, 7, L>(kc, a, b, b_step, c, ldc, mr, add);
    case 6:
      return kernel<Rows, 6, L>(kc, a, b, b_step, c, ldc, mr, add);
    case 5:
      return kernel<Rows, 5, L>(kc, a, b, b_step, c, ldc, mr, add);
    case 4:
      return kernel<Rows, 4, L>(kc, a, b, b_step, c, ldc, mr, add);
    case 3:
      return kernel<Rows, 3, L>(kc, a, b, b_step, c, ldc, mr, add);
    case 2:
      return kernel<Rows, 2, L>(kc, a, b, b_step, c, ldc, mr, add);
    default:
      return kernel<Rows, 1, L>(kc, a, b, b_step, c, ldc, mr, add);
  }
}

static_assert(kNr == 12, "kernel_for_columns dispatches on 1..12 columns");

// own_gemm for B stored as L says (by_rows when b_col_step is 1, by_columns when b_depth_step
// is).
template <BStorage L>
void own_gemm_with(Index rows, Index cols, Index depth, const Scalar* a, Index a_row_step,
                   Index a_depth_step, const Scalar* b, Index b_depth_step, Index b_col_step,
                   Scalar* c, Index ldc, bool add) {
  // The step between B's entries that the kernel does not take one after another.
  const Index b_step = L == BStorage::by_rows ? b_depth_step : b_col_step;
  PooledBuffer packed_a(static_cast<std::size_t>(kMc * kKc));
  for (Index p0 = 0; p0 < depth; p0 += kKc) {
    const Index kc = std::min(kKc, depth - p0);
    const bool add_slice = add || p0 > 0;  // the first slice writes C when C is not added to
    for (Index i0 = 0; i0 < rows; i0 += kMc) {
      const Index mc = std::min(kMc, rows - i0);
      pack_a(mc, kc, a + i0 * a_row_step + p0 * a_depth_step, a_row_step, a_depth_step,
             packed_a.get());
      for (Index j0 = 0; j0 < cols; j0 += kNr) {
        const Index nr = std::min(kNr, cols - j0);
        const Scalar* panel_b = b + p0 * b_depth_step + j0 * b_col_step;
        for (Index i = 0; i < mc; i += kMr) {
          const Index mr = std::min(kMr, mc - i);
          const Scalar* panel_a = packed_a.get() + i * kc;
          Scalar* block_c = c + (i0 + i) + j0 * ldc;
          if (mr > kW) {
            kernel_for_columns<2, L>(kc, panel_a, panel_b, b_step, block_c, ldc, mr, nr, add_slice);
          } else {
            kernel_for_columns<1, L>(kc, panel_a, panel_b, b_step, block_c, ldc, mr, nr, add_slice);
          }
        }
      }
    }
  }
}

}  // namespace

bool own_gemm_serves(Index rows, Index cols, Index depth) {
  // Measured against Eigen's kernel, in float and double, on the products Eigen's own dispatch
  // gives its GEMM kernel (gemm_kernel): from 4 rows and 5 columns this one is faster, 1.15-2.2x
  // on products from 4x8x8 to 16x784x400, and 1.3-1.6x on a training step's (float, the size
  // sweeps' GEMMs from a batch of 32 to 1024); with 2 or 3 rows (in float) or 4 columns,
  // Eigen's is as fast or faster, and keeps them.
  return rows >= 4 && cols >= 5 && depth >= 8;
}

void own_gemm(Index rows, Index cols, Index depth, const Scalar* a, Index a_row_step,
              Index a_depth_step, const Scalar* b, Index b_depth_step, Index b_col_step, Scalar* c,
              Index ldc, bool add) {
  if ((a_row_step != 1 && a_depth_step != 1) || (b_depth_step != 1 && b_col_step != 1)) {
    throw std::logic_error("own_gemm: each operand needs unit stride along its rows or columns");
  }
  // B is stored by columns (its depth step 1) or, the guard above says, by rows.
  if (b_depth_step == 1) {
    own_gemm_with<BStorage::by_columns>(rows, cols, depth, a, a_row_step, a_depth_step, b,
                                        b_depth_step, b_col_step, c, ldc, add);
  } else {
    own_gemm_with<BStorage::by_rows>(rows, cols, depth, a, a_row_step, a_depth_step, b,
                                     b_depth_step, b_col_step, c, ldc, add);
  }
}

#else  // no AVX-512: Eigen's kernel serves every product

bool own_gemm_serves(Index, Index, Index) { return false; }

void own_gemm(Index, Index, Index, const Scalar*, Index, Index, const Scalar*, Index, Index,
              Scalar*, Index, bool) {
  throw std::logic_error("own_gemm called on a build without AVX-512 (own_gemm_serves is false)");
}

#endif

}  // namespace vesta::detail
