#include <vesta/distributions/bernoulli.hpp>

#include <cmath>

#include <vesta/core/ops.hpp>
#include <vesta/distributions/params.hpp>

namespace vesta {

namespace {

// A constant 0/1 mask of the entries of `t` that satisfy `pred`, as a `where` condition.
template <class Pred>
Tensor mask(const Tensor& t, Pred pred) {
  return Tensor(Matrix(t.value().unaryExpr([&](Scalar v) { return Scalar(pred(v) ? 1 : 0); })));
}

}  // namespace

Bernoulli::Bernoulli(Tensor param, bool is_logits)
    : param_(std::move(param)), is_logits_(is_logits) {
  if (!validation_enabled()) return;
  if (is_logits_) {
    detail::check_each("Bernoulli", "logits", param_, "real (not NaN)",
                       [](Scalar v) { return !std::isnan(v); });
  } else {
    detail::check_probability("Bernoulli", "probs", param_);
  }
}

Bernoulli Bernoulli::from_probs(Tensor probs) { return Bernoulli(std::move(probs), false); }
Bernoulli Bernoulli::from_logits(Tensor logits) { return Bernoulli(std::move(logits), true); }

Tensor Bernoulli::probs() const { return is_logits_ ? sigmoid(param_) : param_; }

Tensor Bernoulli::logits() const {
  // log p - log(1 - p): -inf at p = 0 and +inf at p = 1.
  return is_logits_ ? param_ : log(param_) - log1p(-param_);
}

Tensor Bernoulli::sample(Rng& rng) const {
  const Matrix u = rng.uniform(rows(), cols());
  const ConstMatrixMap t = param_.value();
  Matrix x(rows(), cols());
  for (Index k = 0; k < x.size(); ++k) {
    const Scalar v = t.data()[k];
    const Scalar p = is_logits_ ? Scalar(1) / (Scalar(1) + std::exp(-v)) : v;
    x.data()[k] = u.data()[k] < p ? Scalar(1) : Scalar(0);  // u in [0, 1): P(u < p) = p
  }
  return Tensor(std::move(x));
}

Tensor Bernoulli::log_prob(const Tensor& value) const {
  validate_sample(value);
  const Tensor one = value.requires_grad() ? value.detach() : value;  // a constant condition
  if (is_logits_) return where(one, log_sigmoid(param_), log_sigmoid(-param_));
  // log p where the value is 1 plus log(1 - p) where it is 0. Each log sees 1 (or 0) in
  // place of the unchosen entries, so p = 0 or 1 there cannot make its gradient NaN.
  return log(where(one, param_, 1)) + log1p(-where(one, 0, param_));
}

DistributionPtr Bernoulli::expand(Index rows, Index cols) const {
  return std::make_shared<Bernoulli>(
      Bernoulli(detail::broadcast_to(param_, rows, cols), is_logits_));
}

Tensor Bernoulli::mean() const { return probs(); }

Tensor Bernoulli::variance() const {
  // p (1 - p) = sigmoid(l) sigmoid(-l), accurate for either p near 0 or 1.
  return is_logits_ ? sigmoid(param_) * sigmoid(-param_) : param_ * (1 - param_);
}

Tensor Bernoulli::entropy() const {
  if (is_logits_) {
    // H = softplus(l) - l sigmoid(l), which is even in l. With a = |l| it is
    // a sigmoid(-a) + softplus(-a): two small positive terms, where the first form cancels
    // two large ones when |l| is large.
    const Tensor a = abs(param_);
    return a * sigmoid(-a) + softplus(-a);
  }
  // -(p log p + (1 - p) log(1 - p)) with 0 log 0 = 0: each log sees 1 where its factor is 0.
  const Tensor& p = param_;
  const Tensor positive = mask(p, [](Scalar v) { return v > 0; });
  const Tensor below_one = mask(p, [](Scalar v) { return v < 1; });
  return -(p * log(where(positive, p, 1)) + (1 - p) * log1p(-where(below_one, p, 0)));
}

}  // namespace vesta
