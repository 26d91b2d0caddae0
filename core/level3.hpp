// The level-3 kernels on the calling thread: a matrix product (gemm_kernel) and a triangular
// solve with a matrix right-hand side (triangular_solve_kernel). On a build for AVX-512 a
// product that Eigen would give its GEMM kernel, of at least 4 rows, 5 columns and a depth of 8
// (own_gemm_serves), runs vesta's own kernel (own_gemm, gemm_avx512.cpp), 1.3-1.6x Eigen 3.4's
// on a training step's products in float; every other product, and the solve, run Eigen's,
// with their packing blocks taken from the buffer pool.
//
// Eigen packs blocks of the operands into two work buffers per call. Up to 128 KiB each they
// live on the stack; a larger one (a batch of 128 against a layer of 785 x 100 already needs
// 300 KiB, a 200 x 200 triangular solve as much) is malloc'ed and freed in every call. glibc
// returns such a block to the system when it frees it at the top of the heap, and the next
// call faults it in again: a float linear model of that shape took 118 page faults and four
// times its time per step, by how the heap happened to lie. Here those blocks come from the
// calling thread's buffer pool (buffer_pool.hpp), as every other buffer of a step does, and
// stay for the next call. The blocking sizes, the kernels and so the results are Eigen's own,
// bit for bit; own_gemm's results differ from them by rounding only.
#pragma once

#include <cstddef>
#include <type_traits>

#include <Eigen/Core>

#include <vesta/core/buffer_pool.hpp>
#include <vesta/core/scalar.hpp>

namespace vesta::detail {

/// Eigen's blocking of a rows x cols x depth level-3 call on one thread, computed as Eigen's
/// own call computes it (`KcFactor` and `l3` as Eigen passes them: 1 and true for a product,
/// 4 and false for a triangular solve), with its two packing buffers from the calling
/// thread's buffer pool.
template <int KcFactor>
class PooledBlocking : public Eigen::internal::level3_blocking<Scalar, Scalar> {
 public:
  PooledBlocking(Index rows, Index cols, Index depth, bool l3) {
    this->m_mc = rows;
    this->m_nc = cols;
    this->m_kc = depth;
    Index n = cols;
    Eigen::internal::computeProductBlockingSizes<Scalar, Scalar, KcFactor>(
        this->m_kc, this->m_mc, l3 ? this->m_nc : n, Index(1));
  }
  PooledBlocking(const PooledBlocking&) = delete;
  PooledBlocking& operator=(const PooledBlocking&) = delete;

  std::size_t size_a() const { return static_cast<std::size_t>(this->m_mc * this->m_kc); }
  std::size_t size_b() const { return static_cast<std::size_t>(this->m_kc * this->m_nc); }

  /// Whether Eigen would put a block on the heap (it keeps blocks up to its stack limit on
  /// the stack, which costs nothing to take).
  bool needs_heap() const {
    constexpr std::size_t limit = EIGEN_STACK_ALLOCATION_LIMIT;
    return size_a() * sizeof(Scalar) > limit || size_b() * sizeof(Scalar) > limit;
  }

  /// Takes both blocks from the pool. Without it, the kernel takes them itself (from the stack,
  /// or the C library when they are too large for it).
  void take_from_pool() {
    block_a_.reset(size_a());
    block_b_.reset(size_b());
    this->m_blockA = block_a_.get();
    this->m_blockB = block_b_.get();
  }

 private:
  PooledBuffer block_a_, block_b_;
};

/// A product's blocking (Eigen's general_matrix_matrix_product).
using PooledGemmBlocking = PooledBlocking<1>;

/// Whether own_gemm computes a rows x cols product over `depth` on this build: with AVX-512,
/// at the sizes where it is faster than Eigen's, whichever way the operands are stored.
bool own_gemm_serves(Index rows, Index cols, Index depth);

/// C += A B when `add`, else C = A B (C's values are not read), for a rows x depth A whose entry
/// (i, p) is a[i * a_row_step + p * a_depth_step], a depth x cols B whose entry (p, j) is
/// b[p * b_depth_step + j * b_col_step], and a column-major C with leading dimension ldc. Each
/// operand has unit stride one way (a_row_step or a_depth_step is 1, and b_depth_step or
/// b_col_step); otherwise std::logic_error. Only where own_gemm_serves says so.
void own_gemm(Index rows, Index cols, Index depth, const Scalar* a, Index a_row_step,
              Index a_depth_step, const Scalar* b, Index b_depth_step, Index b_col_step, Scalar* c,
              Index ldc, bool add);

/// dst = lhs * rhs, or dst += lhs * rhs when `add`, on the calling thread, for Eigen matrix
/// expressions with direct access and unit inner stride (maps, their transposes and blocks);
/// dst is column-major. Products that Eigen does without its GEMM kernel (tiny ones, done
/// coefficient-wise, and matrix-vector ones) go through Eigen's product as written.
template <class Dst, class Lhs, class Rhs>
void gemm_kernel(Dst&& dst, const Lhs& lhs, const Rhs& rhs, bool add) {
  using D = std::remove_cv_t<std::remove_reference_t<Dst>>;
  static_assert(!(D::Flags & Eigen::RowMajorBit), "gemm_kernel: dst must be column-major");
  const Index rows = dst.rows(), cols = dst.cols(), depth = lhs.cols();
  // Eigen's own dispatch: matrix-vector products and tiny ones never use the GEMM kernel.
  if (rows <= 1 || cols <= 1 || depth == 0 ||
      depth + rows + cols < EIGEN_GEMM_TO_COEFFBASED_THRESHOLD || dst.innerStride() != 1 ||
      lhs.innerStride() != 1 || rhs.innerStride() != 1) {
    if (add) {
      dst.noalias() += lhs * rhs;
    } else {
      dst.noalias() = lhs * rhs;
    }
    return;
  }
  constexpr bool lhs_rows = (Lhs::Flags & Eigen::RowMajorBit) != 0;  // rows contiguous
  constexpr bool rhs_rows = (Rhs::Flags & Eigen::RowMajorBit) != 0;
  if (own_gemm_serves(rows, cols, depth)) {
    const Index ls = lhs.outerStride(), rs = rhs.outerStride();
    own_gemm(rows, cols, depth, lhs.data(), lhs_rows ? ls : 1, lhs_rows ? 1 : ls, rhs.data(),
             rhs_rows ? rs : 1, rhs_rows ? 1 : rs, dst.data(), dst.outerStride(), add);
    return;
  }
  // What Eigen's product does from here: zero dst for an assignment, then its kernel with its
  // blocking; the blocks come from the pool when they are too large for the stack.
  PooledGemmBlocking blocking(rows, cols, depth, true);
  if (blocking.needs_heap()) blocking.take_from_pool();
  if (!add) dst.setZero();
  constexpr int lhs_order = lhs_rows ? Eigen::RowMajor : Eigen::ColMajor;
  constexpr int rhs_order = rhs_rows ? Eigen::RowMajor : Eigen::ColMajor;
  using Product =
      Eigen::internal::general_matrix_matrix_product<Index, Scalar, lhs_order, false, Scalar,
                                                     rhs_order, false, Eigen::ColMajor, 1>;
  Product::run(rows, cols, depth, lhs.data(), lhs.outerStride(), rhs.data(), rhs.outerStride(),
               dst.data(), 1, dst.outerStride(), Scalar(1), blocking);
}

/// Solves op(T) X = R in place of R (R: n x m, column-major, unit inner stride), reading only
/// T's lower triangle when `lower` (else its upper one); op(T) is T, or T^T when `transposed`.
/// Eigen's TriangularView::solveInPlace, with its blocks from the pool when they are large.
void triangular_solve_kernel(const Eigen::Ref<const Matrix, 0, Eigen::OuterStride<>>& t, bool lower,
                             bool transposed, Eigen::Ref<Matrix, 0, Eigen::OuterStride<>> r);

}  // namespace vesta::detail
