// kforge-nvrtc: compiles one kernel-only CUDA program with NVRTC into a cubin, in a process of
// its own so that the orchestrator can put a deadline on it (a compiler can hang or eat memory
// on hostile source). Writes the cubin and a JSON map from each requested name expression to its
// lowered (mangled) name; prints NVRTC's log (ptxas -v included) on stdout. Exit status 0 on
// success, 1 when the program does not compile, 2 on bad usage or I/O errors.
//
// usage: kforge-nvrtc --arch 90a --out PROGRAM.cubin --names NAMES.json SOURCE.cu [NAME ...]
//        kforge-nvrtc --version
#include <nvrtc.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace {

// NVRTC has no C++ standard library. These stand in for the headers kernels most often include,
// so that a kernel written for nvcc compiles here unchanged.
constexpr const char* kStdint = R"(#pragma once
typedef signed char int8_t; typedef short int16_t; typedef int int32_t; typedef long int64_t;
typedef unsigned char uint8_t; typedef unsigned short uint16_t; typedef unsigned int uint32_t;
typedef unsigned long uint64_t; typedef long intptr_t; typedef unsigned long uintptr_t;
#define INT32_MAX 2147483647
#define INT64_MAX 9223372036854775807L
#define UINT32_MAX 4294967295U
)";
constexpr const char* kCstdint = R"(#pragma once
#include <stdint.h>
namespace std { using ::int8_t; using ::int16_t; using ::int32_t; using ::int64_t;
using ::uint8_t; using ::uint16_t; using ::uint32_t; using ::uint64_t; using ::intptr_t;
using ::uintptr_t; using ::size_t; }
)";
constexpr const char* kEmpty = "#pragma once\n";  // the builtins already declare what these do
// Included before the program, as nvcc includes cuda_runtime.h: the macros it brings along.
constexpr const char* kPrelude = R"(#pragma once
#ifndef INFINITY
#define INFINITY __int_as_float(0x7f800000)
#endif
#ifndef NAN
#define NAN __int_as_float(0x7fffffff)
#endif
#ifndef FLT_MAX
#define FLT_MAX 3.402823466e+38F
#endif
)";

int Usage(const char* why) {
  std::fprintf(stderr, "kforge-nvrtc: %s\n", why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string arch = "90a", out, names_out, source_path;
  std::vector<std::string> names;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&](std::string* v) {
      if (i + 1 >= argc) return false;
      *v = argv[++i];
      return true;
    };
    if (a == "--version") {
      int major = 0, minor = 0;
      nvrtcVersion(&major, &minor);
      std::printf("nvrtc %d.%d\n", major, minor);
      return 0;
    } else if (a == "--arch") {
      if (!next(&arch)) return Usage("--arch needs a value");
    } else if (a == "--out") {
      if (!next(&out)) return Usage("--out needs a value");
    } else if (a == "--names") {
      if (!next(&names_out)) return Usage("--names needs a value");
    } else if (source_path.empty()) {
      source_path = a;
    } else {
      names.push_back(a);
    }
  }
  if (source_path.empty() || out.empty() || names_out.empty()) {
    return Usage("usage: kforge-nvrtc --arch 90a --out P.cubin --names N.json SOURCE [NAME...]");
  }
  std::ifstream in(source_path, std::ios::binary);
  if (!in) return Usage(("cannot read " + source_path).c_str());
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string source = ss.str();

  const char* headers[] = {kStdint, kCstdint, kEmpty, kEmpty, kEmpty, kEmpty, kPrelude};
  const char* header_names[] = {"stdint.h", "cstdint", "cuda_runtime.h",  "cuda.h",
                                "cmath",    "math.h",  "kforge_prelude.h"};
  nvrtcProgram prog;
  if (nvrtcCreateProgram(&prog, source.c_str(), "program.cu", 7, headers, header_names) !=
      NVRTC_SUCCESS) {
    return Usage("nvrtcCreateProgram failed");
  }
  for (const auto& n : names) nvrtcAddNameExpression(prog, n.c_str());
  const std::string arch_flag = "-arch=sm_" + arch;
  const std::string include = std::string("-I") + KFORGE_CUDA_INCLUDE;
  std::vector<const char*> opts = {arch_flag.c_str(),
                                   "-std=c++17",
                                   "-lineinfo",
                                   "--ptxas-options=-v",
                                   "-default-device",
                                   include.c_str(),
                                   "--pre-include=kforge_prelude.h"};
  const nvrtcResult r = nvrtcCompileProgram(prog, static_cast<int>(opts.size()), opts.data());
  size_t log_size = 0;
  nvrtcGetProgramLogSize(prog, &log_size);
  std::string log(log_size, '\0');
  if (log_size > 0) nvrtcGetProgramLog(prog, log.data());
  while (!log.empty() && log.back() == '\0') log.pop_back();
  std::cout << log << std::flush;
  if (r != NVRTC_SUCCESS) return 1;

  nlohmann::json lowered = nlohmann::json::object();
  for (const auto& n : names) {
    const char* l = nullptr;
    if (nvrtcGetLoweredName(prog, n.c_str(), &l) != NVRTC_SUCCESS || !l) {
      std::cout << "program.cu: error: no kernel named '" << n
                << "' (declared by a kforge-launch line) is defined as a __global__ function\n";
      return 1;
    }
    lowered[n] = l;
  }
  size_t size = 0;
  if (nvrtcGetCUBINSize(prog, &size) != NVRTC_SUCCESS || size == 0) {
    std::cout << "program.cu: error: NVRTC produced no machine code for sm_" << arch << "\n";
    return 1;
  }
  std::string cubin(size, '\0');
  nvrtcGetCUBIN(prog, cubin.data());
  nvrtcDestroyProgram(&prog);
  std::ofstream(out, std::ios::binary) << cubin;
  std::ofstream(names_out) << lowered.dump();
  return 0;
}
