// The level-3 kernels (core/level3.hpp): a product gives A B to within its rounding error
// (Eigen's own result bit for bit where Eigen's kernel serves it), a triangular solve Eigen's
// solution bit for bit, and their large blocks, like a PooledMatrix, go back to the calling
// thread's pool and are taken from it again.
#include <cmath>
#include <cstddef>
#include <limits>

#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

using namespace vesta;

namespace {

// The largest entry of |got - (base + A B)| over the bound on a sum of `depth` + 1 rounded
// terms, (depth + 2) eps (|base| + |A| |B|) entry by entry (Higham's gamma_n, with a factor 2 to
// spare): at most 1 when got is base + A B computed in any order in Scalar. The exact value is
// taken in long double.
double error_over_bound(const Matrix& got, const Matrix& base, const Matrix& A, const Matrix& B) {
  const long double eps = std::numeric_limits<Scalar>::epsilon();
  double worst = 0;
  for (Index j = 0; j < got.cols(); ++j) {
    for (Index i = 0; i < got.rows(); ++i) {
      long double exact = base(i, j), magnitude = std::fabs(static_cast<long double>(base(i, j)));
      for (Index p = 0; p < A.cols(); ++p) {
        const long double term = static_cast<long double>(A(i, p)) * B(p, j);
        exact += term;
        magnitude += std::fabs(term);
      }
      const long double bound = (A.cols() + 2) * eps * magnitude + 1e-300L;
      const double e = double(std::fabs(got(i, j) - exact) / bound);
      if (std::isnan(e)) return e;  // a NaN fails every check against it
      worst = std::max(worst, e);
    }
  }
  return worst;
}

}  // namespace

TEST_CASE(
    "one GEMM gives the product to rounding, and Eigen's bit for bit where Eigen's kernel "
    "serves it",
    "[level3]") {
#if defined(__AVX512F__)
  // The shapes of a training step run vesta's own kernel on this build: the cases below test it.
  CHECK(detail::own_gemm_serves(128, 100, 785));
  CHECK(detail::own_gemm_serves(785, 100, 128));
  CHECK(detail::own_gemm_serves(32, 100, 785));
  CHECK(detail::own_gemm_serves(4, 5, 8));
  CHECK_FALSE(detail::own_gemm_serves(3, 20, 40));
  CHECK_FALSE(detail::own_gemm_serves(40, 4, 30));
#endif
  Rng rng(12);
  struct Shape {
    Index r, k, c;
  };
  // A batch of 96 or 128 against a 785 x 100 layer and the backward products of that layer;
  // more depth than one slice of the own kernel and more rows than one block of it; its partial
  // panels (rows past a multiple of two vectors by 1, by a quarter and by three quarters of
  // two float vectors; columns past 12) and partial tiles of its packing (a depth, or a column
  // count, that is not a multiple of a vector); products at its smallest size (4 rows, 5
  // columns; with a depth of 11, for Eigen's dispatch gives products whose three sizes sum to
  // less than 20 to its coefficient-wise product first) and just above; Eigen's GEMM just below it
  // (3 rows; 4 columns), its stack-sized blocks, its coefficient-wise product and matrix-vector
  // ones.
  for (const Shape s :
       {Shape{128, 785, 100}, Shape{96, 785, 100}, Shape{785, 128, 100}, Shape{100, 128, 785},
        Shape{300, 1000, 50}, Shape{161, 130, 40}, Shape{136, 140, 13}, Shape{152, 200, 25},
        Shape{33, 70, 17}, Shape{40, 100, 9}, Shape{40, 30, 20}, Shape{4, 11, 5}, Shape{7, 30, 6},
        Shape{3, 40, 20}, Shape{40, 30, 4}, Shape{5, 3, 4}, Shape{1, 300, 200},
        Shape{300, 200, 1}}) {
    // Which kernel computes the product, whichever way its operands are stored.
    const bool own = detail::own_gemm_serves(s.r, s.c, s.k);
    CAPTURE(s.r, s.k, s.c, own);
    const Matrix A = rng.normal(s.r, s.k), B = rng.normal(s.k, s.c);
    const Matrix At = A.transpose(), Bt = B.transpose();
    const Matrix base = rng.normal(s.r, s.c), zero = Matrix::Zero(s.r, s.c);
    // An assignment does not read dst: NaN there must not show in the product.
    const Matrix nan = Matrix::Constant(s.r, s.c, std::numeric_limits<Scalar>::quiet_NaN());
    Matrix expected(s.r, s.c), got = nan;

    detail::gemm_kernel(MatrixMap(got.data(), s.r, s.c), A, B, false);
    CHECK(error_over_bound(got, zero, A, B) <= 1);
    expected.noalias() = A * B;
    if (!own) CHECK(got == expected);
    const Matrix plain = got;

    // From transposed storage: the same numbers from the own kernel, which sums in one order
    // whatever the storage; Eigen's own numbers from Eigen's kernel.
    got = nan;
    detail::gemm_kernel(MatrixMap(got.data(), s.r, s.c), At.transpose(), Bt.transpose(), false);
    CHECK(error_over_bound(got, zero, A, B) <= 1);
    expected.noalias() = At.transpose() * Bt.transpose();
    if (!own) CHECK(got == expected);
    if (own) CHECK(got == plain);

    got = base;
    detail::gemm_kernel(MatrixMap(got.data(), s.r, s.c), A, Bt.transpose(), true);
    CHECK(error_over_bound(got, base, A, B) <= 1);
    expected = base;
    expected.noalias() += A * Bt.transpose();
    if (!own) CHECK(got == expected);

    // A block of dst's columns, and one of its rows (whose outer stride is not its row count),
    // as a split product writes them: the product to rounding, the other entries untouched, and
    // the same numbers as the whole product where the own kernel computes both.
    Matrix whole = base;
    detail::gemm_kernel(MatrixMap(whole.data(), s.r, s.c), At.transpose(), B, true);
    if (s.c > 2) {
      const Index first = 1, len = s.c - 2;
      got = base;
      detail::gemm_kernel(MatrixMap(got.data(), s.r, s.c).middleCols(first, len), At.transpose(),
                          B.middleCols(first, len), true);
      CHECK(error_over_bound(got.middleCols(first, len), base.middleCols(first, len), A,
                             B.middleCols(first, len)) <= 1);
      CHECK(got.col(0) == base.col(0));
      CHECK(got.col(s.c - 1) == base.col(s.c - 1));
      if (own && detail::own_gemm_serves(s.r, len, s.k)) {
        CHECK(got.middleCols(first, len) == whole.middleCols(first, len));
      }
      // The same block of B's columns stored by rows: its rows lie s.c apart, not len.
      const Matrix by_columns = got;
      got = base;
      detail::gemm_kernel(MatrixMap(got.data(), s.r, s.c).middleCols(first, len), At.transpose(),
                          Bt.transpose().middleCols(first, len), true);
      CHECK(error_over_bound(got.middleCols(first, len), base.middleCols(first, len), A,
                             B.middleCols(first, len)) <= 1);
      CHECK(got.col(0) == base.col(0));
      if (own && detail::own_gemm_serves(s.r, len, s.k)) CHECK(got == by_columns);
    }
    if (s.r > 2) {
      const Index first = 1, len = s.r - 2;
      got = base;
      detail::gemm_kernel(MatrixMap(got.data(), s.r, s.c).middleRows(first, len),
                          At.transpose().middleRows(first, len), B, true);
      CHECK(error_over_bound(got.middleRows(first, len), base.middleRows(first, len),
                             A.middleRows(first, len), B) <= 1);
      CHECK(got.row(0) == base.row(0));
      CHECK(got.row(s.r - 1) == base.row(s.r - 1));
      if (own && detail::own_gemm_serves(len, s.c, s.k)) {
        CHECK(got.middleRows(first, len) == whole.middleRows(first, len));
      }
    }
  }
  // The blocks go back to the thread's pool and are taken from it again: a second product of
  // the same shape leaves the pool as the first left it.
  release_pooled_memory();
  const Matrix A = rng.normal(128, 785), B = rng.normal(785, 100);
  Matrix C(128, 100);
  detail::gemm_kernel(MatrixMap(C.data(), 128, 100), A, B, false);
  const std::size_t pooled = pooled_bytes();
  if (!detail::own_gemm_serves(128, 100, 785)) {
    const detail::PooledGemmBlocking blocking(128, 100, 785, true);
    REQUIRE(blocking.needs_heap());
    CHECK(pooled >= (blocking.size_a() + blocking.size_b()) * sizeof(Scalar));
  } else {
    CHECK(pooled > 0);
  }
  detail::gemm_kernel(MatrixMap(C.data(), 128, 100), A, B, false);
  CHECK(pooled_bytes() == pooled);
}

TEST_CASE("a triangular solve gives Eigen's solution bit for bit, its large blocks from the pool",
          "[level3]") {
  Rng rng(13);
  // 300 x 300 against 300 columns needs blocks past Eigen's stack limit; 20 x 20 does not.
  for (const Index n : {Index(300), Index(20)}) {
    for (const Index m : {Index(1), Index(7), n}) {
      CAPTURE(n, m);
      Matrix t = rng.normal(n, n);
      t.diagonal() = t.diagonal().cwiseAbs().array() + Scalar(n);  // well conditioned
      const Matrix r = rng.normal(n, m);
      for (const bool lower : {true, false}) {
        for (const bool transposed : {false, true}) {
          CAPTURE(lower, transposed);
          Matrix expected = r;
          if (lower && !transposed) t.triangularView<Eigen::Lower>().solveInPlace(expected);
          if (lower && transposed) {
            t.triangularView<Eigen::Lower>().transpose().solveInPlace(expected);
          }
          if (!lower && !transposed) t.triangularView<Eigen::Upper>().solveInPlace(expected);
          if (!lower && transposed) {
            t.triangularView<Eigen::Upper>().transpose().solveInPlace(expected);
          }
          Matrix got = r;
          detail::triangular_solve_kernel(t, lower, transposed, got);
          CHECK(got == expected);
        }
      }
    }
  }
  release_pooled_memory();
  const Matrix t = Matrix::Identity(300, 300);
  Matrix r = rng.normal(300, 300);
  detail::triangular_solve_kernel(t, true, false, r);
  const std::size_t pooled = pooled_bytes();
  CHECK(pooled > 0);
  detail::triangular_solve_kernel(t, true, false, r);
  CHECK(pooled_bytes() == pooled);
}

TEST_CASE("a PooledMatrix goes back to the thread's pool", "[level3]") {
  release_pooled_memory();
  {
    detail::PooledMatrix m(200, 300);
    REQUIRE(m->rows() == 200);
    REQUIRE(m->cols() == 300);
    m->setOnes();
    CHECK(m->sum() == Scalar(60000));
  }
  const std::size_t pooled = pooled_bytes();
  CHECK(pooled >= std::size_t(200 * 300) * sizeof(Scalar));
  { detail::PooledMatrix again(300, 200); }
  CHECK(pooled_bytes() == pooled);
}
