// A TorchScript module whose parameter slots can be pointed at other tensors: what a loss over
// a network's own parameters needs (`torch_loss`). tch loads modules too, but gives no way to
// set a parameter to a tensor that is not a leaf, read buffers, or list submodule types.
// Setting a slot to a view of a state that requires grad makes the module's forward part of
// autograd's graph from that state, as torch.func.functional_call does in Python.
//
// Tensors cross as `at::Tensor*`, the representation tch uses (Tensor::as_ptr, from_ptr): a
// returned tensor is a new handle the caller owns. Errors are copied into the caller's buffer.
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/serialization/import.h>
#include <cstring>
#include <string>
#include <vector>

namespace {
struct Handle {
  torch::jit::Module module;
  std::vector<std::string> names[2];  // parameters, buffers (recursive, in module order)
};

void copy_out(const std::string& s, char* buf, size_t n) {
  if (n == 0) return;
  size_t k = s.size() < n - 1 ? s.size() : n - 1;
  std::memcpy(buf, s.data(), k);
  buf[k] = '\0';
}

// The module that owns the dotted slot `name` ("features.0.weight" -> features.0), and the
// slot's own name.
torch::jit::Module owner_of(const torch::jit::Module& root, const std::string& name, std::string* leaf) {
  torch::jit::Module cur = root;
  size_t start = 0;
  for (size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', start)) {
    cur = cur.attr(name.substr(start, dot - start)).toModule();
    start = dot + 1;
  }
  *leaf = name.substr(start);
  return cur;
}
}  // namespace

extern "C" {

// Loads the module at `path` onto the CPU (`cuda < 0`) or CUDA device `cuda`; null on error.
void* telescope_module_load(const char* path, int cuda, char* err, size_t n) {
  try {
    c10::Device device = cuda < 0 ? c10::Device(c10::kCPU) : c10::Device(c10::kCUDA, cuda);
    auto* h = new Handle{torch::jit::load(path, device), {}};
    h->module.eval();
    for (const auto& p : h->module.named_parameters(true)) h->names[0].push_back(p.name);
    for (const auto& b : h->module.named_buffers(true)) h->names[1].push_back(b.name);
    return h;
  } catch (const std::exception& e) {
    copy_out(e.what(), err, n);
    return nullptr;
  }
}

void telescope_module_free(void* h) { delete static_cast<Handle*>(h); }

// The number of parameter (`kind` 0) or buffer (`kind` 1) slots.
int64_t telescope_module_slot_count(void* h, int kind) {
  return static_cast<int64_t>(static_cast<Handle*>(h)->names[kind != 0].size());
}

// The dotted name of slot `i`, copied into `buf`; returns its full length.
size_t telescope_module_slot_name(void* h, int kind, int64_t i, char* buf, size_t n) {
  const std::string& s = static_cast<Handle*>(h)->names[kind != 0].at(static_cast<size_t>(i));
  copy_out(s, buf, n);
  return s.size();
}

// The tensor in slot `i` (sharing storage); null on error.
void* telescope_module_slot(void* h, int kind, int64_t i, char* err, size_t n) {
  try {
    auto* hd = static_cast<Handle*>(h);
    std::string leaf;
    auto owner = owner_of(hd->module, hd->names[kind != 0].at(static_cast<size_t>(i)), &leaf);
    return new at::Tensor(owner.attr(leaf).toTensor());
  } catch (const std::exception& e) {
    copy_out(e.what(), err, n);
    return nullptr;
  }
}

// Points slot `i` at `t` (any tensor: a view of a state that requires grad included).
int telescope_module_set_slot(void* h, int kind, int64_t i, const void* t, char* err, size_t n) {
  try {
    auto* hd = static_cast<Handle*>(h);
    std::string leaf;
    auto owner = owner_of(hd->module, hd->names[kind != 0].at(static_cast<size_t>(i)), &leaf);
    owner.setattr(leaf, *static_cast<const at::Tensor*>(t));
    return 0;
  } catch (const std::exception& e) {
    copy_out(e.what(), err, n);
    return 1;
  }
}

// forward(inputs...) of a module that returns one tensor; null on error.
void* telescope_module_forward(void* h, const void* const* inputs, int count, char* err, size_t n) {
  try {
    std::vector<c10::IValue> args;
    for (int k = 0; k < count; ++k) args.emplace_back(*static_cast<const at::Tensor*>(inputs[k]));
    auto out = static_cast<Handle*>(h)->module.forward(args);
    if (!out.isTensor()) {
      copy_out("the module returned " + out.tagKind() + ", not one tensor", err, n);
      return nullptr;
    }
    return new at::Tensor(out.toTensor());
  } catch (const std::exception& e) {
    copy_out(e.what(), err, n);
    return nullptr;
  }
}

// Training (`on` 1) or evaluation (0) mode for the module and all its submodules.
void telescope_module_set_train(void* h, int on) { static_cast<Handle*>(h)->module.train(on != 0); }

// The qualified type names of the module and every submodule, one per line, copied into `buf`;
// returns the full length.
size_t telescope_module_types(void* h, char* buf, size_t n) {
  std::string all;
  for (const auto& m : static_cast<Handle*>(h)->module.modules()) {
    auto name = m.type()->name();
    all += name ? name->qualifiedName() : std::string("?");
    all += '\n';
  }
  copy_out(all, buf, n);
  return all.size();
}

}  // extern "C"
