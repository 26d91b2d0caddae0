// A user's program, built outside vesta's tree against the installed or the build-tree
// package and compiled without -march (the library may have been built with -march=native).
// It hands Eigen matrices across the library boundary in both directions (allocated on one
// side, freed on the other), calls Eigen code compiled on both sides and fits a Normal guide
// by SVI to a model whose posterior is known, so a disagreement between the two sides about
// Eigen's alignment or layout shows up here as a crash or a wrong number.
#include <vesta/vesta.hpp>

#include <cmath>
#include <cstdio>
#include <utility>

using namespace vesta;

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  std::printf("%-6s %s\n", ok ? "ok" : "FAILED", what);
  if (!ok) ++failures;
}

// z ~ Normal(0, 1); x_i ~ Normal(z, 1), independent given z.
void model(const Matrix& x) {
  const Tensor z = sample("z", Normal(Tensor(Scalar(0)), Tensor(Scalar(1))));
  auto data = plate("data", x.rows());
  sample("x", Normal(z, Tensor(Scalar(1))), Tensor(x));
}

void guide(const Matrix&) {
  const Tensor loc = param("loc", Matrix::Zero(1, 1));
  const Tensor scale = param("scale", Matrix::Ones(1, 1), constraints::positive());
  sample("z", Normal(loc, scale));
}

}  // namespace

int main() {
  std::printf("consumer compiled for: %s\n", Eigen::SimdInstructionSetsInUse());

  // Autodiff through the library: d(x^2)/dx at 3.
  {
    const Tensor x = Tensor::variable(Matrix::Constant(1, 1, 3));
    square(x).backward();
    check(x.grad()(0, 0) == 6, "d(x^2)/dx at 3 is 6");
    tape().reset();
  }

  // Matrices made here move into Tensors (the library frees them); the product comes back as
  // a matrix made by the library (freed here) and agrees with Eigen's product computed here.
  {
    Matrix a = Matrix::Random(37, 19);
    const Matrix b = Matrix::Random(19, 23);
    const Matrix expected = a * b;
    const Tensor A(std::move(a));
    const Tensor B(b);
    const Matrix product = matmul(A, B).matrix();
    check(product.rows() == 37 && product.cols() == 23 &&
              (product - expected).norm() <= 1e-4 * expected.norm(),
          "matmul of matrices made here agrees with Eigen's product");
    bool threw = false;
    try {
      matmul(B, B);
    } catch (const ShapeError&) {
      threw = true;
    }
    check(threw, "a shape error thrown in the library is caught here as vesta::ShapeError");
    tape().reset();
  }

  // The library fills a matrix allocated here with standard normals.
  {
    Matrix draws(2000, 50);
    Rng rng(7);
    rng.fill_normal(draws);
    const double mean = draws.cast<double>().mean();
    const double var = (draws.cast<double>().array() - mean).square().mean();
    check(std::isfinite(mean) && std::abs(mean) < 0.01 && std::abs(var - 1) < 0.02,
          "100000 normals drawn into a matrix made here have mean 0 and variance 1");
  }

  // SVI with a Normal guide on z ~ N(0, 1), x_i ~ N(z, 1): the posterior is
  // N(sum(x) / (n + 1), 1 / (n + 1)), and at it the loss is -log p(x) with no noise.
  {
    const int n = 20;
    Matrix x(n, 1);
    for (int i = 0; i < n; ++i) x(i, 0) = Scalar(1.5 + 0.8 * std::sin(1.7 * i));
    const double sum = x.cast<double>().sum(), sum_sq = x.cast<double>().squaredNorm();
    const double exact_loc = sum / (n + 1), exact_scale = 1 / std::sqrt(n + 1.0);
    const double log_evidence = -0.5 * n * std::log(2 * M_PI) - 0.5 * std::log(n + 1.0) -
                                0.5 * (sum_sq - sum * sum / (n + 1));

    set_rng_seed(2026);
    Adam adam(Scalar(0.02));
    SVI svi(model, guide, adam);
    const int steps = 3000, averaged = 1000;
    double loc = 0, scale = 0, loss = 0;
    bool finite = true;
    for (int t = 1; t <= steps; ++t) {
      const double l = svi.step(x);
      finite = finite && std::isfinite(l);
      if (t > steps - averaged) {
        loss += l / averaged;
        loc += param("loc").item() / averaged;
        scale += param("scale").item() / averaged;
        tape().reset();
      }
    }
    const Matrix stored = param_store().get("loc").matrix();  // a copy made by the library
    tape().reset();
    std::printf("guide N(%.4f, %.4f), exact posterior N(%.4f, %.4f); loss %.4f, -log p(x) %.4f\n",
                loc, scale, exact_loc, exact_scale, loss, -log_evidence);
    check(finite, "every SVI loss is finite");
    check(stored.rows() == 1 && stored.cols() == 1 && std::isfinite(stored(0, 0)),
          "the parameter store hands back its value as a matrix");
    check(std::abs(loc - exact_loc) < 0.05, "the guide's mean is the posterior mean");
    check(std::abs(scale - exact_scale) < 0.05, "the guide's scale is the posterior sd");
    check(std::abs(loss + log_evidence) < 0.1, "the loss reaches -log p(x)");
  }

  std::printf("%s\n", failures == 0 ? "consumer: all checks passed" : "consumer: FAILED");
  return failures == 0 ? 0 : 1;
}
