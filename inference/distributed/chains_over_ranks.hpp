// ChainsOverRanks: MCMC's chains spread over the ranks of a Communicator (and over threads
// within each rank, as MCMCOptions::parallel says). Chain c runs on rank c mod R, drawing
// from Rng(seed).fork(c) as it would in one process; when they end, every rank receives
// every chain's result, so get_samples(), summary(), R-hat and ESS see all chains (rank 0
// prints them). A chain's error on any rank is thrown on every rank as a DistributedError.
//
//   MCMCOptions options;
//   options.exchange = std::make_shared<ChainsOverRanks>(world);
//   MCMC mcmc(NUTS(model), 1000, 1000, 8, options);   // 8 chains over the ranks
//   mcmc.run(data);
//   if (world.is_root()) mcmc.print_summary();
#pragma once

#include <exception>
#include <vector>

#include <vesta/inference/distributed/communicator.hpp>
#include <vesta/inference/mcmc/mcmc.hpp>

namespace vesta {

/// MCMC chains over MPI ranks: MCMCOptions::exchange (see the file's description).
class ChainsOverRanks : public ChainExchange {
 public:
  /// Over the ranks of `comm` (copied: the group is shared).
  explicit ChainsOverRanks(Communicator comm) : comm_(std::move(comm)) {}

  /// Chain `chain` runs on rank chain mod size().
  bool runs(int chain, int num_chains) const override;
  /// Agrees on errors, then gathers every chain's result on every rank (one all-gather).
  void exchange(std::vector<ChainResult>& chains, std::exception_ptr error) override;

 private:
  Communicator comm_;
};

}  // namespace vesta
