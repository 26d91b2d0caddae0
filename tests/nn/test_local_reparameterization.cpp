// local_reparameterized_draw: the fused mean + sqrt(variance) * eps of the local
// reparameterisation trick — its values, its gradients against finite differences, its errors.
#include <catch2/catch.hpp>

#include <vesta/vesta.hpp>

#include "support/gradcheck.hpp"

using namespace vesta;
using Catch::Matchers::Contains;
using vesta::testing::check_gradients;
using vesta::testing::random_matrix;

TEST_CASE("local_reparameterized_draw is mean + sqrt(variance) * eps with eps from the generator",
          "[nn]") {
  std::mt19937_64 gen(5);
  const Matrix mean = random_matrix(4, 3, -2, 2, gen), var = random_matrix(4, 3, 0.1, 3, gen);
  Rng rng(11), same(11);
  const Matrix eps = same.normal(4, 3);
  const Matrix expected = (mean.array() + var.array().sqrt() * eps.array()).matrix();
  CHECK(local_reparameterized_draw(Tensor(mean), Tensor(var), rng).matrix().isApprox(expected));
  CHECK(rng == same);  // drew exactly the noise, nothing more
  // The same values when either input is differentiable.
  Rng r1(11), r2(11);
  CHECK(local_reparameterized_draw(Tensor::variable(mean), Tensor(var), r1)
            .matrix()
            .isApprox(expected));
  CHECK(local_reparameterized_draw(Tensor(mean), Tensor::variable(var), r2)
            .matrix()
            .isApprox(expected));
  // A zero variance gives the mean and a finite gradient.
  const Tensor v0 = Tensor::variable(Matrix::Zero(4, 3));
  Rng r3(11);
  const Tensor out = local_reparameterized_draw(Tensor(mean), v0, r3);
  CHECK(out.matrix().isApprox(mean));
  sum(out).backward();
  CHECK(v0.grad().allFinite());
  tape().reset();
}

#if !VESTA_SCALAR_IS_FLOAT  // finite differences need double precision
TEST_CASE("local_reparameterized_draw's gradients match finite differences", "[nn][gradients]") {
  std::mt19937_64 gen(6);
  const Matrix mean = random_matrix(5, 2, -2, 2, gen), var = random_matrix(5, 2, 0.2, 2, gen);
  check_gradients("local_reparameterized_draw",
                  [](const std::vector<Tensor>& x) {
                    Rng rng(3);  // the same noise on every evaluation
                    return local_reparameterized_draw(x[0], x[1], rng);
                  },
                  {mean, var});
  tape().reset();
}
#endif

TEST_CASE("local_reparameterized_draw refuses shapes that differ, naming both", "[nn]") {
  Rng rng(1);
  CHECK_THROWS_WITH(
      local_reparameterized_draw(Tensor(Matrix::Zero(2, 3)), Tensor(Matrix::Ones(3, 2)), rng),
      Contains("local_reparameterized_draw") && Contains("2x3") && Contains("3x2"));
}
