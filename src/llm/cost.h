// What a request costs: a price table in US dollars per million tokens, matched by model name.
// Built-in prices are list prices at the time of writing; the config overrides or extends them
// (llm.prices). Unknown models cost 0 and are reported as unpriced.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "llm/types.h"

namespace kf::llm {

struct Price {
  double input_per_mtok = 0;
  double output_per_mtok = 0;
};

class PriceTable {
 public:
  // The built-in list prices.
  static PriceTable Defaults();

  void Set(const std::string& model, Price price) { prices_[model] = price; }
  // The price of `model`: an exact entry, else the longest entry that prefixes the model's last
  // path component ("openai/gpt-4o-2024-08-06" matches "gpt-4o"). None when unknown.
  std::optional<Price> Find(const std::string& model) const;
  // Cost of a reply's usage in dollars; 0 when the model is unknown.
  double Cost(const std::string& model, const Usage& usage) const;

 private:
  std::map<std::string, Price> prices_;
};

}  // namespace kf::llm
