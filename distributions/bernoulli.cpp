#include <vesta/distributions/bernoulli.hpp>

#include <cmath>

#include <vesta/core/op_support.hpp>
#include <vesta/core/ops.hpp>
#include <vesta/core/softplus_math.hpp>
#include <vesta/distributions/params.hpp>

namespace vesta {

namespace {

// x l - softplus(l), the cross-entropy log-likelihood of values x in [0, 1] under logits l
// of the same shape, as one node: a VAE's likelihood scores every pixel of every image, the
// largest elementwise term of its step, and one pass forward and back replaces three.
// d/dl = x - sigmoid(l), d/dx = l.
Tensor soft_target_log_prob(const Tensor& logits, const Tensor& value) {
  const Operand L = Operand::of(logits), X = Operand::of(value);
  const auto log_prob = [](const auto& x, const auto& l) {
    return x * l - detail::softplus_array(l);
  };
  // A large batch is cut into stretches of entries, one per thread (core/parallel.hpp); a
  // small one is one stretch.
  const int parts = detail::elementwise_parts(L.size());
  auto fill = [&](Scalar* out) {
    detail::for_each_stretch(L.size(), parts, [&](int, Index first, Index len) {
      ArrayMap(out + first, len, 1) =
          log_prob(ConstArrayMap(X.value + first, len, 1), ConstArrayMap(L.value + first, len, 1));
    });
  };
  if (!L.requires_grad() && !X.requires_grad()) {
    return constant_result(L.rows, L.cols, fill);
  }
  return recorded_result(
      L.rows, L.cols, fill,
      [ln = L.node, xn = X.node, lv = L.stable(), xv = X.stable(), parts](Node& y) {
        if (ln != nullptr) {
          detail::accumulate_in_stretches(*ln, parts, [&](Index first, Index len) {
            const ConstArrayMap g(y.adj + first, len, 1), l(lv + first, len, 1),
                x(xv + first, len, 1);
            return g * (x - l.logistic());
          });
        }
        if (xn != nullptr) {
          detail::accumulate_in_stretches(*xn, parts, [&](Index first, Index len) {
            return ConstArrayMap(y.adj + first, len, 1) * ConstArrayMap(lv + first, len, 1);
          });
        }
      });
}

// A constant 0/1 mask of the entries of `t` that satisfy `pred`, as a `where` condition.
template <class Pred>
Tensor mask(const Tensor& t, Pred pred) {
  return Tensor(Matrix(t.value().unaryExpr([&](Scalar v) { return Scalar(pred(v) ? 1 : 0); })));
}

}  // namespace

Bernoulli::Bernoulli(Tensor param, bool is_logits, bool soft_targets)
    : param_(std::move(param)), is_logits_(is_logits), soft_targets_(soft_targets) {
  validate_args([&] {
    if (is_logits_) {
      // A sum is NaN when an entry is (or when infinities of both signs meet): a vectorised
      // screen, searched entry by entry only when it fails.
      if (std::isnan(param_.value().sum())) {
        detail::check_each("Bernoulli", "logits", param_, "real (not NaN)",
                           [](Scalar v) { return !std::isnan(v); });
      }
    } else {
      detail::check_probability("Bernoulli", "probs", param_);
    }
  });
}

Bernoulli Bernoulli::from_probs(Tensor probs) { return Bernoulli(std::move(probs), false); }
Bernoulli Bernoulli::from_logits(Tensor logits) { return Bernoulli(std::move(logits), true); }

// A copy: the parameter was checked when this Bernoulli was made (and a failed check is kept).
Bernoulli Bernoulli::with_soft_targets() const {
  Bernoulli b(*this);
  b.soft_targets_ = true;
  return b;
}

ConstraintPtr Bernoulli::support() const {
  return soft_targets_ ? constraints::unit_interval() : constraints::boolean();
}

Tensor Bernoulli::probs() const { return is_logits_ ? sigmoid(param_) : param_; }

Tensor Bernoulli::logits() const {
  // log p - log(1 - p): -inf at p = 0 and +inf at p = 1.
  return is_logits_ ? param_ : log(param_) - log1p(-param_);
}

Tensor Bernoulli::sample_impl(Rng& rng) const {
  const ConstMatrixMap t = param_.value();
  return constant_result(rows(), cols(), [&](Scalar* x) {
    rng.fill_uniform(x, t.size());  // u, then overwritten by x
    for (Index k = 0; k < t.size(); ++k) {
      const Scalar v = t.data()[k];
      const Scalar p = is_logits_ ? Scalar(1) / (Scalar(1) + std::exp(-v)) : v;
      x[k] = x[k] < p ? Scalar(1) : Scalar(0);  // u in [0, 1): P(u < p) = p
    }
  });
}

Tensor Bernoulli::log_prob_impl(const Tensor& value) const {
  validate_sample(value);
  if (soft_targets_) {
    // x log p + (1 - x) log(1 - p). From logits l, log p = -softplus(-l) and
    // log(1 - p) = -softplus(l), so it is x l - softplus(l): exact for any l.
    if (is_logits_) {
      if (value.rows() == param_.rows() && value.cols() == param_.cols()) {
        return soft_target_log_prob(param_, value);
      }
      return value * param_ - softplus(param_);  // broadcasting
    }
    // From probabilities: each log sees 1 (or 0) where its weight x (or 1 - x) is 0, so that
    // p = 0 or 1 there gives 0 rather than 0 * -inf.
    const Tensor positive = mask(value, [](Scalar v) { return v > 0; });
    const Tensor below_one = mask(value, [](Scalar v) { return v < 1; });
    return value * log(where(positive, param_, 1)) +
           (1 - value) * log1p(-where(below_one, param_, 0));
  }
  const Tensor one = value.requires_grad() ? value.detach() : value;  // a constant condition
  if (is_logits_) return where(one, log_sigmoid(param_), log_sigmoid(-param_));
  // log p where the value is 1 plus log(1 - p) where it is 0. Each log sees 1 (or 0) in
  // place of the unchosen entries, so p = 0 or 1 there cannot make its gradient NaN.
  return log(where(one, param_, 1)) + log1p(-where(one, 0, param_));
}

Tensor Bernoulli::enumerate_support() const {
  if (soft_targets_) return Distribution::enumerate_support();  // throws: [0, 1] is not finite
  Matrix values(1, 2);
  values << 0, 1;
  return Tensor(std::move(values));
}

DistributionPtr Bernoulli::expand(Index rows, Index cols) const {
  return std::make_shared<Bernoulli>(
      Bernoulli(detail::broadcast_to(param_, rows, cols), is_logits_, soft_targets_));
}

Tensor Bernoulli::mean_impl() const { return probs(); }

Tensor Bernoulli::variance_impl() const {
  // p (1 - p) = sigmoid(l) sigmoid(-l), accurate for either p near 0 or 1.
  return is_logits_ ? sigmoid(param_) * sigmoid(-param_) : param_ * (1 - param_);
}

Tensor Bernoulli::entropy_impl() const {
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
