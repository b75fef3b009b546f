#include "backends/backend.h"

#include "backends/cpu/host.h"
#include "backends/cuda/host.h"

namespace kf::backends {

const std::vector<const Backend*>& AllBackends() {
  // In BackendKind's order: GetBackend indexes it.
  static const std::vector<const Backend*> all = {&cpu::Host(), &cuda::Host()};
  return all;
}

const Backend& GetBackend(BackendKind kind) { return *AllBackends().at(static_cast<size_t>(kind)); }

const Backend* BackendForSource(const std::filesystem::path& file) {
  const std::string ext = file.extension().string();
  for (const Backend* b : AllBackends()) {
    for (const auto& e : b->SourceExtensions()) {
      if (e == ext) return b;
    }
  }
  return nullptr;
}

Result<BackendKind> ParseBackendKind(std::string_view name) {
  std::string known;
  for (const Backend* b : AllBackends()) {
    if (b->name() == name) return b->kind();
    known += (known.empty() ? "'" : " or '") + b->name() + "'";
  }
  return Status::Error("expected " + known + ", got '" + std::string(name) + "'");
}

std::string BackendName(BackendKind kind) { return GetBackend(kind).name(); }

std::vector<std::string> BackendNames() {
  std::vector<std::string> names;
  for (const Backend* b : AllBackends()) names.emplace_back(b->name());
  return names;
}

}  // namespace kf::backends
