#include <vesta/core/markov.hpp>

#include <fmt/format.h>

namespace vesta {

Markov::Markov(Index length, std::string name) : name_(std::move(name)), length_(length) {
  if (name_.empty()) throw ValueError("markov: the name is empty; every chain needs a name");
  if (length < 0) {
    throw ValueError(fmt::format("markov '{}': length is {}, but must be >= 0", name_, length));
  }
  for (Messenger* m : handler_stack()) {
    const auto* other = dynamic_cast<const Markov*>(m);
    if (other != nullptr && other != this && other->name() == name_) {
      throw ValueError(fmt::format(
          "markov '{}' is entered inside a chain of the same name; nested chains need names of "
          "their own",
          name_));
    }
  }
}

void Markov::process(Site& site) {
  if (site.kind != SiteKind::sample || !site.extras().markov_chain.empty()) return;
  SiteExtras& chain = site.set_extras();
  chain.markov_chain = name_;
  chain.markov_step = step_;
}

}  // namespace vesta
