#include <vesta/nn/local_reparameterization.hpp>

#include <cmath>
#include <cstddef>
#include <limits>

#include <fmt/format.h>

#include <vesta/core/op_support.hpp>
#include <vesta/core/ops.hpp>
#include <vesta/core/tape.hpp>
#include <vesta/distributions/params.hpp>

namespace vesta {

Tensor local_reparameterized_draw(const Tensor& mean, const Tensor& variance, Rng& rng) {
  const Operand M = Operand::of(mean), V = Operand::of(variance);
  if (M.rows != V.rows || M.cols != V.cols) {
    throw_shape_mismatch("local_reparameterized_draw", M, V, "must be equal");
  }
  const Index n = M.size();
  constexpr Scalar kTiny = std::numeric_limits<Scalar>::min();
  if (!V.requires_grad()) {
    // Only the mean (if anything) needs a gradient, and it passes through unchanged.
    // The noise is drawn into the result's own memory and turned into the draw in place.
    auto fill = [&](Scalar* out) {
      rng.fill_normal(out, n);
      ArrayMap y(out, M.rows, M.cols);
      y = M.array() + (V.array() + kTiny).sqrt() * y;
    };
    if (!M.requires_grad()) return constant_result(M.rows, M.cols, fill);
    return recorded_result(M.rows, M.cols, fill,
                           [mn = M.node](Node& y) { mn->accumulate(y.adj_array()); });
  }
  // The backward step needs d out / d variance = ε / (2 sd): drawn into tape memory, so the
  // forward pass allocates nothing else, and turned into that ratio in place.
  Scalar* ratio = tape().allocate(static_cast<std::size_t>(n));
  rng.fill_normal(ratio, n);
  auto fill = [&](Scalar* out) {
    ArrayMap(out, M.rows, M.cols) = (V.array() + kTiny).sqrt();
    const Scalar* m = M.value;
    for (Index i = 0; i < n; ++i) {
      const Scalar eps = ratio[i], sd = out[i];
      out[i] = m[i] + eps * sd;
      ratio[i] = Scalar(0.5) * eps / sd;
    }
  };
  return recorded_result(M.rows, M.cols, fill,
                         [mn = M.node, vn = V.node, ratio, rows = M.rows, cols = M.cols](Node& y) {
                           if (mn != nullptr) mn->accumulate(y.adj_array());
                           vn->accumulate(y.adj_array() * ConstArrayMap(ratio, rows, cols));
                         });
}

}  // namespace vesta

namespace vesta {

LocalReparameterizedNormal::LocalReparameterizedNormal(Tensor mean, Tensor variance,
                                                       Tensor global_term)
    : mean_(std::move(mean)),
      variance_(std::move(variance)),
      global_term_(global_term.size() == 1 ? std::move(global_term) : sum(global_term)) {
  if (mean_.rows() != variance_.rows() || mean_.cols() != variance_.cols()) {
    throw ShapeError(
        fmt::format("LocalReparameterizedNormal: mean is {} but variance is {}; they must be equal",
                    mean_.shape(), variance_.shape()));
  }
  validate_args([&] {
    detail::check_each("LocalReparameterizedNormal", "variance", variance_, "nonnegative",
                       [](Scalar v) { return v >= 0 && std::isfinite(v); });
    detail::check_finite("LocalReparameterizedNormal", "global_term", global_term_);
  });
}

Tensor LocalReparameterizedNormal::rsample_impl(Rng& rng) const {
  return local_reparameterized_draw(mean_, variance_, rng);
}

Tensor LocalReparameterizedNormal::log_prob_impl(const Tensor&) const { return global_term_; }

}  // namespace vesta
