// vesta: Pyro-style probabilistic programming in C++. This umbrella header brings in the
// whole public API; include the individual headers under <vesta/...> for faster builds.
#pragma once

#include <vesta/config.hpp>
#include <vesta/core/error.hpp>
#include <vesta/core/ops.hpp>
#include <vesta/core/random.hpp>
#include <vesta/core/scalar.hpp>
#include <vesta/core/tape.hpp>
#include <vesta/core/tensor.hpp>
