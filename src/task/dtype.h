// Element types that task buffers may hold, with their sizes and names as written in task.yaml.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace kf::task {

enum class DType { kF32, kF64, kI32, kI64 };

inline size_t DTypeSize(DType t) {
  switch (t) {
    case DType::kF32:
    case DType::kI32:
      return 4;
    case DType::kF64:
    case DType::kI64:
      return 8;
  }
  return 0;
}

inline bool IsFloat(DType t) { return t == DType::kF32 || t == DType::kF64; }

inline std::string_view DTypeName(DType t) {
  switch (t) {
    case DType::kF32:
      return "f32";
    case DType::kF64:
      return "f64";
    case DType::kI32:
      return "i32";
    case DType::kI64:
      return "i64";
  }
  return "?";
}

inline std::optional<DType> ParseDType(std::string_view s) {
  if (s == "f32") return DType::kF32;
  if (s == "f64") return DType::kF64;
  if (s == "i32") return DType::kI32;
  if (s == "i64") return DType::kI64;
  return std::nullopt;
}

// The type a buffer has in the reference: floats become double, integers stay as they are.
inline DType ReferenceDType(DType t) { return IsFloat(t) ? DType::kF64 : t; }

}  // namespace kf::task
