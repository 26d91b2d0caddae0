// Convergence diagnostics of MCMC draws, as defined by Vehtari, Gelman, Simpson, Carpenter &
// Bürkner (2021), "Rank-normalization, folding, and localization: an improved R-hat for
// assessing convergence of MCMC": split chains, rank normalisation, the folded R-hat for the
// tails, bulk and tail effective sample sizes (with Geyer's initial monotone sequence
// estimator of the autocorrelation time).
//
// Draws of one scalar come as a matrix: one column per chain, one row per iteration.
#pragma once

#include <Eigen/Core>

namespace vesta {

/// The effective sample size of the draws (split chains, no rank normalisation): the ESS
/// that the Monte Carlo standard error of the mean, sd / sqrt(ESS), uses. NaN for constant
/// draws or fewer than 4 draws per chain.
double effective_sample_size(const Eigen::MatrixXd& draws);
/// The bulk ESS: effective_sample_size of the rank-normalised split chains.
double ess_bulk(const Eigen::MatrixXd& draws);
/// The tail ESS: the smaller ESS of the indicators of the 5% and 95% quantiles.
double ess_tail(const Eigen::MatrixXd& draws);
/// Split R-hat of the rank-normalised draws, the larger of the bulk and the folded (|x -
/// median|) versions: about 1 for chains from one distribution, above 1.01 signals trouble.
double split_rhat(const Eigen::MatrixXd& draws);
/// The classic split R-hat (Gelman et al. 2013) without rank normalisation.
double split_rhat_basic(const Eigen::MatrixXd& draws);

/// The draws with each chain split into halves (two columns per chain; an odd middle draw is
/// dropped).
Eigen::MatrixXd split_chains(const Eigen::MatrixXd& draws);
/// Each draw replaced by the normal quantile of its fractional rank among all draws,
/// Phi^-1((r - 3/8) / (S + 1/4)), ties given their average rank.
Eigen::MatrixXd rank_normalise(const Eigen::MatrixXd& draws);

}  // namespace vesta
