#include <vesta/nn/dense_variational.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <tuple>

#include <fmt/format.h>

#include <vesta/core/messenger.hpp>
#include <vesta/core/ops.hpp>
#include <vesta/core/param_store.hpp>
#include <vesta/core/primitives.hpp>
#include <vesta/core/softplus_math.hpp>
#include <vesta/distributions/params.hpp>
#include <vesta/nn/local_reparameterization.hpp>

namespace vesta {

namespace {

constexpr double kHalfLog2Pi = 0.91893853320467274178;  // log(2 pi) / 2

// A rows x cols constant of independent random signs, +1 or -1 with probability 1/2 each:
// one bit of the generator per entry, written straight into the Tensor's pooled buffer (a
// batch-sized Matrix would come from the C library, and go back to the system, every step).
Tensor random_signs(Index rows, Index cols, Rng& rng) {
  Scalar* p = nullptr;
  Tensor out = Tensor::uninitialized(rows, cols, &p);
  const Index n = rows * cols;
  for (Index k = 0; k < n; k += 64) {
    const std::uint64_t bits = rng.next_u64();
    const Index m = std::min<Index>(64, n - k);
    // 2 * bit - 1, without a branch (which would be mispredicted half the time).
    for (Index b = 0; b < m; ++b)
      p[k + b] = static_cast<Scalar>(2 * static_cast<int>((bits >> b) & 1) - 1);
  }
  return out;
}

// softplus(rho), outside the tape.
Matrix softplus_values(const Matrix& rho) { return detail::softplus_array(rho.array()).matrix(); }

}  // namespace

const char* to_string(DenseEstimator estimator) {
  switch (estimator) {
    case DenseEstimator::reparameterization:
      return "reparameterization";
    case DenseEstimator::local_reparameterization:
      return "local_reparameterization";
    case DenseEstimator::flipout:
      return "flipout";
  }
  return "?";
}

// ---- DenseVariational ------------------------------------------------------------------

DenseVariational::DenseVariational(std::string prefix, Index in_features, Index out_features,
                                   DenseOptions options)
    : Module(std::move(prefix)),
      in_(in_features),
      out_(out_features),
      options_(std::move(options)) {
  // describe() is virtual, and the derived part is not built yet: name the layer by prefix.
  const std::string who = fmt::format("Bayesian dense layer '{}'", this->prefix());
  if (in_ < 1)
    throw ValueError(fmt::format("{}: in_features is {}, but must be at least 1", who, in_));
  if (out_ < 1)
    throw ValueError(fmt::format("{}: out_features is {}, but must be at least 1", who, out_));
  if (!(options_.kl_factor >= 0) || !std::isfinite(options_.kl_factor)) {
    throw ValueError(
        fmt::format("{}: kl_factor is {}, but must be finite and >= 0", who, options_.kl_factor));
  }
  if (!std::isfinite(options_.init_rho)) {
    throw ValueError(fmt::format("{}: init_rho is {}, but must be finite", who, options_.init_rho));
  }
  std::visit([&who](const auto& p) { p.validate(who); }, options_.prior);
}

ParamInit DenseVariational::loc_init(Index rows) const {
  return [in = in_, out = out_, rows] { return init::torch_linear_default(in, rows, out); };
}

ParamInit DenseVariational::rho_init(Index rows) const {
  return [rho = options_.init_rho, out = out_, rows] { return Matrix::Constant(rows, out, rho); };
}

DenseVariational::Posterior DenseVariational::posterior() const {
  Posterior q;
  q.kernel_loc = param("kernel_loc", in_, out_, loc_init(in_));
  q.kernel_scale = softplus(param("kernel_rho", in_, out_, rho_init(in_)));
  if (options_.bias) {
    q.bias_loc = param("bias_loc", 1, out_, loc_init(1));
    q.bias_scale = softplus(param("bias_rho", 1, out_, rho_init(1)));
  }
  return q;
}

Matrix DenseVariational::stored(const std::string& name, Index rows) const {
  const std::string full = full_name(name);
  if (!param_store().contains(full)) {
    throw ValueError(fmt::format(
        "{}: parameter '{}' does not exist yet; a layer's parameters are made by its first forward "
        "pass (or loaded with param_store().load)",
        describe(), full));
  }
  const Matrix value = param_store().entry(full).unconstrained.matrix();
  if (value.rows() != rows || value.cols() != out_) {
    throw ShapeError(fmt::format(
        "{}: parameter '{}' is {}, but this layer needs {}; another module may use the prefix '{}' "
        "(rename one of them, or clear the ParamStore)",
        describe(), full, shape_str(value.rows(), value.cols()), shape_str(rows, out_), prefix()));
  }
  return value;
}

std::pair<Tensor, Tensor> DenseVariational::sample_weights(const Tensor& loc, const Tensor& scale,
                                                           Rng& rng) {
  Tensor eps = detail::standard_normal(rng, loc.rows(), loc.cols());
  Tensor w = loc + scale * eps;
  return {std::move(w), std::move(eps)};
}

Tensor DenseVariational::part_kl(const Tensor& loc, const Tensor& scale, const Tensor& w,
                                 const Tensor& eps) const {
  if (const auto* normal = std::get_if<NormalPrior>(&options_.prior)) return normal->kl(loc, scale);
  // log q(w) at w = loc + scale * eps is sum(-log scale - log(2 pi) / 2 - eps^2 / 2), the same
  // function of loc and scale for the fixed eps as the Normal density evaluated at w.
  const auto n = static_cast<double>(eps.size());
  const Tensor log_q =
      Scalar(-n * kHalfLog2Pi - 0.5 * static_cast<double>(eps.value().squaredNorm())) -
      sum(log(scale));
  const auto& mixture = std::get<ScaleMixturePrior>(options_.prior);
  return log_q - sum(mixture.log_prob(w));
}

}  // namespace vesta

namespace vesta::detail {

// The distribution of a layer's output at its site: a draw is one forward pass (the layer's
// estimator, with the site's generator), log_prob is -kl_factor * KL, a global term. The
// Monte Carlo KL of a scale-mixture prior uses the weight sample of the draw it scores.
class DenseOutput final : public Family<DenseOutput> {
 public:
  DenseOutput(const DenseVariational& layer, Tensor x, DenseVariational::Posterior q)
      : layer_(&layer), x_(std::move(x)), q_(std::move(q)) {}

  std::string name() const override { return layer_->type_name(); }
  Index rows() const override { return x_.rows(); }
  Index cols() const override { return layer_->out_features(); }
  int event_dim() const override { return 1; }
  ConstraintPtr support() const override { return constraints::real(); }
  bool has_rsample() const override { return true; }
  bool log_prob_is_folded_term() const override { return true; }
  bool log_prob_is_global_term() const override { return true; }

  /// kl_factor times the KL of the kernel, then of the bias: TFP's losses.
  const std::vector<Tensor>& losses() const {
    if (losses_.empty()) {
      const bool monte_carlo = !has_analytic_kl(layer_->options_.prior);
      if (monte_carlo && !draw_) {
        throw ValueError(
            fmt::format("{}: the Monte Carlo KL of its scale-mixture prior needs the layer's own "
                        "weight sample, "
                        "but its site '{}' was given a value by a handler (replay or condition) "
                        "instead of drawing",
                        layer_->describe(), layer_->prefix()));
      }
      const DenseVariational::Draw none;
      const DenseVariational::Draw& d = draw_ ? *draw_ : none;
      auto scaled = [this](const Tensor& kl) {
        return layer_->options_.kl_factor == 1 ? kl : kl * layer_->options_.kl_factor;
      };
      losses_.push_back(
          scaled(layer_->part_kl(q_.kernel_loc, q_.kernel_scale, d.kernel, d.kernel_eps)));
      if (layer_->has_bias()) {
        losses_.push_back(scaled(layer_->part_kl(q_.bias_loc, q_.bias_scale, d.bias, d.bias_eps)));
      }
    }
    return losses_;
  }

 protected:
  Tensor rsample_impl(Rng& rng) const override {
    const bool monte_carlo = !has_analytic_kl(layer_->options_.prior);
    draw_ = layer_->draw(x_, q_, monte_carlo, rng);
    losses_.clear();
    return draw_->output;
  }
  Tensor log_prob_impl(const Tensor&) const override {
    const std::vector<Tensor>& l = losses();
    return l.size() == 1 ? -l[0] : -(l[0] + l[1]);
  }

 private:
  const DenseVariational* layer_;
  Tensor x_;
  DenseVariational::Posterior q_;
  mutable std::optional<DenseVariational::Draw> draw_;
  mutable std::vector<Tensor> losses_;
};

}  // namespace vesta::detail

namespace vesta {

Tensor DenseVariational::operator()(const Tensor& x) {
  if (x.cols() != in_) {
    throw ShapeError(fmt::format("{}: x is {}, but the layer takes {} input columns (kernel {})",
                                 describe(), x.shape(), in_, shape_str(in_, out_)));
  }
  auto output = std::make_shared<detail::DenseOutput>(*this, x, posterior());
  const Tensor y = sample(prefix(), output);
  losses_ = output->losses();
  return options_.activation ? options_.activation(y) : y;
}

Tensor DenseVariational::kl_loss() const {
  if (losses_.empty()) {
    throw ValueError(
        fmt::format("{}: kl_loss() is read before the layer's first forward pass", describe()));
  }
  return losses_.size() == 1 ? losses_[0] : losses_[0] + losses_[1];
}

void DenseVariational::check_bias(const char* what) const {
  if (!options_.bias)
    throw ValueError(fmt::format("{}: {}() is read, but the layer has no bias", describe(), what));
}

Matrix DenseVariational::kernel_loc() const { return stored("kernel_loc", in_); }
Matrix DenseVariational::kernel_scale() const { return softplus_values(stored("kernel_rho", in_)); }

Matrix DenseVariational::bias_loc() const {
  check_bias("bias_loc");
  return stored("bias_loc", 1);
}

Matrix DenseVariational::bias_scale() const {
  check_bias("bias_scale");
  return softplus_values(stored("bias_rho", 1));
}

Normal DenseVariational::kernel_posterior() const {
  return Normal(Tensor(kernel_loc()), Tensor(kernel_scale()));
}
Normal DenseVariational::bias_posterior() const {
  return Normal(Tensor(bias_loc()), Tensor(bias_scale()));
}

// ---- the three estimators ------------------------------------------------------------

DenseVariational::Draw DenseReparameterization::draw(const Tensor& x, const Posterior& q, bool,
                                                     Rng& rng) const {
  Draw d;
  std::tie(d.kernel, d.kernel_eps) = sample_weights(q.kernel_loc, q.kernel_scale, rng);
  d.output = matmul(x, d.kernel);
  if (has_bias()) {
    std::tie(d.bias, d.bias_eps) = sample_weights(q.bias_loc, q.bias_scale, rng);
    d.output = d.output + d.bias;
  }
  return d;
}

DenseVariational::Draw DenseLocalReparameterization::draw(const Tensor& x, const Posterior& q,
                                                          bool need_weight_sample, Rng& rng) const {
  Draw d;
  Tensor mean = matmul(x, q.kernel_loc);
  Tensor var = matmul(square(x), square(q.kernel_scale));
  if (has_bias()) {
    mean = mean + q.bias_loc;
    var = var + square(q.bias_scale);
  }
  d.output = local_reparameterized_draw(mean, var, rng);
  if (need_weight_sample) {
    // No weight matrix is formed above: draw one for the Monte Carlo KL.
    std::tie(d.kernel, d.kernel_eps) = sample_weights(q.kernel_loc, q.kernel_scale, rng);
    if (has_bias()) std::tie(d.bias, d.bias_eps) = sample_weights(q.bias_loc, q.bias_scale, rng);
  }
  return d;
}

DenseVariational::Draw DenseFlipout::draw(const Tensor& x, const Posterior& q,
                                          bool need_weight_sample, Rng& rng) const {
  Draw d;
  d.kernel_eps = detail::standard_normal(rng, in_features(), out_features());
  const Tensor perturbation = q.kernel_scale * d.kernel_eps;
  const Tensor sign_in(random_signs(x.rows(), in_features(), rng));
  const Tensor sign_out(random_signs(x.rows(), out_features(), rng));
  d.output = matmul(x, q.kernel_loc) + matmul(x * sign_in, perturbation) * sign_out;
  // loc + perturbation is a posterior draw (the weights of an example whose signs are all +1).
  if (need_weight_sample) d.kernel = q.kernel_loc + perturbation;
  if (has_bias()) {
    std::tie(d.bias, d.bias_eps) = sample_weights(q.bias_loc, q.bias_scale, rng);
    d.output = d.output + d.bias;
  }
  return d;
}

std::unique_ptr<DenseVariational> make_dense_variational(DenseEstimator estimator,
                                                         std::string prefix, Index in_features,
                                                         Index out_features, DenseOptions options) {
  switch (estimator) {
    case DenseEstimator::reparameterization:
      return std::make_unique<DenseReparameterization>(std::move(prefix), in_features, out_features,
                                                       std::move(options));
    case DenseEstimator::local_reparameterization:
      return std::make_unique<DenseLocalReparameterization>(std::move(prefix), in_features,
                                                            out_features, std::move(options));
    case DenseEstimator::flipout:
      return std::make_unique<DenseFlipout>(std::move(prefix), in_features, out_features,
                                            std::move(options));
  }
  throw ValueError(
      fmt::format("make_dense_variational: unknown estimator {}", static_cast<int>(estimator)));
}

}  // namespace vesta
