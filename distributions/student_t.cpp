#include <vesta/distributions/student_t.hpp>

#include <cmath>
#include <limits>
#include <tuple>

#include <boost/math/constants/constants.hpp>

#include <vesta/core/op_support.hpp>
#include <vesta/core/ops.hpp>
#include <vesta/distributions/params.hpp>

namespace vesta {

namespace {
const Scalar kHalfLogPi = static_cast<Scalar>(0.5 * std::log(boost::math::constants::pi<double>()));

}  // namespace

StudentT::StudentT(Tensor df, Tensor loc, Tensor scale)
    : df_(std::move(df)), loc_(std::move(loc)), scale_(std::move(scale)) {
  std::tie(rows_, cols_) = detail::broadcast_shape("StudentT", {&df_, &loc_, &scale_});
  validate_args([&] {
    detail::check_positive("StudentT", "df", df_);
    detail::check_finite("StudentT", "loc", loc_);
    detail::check_positive("StudentT", "scale", scale_);
  });
}

Tensor StudentT::rsample_impl(Rng& rng) const {
  // T = Z / sqrt(V / df) with V ~ Chi2(df) = 2 Gamma(df / 2, 1), independent of Z.
  // Rng::gamma never returns 0, so the ratio is finite. All of Z is drawn first, then V entry
  // by entry, into the result's pooled buffer: no batch-sized temporary.
  const ConstMatrixMap df = df_.value();  // rows_ x cols_, or 1 along a broadcast dimension
  const Tensor t = constant_result(rows_, cols_, [&](Scalar* out) {
    rng.fill_normal(out, rows_ * cols_);
    for (Index j = 0; j < cols_; ++j) {
      for (Index i = 0; i < rows_; ++i) {
        const double d = df(df.rows() == 1 ? 0 : i, df.cols() == 1 ? 0 : j);
        const double v = 2 * double(rng.gamma(Scalar(Scalar(0.5) * Scalar(d))));
        Scalar& z = out[j * rows_ + i];
        z = static_cast<Scalar>(double(z) / std::sqrt(v / d));
      }
    }
  });
  return detail::location_scale(loc_, scale_, t);
}

Tensor StudentT::log_prob_impl(const Tensor& value) const {
  validate_sample(value);
  // log p = lgamma((df+1)/2) - lgamma(df/2) - log(df pi)/2 - log s - (df+1)/2 log(1 + z^2/df).
  const Tensor z = (value - loc_) / scale_;
  const Tensor half_df = Scalar(0.5) * df_;
  const Tensor half_df1 = half_df + Scalar(0.5);
  return lgamma(half_df1) - lgamma(half_df) - Scalar(0.5) * log(df_) - kHalfLogPi - log(scale_) -
         half_df1 * log1p(square(z) / df_);
}

DistributionPtr StudentT::expand(Index rows, Index cols) const {
  return std::make_shared<StudentT>(detail::broadcast_to(df_, rows, cols),
                                    detail::broadcast_to(loc_, rows, cols),
                                    detail::broadcast_to(scale_, rows, cols));
}

Tensor StudentT::df_above(Scalar threshold) const {
  const Matrix df = detail::broadcast_to(df_.detach(), rows_, cols_).matrix();
  return Tensor(Matrix((df.array() > threshold).cast<Scalar>().matrix()));
}

Tensor StudentT::mean_impl() const {
  const Scalar nan = std::numeric_limits<Scalar>::quiet_NaN();
  return where(df_above(1), detail::broadcast_to(loc_, rows_, cols_), nan);
}

Tensor StudentT::variance_impl() const {
  const Scalar nan = std::numeric_limits<Scalar>::quiet_NaN();
  const Scalar inf = std::numeric_limits<Scalar>::infinity();
  const Tensor finite = df_above(2);
  // df / (df - 2) is evaluated only where df > 2; elsewhere df is replaced by 3 so that the
  // unused branch and its gradient stay finite (where() would otherwise pass on a NaN).
  const Tensor safe_df = where(finite, df_, Scalar(3));
  const Tensor var = square(scale_) * safe_df / (safe_df - Scalar(2));
  return where(finite, var, where(df_above(1), inf, nan));
}

Tensor StudentT::entropy_impl() const {
  // H = log s + (df+1)/2 [psi((df+1)/2) - psi(df/2)] + log(df)/2 + log B(df/2, 1/2),
  // with log B(a, 1/2) = lgamma(a) + lgamma(1/2) - lgamma(a + 1/2) and lgamma(1/2) = log(pi)/2
  // (the differential entropy of Student's t, e.g. Lazo & Rathie 1978).
  const Tensor half_df = Scalar(0.5) * df_;
  const Tensor half_df1 = half_df + Scalar(0.5);
  const Tensor log_beta = lgamma(half_df) + kHalfLogPi - lgamma(half_df1);
  return detail::broadcast_to(log(scale_) + half_df1 * (digamma(half_df1) - digamma(half_df)) +
                                  Scalar(0.5) * log(df_) + log_beta,
                              rows_, cols_);
}

}  // namespace vesta
