#include <vesta/inference/optim.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

namespace vesta {

namespace schedules {
LearningRateSchedule step_decay(Scalar lr, std::int64_t step_size, Scalar gamma) {
  if (step_size < 1) throw ValueError(fmt::format("step_decay: step_size is {}, but must be at least 1", step_size));
  return [=](std::int64_t step) { return lr * std::pow(gamma, Scalar(step / step_size)); };
}
LearningRateSchedule exponential_decay(Scalar lr, Scalar gamma) {
  return [=](std::int64_t step) { return lr * std::pow(gamma, Scalar(step)); };
}
}  // namespace schedules

Optimizer::Optimizer(Scalar lr) {
  if (!(lr > 0) || !std::isfinite(lr)) {
    throw ValueError(fmt::format("optimizer: the learning rate is {}, but must be positive", lr));
  }
  schedule_ = [lr](std::int64_t) { return lr; };
}

void Optimizer::step(ParamStore& store) {
  // Gather the gradients and check them all before changing anything.
  // Gradients are read in place (no copies: this runs every SVI step).
  struct Item {
    std::string name;
    Tensor leaf;
    MatrixMap grad;
  };
  std::vector<Item> items;
  double squared_norm = 0;
  for (const std::string& name : store.names()) {
    const Tensor& leaf = store.entry(name).unconstrained;
    if (!leaf.has_grad()) continue;  // not used since the last step: left as it is
    MatrixMap g = leaf.leaf_grad();
    // A NaN or infinite entry makes the (vectorised) squared norm non-finite, so the entries
    // are searched one by one only then; a finite one can overflow it too, and passes.
    const Scalar g_squared_norm = g.squaredNorm();
    if (!std::isfinite(g_squared_norm)) {
      for (Index k = 0; k < g.size(); ++k) {
        if (!std::isfinite(g.data()[k])) {
          throw ValueError(fmt::format(
              "optimizer: the gradient of param '{}' is {} at entry [{}] ({}); no parameter was "
              "updated",
              name, g.data()[k], k, leaf.shape()));
        }
      }
    }
    squared_norm += static_cast<double>(g_squared_norm);
    items.push_back({name, leaf, g});
  }
  if (max_grad_norm_ > 0) {
    const double norm = std::sqrt(squared_norm);
    if (norm > max_grad_norm_) {
      for (Item& it : items) it.grad *= static_cast<Scalar>(max_grad_norm_ / norm);
    }
  }
  const Scalar lr = schedule_(steps_);
  for (Item& it : items) {
    update(states_[it.name], it.leaf.leaf_values(), it.grad, lr);
    it.leaf.zero_grad();
  }
  ++steps_;
}

Adam::Adam(Scalar lr, Scalar beta1, Scalar beta2, Scalar eps)
    : Optimizer(lr), beta1_(beta1), beta2_(beta2), eps_(eps) {}

void Adam::update(State& s, MatrixMap value, const MatrixRef& grad, Scalar lr) {
  if (grad.cols() > 1 && grad.outerStride() != grad.rows()) {
    Adam::update(s, value, Matrix(grad), lr);  // a strided block, made contiguous
    return;
  }
  if (s.t == 0) {
    s.m = Matrix::Zero(grad.rows(), grad.cols());
    s.v = Matrix::Zero(grad.rows(), grad.cols());
  }
  ++s.t;
  // torch's form, x -= (lr / c1) m / (sqrt(v / c2) + eps) with the bias corrections c1 and
  // c2, with sqrt(v / c2) computed as sqrt(v) / sqrt(c2): one division per entry fewer.
  const Scalar step = lr / (1 - std::pow(beta1_, Scalar(s.t)));
  const Scalar inv_sqrt_c2 = 1 / std::sqrt(1 - std::pow(beta2_, Scalar(s.t)));
  // In chunks that stay in the L1 cache, so that a large parameter's four arrays are read
  // from memory once for the three updates rather than once for each.
  const Index n = value.size(), chunk = 2048;
  for (Index first = 0; first < n; first += chunk) {
    const Index len = std::min(chunk, n - first);
    const Eigen::Map<const Array> g(grad.data() + first, len, 1);
    Eigen::Map<Array> m(s.m.data() + first, len, 1), v(s.v.data() + first, len, 1);
    Eigen::Map<Array> x(value.data() + first, len, 1);
    m = beta1_ * m + (1 - beta1_) * g;
    v = beta2_ * v + (1 - beta2_) * g.square();
    x -= step * m / (v.sqrt() * inv_sqrt_c2 + eps_);
  }
}

ClippedAdam::ClippedAdam(Scalar lr, Scalar clip_norm, Scalar lrd, Scalar beta1, Scalar beta2, Scalar eps)
    : Adam(lr, beta1, beta2, eps), clip_norm_(clip_norm), lrd_(lrd) {
  set_schedule([lr, lrd](std::int64_t step) { return lr * std::pow(lrd, Scalar(step)); });
}

void ClippedAdam::update(State& s, MatrixMap value, const MatrixRef& grad, Scalar lr) {
  Adam::update(s, value, grad.cwiseMax(-clip_norm_).cwiseMin(clip_norm_), lr);
}

SGD::SGD(Scalar lr, Scalar momentum) : Optimizer(lr), momentum_(momentum) {}

void SGD::update(State& s, MatrixMap value, const MatrixRef& grad, Scalar lr) {
  if (momentum_ == 0) {
    value -= lr * grad;
    return;
  }
  // torch: the first step's velocity is the gradient itself.
  if (s.t++ == 0) {
    s.m = grad;
  } else {
    s.m = momentum_ * s.m + grad;
  }
  value -= lr * s.m;
}

RMSProp::RMSProp(Scalar lr, Scalar alpha, Scalar eps) : Optimizer(lr), alpha_(alpha), eps_(eps) {}

void RMSProp::update(State& s, MatrixMap value, const MatrixRef& grad, Scalar lr) {
  if (s.t++ == 0) s.v = Matrix::Zero(grad.rows(), grad.cols());
  s.v = alpha_ * s.v + (1 - alpha_) * grad.cwiseAbs2();
  value.array() -= lr * grad.array() / (s.v.array().sqrt() + eps_);
}

Adagrad::Adagrad(Scalar lr, Scalar eps) : Optimizer(lr), eps_(eps) {}

void Adagrad::update(State& s, MatrixMap value, const MatrixRef& grad, Scalar lr) {
  if (s.t++ == 0) s.v = Matrix::Zero(grad.rows(), grad.cols());
  s.v += grad.cwiseAbs2();
  value.array() -= lr * grad.array() / (s.v.array().sqrt() + eps_);
}

}  // namespace vesta
