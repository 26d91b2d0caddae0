#include <vesta/inference/infer_discrete.hpp>

#include <vesta/distributions/categorical.hpp>

namespace vesta::detail {

namespace {

// Records `value` for the enumerated site `s` in `out`, to be replayed.
void choose(Trace& out, const Site& s, Matrix value) {
  Site chosen;
  chosen.kind = SiteKind::sample;
  chosen.name = s.name;
  chosen.dist = s.dist;
  chosen.value = Tensor(std::move(value));
  out.add(chosen);
}

}  // namespace

Trace choose_discrete(const Trace& model_trace, int temperature, Rng& rng) {
  Trace out("infer_discrete");
  const EnumPlan plan = plan_enumeration(model_trace);
  for (const EnumGroup& g : plan.groups) {
    Scalar scale = 1;
    const Matrix table = group_log_table(model_trace, g, scale).matrix();
    // The joint value chosen for each plate entry.
    std::vector<Index> joint(static_cast<std::size_t>(table.rows()));
    if (temperature == 0) {
      for (Index r = 0; r < table.rows(); ++r) table.row(r).maxCoeff(&joint[std::size_t(r)]);
    } else {
      const Matrix drawn = Categorical::from_logits(Tensor(table)).sample(rng).matrix();
      for (Index r = 0; r < table.rows(); ++r) joint[std::size_t(r)] = Index(drawn(r, 0));
    }
    for (const Site* s : g.enumerated) {
      Matrix value(table.rows(), 1);
      const ConstMatrixMap all = s->value.value();
      for (Index r = 0; r < table.rows(); ++r) value(r, 0) = all(0, joint[std::size_t(r)]);
      choose(out, *s, std::move(value));
    }
  }
  for (const EnumChain& c : plan.chains) {
    Scalar scale = 1;
    std::vector<Matrix> factors;
    for (const Tensor& f : chain_log_factors(model_trace, c, scale)) factors.push_back(f.matrix());
    const std::vector<Index> path =
        temperature == 0 ? viterbi(factors) : sample_chain(factors, rng);
    for (std::size_t t = 0; t < path.size(); ++t) {
      const Site& s = *c.states[t];
      choose(out, s, Matrix::Constant(1, 1, s.value(0, path[t])));
    }
  }
  return out;
}

}  // namespace vesta::detail
