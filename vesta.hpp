// vesta: Pyro-style probabilistic programming in C++. This umbrella header brings in the
// whole public API; include the individual headers under <vesta/...> for faster builds.
#pragma once

#include <vesta/config.hpp>

// core: tensors and autodiff
#include <vesta/core/buffer_pool.hpp>
#include <vesta/core/error.hpp>
#include <vesta/core/ops.hpp>
#include <vesta/core/parallel.hpp>
#include <vesta/core/random.hpp>
#include <vesta/core/scalar.hpp>
#include <vesta/core/tape.hpp>
#include <vesta/core/tensor.hpp>
#include <vesta/core/warn.hpp>

// core: the effect-handler engine
#include <vesta/core/constraints.hpp>
#include <vesta/core/distribution.hpp>
#include <vesta/core/handlers/block.hpp>
#include <vesta/core/handlers/condition.hpp>
#include <vesta/core/handlers/mask.hpp>
#include <vesta/core/handlers/replay.hpp>
#include <vesta/core/handlers/scale.hpp>
#include <vesta/core/handlers/seed.hpp>
#include <vesta/core/handlers/substitute.hpp>
#include <vesta/core/handlers/trace.hpp>
#include <vesta/core/markov.hpp>
#include <vesta/core/messenger.hpp>
#include <vesta/core/param_store.hpp>
#include <vesta/core/plate.hpp>
#include <vesta/core/primitives.hpp>
#include <vesta/core/site.hpp>
#include <vesta/core/trace.hpp>

// distributions
#include <vesta/distributions/bernoulli.hpp>
#include <vesta/distributions/beta.hpp>
#include <vesta/distributions/binomial.hpp>
#include <vesta/distributions/categorical.hpp>
#include <vesta/distributions/cauchy.hpp>
#include <vesta/distributions/delta.hpp>
#include <vesta/distributions/dirichlet.hpp>
#include <vesta/distributions/exponential.hpp>
#include <vesta/distributions/gamma.hpp>
#include <vesta/distributions/half_cauchy.hpp>
#include <vesta/distributions/half_normal.hpp>
#include <vesta/distributions/kl.hpp>
#include <vesta/distributions/laplace.hpp>
#include <vesta/distributions/log_normal.hpp>
#include <vesta/distributions/multivariate_normal.hpp>
#include <vesta/distributions/normal.hpp>
#include <vesta/distributions/one_hot_categorical.hpp>
#include <vesta/distributions/params.hpp>
#include <vesta/distributions/poisson.hpp>
#include <vesta/distributions/student_t.hpp>
#include <vesta/distributions/transformed.hpp>
#include <vesta/distributions/uniform.hpp>

// inference
#include <vesta/inference/autoguide.hpp>
#include <vesta/inference/elbo.hpp>
#include <vesta/inference/enumeration.hpp>
#include <vesta/inference/infer_discrete.hpp>
#include <vesta/inference/initialization.hpp>
#include <vesta/inference/mcmc/diagnostics.hpp>
#include <vesta/inference/mcmc/mcmc.hpp>
#include <vesta/inference/optim.hpp>
#include <vesta/inference/predictive.hpp>
#include <vesta/inference/progress.hpp>
#include <vesta/inference/samples.hpp>
#include <vesta/inference/svi.hpp>
#include <vesta/inference/traceenum_elbo.hpp>

// nn: HiddenLayer, modules, layers, Bayesian layers
#include <vesta/nn/dense_variational.hpp>
#include <vesta/nn/hidden_layer.hpp>
#include <vesta/nn/linear.hpp>
#include <vesta/nn/local_reparameterization.hpp>
#include <vesta/nn/module.hpp>
#include <vesta/nn/scale_tril.hpp>
#include <vesta/nn/weight_prior.hpp>
