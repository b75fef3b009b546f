// The PyTorch bridge's part of an evaluation: building the module, drawing inputs with its
// get_inputs, the reference call that sets the deadlines, and the memory check.
#include "eval/evaluator_impl.h"

namespace kf::eval {

Status Evaluator::Impl::EnsureBuilt() {
  auto w = ref_->Get();
  if (!w.ok()) return w.status();
  if (built_generation_ == ref_->generation()) return Status::Ok();
  Reply r = (*w)->Request({{"op", "build"},
                           {"module", task_.torch->file.string()},
                           {"seed", init_seed_ & 0x7fffffffffffULL},
                           {"init_inputs", json::parse(task_.torch->init_inputs)},
                           {"sizes", task_.torch->sizes},
                           {"dtype", task_.torch->dtype}},
                          120 + 10 * opt_.run_timeout_s);
  prof_.reference += r.seconds;
  if (!r.ok()) {
    return Status::Error("the PyTorch module " + task_.torch->file.string() +
                         " cannot be built by the bridge: " + r.message + " " +
                         r.body.value("traceback", "") + (*w)->TakeOutput());
  }
  built_generation_ = ref_->generation();
  return Status::Ok();
}

json Evaluator::Impl::TorchSpecs(const Layout& l, size_t base, bool inputs) const {
  json out = json::array();
  const size_t nin = task_.inputs.size();
  const size_t from = inputs ? 0 : nin, to = inputs ? nin : l.offset.size();
  for (size_t i = from; i < to; ++i) {
    out.push_back({base + l.offset[i], std::string(task::DTypeName(l.dtype[i])), l.shape[i]});
  }
  return out;
}

Status Evaluator::Impl::DrawTorchInputs(const Layout& l, uint64_t seed, size_t base) {
  if (auto s = EnsureBuilt(); !s.ok()) return s;
  auto w = ref_->Get();
  if (!w.ok()) return w.status();
  if (auto s = (*w)->EnsureArena(base + l.set_bytes); !s.ok()) return s;
  Reply r = (*w)->Request({{"op", "inputs"},
                           {"seed", seed & 0x7fffffffffffULL},
                           {"tensors", TorchSpecs(l, base, true)}},
                          30 * opt_.run_timeout_s);
  prof_.reference += r.seconds;
  if (!r.ok()) {
    return Status::Error("the PyTorch module's get_inputs failed: " + r.message + " " +
                         (*w)->TakeOutput());
  }
  return Status::Ok();
}

Status Evaluator::Impl::MeasureReferenceCall(const Layout& l) {
  auto rw = ref_->Get();
  if (!rw.ok()) return rw.status();
  if (auto s = (*rw)->EnsureArena(2 * l.set_bytes); !s.ok()) return s;
  if (auto s = DrawTorchInputs(l, Mix(init_seed_ ^ 0x4EFULL)); !s.ok()) return s;
  const size_t nin = task_.inputs.size();
  json outs = json::array();
  for (size_t o = nin; o < l.offset.size(); ++o) {
    outs.push_back({l.offset[o], std::string(task::DTypeName(l.dtype[o])), l.shape[o]});
  }
  Reply r = (*rw)->Request({{"op", "reference"},
                            {"inputs", TorchSpecs(l, 0, true)},
                            {"outputs", outs},
                            {"forward_inputs", task_.torch->forward_inputs},
                            {"scalars", json::parse(task_.torch->scalars)}},
                           30 * opt_.run_timeout_s);
  prof_.reference += r.seconds;
  if (!r.ok()) {
    return Status::Error("the PyTorch module " + task_.torch->file.filename().string() +
                         " fails at its sizes " + task::SizesToString(task_.bench_sizes) + ": " +
                         r.message + " " + r.body.value("traceback", "") + (*rw)->TakeOutput());
  }
  // The first call includes the module's warm-up (kernels loaded, workspaces made): an upper
  // bound of a call, as a deadline wants.
  ref_call_s_ = std::max(ref_call_s_, r.seconds);
  return Status::Ok();
}

namespace {

double MemAvailableBytes() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  double kb = 0;
  std::string unit;
  while (f >> key >> kb >> unit) {
    if (key == "MemAvailable:") return kb * 1024;
  }
  return 0;
}

std::string GiB(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f GiB", bytes / (1ull << 30));
  return buf;
}

}  // namespace

Status Evaluator::Impl::CheckMemory(const Layout& l, int sets, bool bridge_candidate,
                                    json* memory) {
  const size_t nin = task_.inputs.size();
  double in_bytes = 0, out_bytes = 0;
  for (size_t i = 0; i < l.offset.size(); ++i) {
    (i < nin ? in_bytes : out_bytes) += double(l.elements[i]) * task::DTypeSize(l.dtype[i]);
  }
  const double set = double(l.set_bytes);
  // Host: the candidate's arena (every timed set for a native worker, one for a bridge) and
  // the reference's (one set, or all of them for a native task's baselines), plus what the
  // workers themselves take (a torch bridge about 1 GiB each).
  const double host = (bridge_candidate ? set : sets * set) +
                      (torch_ ? set + out_bytes : std::max(sets * set, 2 * set)) +
                      (torch_ ? 2.0 : 0.5) * (1ull << 30);
  // Device (PyTorch tasks on a GPU): each bridge holds its staged sets, one more set of inputs
  // and outputs for a checked call, and the reference its result.
  double device = 0;
  if (torch_ && backend_.MapsDeviceMemory()) {
    device = (bridge_candidate ? 2 : 1) * ((sets + 1) * in_bytes + 2 * out_bytes);
  }
  *memory = {{"problem_bytes", in_bytes + out_bytes},
             {"host_estimate_bytes", host},
             {"device_estimate_bytes", device}};
  const double available = MemAvailableBytes();
  std::string refusal;
  if (available > 0 && host > available) {
    refusal = "needs about " + GiB(host) + " of host memory, " + GiB(available) + " available";
  }
  if (device > 0) {
    auto rw = ref_->Get();
    if (!rw.ok()) return rw.status();
    Reply r = (*rw)->Request({{"op", "device_memory"}}, 60);
    const double free = r.ok() ? r.body.value("free", 0.0) : 0;
    (*memory)["device_free_bytes"] = free;
    if (free > 0 && device > free) {
      refusal += std::string(refusal.empty() ? "" : "; ") + "needs about " + GiB(device) +
                 " of device memory, " + GiB(free) + " free";
    }
  }
  if (refusal.empty()) return Status::Ok();
  return Status::Error("task " + task_.name + " at sizes " +
                       task::SizesToString(task_.bench_sizes) + " (" + GiB(in_bytes + out_bytes) +
                       " of inputs and outputs per call) " + refusal +
                       ": not judged. Judge it at smaller sizes with --sizes NAME=VALUE,...");
}

}  // namespace kf::eval
