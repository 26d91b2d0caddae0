#include <vesta/core/distribution.hpp>

#include <vesta/core/messenger.hpp>
#include <vesta/core/ops.hpp>

#include <atomic>
#include <vector>

#include <fmt/format.h>

namespace vesta {

void set_validation(bool enabled) { detail::validation.store(enabled, std::memory_order_relaxed); }

Independent::Independent(DistributionPtr base, int n) : base_(std::move(base)), n_(n) {
  if (n < 0 || base_->event_dim() + n > 2) {
    throw ValueError(fmt::format("to_event({}): {} has event_dim {}, and a 2-D draw has at most 2",
                                 n, base_->describe(), base_->event_dim()));
  }
}

DistributionPtr Independent::expand(Index rows, Index cols) const {
  return std::make_shared<Independent>(base_->expand(rows, cols), n_);
}

Tensor sum_event_dims(const Tensor& t, int from_dim, int to_dim) {
  if (to_dim <= from_dim) return t;
  if (to_dim >= 2) return sum(t);
  return rowwise_sum(t);  // from event_dim 0 to 1: sum each row
}

Tensor Independent::reduce(const Tensor& t) const {
  return sum_event_dims(t, base_->event_dim(), event_dim());
}

DistributionPtr Distribution::to_event(int n) const {
  if (n == 0) return clone();
  return std::make_shared<Independent>(clone(), n);
}

Tensor Distribution::mean_impl() const {
  throw ValueError(fmt::format("{}: the mean has no closed form here", name()));
}
Tensor Distribution::variance_impl() const {
  throw ValueError(fmt::format("{}: the variance has no closed form here", name()));
}
Tensor Distribution::entropy_impl() const {
  throw ValueError(fmt::format("{}: the entropy has no closed form here", name()));
}

Tensor Distribution::enumerate_support() const {
  throw ValueError(fmt::format(
      "{} has no finite support to enumerate (its support is {}); only families with a finite "
      "support, such as Bernoulli and Categorical, can be summed out",
      name(), support()->name()));
}

Tensor Distribution::enumerate_log_prob_impl() const {
  const Tensor values = enumerate_support();
  if (batch_cols() != 1) {
    throw ShapeError(fmt::format(
        "{}: enumerating its values needs a column of batch entries (R x 1), but the batch shape "
        "is {}",
        describe(), shape_str(batch_rows(), batch_cols())));
  }
  std::vector<Tensor> columns;
  columns.reserve(static_cast<std::size_t>(values.cols()));
  for (Index k = 0; k < values.cols(); ++k) {
    Tensor lp = log_prob(Tensor(values(0, k)));
    if (lp.rows() != batch_rows()) lp = lp + Tensor::zeros(batch_rows(), 1);
    columns.push_back(std::move(lp));
  }
  return hstack(columns);
}

bool Distribution::inside_model_run() { return !handler_stack().empty(); }

void Distribution::keep_invalid_args(std::exception_ptr error) {
  if (!invalid_) invalid_ = std::move(error);
}

void Distribution::throw_invalid_args() const { std::rethrow_exception(invalid_); }

void Distribution::validate_sample(const Tensor& value) const {
  if (!validation_enabled()) return;
  const ConstraintPtr s = support();
  const ConstMatrixMap v = value.value();
  if (v.size() == 1 && s->check_one(*v.data())) return;  // a scalar site's value
  const Index k = s->first_violation(v);
  if (k < 0) return;
  throw ValueError(fmt::format("{}: value{} is {}, but must be in the support {}", name(),
                               entry_str(v.rows(), v.cols(), k), v.data()[k], s->name()));
}

Tensor Distribution::rsample_impl(Rng&) const {
  throw ValueError(fmt::format(
      "{} has no reparameterised sampler (rsample); draw with sample(), whose value carries no "
      "gradient",
      name()));
}

Tensor Distribution::sample_impl(Rng& rng) const { return rsample(rng).detach(); }

DistributionPtr Distribution::expand(Index rows, Index cols) const {
  throw ShapeError(fmt::format("{} cannot be expanded to {}", describe(), shape_str(rows, cols)));
}

std::string Distribution::describe() const {
  return fmt::format("{}({})", name(), shape_str(rows(), cols()));
}

}  // namespace vesta
