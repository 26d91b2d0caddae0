// The Catch2 runner of the MPI tests: one MPI session around every test case.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "mpi/world.hpp"

namespace {
const vesta::Communicator* the_world = nullptr;
}

const vesta::Communicator& vesta::testing::world() { return *the_world; }

int main(int argc, char** argv) {
  vesta::MpiSession mpi(argc, argv);
  const vesta::Communicator world = mpi.world();
  the_world = &world;
  return Catch::Session().run(argc, argv);
}
