// Counts the ATen operators a process calls, through libtorch's RecordFunction observers (the
// hook torch.profiler uses): `top` counts operators called from outside any other operator (by
// telescope's code, or by autograd on its behalf), `all` every operator dispatched, nested ones
// included. Only names starting with "aten::" count, so autograd's own bookkeeping records and
// TorchScript frames do not. Counts are per thread. Counting costs a little per operator, so benchmarks count in a
// separate pass from the one they time.
#include <ATen/record_function.h>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>

namespace {
// Per thread: a count is what the calling thread's code called, whatever other threads do.
thread_local uint64_t top_ops = 0;
thread_local uint64_t all_ops = 0;
thread_local int depth = 0;
std::mutex guard;
at::CallbackHandle handle = at::INVALID_CALLBACK_HANDLE;
int users = 0;  // callers between start and stop; the observer goes when the last one stops

bool is_aten(const at::RecordFunction& fn) {
  const char* name = fn.name();
  return name != nullptr && std::strncmp(name, "aten::", 6) == 0;
}

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  if (is_aten(fn)) {
    if (depth == 0) {
      ++top_ops;
    }
    ++all_ops;
    ++depth;
  }
  return nullptr;
}

void on_end(const at::RecordFunction& fn, at::ObserverContext*) {
  if (is_aten(fn) && depth > 0) {
    --depth;
  }
}
}  // namespace

extern "C" {

// Starts counting for one caller (callers nest; each start that returns 0 needs its stop):
// 0 on success, 1 when libtorch refused the observer.
int telescope_op_counter_start() {
  std::lock_guard<std::mutex> lock(guard);
  if (handle == at::INVALID_CALLBACK_HANDLE) {
    try {
      handle = at::addGlobalCallback(
          at::RecordFunctionCallback(on_start, on_end).scopes({at::RecordScope::FUNCTION}));
    } catch (...) {
      return 1;
    }
  }
  ++users;
  return 0;
}

// Stops counting for one caller; the observer goes with the last. The totals stay readable.
void telescope_op_counter_stop() {
  std::lock_guard<std::mutex> lock(guard);
  if (users > 0 && --users == 0 && handle != at::INVALID_CALLBACK_HANDLE) {
    at::removeCallback(handle);
    handle = at::INVALID_CALLBACK_HANDLE;
  }
}

// The operators the calling thread has called while counting was on: top-level into `top`,
// all into `all`.
void telescope_op_counter_read(uint64_t* top, uint64_t* all) {
  *top = top_ops;
  *all = all_ops;
}

}  // extern "C"
