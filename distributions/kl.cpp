// The closed-form KL divergences, all in one table so a reader finds every formula here.
// Each is written with Tensor ops, so it is differentiable in both distributions' parameters.
#include <vesta/distributions/kl.hpp>

#include <algorithm>
#include <map>
#include <mutex>
#include <utility>

#include <fmt/format.h>

#include <vesta/core/op_support.hpp>
#include <vesta/core/ops.hpp>
#include <vesta/distributions/bernoulli.hpp>
#include <vesta/distributions/beta.hpp>
#include <vesta/distributions/categorical.hpp>
#include <vesta/distributions/delta.hpp>
#include <vesta/distributions/dirichlet.hpp>
#include <vesta/distributions/exponential.hpp>
#include <vesta/distributions/gamma.hpp>
#include <vesta/distributions/laplace.hpp>
#include <vesta/distributions/log_normal.hpp>
#include <vesta/distributions/multivariate_normal.hpp>
#include <vesta/distributions/normal.hpp>
#include <vesta/distributions/params.hpp>

namespace vesta {

namespace {

// KL between two Normals given their locations and scales (also LogNormal's: KL is
// invariant under the shared bijection exp).
Tensor normal_kl(const Tensor& mp, const Tensor& sp, const Tensor& mq, const Tensor& sq) {
  const Tensor ratio = sp / sq;
  return Scalar(0.5) * (square(ratio) + square((mp - mq) / sq) - 1) - log(ratio);
}

// log B(a, b) = lgamma(a) + lgamma(b) - lgamma(a + b).
Tensor log_beta(const Tensor& a, const Tensor& b) { return lgamma(a) + lgamma(b) - lgamma(a + b); }

// x * (log x - log y), taken as 0 where x = 0 (the limit), for discrete KLs.
Tensor xlogx_over_y(const Tensor& x, const Tensor& log_x, const Tensor& log_y) {
  const Tensor positive(Matrix((x.value().array() > 0).cast<Scalar>().matrix()));
  return where(positive, x * (where(positive, log_x, 0) - where(positive, log_y, 0)), 0);
}

// The table of formulas, keyed by the pair of families.
using Key = std::pair<std::type_index, std::type_index>;

template <class P, class Q, class F>
void add(std::map<Key, KlFormula>& m, F f) {
  m[{typeid(P), typeid(Q)}] = [f](const Distribution& p, const Distribution& q) {
    return f(static_cast<const P&>(p), static_cast<const Q&>(q));
  };
}

std::map<Key, KlFormula> builtin_formulas() {
  std::map<Key, KlFormula> m;
  add<Normal, Normal>(m, [](const Normal& p, const Normal& q) {
    // An expanded Normal's loc and scale broadcast against its batch shape: so does the KL.
    return detail::broadcast_to(normal_kl(p.loc(), p.scale(), q.loc(), q.scale()),
                                std::max(p.rows(), q.rows()), std::max(p.cols(), q.cols()));
  });
  add<LogNormal, LogNormal>(m, [](const LogNormal& p, const LogNormal& q) {
    return normal_kl(p.loc(), p.scale(), q.loc(), q.scale());
  });
  add<Exponential, Exponential>(m, [](const Exponential& p, const Exponential& q) {
    // log(rate_p / rate_q) + rate_q / rate_p - 1
    const Tensor r = q.rate() / p.rate();
    return r - log(r) - 1;
  });
  add<Laplace, Laplace>(m, [](const Laplace& p, const Laplace& q) {
    // log(b_q / b_p) + |mu_p - mu_q| / b_q + (b_p / b_q) exp(-|mu_p - mu_q| / b_p) - 1
    const Tensor d = abs(p.loc() - q.loc());
    const Tensor r = p.scale() / q.scale();
    return -log(r) + d / q.scale() + r * exp(-d / p.scale()) - 1;
  });
  add<Gamma, Gamma>(m, [](const Gamma& p, const Gamma& q) {
    // (a_p - a_q) psi(a_p) - lgamma(a_p) + lgamma(a_q) + a_q (log b_p - log b_q)
    //   + a_p (b_q - b_p) / b_p, with a the concentration and b the rate.
    const Tensor& ap = p.concentration();
    const Tensor& aq = q.concentration();
    const Tensor& bp = p.rate();
    const Tensor& bq = q.rate();
    return (ap - aq) * digamma(ap) - lgamma(ap) + lgamma(aq) + aq * (log(bp) - log(bq)) +
           ap * (bq - bp) / bp;
  });
  add<Beta, Beta>(m, [](const Beta& p, const Beta& q) {
    const Tensor& a1 = p.concentration1();
    const Tensor& b1 = p.concentration0();
    const Tensor& a2 = q.concentration1();
    const Tensor& b2 = q.concentration0();
    return log_beta(a2, b2) - log_beta(a1, b1) + (a1 - a2) * digamma(a1) + (b1 - b2) * digamma(b1) +
           (a2 - a1 + b2 - b1) * digamma(a1 + b1);
  });
  add<Dirichlet, Dirichlet>(m, [](const Dirichlet& p, const Dirichlet& q) {
    // Per row: lgamma(sum a) - sum lgamma(a) - lgamma(sum b) + sum lgamma(b)
    //   + sum (a - b) (psi(a) - psi(sum a)).
    const auto [R, K] = detail::broadcast_shape("KL(Dirichlet || Dirichlet)",
                                                {&p.concentration(), &q.concentration()});
    const Tensor a = detail::broadcast_to(p.concentration(), R, K);
    const Tensor b = detail::broadcast_to(q.concentration(), R, K);
    const Tensor a0 = rowwise_sum(a);
    return lgamma(a0) - rowwise_sum(lgamma(a)) - lgamma(rowwise_sum(b)) + rowwise_sum(lgamma(b)) +
           rowwise_sum((a - b) * (digamma(a) - digamma(a0)));
  });
  add<Bernoulli, Bernoulli>(m, [](const Bernoulli& p, const Bernoulli& q) {
    const Tensor pp = p.probs();
    return xlogx_over_y(pp, log_sigmoid(p.logits()), log_sigmoid(q.logits())) +
           xlogx_over_y(1 - pp, log_sigmoid(-p.logits()), log_sigmoid(-q.logits()));
  });
  add<Categorical, Categorical>(m, [](const Categorical& p, const Categorical& q) {
    return rowwise_sum(xlogx_over_y(p.probs(), p.logits(), q.logits()));
  });
  add<MultivariateNormal, MultivariateNormal>(
      m, [](const MultivariateNormal& p, const MultivariateNormal& q) {
        // 1/2 [ tr(S_q^-1 S_p) + (m_q - m_p)^T S_q^-1 (m_q - m_p) - D + log|S_q| - log|S_p| ]
        // with S = L L^T: tr(S_q^-1 S_p) = ||L_q^-1 L_p||_F^2, the quadratic form is
        // ||L_q^-1 (m_q - m_p)||^2 per row of loc, and log|S| = 2 sum log diag L.
        const Index D = p.dim();
        if (q.dim() != D) {
          throw ShapeError(fmt::format(
              "kl_divergence: MultivariateNormal of dimension {} against one of {}", D, q.dim()));
        }
        if (p.has_scale_per_row() || q.has_scale_per_row()) {
          // A factor per row (of either): the same terms row by row. Column k of a factor is the
          // run of columns [k D, (k + 1) D) of its row, so L_q^-1 L_p is D solves.
          const Tensor Lp = p.scale_tril_rows();
          const Tensor Lq = q.scale_tril_rows();
          Tensor trace;
          for (Index k = 0; k < D; ++k) {
            const Tensor t =
                rowwise_sum(square(rowwise_solve_triangular(Lq, slice_cols(Lp, k * D, D))));
            trace = k == 0 ? t : trace + t;
          }
          const Tensor y = rowwise_solve_triangular(Lq, q.loc() - p.loc());
          const Tensor kl = Scalar(0.5) * (trace + rowwise_sum(square(y)) - Scalar(D)) +
                            q.half_log_det() - p.half_log_det();
          return detail::broadcast_to(kl, p.rows(), 1);
        }
        const Tensor& Lp = p.scale_tril();
        const Tensor& Lq = q.scale_tril();
        const Tensor M = solve_triangular(Lq, Lp);
        const Tensor diff = transpose(q.loc() - p.loc());  // D x R
        const Tensor y = solve_triangular(Lq, diff);
        return Scalar(0.5) * (sum(square(M)) + transpose(colwise_sum(square(y))) - Scalar(D)) +
               q.half_log_det() - p.half_log_det();
      });
  return m;
}

struct Registry {
  std::mutex mutex;
  std::map<Key, KlFormula> formulas = builtin_formulas();
};

Registry& registry() {
  static Registry r;
  return r;
}

const KlFormula* find(const Distribution& p, const Distribution& q) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.formulas.find({typeid(p), typeid(q)});
  return it == r.formulas.end() ? nullptr : &it->second;
}

}  // namespace

void register_kl(std::type_index p, std::type_index q, KlFormula formula) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.formulas[{p, q}] = std::move(formula);
}

bool has_kl_divergence(const Distribution& p, const Distribution& q) {
  if (dynamic_cast<const Delta*>(&p) != nullptr) return true;
  const auto* ip = dynamic_cast<const Independent*>(&p);
  const auto* iq = dynamic_cast<const Independent*>(&q);
  if (ip != nullptr && iq != nullptr) {
    return ip->reinterpreted_dims() == iq->reinterpreted_dims() &&
           has_kl_divergence(*ip->base(), *iq->base());
  }
  return find(p, q) != nullptr;
}

Tensor kl_divergence(const Distribution& p, const Distribution& q) {
  // A point mass: KL(delta_v || q) = log_density - log q(v), whatever q is (Pyro's -log q(v)
  // when log_density is 0; a Delta standing in for a density at a drawn point, as autoguides
  // use, carries that density as its log_density).
  if (const auto* d = dynamic_cast<const Delta*>(&p))
    return d->log_prob(d->value()) - q.log_prob(d->value());
  // to_event on both sides: the base KL, summed over the reinterpreted dimensions.
  const auto* ip = dynamic_cast<const Independent*>(&p);
  const auto* iq = dynamic_cast<const Independent*>(&q);
  if (ip != nullptr && iq != nullptr && ip->reinterpreted_dims() == iq->reinterpreted_dims()) {
    return ip->reduce(kl_divergence(*ip->base(), *iq->base()));
  }
  const KlFormula* f = find(p, q);
  if (f == nullptr) {
    throw ValueError(fmt::format(
        "kl_divergence: no formula is registered for KL({} || {}); estimate it by Monte Carlo "
        "or add one with register_kl",
        p.name(), q.name()));
  }
  return (*f)(p, q);
}

Tensor normal_kl_to_centered_sum(const Tensor& loc, const Tensor& scale,
                                 const Tensor& prior_scale) {
  const Operand M = Operand::of(loc), S = Operand::of(scale), P = Operand::of(prior_scale);
  if (S.rows != M.rows || S.cols != M.cols)
    throw_shape_mismatch("normal_kl_to_centered_sum", M, S, "must be equal");
  const bool p_scalar = P.rows == 1 && P.cols == 1;
  if (!p_scalar && (P.rows != M.rows || P.cols != M.cols)) {
    throw_shape_mismatch("normal_kl_to_centered_sum", M, P,
                         "must be equal (or the prior scale 1x1)");
  }
  // KL(N(m, s) || N(0, p)) = log p - log s + (s^2 + m^2) / (2 p^2) - 1/2, summed over the
  // `len` entries from `first` (all of them, or one block of a large layer's: sum_in_blocks, so
  // that the result does not depend on how the op was cut; core/parallel.hpp).
  const auto block_sum = [&](Index first, Index len) {
    const ConstArrayMap m(M.value + first, len, 1), s(S.value + first, len, 1);
    if (p_scalar) {
      const Scalar p = P.value[0];
      return Scalar((Scalar(0.5) * (s.square() + m.square()) / (p * p) - s.log()).sum());
    }
    const ConstArrayMap p(P.value + first, len, 1);
    return Scalar(
        (p.log() - s.log() + Scalar(0.5) * (s.square() + m.square()) / p.square() - Scalar(0.5))
            .sum());
  };
  const Index n = M.size();
  const int parts = detail::elementwise_parts(n);
  auto fill = [&](Scalar* out) {
    const Scalar sum = detail::sum_in_blocks(n, parts, block_sum);
    out[0] = p_scalar ? sum + Scalar(n) * (std::log(P.value[0]) - Scalar(0.5)) : sum;
  };
  if (!M.requires_grad() && !S.requires_grad() && !P.requires_grad())
    return constant_result(1, 1, fill);
  return recorded_result(
      1, 1, fill,
      [mv = M.stable(), sv = S.stable(), pv = P.stable(), mn = M.node, sn = S.node, pn = P.node,
       rows = M.rows, cols = M.cols, p_scalar, parts](Node& y) {
        const Scalar g = y.adj[0];
        const ConstArrayMap m(mv, rows, cols), s(sv, rows, cols);
        if (p_scalar) {
          const Scalar p = pv[0], inv_p2 = 1 / (p * p);
          if (parts == 1) {
            if (mn != nullptr) mn->accumulate(g * inv_p2 * m);
            if (sn != nullptr) sn->accumulate(g * (s * inv_p2 - s.inverse()));
          } else {
            // A large layer's gradients stretch by stretch, one per thread.
            if (mn != nullptr) {
              detail::accumulate_in_stretches(*mn, parts, [&](Index first, Index len) {
                return g * inv_p2 * ConstArrayMap(mv + first, len, 1);
              });
            }
            if (sn != nullptr) {
              detail::accumulate_in_stretches(*sn, parts, [&](Index first, Index len) {
                const ConstArrayMap sp(sv + first, len, 1);
                return g * (sp * inv_p2 - sp.inverse());
              });
            }
          }
          if (pn != nullptr) {
            // d/dp: 1/p - (s^2 + m^2) / p^3, summed over the entries.
            const Scalar d = Scalar(rows * cols) / p - (s.square() + m.square()).sum() * inv_p2 / p;
            pn->accumulate(Array::Constant(1, 1, g * d));
          }
        } else {
          const ConstArrayMap p(pv, rows, cols);
          if (mn != nullptr) mn->accumulate(g * m / p.square());
          if (sn != nullptr) sn->accumulate(g * (s / p.square() - s.inverse()));
          if (pn != nullptr)
            pn->accumulate(g * (p.inverse() - (s.square() + m.square()) / p.cube()));
        }
      });
}

}  // namespace vesta
