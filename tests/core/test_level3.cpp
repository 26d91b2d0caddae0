// Eigen's level-3 kernels on blocks from the buffer pool (core/level3.hpp): a product and a
// triangular solve give Eigen's own results bit for bit, and their large blocks, like a
// PooledMatrix, go back to the calling thread's pool and are taken from it again.
#include <cstddef>

#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

using namespace vesta;

TEST_CASE("one GEMM gives Eigen's product bit for bit, its large blocks from the pool",
          "[level3]") {
  Rng rng(12);
  struct Shape {
    Index r, k, c;
  };
  // Blocks past Eigen's stack limit (a batch of 96 or 128 against a 785 x 100 layer, and the
  // backward products of that layer), blocks on the stack, the coefficient-wise product and
  // matrix-vector ones.
  for (const Shape s :
       {Shape{128, 785, 100}, Shape{96, 785, 100}, Shape{785, 128, 100}, Shape{100, 128, 785},
        Shape{40, 30, 20}, Shape{5, 3, 4}, Shape{1, 300, 200}, Shape{300, 200, 1}}) {
    CAPTURE(s.r, s.k, s.c);
    const Matrix A = rng.normal(s.r, s.k), B = rng.normal(s.k, s.c);
    const Matrix At = A.transpose(), Bt = B.transpose();
    const Matrix base = rng.normal(s.r, s.c);
    Matrix expected(s.r, s.c);
    expected.noalias() = A * B;
    Matrix got(s.r, s.c);
    detail::gemm_kernel(MatrixMap(got.data(), s.r, s.c), A, B, false);
    CHECK(got == expected);
    detail::gemm_kernel(MatrixMap(got.data(), s.r, s.c), At.transpose(), Bt.transpose(), false);
    expected.noalias() = At.transpose() * Bt.transpose();
    CHECK(got == expected);
    got = base;
    expected = base;
    detail::gemm_kernel(MatrixMap(got.data(), s.r, s.c), A, Bt.transpose(), true);
    expected.noalias() += A * Bt.transpose();
    CHECK(got == expected);
    if (s.c > 2) {
      // A block of dst's columns, as a split product writes it.
      got = base;
      expected = base;
      const Index first = 1, len = s.c - 2;
      detail::gemm_kernel(MatrixMap(got.data(), s.r, s.c).middleCols(first, len), At.transpose(),
                          B.middleCols(first, len), true);
      expected.middleCols(first, len).noalias() += At.transpose() * B.middleCols(first, len);
      CHECK(got == expected);
    }
  }
  // The blocks go back to the thread's pool and are taken from it again: a second product of
  // the same shape leaves the pool as the first left it.
  release_pooled_memory();
  const Matrix A = rng.normal(128, 785), B = rng.normal(785, 100);
  Matrix C(128, 100);
  detail::gemm_kernel(MatrixMap(C.data(), 128, 100), A, B, false);
  const std::size_t pooled = pooled_bytes();
  const detail::PooledGemmBlocking blocking(128, 100, 785, true);
  REQUIRE(blocking.needs_heap());
  CHECK(pooled >= (blocking.size_a() + blocking.size_b()) * sizeof(Scalar));
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
