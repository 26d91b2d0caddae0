#include <vesta/core/messenger.hpp>

#include <algorithm>
#include <vector>

namespace vesta {

namespace {
std::vector<Messenger*>& stack() {
  thread_local std::vector<Messenger*> s;
  return s;
}
}  // namespace

Messenger::Messenger() { stack().push_back(this); }

Messenger::~Messenger() noexcept(false) {
  // Scopes nest, so this is the top; a search keeps the stack whole even if they did not.
  auto& s = stack();
  if (!s.empty() && s.back() == this) {
    s.pop_back();
  } else {
    s.erase(std::remove(s.begin(), s.end(), this), s.end());
  }
}

std::span<Messenger* const> handler_stack() { return stack(); }

}  // namespace vesta
