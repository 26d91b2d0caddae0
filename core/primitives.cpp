// The path of a primitive, top to bottom: build the Site with the primitive's default
// behaviour, apply_stack() runs the handlers' process() from the innermost outwards, then the
// default behaviour fills in what no handler did (draw, read the parameter), then the
// handlers' postprocess(). The plate's own story is in plate.cpp.
#include <vesta/core/primitives.hpp>

#include <fmt/format.h>

#include <vesta/core/handlers/trace.hpp>
#include <vesta/core/ops.hpp>
#include <vesta/core/param_store.hpp>

namespace vesta {

void apply_stack(Site& site) {
  const auto stack = handler_stack();
  Messenger* const* const end = stack.data() + stack.size();
  // From the innermost handler outwards; `outermost` ends at the last one that processed the
  // site (the outermost, unless one stopped it).
  Messenger* const* outermost = end;
  while (outermost != stack.data()) {
    --outermost;
    (*outermost)->process(site);
    if (site.stop) break;
  }
  if (site.fn != nullptr) site.fn(site);
  for (Messenger* const* h = outermost; h != end; ++h) (*h)->postprocess(site);
}

namespace {

void require_name(const char* primitive, const std::string& name) {
  if (name.empty()) {
    throw ValueError(fmt::format(
        "{}: the name is empty; every site needs a name of its own (inference matches model and "
        "guide sites by name)",
        primitive));
  }
}

// The innermost trace recording this run, if any: errors name the program it records.
const TraceMessenger* recording_trace() {
  const auto stack = handler_stack();
  for (auto it = stack.rbegin(); it != stack.rend(); ++it) {
    if (const auto* t = dynamic_cast<const TraceMessenger*>(*it)) return t;
  }
  return nullptr;
}

// Rethrows the exception being handled with the site named first ("guide site 'w' (param
// 'w_scale'): Normal: scale[1] is inf, ...").
[[noreturn]] void rethrow_at(const Site& site) {
  const TraceMessenger* recording = recording_trace();
  const Trace* t = recording != nullptr ? &recording->get_trace() : nullptr;
  try {
    throw;
  } catch (const ArgumentError& e) {
    rethrow_with_context(site_context(site, t, &e.argument()));
  } catch (...) {
    rethrow_with_context(site_context(site, t, nullptr));
  }
}

// sample's default: draw from the distribution (rsample when it is reparameterisable) unless a
// handler or the caller gave the value; first, the distribution's parameters are checked here,
// so that an invalid one is reported by the site that uses it.
void sample_default(Site& site) {
  try {
    site.dist->check_args();
    if (site.value.empty() && !site.observed) {
      Rng& rng = site.rng();
      site.value = site.dist->has_rsample() ? site.dist->rsample(rng) : site.dist->sample(rng);
    }
  } catch (const Error&) {
    rethrow_at(site);
  }
}

// param's default: read the parameter (creating it from its initial value on first use)
// unless a handler (substitute) gave the value.
void param_default(Site& site) {
  if (!site.value.empty()) return;
  ParamStore& store = param_store();
  const ParamRequest& asked = *site.param;
  const ParamStore::Entry* e = nullptr;
  if (asked.init != nullptr) {
    e = &store.get_or_create(site.name, *asked.init, asked.constraint);
  } else if (store.contains(site.name)) {
    e = &store.get_or_create(site.name, Matrix(), asked.constraint);
  } else if (asked.init_fn != nullptr) {
    e = &store.get_or_create(site.name, (*asked.init_fn)(), asked.constraint);
  } else {
    e = &store.entry(site.name);
  }
  site.value = e->constraint->transform(e->unconstrained);
}

}  // namespace

// The primitives' arguments are taken by reference and moved into the Site once: a step makes
// every site anew.
Tensor detail::sample_site(const std::string& name, DistributionPtr& dist,
                           std::optional<Tensor>& obs, bool auxiliary, Infer infer) {
  require_name("sample", name);
  if (!dist) throw ValueError(fmt::format("sample '{}': the distribution is null", name));
  Site site;
  site.kind = SiteKind::sample;
  site.name = name;
  site.fn = &sample_default;
  site.dist = std::move(dist);
  site.auxiliary = auxiliary;
  site.enumerate = infer.enumerate;
  if (obs) {
    site.value = std::move(*obs);
    site.observed = true;
  }
  apply_stack(site);
  return std::move(site.value);  // the records have their copies
}

namespace {

Tensor param_site(const std::string& name, const ConstMatrixMap* init, const ParamInit* init_fn,
                  ConstraintPtr constraint) {
  require_name("param", name);
  const ParamRequest asked{init, init_fn, std::move(constraint)};
  Site site;
  site.kind = SiteKind::param;
  site.name = name;
  site.fn = &param_default;
  site.param = &asked;
  apply_stack(site);
  return std::move(site.value);
}

// A factor site's "distribution": its log_prob is the given term, whatever the value. A
// global one is a single number that counts once wherever the site sits.
class Factor final : public Family<Factor> {
 public:
  Factor(Tensor log_factor, bool global)
      : log_factor_(global ? sum(log_factor) : std::move(log_factor)), global_(global) {}
  std::string name() const override { return global_ ? "GlobalFactor" : "Factor"; }
  Index rows() const override { return log_factor_.rows(); }
  Index cols() const override { return log_factor_.cols(); }
  ConstraintPtr support() const override { return constraints::real(); }
  bool log_prob_is_folded_term() const override { return true; }
  bool log_prob_is_global_term() const override { return global_; }
  // A plate broadcasts a per-datum term only when it came with the plate's entries already.
  DistributionPtr expand(Index rows, Index cols) const override {
    throw ShapeError(fmt::format(
        "a factor scores each datum, so inside a plate its term needs one entry per plate entry "
        "({}), not {}; for a term about global variables, counted once, use global_factor",
        shape_str(rows, cols), log_factor_.shape()));
  }

 protected:
  Tensor log_prob_impl(const Tensor&) const override { return log_factor_; }

 private:
  Tensor log_factor_;
  bool global_;
};

}  // namespace

Tensor sample(const std::string& name, DistributionPtr dist, std::optional<Tensor> obs) {
  return detail::sample_site(name, dist, obs, false, {});
}

Tensor sample(const std::string& name, DistributionPtr dist, Infer infer) {
  std::optional<Tensor> none;
  return detail::sample_site(name, dist, none, false, infer);
}

Tensor sample_auxiliary(const std::string& name, DistributionPtr dist) {
  std::optional<Tensor> none;
  return detail::sample_site(name, dist, none, true, {});
}

Tensor param(const std::string& name, const Matrix& init, ConstraintPtr constraint) {
  const ConstMatrixMap view(init.data(), init.rows(), init.cols());
  return param_site(name, &view, nullptr, std::move(constraint));
}

Tensor param(const std::string& name, Scalar init, ConstraintPtr constraint) {
  const ConstMatrixMap view(&init, 1, 1);
  return param_site(name, &view, nullptr, std::move(constraint));
}

Tensor param(const std::string& name, const ParamInit& init, ConstraintPtr constraint) {
  return param_site(name, nullptr, &init, std::move(constraint));
}

Tensor param(const std::string& name) { return param_site(name, nullptr, nullptr, nullptr); }

void factor(const std::string& name, const Tensor& log_factor) {
  sample(name, detail::site_distribution(Factor(log_factor, false)), Tensor());
}

void global_factor(const std::string& name, const Tensor& log_factor) {
  sample(name, detail::site_distribution(Factor(log_factor, true)), Tensor());
}

Tensor deterministic(const std::string& name, const Tensor& value) {
  require_name("deterministic", name);
  Site site;
  site.kind = SiteKind::deterministic;
  site.name = name;
  site.value = value;
  apply_stack(site);
  return std::move(site.value);
}

const char* to_string(SiteKind kind) {
  switch (kind) {
    case SiteKind::sample:
      return "sample";
    case SiteKind::param:
      return "param";
    case SiteKind::plate:
      return "plate";
    case SiteKind::deterministic:
      return "deterministic";
  }
  return "?";
}

std::string Site::describe() const { return fmt::format("{} '{}'", to_string(kind), name); }

Rng& Site::rng() {
  SiteExtras* e = extras_.get();
  return e != nullptr && e->rng ? *e->rng : thread_rng();
}

}  // namespace vesta
