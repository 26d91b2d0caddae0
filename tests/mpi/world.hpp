// The MPI tests' world: every rank of the job (tests/mpi/main.cpp starts MPI once for all
// test cases, as MPI cannot start again after it ends). Run under mpirun -np 2.
#pragma once

#include <vesta/inference/distributed/communicator.hpp>

namespace vesta::testing {

/// Every rank of the job.
const Communicator& world();

}  // namespace vesta::testing
