// softplus(x) = log(1 + exp(x)) on arrays, in one vectorised pass: the function of softplus and
// log_sigmoid, of the logistic cross-entropy (Bernoulli on logits) and of a softplus-
// parameterised scale. A VAE's step evaluates it on every hidden unit and every pixel.
//
// It is computed as max(x, 0) + log1p(exp(-|x|)), which never overflows. The tail,
// log1p(t) for t = exp(-|x|) in (0, 1], is 2 atanh(s) with s = t / (2 + t) in (0, 1/3]:
// the series 2 (s + s^3 / 3 + s^5 / 5 + ...) loses no accuracy near t = 0 (where log(1 + t)
// would round to 0 although softplus(-20) is 2e-9), and enough terms for the scalar type's
// precision (7 for float, 16 for double: the first term left out is below half an ulp of the
// sum) cost less than a general log1p, which takes a log and a division besides.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>

#include <Eigen/Core>

#include <vesta/core/scalar.hpp>

namespace vesta::detail {

/// log1p(exp(-|x|)) entrywise, as an Eigen functor with a packet path.
struct SoftplusTailOp {
  // Terms of the series in s: s^(2k + 1) / (2k + 1) for k < kTerms.
  static constexpr int kTerms = sizeof(Scalar) == 4 ? 7 : 16;
  static constexpr std::array<Scalar, kTerms> coefficients() {
    std::array<Scalar, kTerms> c{};
    for (int k = 0; k < kTerms; ++k) c[std::size_t(k)] = Scalar(1) / Scalar(2 * k + 1);
    return c;
  }

  Scalar operator()(Scalar x) const { return std::log1p(std::exp(-std::abs(x))); }

  template <class Packet>
  Packet packetOp(const Packet& x) const {
    namespace ei = Eigen::internal;
    static constexpr std::array<Scalar, kTerms> c = coefficients();
    const Packet t = ei::pexp(ei::pnegate(ei::pabs(x)));
    const Packet s = ei::pdiv(t, ei::padd(t, ei::pset1<Packet>(Scalar(2))));
    const Packet s2 = ei::pmul(s, s);
    Packet sum = ei::pset1<Packet>(c[kTerms - 1]);
    for (int k = kTerms - 2; k >= 0; --k) {
      sum = ei::pmadd(sum, s2, ei::pset1<Packet>(c[std::size_t(k)]));
    }
    return ei::pmul(ei::padd(s, s), sum);
  }
};

/// log1p(exp(-|x|)) of every entry of the array expression `x`.
template <class ArrayExpr>
auto softplus_tail(const ArrayExpr& x) {
  return x.unaryExpr(SoftplusTailOp{});
}

/// softplus(x) = log(1 + exp(x)) of every entry of the array expression `x`.
template <class ArrayExpr>
auto softplus_array(const ArrayExpr& x) {
  return x.max(Scalar(0)) + softplus_tail(x);
}

}  // namespace vesta::detail

namespace Eigen::internal {
template <>
struct functor_traits<vesta::detail::SoftplusTailOp> {
  enum {
    Cost = functor_traits<scalar_exp_op<vesta::Scalar>>::Cost +
           4 * NumTraits<vesta::Scalar>::MulCost +
           vesta::detail::SoftplusTailOp::kTerms * NumTraits<vesta::Scalar>::AddCost,
    PacketAccess =
        (packet_traits<vesta::Scalar>::HasExp != 0) && (packet_traits<vesta::Scalar>::HasDiv != 0)
  };
};
}  // namespace Eigen::internal
