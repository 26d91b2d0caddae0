#include <vesta/inference/mcmc/adaptation.hpp>

#include <algorithm>
#include <cmath>

namespace vesta {

DualAveraging::DualAveraging(double target, double gamma, double t0, double kappa)
    : target_(target), gamma_(gamma), t0_(t0), kappa_(kappa) {}

void DualAveraging::restart(double step_size) {
  mu_ = std::log(10 * step_size);
  s_bar_ = 0;
  x_bar_ = 0;
  counter_ = 0;
}

double DualAveraging::update(double accept_stat) {
  // Hoffman & Gelman 2014, eq. (6): H_t averages (target - statistic); x_t follows it from mu,
  // and x_bar averages the x_t with weights t^-kappa.
  ++counter_;
  const double a = std::isfinite(accept_stat) ? std::min(1.0, accept_stat) : 0.0;
  const double t = static_cast<double>(counter_);
  const double eta = 1.0 / (t + t0_);
  s_bar_ = (1 - eta) * s_bar_ + eta * (target_ - a);
  const double x = mu_ - s_bar_ * std::sqrt(t) / gamma_;
  const double w = std::pow(t, -kappa_);
  x_bar_ = (1 - w) * x_bar_ + w * x;
  return std::exp(x);
}

double DualAveraging::final_step_size() const { return std::exp(x_bar_); }

RunningCovariance::RunningCovariance(Eigen::Index dim, bool dense) : dense_(dense) {
  mean_ = Eigen::VectorXd::Zero(dim);
  m2_ = Eigen::MatrixXd::Zero(dim, dense ? dim : 1);
}

void RunningCovariance::add(const Eigen::VectorXd& q) {
  ++n_;
  const Eigen::VectorXd delta = q - mean_;
  mean_ += delta / static_cast<double>(n_);
  if (dense_) {
    m2_.noalias() += (q - mean_) * delta.transpose();
  } else {
    m2_.col(0).array() += (q - mean_).array() * delta.array();
  }
}

void RunningCovariance::reset() {
  n_ = 0;
  mean_.setZero();
  m2_.setZero();
}

Eigen::MatrixXd RunningCovariance::regularised() const {
  const double n = static_cast<double>(n_);
  Eigen::MatrixXd s = m2_ / std::max(n - 1, 1.0);
  s *= n / (n + 5);
  const double shrink = 1e-3 * 5 / (n + 5);
  if (dense_) {
    s.diagonal().array() += shrink;
    s = 0.5 * (s + s.transpose()).eval();  // exactly symmetric for the Cholesky factor
  } else {
    s.array() += shrink;
  }
  return s;
}

AdaptationSchedule::AdaptationSchedule(long num_warmup, long init_buffer, long term_buffer,
                                       long base_window)
    : num_warmup_(num_warmup),
      init_buffer_(init_buffer),
      term_buffer_(term_buffer),
      base_window_(base_window) {
  if (num_warmup < 20) {
    adapt_metric_ = false;
    return;
  }
  if (init_buffer + term_buffer + base_window > num_warmup) {
    init_buffer_ = static_cast<long>(0.15 * static_cast<double>(num_warmup));
    term_buffer_ = static_cast<long>(0.1 * static_cast<double>(num_warmup));
    base_window_ = num_warmup - (init_buffer_ + term_buffer_);
  }
  // Window ends: each window twice the last; a window whose successor would not fit before
  // the final buffer is stretched to reach it.
  const long last = num_warmup_ - term_buffer_ - 1;  // the last iteration of the last window
  long start = init_buffer_;
  long size = base_window_;
  while (start <= last) {
    long end = start + size - 1;
    if (end + 2 * size > last) end = last;  // the next window would not fit: stretch this one
    ends_.push_back(end);
    start = end + 1;
    size *= 2;
  }
}

bool AdaptationSchedule::in_window(long i) const {
  return adapt_metric_ && i >= init_buffer_ && i < num_warmup_ - term_buffer_;
}

bool AdaptationSchedule::window_ends(long i) const {
  return adapt_metric_ && std::find(ends_.begin(), ends_.end(), i) != ends_.end();
}

}  // namespace vesta
