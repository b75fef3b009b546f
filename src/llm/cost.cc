#include "llm/cost.h"

namespace kf::llm {

PriceTable PriceTable::Defaults() {
  PriceTable t;
  // USD per million input and output tokens.
  t.Set("gpt-4o", {2.50, 10.00});
  t.Set("gpt-4o-mini", {0.15, 0.60});
  t.Set("gpt-4.1", {2.00, 8.00});
  t.Set("gpt-4.1-mini", {0.40, 1.60});
  t.Set("gpt-4.1-nano", {0.10, 0.40});
  t.Set("gpt-5", {1.25, 10.00});
  t.Set("gpt-5-mini", {0.25, 2.00});
  t.Set("gpt-5-nano", {0.05, 0.40});
  t.Set("o3", {2.00, 8.00});
  t.Set("o3-mini", {1.10, 4.40});
  t.Set("o4-mini", {1.10, 4.40});
  t.Set("claude-opus-4", {15.00, 75.00});
  t.Set("claude-sonnet-4", {3.00, 15.00});
  t.Set("claude-3-7-sonnet", {3.00, 15.00});
  t.Set("claude-3-5-haiku", {0.80, 4.00});
  t.Set("claude-haiku-4", {1.00, 5.00});
  t.Set("deepseek-chat", {0.27, 1.10});
  t.Set("deepseek-reasoner", {0.55, 2.19});
  t.Set("gemini-2.5-pro", {1.25, 10.00});
  t.Set("gemini-2.5-flash", {0.30, 2.50});
  return t;
}

std::optional<Price> PriceTable::Find(const std::string& model) const {
  if (auto it = prices_.find(model); it != prices_.end()) return it->second;
  const size_t slash = model.rfind('/');
  const std::string name = slash == std::string::npos ? model : model.substr(slash + 1);
  std::optional<Price> best;
  size_t best_len = 0;
  for (const auto& [prefix, price] : prices_) {
    if (prefix.size() > best_len && name.rfind(prefix, 0) == 0) {
      best = price;
      best_len = prefix.size();
    }
  }
  return best;
}

double PriceTable::Cost(const std::string& model, const Usage& usage) const {
  const auto p = Find(model);
  if (!p) return 0;
  return (static_cast<double>(usage.prompt_tokens) * p->input_per_mtok +
          static_cast<double>(usage.completion_tokens) * p->output_per_mtok) /
         1e6;
}

}  // namespace kf::llm
