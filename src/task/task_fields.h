// Reading the fields of a task.yaml, each into its value or an error naming the file and the
// field (task.cc puts them together). Private to src/task; pure functions, thread-safe.
#pragma once

#include <yaml-cpp/yaml.h>

#include <set>
#include <string>
#include <vector>

#include "task/task.h"
#include "util/status.h"

namespace kf::task {

// Turns the first problem found in a task.yaml into an error naming file and field.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  Status Fail(const std::string& field, const std::string& what) const {
    return Status::Error(file_ + ": field '" + field + "': " + what);
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

// What a node is, for messages: "nothing", "'x'", "a list", "a mapping".
std::string Describe(const YAML::Node& n);
Result<std::string> GetString(const Reader& r, const YAML::Node& parent, const std::string& key,
                              const std::string& field, bool required = true);
// Rejects keys outside `known`, so a typo in a nested field is an error, not silently ignored.
Status CheckKeys(const Reader& r, const YAML::Node& n, const std::string& field,
                 const std::set<std::string>& known);
Result<double> ParseNumber(const Reader& r, const YAML::Node& n, const std::string& field);
Result<Sizes> ParseSizes(const Reader& r, const YAML::Node& n, const std::string& field,
                         const std::vector<std::string>& params);
Result<Tolerance> ParseTolerance(const Reader& r, const YAML::Node& tol, const std::string& field);
Result<Distribution> ParseDistribution(const Reader& r, const YAML::Node& n,
                                       const std::string& field);
Result<TensorSpec> ParseTensor(const Reader& r, const YAML::Node& n, const std::string& field,
                               const std::vector<std::string>& params, bool is_input);
Result<std::vector<std::string>> ParseStringList(const Reader& r, const YAML::Node& n,
                                                 const std::string& field);

}  // namespace kf::task
