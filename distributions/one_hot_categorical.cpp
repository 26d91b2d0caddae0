#include <vesta/distributions/one_hot_categorical.hpp>

#include <fmt/format.h>

#include <vesta/core/ops.hpp>
#include <vesta/distributions/params.hpp>

namespace vesta {

namespace {
constexpr const char* kFamily = "OneHotCategorical";
}  // namespace

OneHotCategorical OneHotCategorical::from_probs(Tensor probs) {
  return OneHotCategorical(Categorical(std::move(probs), false, kFamily));
}

OneHotCategorical OneHotCategorical::from_logits(Tensor logits) {
  return OneHotCategorical(Categorical(std::move(logits), true, kFamily));
}

Tensor OneHotCategorical::sample_impl(Rng& rng) const {
  const std::vector<Index> idx = categorical_.draw_indices(rng);
  Matrix x = Matrix::Zero(rows(), cols());
  for (Index r = 0; r < x.rows(); ++r) x(r, idx[static_cast<std::size_t>(r)]) = 1;
  return Tensor(std::move(x));
}

Tensor OneHotCategorical::log_prob_impl(const Tensor& value) const {
  validate_sample(value);
  const Index R = rows();
  if (value.cols() != cols() || (value.rows() != R && value.rows() != 1 && R != 1)) {
    throw ShapeError(
        fmt::format("OneHotCategorical: value is {}, but must be one-hot rows of {} "
                    "that broadcast against the batch shape {}",
                    value.shape(), cols(), shape_str(R, 1)));
  }
  // The value marks the one entry of each row to keep. From probs, the log is taken after
  // the pick: the log of an unpicked 0 would make the gradient NaN.
  const Tensor marked = value.requires_grad() ? value.detach() : value;  // a constant condition
  const Tensor& param = categorical_.param_;
  if (!categorical_.is_logits_) return log(rowwise_sum(where(marked, param, 0)));
  return rowwise_sum(where(marked, rowwise_log_softmax(param), 0));
}

DistributionPtr OneHotCategorical::expand(Index rows, Index cols) const {
  const Tensor& param = categorical_.param_;
  if (cols != num_categories() || (rows != param.rows() && param.rows() != 1)) {
    return Distribution::expand(rows, cols);  // throws ShapeError naming both shapes
  }
  return std::make_shared<OneHotCategorical>(OneHotCategorical(
      Categorical(detail::broadcast_to(param, rows, cols), categorical_.is_logits_, kFamily)));
}

Tensor OneHotCategorical::mean_impl() const { return probs(); }

Tensor OneHotCategorical::variance_impl() const {
  const Tensor p = probs();
  return p * (1 - p);
}

}  // namespace vesta
