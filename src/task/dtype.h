// Element types that task buffers may hold, with their sizes and names as written in task.yaml.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace kf::task {

// kF16 and kBF16 are IEEE half and bfloat16 (2 bytes): PyTorch tasks in half precision.
// kBool: one byte per element, 0 or 1 (as C++, CUDA and torch.bool store it).
enum class DType { kF32, kF64, kI32, kI64, kF16, kBF16, kBool };

inline size_t DTypeSize(DType t) {
  switch (t) {
    case DType::kBool:
      return 1;
    case DType::kF16:
    case DType::kBF16:
      return 2;
    case DType::kF32:
    case DType::kI32:
      return 4;
    case DType::kF64:
    case DType::kI64:
      return 8;
  }
  return 0;
}

inline bool IsHalf(DType t) { return t == DType::kF16 || t == DType::kBF16; }
inline bool IsFloat(DType t) { return t == DType::kF32 || t == DType::kF64 || IsHalf(t); }

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
    case DType::kF16:
      return "f16";
    case DType::kBF16:
      return "bf16";
    case DType::kBool:
      return "bool";
  }
  return "?";
}

inline std::optional<DType> ParseDType(std::string_view s) {
  if (s == "f32") return DType::kF32;
  if (s == "f64") return DType::kF64;
  if (s == "i32") return DType::kI32;
  if (s == "i64") return DType::kI64;
  if (s == "f16") return DType::kF16;
  if (s == "bf16") return DType::kBF16;
  if (s == "bool") return DType::kBool;
  return std::nullopt;
}

// The C or CUDA type of a buffer's elements in a native program's signature.
inline std::string CTypeName(DType t, bool cuda) {
  switch (t) {
    case DType::kF32:
      return "float";
    case DType::kF64:
      return "double";
    case DType::kI32:
      return "int32_t";
    case DType::kI64:
      return "int64_t";
    case DType::kF16:
      return cuda ? "__half" : "_Float16";
    case DType::kBF16:
      return cuda ? "__nv_bfloat16" : "__bf16";
    case DType::kBool:
      return cuda ? "bool" : "_Bool";
  }
  return "void";
}

// The type a buffer has in the reference: floats become double, integers stay as they are.
inline DType ReferenceDType(DType t) { return IsFloat(t) ? DType::kF64 : t; }

}  // namespace kf::task
