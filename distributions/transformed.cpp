#include <vesta/distributions/transformed.hpp>

#include <fmt/format.h>

#include <vesta/core/ops.hpp>

namespace vesta {

TransformedDistribution::TransformedDistribution(DistributionPtr base, ConstraintPtr support)
    : base_(std::move(base)), support_(std::move(support)) {
  if (!base_ || !support_)
    throw ValueError("TransformedDistribution: the base and the support must not be null");
  if (!support_->is_continuous()) {
    throw ValueError(fmt::format(
        "TransformedDistribution: support {} has no bijection from the reals", support_->name()));
  }
  if (base_->event_dim() < support_->event_dim()) {
    throw ValueError(fmt::format(
        "TransformedDistribution: {} acts on events of dimension {}, but {} has event_dim {}; "
        "use to_event on the base",
        support_->name(), support_->event_dim(), base_->describe(), base_->event_dim()));
  }
}

int TransformedDistribution::event_dim() const { return base_->event_dim(); }

Tensor TransformedDistribution::rsample_impl(Rng& rng) const {
  last_x_ = base_->rsample(rng);
  last_y_ = support_->transform(last_x_);
  return last_y_;
}

Tensor TransformedDistribution::sample_impl(Rng& rng) const {
  return support_->transform(base_->sample(rng)).detach();
}

Tensor TransformedDistribution::log_prob_impl(const Tensor& value) const {
  // A value that is not our own draw (replayed, observed) is pulled back: T^-1(value) does not
  // depend on the parameters, so a constant is exact for their gradient.
  Tensor x;
  if (value.same_as(last_y_)) {
    x = last_x_;
  } else {
    validate_sample(value);
    x = Tensor(support_->inverse(value.matrix()));
  }
  return base_->log_prob(x) -
         sum_event_dims(support_->log_abs_det_jacobian(x), support_->event_dim(), event_dim());
}

DistributionPtr TransformedDistribution::expand(Index rows, Index cols) const {
  return std::make_shared<TransformedDistribution>(
      base_->expand(rows, cols - (this->cols() - base_->cols())), support_);
}

}  // namespace vesta
