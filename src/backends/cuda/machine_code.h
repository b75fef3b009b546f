// What a compiled CUDA program's machine code and its compiler say about it, as feedback:
// instruction classes in the disassembly, and per-kernel resources from ptxas. Thread-safe.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace kf::backends::cuda {

// Counts of the instruction classes a kernel engineer asks about first (HGMMA, HMMA, FFMA, LDG,
// LDL, ...) in a compiled CUDA program's machine code, from cuobjdump where installed (null
// otherwise). Kept beside the program in the cache: a cached program costs no disassembly.
nlohmann::json SassSummary(const std::filesystem::path& program);

// Reads ptxas -v output into [{kernel, registers, shared_bytes, stack_bytes, spill_stores,
// spill_loads}].
nlohmann::json ParsePtxasResources(const std::string& log);

}  // namespace kf::backends::cuda
