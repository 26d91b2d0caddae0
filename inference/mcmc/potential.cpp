#include <vesta/inference/mcmc/potential.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include <vesta/core/handlers/block.hpp>
#include <vesta/core/handlers/seed.hpp>
#include <vesta/core/handlers/trace.hpp>
#include <vesta/core/op_support.hpp>
#include <vesta/core/ops.hpp>
#include <vesta/core/tape.hpp>
#include <vesta/inference/enumeration.hpp>

namespace vesta {

namespace {

// The sites MCMC cannot move, each an error naming the site and saying what to do instead.
void check_latent(const Site& site) {
  if (site.dist->log_prob_is_folded_term()) {
    throw ValueError(fmt::format(
        "MCMC: latent site '{}' ({}) draws a value whose log_prob is a folded-in term (a layer's "
        "weight KL), which has no density for MCMC to sample; use a distribution over the "
        "weights themselves",
        site.name, site.dist->describe()));
  }
  const ConstraintPtr support = site.dist->support();
  if (!support->is_continuous()) {
    throw ValueError(fmt::format(
        "MCMC: latent site '{}' ({}) has discrete support {}; HMC and NUTS move in continuous "
        "space only: mark it for enumeration (Infer{{.enumerate = true}}, or "
        "config_enumerate(model)) to sum it out, or observe it",
        site.name, site.dist->describe(), support->name()));
  }
}

void check_no_subsampling(const Site& site) {
  for (const PlateFrame& f : site.frames) {
    if (f.subsample_size != f.size) {
      throw ValueError(fmt::format(
          "MCMC: site '{}' is in plate '{}', which sees {} of {} entries; MCMC needs the whole "
          "data set's log-density (a subsample makes the potential random): drop the subsample",
          site.name, f.name, f.subsample_size, f.size));
    }
  }
}

// Runs the model for a prototype trace: hidden from the caller's handlers, each latent at the
// init strategy's value (drawn from `rng` when given, else the thread's generator).
Trace prototype_trace(const std::function<void()>& run_model, const InitStrategy& init, Rng* rng) {
  BlockMessenger hide;
  TraceMessenger tr("model");
  InitMessenger at_init(init);
  std::optional<SeedMessenger> seeded;
  if (rng != nullptr) seeded.emplace(rng->next_u64());
  run_model();
  return tr.take_trace();
}

// The sum of 1x1 terms as one tape node (instead of a chain of additions): the potential's
// log-joint gathers one term per site and per transform.
Tensor sum_of_terms(const std::vector<Tensor>& terms) {
  if (terms.empty()) return Tensor(Scalar(0));
  if (terms.size() == 1) return terms.front();
  Scalar total = 0;
  std::size_t recorded = 0;
  for (const Tensor& t : terms) {
    const Operand o = Operand::of(t);
    total += o.value[0];
    recorded += o.requires_grad() ? 1 : 0;
  }
  auto fill = [total](Scalar* out) { out[0] = total; };
  if (recorded == 0) return constant_result(1, 1, fill);
  Node** inputs = tape().allocate<Node*>(recorded);
  std::size_t k = 0;
  for (const Tensor& t : terms) {
    const Operand o = Operand::of(t);
    if (o.requires_grad()) inputs[k++] = o.node;
  }
  return recorded_result(1, 1, fill, [inputs, recorded](Node& y) {
    for (std::size_t i = 0; i < recorded; ++i) inputs[i]->accumulate(y.adj_array());
  });
}

}  // namespace

// The per-evaluation state: one leaf per latent site (reused across evaluations, so an
// evaluation allocates nothing but the tape's nodes and the model's own distributions), the
// fixed params as constants, and the handler that sets sites and sums their terms.
class Potential::Runner {
 public:
  explicit Runner(const Potential& u) : u_(u) {
    for (const LatentBlock& b : u.latents_)
      leaves_.push_back(Tensor::variable(Matrix::Zero(b.rows, b.ucols)));
    for (const auto& [name, value] : u.params_) params_.emplace_back(value);
  }

  // When set, the run appends each deterministic site's (name, value) here.
  std::vector<std::pair<std::string, Matrix>>* capture = nullptr;

  double run(const Eigen::VectorXd& q, Eigen::VectorXd* grad) {
    TapeStep step;
    for (std::size_t k = 0; k < leaves_.size(); ++k) {
      const LatentBlock& b = u_.latents_[k];
      leaves_[k].leaf_values() =
          Eigen::Map<const Eigen::MatrixXd>(q.data() + b.offset, b.rows, b.ucols).cast<Scalar>();
    }
    Tensor log_joint;
    terms_.clear();
    if (u_.enumerated_) {
      // The sites are recorded rather than summed as they come, and the enumerated ones
      // summed out afterwards, as TraceEnum_ELBO does.
      run_enumerated([&] {
        terms_.clear();
        TraceMessenger tr(trace_, "model");
        Handler h(*this, false);
        EnumMessenger e(layout_);
        u_.run_model_();
        h.finish();
        if (!e.finish()) throw detail::EnumRelayout{};
      });
      add_enumerated_terms();
    } else {
      Handler h(*this);
      u_.run_model_();
      h.finish();
    }
    log_joint = sum_of_terms(terms_);
    terms_.clear();
    const double lp = static_cast<double>(log_joint.item());
    if (!std::isfinite(lp)) {
      if (grad != nullptr) grad->setZero(u_.dim_);
      return std::numeric_limits<double>::infinity();
    }
    if (grad != nullptr) {
      grad->resize(u_.dim_);
      if (log_joint.requires_grad()) (-log_joint).backward();
      for (std::size_t k = 0; k < leaves_.size(); ++k) {
        const LatentBlock& b = u_.latents_[k];
        auto out = grad->segment(b.offset, b.size());
        if (leaves_[k].has_grad()) {
          out = Eigen::Map<const Vector>(leaves_[k].leaf_grad().data(), b.size()).cast<double>();
          leaves_[k].zero_grad();
        } else {
          out.setZero();
        }
      }
    }
    return -lp;
  }

 private:
  // The log-density terms of the recorded trace, its enumerated sites summed out.
  void add_enumerated_terms() {
    const EnumPlan plan = plan_enumeration(trace_);
    for (const Site* s : plan.ordinary) terms_.push_back(trace_.scaled_log_prob_sum(*s));
    for (const EnumGroup& g : plan.groups) terms_.push_back(group_log_marginal(trace_, g));
    for (const EnumChain& c : plan.chains) terms_.push_back(chain_log_marginal(trace_, c));
  }

  // Sets each latent from q (adding its log-Jacobian) and, when `score_sites`, adds each sample
  // site's weighed log_prob as it comes.
  class Handler : public Messenger {
   public:
    explicit Handler(Runner& r, bool score_sites = true) : r_(r), score_sites_(score_sites) {}
    ~Handler() noexcept(false) override = default;

    void process(Site& site) override {
      if (site.kind == SiteKind::param) {
        set_param(site);
        return;
      }
      if (!site.is_sample() || site.observed || site.enumerated) return;
      const auto& latents = r_.u_.latents_;
      if (next_ >= latents.size() || latents[next_].name != site.name) {
        throw ValueError(fmt::format(
            "MCMC: this run of the model has latent site '{}' where its first run had {}; MCMC "
            "needs the same latent sites, in the same order, in every run",
            site.name, next_ < latents.size() ? "'" + latents[next_].name + "'" : "no more"));
      }
      const LatentBlock& b = latents[next_];
      const Tensor& leaf = r_.leaves_[next_];
      ++next_;
      if (b.identity) {
        site.value = leaf;
        return;
      }
      site.value = b.support->transform(leaf);
      const Tensor log_det = b.support->log_abs_det_jacobian(leaf);
      add(log_det.size() == 1 ? log_det : sum(log_det));
    }

    void postprocess(Site& site) override {
      if (site.kind == SiteKind::deterministic && r_.capture != nullptr) {
        r_.capture->emplace_back(site.name, site.value.matrix());
      }
      if (!site.is_sample() || !score_sites_) return;
      Tensor lp;
      try {
        lp = site.dist->log_prob(site.value);
      } catch (const Error&) {
        rethrow_with_context(fmt::format("model site '{}'", site.name));
      }
      add(masked_scaled_sum(site, lp));
    }

    void finish() const {
      if (next_ != r_.u_.latents_.size()) {
        throw ValueError(fmt::format(
            "MCMC: this run of the model has no latent site '{}', which its first run had; MCMC "
            "needs the same latent sites in every run",
            r_.u_.latents_[next_].name));
      }
    }

   private:
    void add(Tensor term) { r_.terms_.push_back(std::move(term)); }
    void set_param(Site& site) {
      const auto& params = r_.u_.params_;
      // Params are usually read in the order of the first run: try there first.
      std::size_t k = next_param_ < params.size() && params[next_param_].first == site.name
                          ? next_param_
                          : params.size();
      for (std::size_t i = 0; k == params.size() && i < params.size(); ++i) {
        if (params[i].first == site.name) k = i;
      }
      if (k == params.size()) {
        throw ValueError(fmt::format(
            "MCMC: param '{}' was not read by the model's first run; MCMC holds params fixed "
            "at the values they had when it was built, so every param must be read then",
            site.name));
      }
      site.value = r_.params_[k];
      next_param_ = k + 1;
    }

    Runner& r_;
    bool score_sites_;
    std::size_t next_ = 0;
    std::size_t next_param_ = 0;
  };

  const Potential& u_;
  std::vector<Tensor> terms_;  // this evaluation's log-density terms (capacity kept)
  std::vector<Tensor> leaves_;
  std::vector<Tensor> params_;
  detail::EnumLayout layout_;  // models with enumerated sites: their joint values' layout
  Trace trace_;                // and each evaluation's record of the sites
};

Potential::Potential(std::function<void()> run_model, const InitStrategy& init)
    : run_model_(std::move(run_model)) {
  if (!run_model_) throw ValueError("Potential: the model is empty");
  const Trace t = prototype_trace(run_model_, init, nullptr);
  for (const Site& site : t.sites()) {
    if (site.kind == SiteKind::param) {
      params_.emplace_back(site.name, site.value.matrix());
      continue;
    }
    if (site.kind == SiteKind::deterministic) deterministic_.push_back(site.name);
    if (!site.is_sample()) continue;
    check_no_subsampling(site);
    if (site.observed) continue;
    if (site.enumerate) {
      enumerated_ = true;
      continue;
    }
    check_latent(site);
    LatentBlock b;
    b.name = site.name;
    b.support = site.dist->support();
    b.identity = b.support->name() == "real";
    b.rows = site.value.rows();
    b.cols = site.value.cols();
    b.ucols = b.support->unconstrained_cols(b.cols);
    b.offset = dim_;
    dim_ += b.size();
    latents_.push_back(std::move(b));
  }
  initial_point_.resize(dim_);
  for (const LatentBlock& b : latents_) {
    const Matrix u = b.support->inverse(t.site(b.name).value.matrix());
    if (!u.allFinite()) {
      throw ValueError(
          fmt::format("MCMC: the initial value of site '{}' is on the edge of its support {}",
                      b.name, b.support->name()));
    }
    Eigen::Map<Eigen::MatrixXd>(initial_point_.data() + b.offset, b.rows, b.ucols) =
        u.cast<double>();
  }
  runner_ = std::make_unique<Runner>(*this);
}

Potential::Potential(const Potential& other)
    : run_model_(other.run_model_),
      latents_(other.latents_),
      params_(other.params_),
      deterministic_(other.deterministic_),
      dim_(other.dim_),
      initial_point_(other.initial_point_),
      enumerated_(other.enumerated_),
      runner_(std::make_unique<Runner>(*this)) {}

Potential::~Potential() = default;

double Potential::evaluate(const Eigen::VectorXd& q, Eigen::VectorXd* grad) {
  if (q.size() != dim_) {
    throw ShapeError(fmt::format("Potential: q has {} entries, but the model has {} unconstrained",
                                 q.size(), dim_));
  }
  return runner_->run(q, grad);
}

double Potential::value(const Eigen::VectorXd& q) { return evaluate(q, nullptr); }

double Potential::value_and_gradient(const Eigen::VectorXd& q, Eigen::VectorXd& grad) {
  return evaluate(q, &grad);
}

Eigen::VectorXd Potential::point_from(const InitStrategy& init, Rng& rng) const {
  const Trace t = prototype_trace(run_model_, init, &rng);
  Eigen::VectorXd q(dim_);
  for (const LatentBlock& b : latents_) {
    const Site* s = t.find(b.name);
    if (s == nullptr || s->value.rows() != b.rows || s->value.cols() != b.cols) {
      throw ValueError(fmt::format("MCMC: the init run has no latent site '{}' of shape {}", b.name,
                                   shape_str(b.rows, b.cols)));
    }
    const Matrix u = b.support->inverse(s->value.matrix());
    if (!u.allFinite()) {
      throw ValueError(
          fmt::format("MCMC: the initial value of site '{}' is on the edge of its support {}",
                      b.name, b.support->name()));
    }
    Eigen::Map<Eigen::MatrixXd>(q.data() + b.offset, b.rows, b.ucols) = u.cast<double>();
  }
  return q;
}

std::vector<Matrix> Potential::deterministic_values(const Eigen::VectorXd& q) {
  std::vector<std::pair<std::string, Matrix>> captured;
  runner_->capture = &captured;
  try {
    evaluate(q, nullptr);
  } catch (...) {
    runner_->capture = nullptr;
    throw;
  }
  runner_->capture = nullptr;
  std::vector<Matrix> out;
  for (const std::string& name : deterministic_) {
    auto it = std::find_if(captured.begin(), captured.end(),
                           [&](const auto& c) { return c.first == name; });
    if (it == captured.end()) {
      throw ValueError(fmt::format(
          "MCMC: this run of the model has no deterministic site '{}', which its first run had",
          name));
    }
    out.push_back(std::move(it->second));
  }
  return out;
}

std::vector<Matrix> Potential::constrained(const Eigen::VectorXd& q) const {
  std::vector<Matrix> out;
  out.reserve(latents_.size());
  for (const LatentBlock& b : latents_) {
    Matrix u =
        Eigen::Map<const Eigen::MatrixXd>(q.data() + b.offset, b.rows, b.ucols).cast<Scalar>();
    out.push_back(b.identity ? std::move(u) : b.support->transform(Tensor(std::move(u))).matrix());
  }
  return out;
}

}  // namespace vesta
