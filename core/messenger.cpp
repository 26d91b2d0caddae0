#include <vesta/core/messenger.hpp>

#include <algorithm>
#include <vector>

namespace vesta {

std::vector<Messenger*>& detail::make_thread_handlers() {
  // The pointer goes with the stack when the thread ends, so a late reader sees no handler.
  struct Owner {
    std::vector<Messenger*> s;
    ~Owner() { thread_handlers = nullptr; }
  };
  thread_local Owner owner;
  thread_handlers = &owner.s;
  return owner.s;
}

namespace {
std::vector<Messenger*>& stack() {
  std::vector<Messenger*>* s = detail::thread_handlers;
  return s != nullptr ? *s : detail::make_thread_handlers();
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

}  // namespace vesta
