#include "llm/ensemble.h"

#include <yaml-cpp/yaml.h>

#include <cstdio>

namespace kf::llm {

namespace {

// Reads a number from `node[key]` into `out` if present; an error names `where.key`.
Status ReadNumber(const YAML::Node& node, const char* key, const std::string& where, double* out) {
  if (!node[key]) return Status::Ok();
  try {
    *out = node[key].as<double>();
  } catch (const YAML::Exception&) {
    return Status::Error(where + "." + key + ": expected a number, got '" +
                         node[key].as<std::string>("?") + "'");
  }
  if (*out < 0) return Status::Error(where + "." + key + ": must not be negative");
  return Status::Ok();
}

Status CheckKeys(const YAML::Node& node, const std::string& where,
                 std::initializer_list<const char*> known) {
  if (!node.IsMap()) return Status::Error(where + ": expected a mapping");
  for (const auto& kv : node) {
    const std::string k = kv.first.as<std::string>();
    bool ok = false;
    std::string list;
    for (const char* n : known) {
      ok |= k == n;
      list += (list.empty() ? "" : ", ") + std::string(n);
    }
    if (!ok) return Status::Error(where + "." + k + ": unknown key (known: " + list + ")");
  }
  return Status::Ok();
}

Status ReadTimeouts(const YAML::Node& node, const std::string& where, Timeouts* t) {
  if (!node) return Status::Ok();
  if (auto s = CheckKeys(node, where, {"connect_s", "first_byte_s", "idle_s", "total_s"}); !s.ok())
    return s;
  for (auto [key, out] :
       {std::pair{"connect_s", &t->connect_s}, std::pair{"first_byte_s", &t->first_byte_s},
        std::pair{"idle_s", &t->idle_s}, std::pair{"total_s", &t->total_s}}) {
    if (auto s = ReadNumber(node, key, where, out); !s.ok()) return s;
  }
  return Status::Ok();
}

Result<Price> ReadPrice(const YAML::Node& node, const std::string& where) {
  if (auto s = CheckKeys(node, where, {"input", "output"}); !s.ok()) return s;
  Price p;
  if (auto s = ReadNumber(node, "input", where, &p.input_per_mtok); !s.ok()) return s;
  if (auto s = ReadNumber(node, "output", where, &p.output_per_mtok); !s.ok()) return s;
  return p;
}

Status ReadConfig(const YAML::Node& llm, EnsembleConfig* c, Timeouts* timeouts) {
  const std::string w = "llm";
  if (auto s = CheckKeys(llm, w,
                         {"models", "budget", "cache", "retries", "timeouts", "prices",
                          "max_tokens", "temperature", "reasoning_effort", "seed"});
      !s.ok())
    return s;
  if (auto s = ReadTimeouts(llm["timeouts"], w + ".timeouts", timeouts); !s.ok()) return s;
  if (const auto& b = llm["budget"]) {
    if (auto s = CheckKeys(b, w + ".budget", {"usd", "tokens"}); !s.ok()) return s;
    double tokens = 0;
    if (auto s = ReadNumber(b, "usd", w + ".budget", &c->budget_usd); !s.ok()) return s;
    if (auto s = ReadNumber(b, "tokens", w + ".budget", &tokens); !s.ok()) return s;
    c->budget_tokens = static_cast<int64_t>(tokens);
  }
  if (llm["cache"]) c->cache = llm["cache"].as<bool>(true);
  if (const auto& r = llm["retries"]) {
    if (auto s = CheckKeys(r, w + ".retries", {"max_attempts", "base_s", "max_s"}); !s.ok())
      return s;
    double attempts = c->retry.max_attempts;
    if (auto s = ReadNumber(r, "max_attempts", w + ".retries", &attempts); !s.ok()) return s;
    c->retry.max_attempts = std::max(1, static_cast<int>(attempts));
    if (auto s = ReadNumber(r, "base_s", w + ".retries", &c->retry.base_s); !s.ok()) return s;
    if (auto s = ReadNumber(r, "max_s", w + ".retries", &c->retry.max_s); !s.ok()) return s;
  }
  if (const auto& p = llm["prices"]) {
    if (!p.IsMap()) return Status::Error(w + ".prices: expected MODEL: {input, output}");
    for (const auto& kv : p) {
      const std::string model = kv.first.as<std::string>();
      auto price = ReadPrice(kv.second, w + ".prices." + model);
      if (!price.ok()) return price.status();
      c->prices.Set(model, *price);
    }
  }
  double max_tokens = c->max_tokens, seed = 0;
  if (auto s = ReadNumber(llm, "max_tokens", w, &max_tokens); !s.ok()) return s;
  c->max_tokens = static_cast<int>(max_tokens);
  if (llm["temperature"]) {
    double t = 0;
    if (auto s = ReadNumber(llm, "temperature", w, &t); !s.ok()) return s;
    c->temperature = t;
  }
  if (llm["seed"]) {
    if (auto s = ReadNumber(llm, "seed", w, &seed); !s.ok()) return s;
    c->seed = static_cast<uint64_t>(seed);
  }
  if (llm["reasoning_effort"]) {
    c->reasoning_effort = llm["reasoning_effort"].as<std::string>();
    if (c->reasoning_effort != "low" && c->reasoning_effort != "medium" &&
        c->reasoning_effort != "high") {
      return Status::Error(w + ".reasoning_effort: '" + c->reasoning_effort +
                           "' (expected low, medium or high)");
    }
  }
  if (const auto& models = llm["models"]) {
    if (!models.IsSequence()) return Status::Error(w + ".models: expected a list");
    for (size_t i = 0; i < models.size(); ++i) {
      const std::string mw = w + ".models[" + std::to_string(i) + "]";
      const YAML::Node& m = models[i];
      if (m.IsScalar()) {
        auto spec = ParseSpec(m.as<std::string>());
        if (!spec.ok()) return Status::Error(mw + ": " + spec.status().message());
        c->members.push_back(Member{*spec, 1, 4, std::nullopt});
        continue;
      }
      if (auto s = CheckKeys(
              m, mw, {"spec", "weight", "max_concurrency", "api_key_env", "price", "timeouts"});
          !s.ok())
        return s;
      if (!m["spec"]) return Status::Error(mw + ".spec: missing (e.g. openai:gpt-4.1)");
      auto spec = ParseSpec(m["spec"].as<std::string>());
      if (!spec.ok()) return Status::Error(mw + ".spec: " + spec.status().message());
      Member member{*spec, 1, 4, std::nullopt};
      if (auto s = ReadNumber(m, "weight", mw, &member.weight); !s.ok()) return s;
      double conc = member.max_concurrency;
      if (auto s = ReadNumber(m, "max_concurrency", mw, &conc); !s.ok()) return s;
      member.max_concurrency = std::max(1, static_cast<int>(conc));
      if (m["api_key_env"]) member.spec.api_key_env = m["api_key_env"].as<std::string>();
      if (m["price"]) {
        auto price = ReadPrice(m["price"], mw + ".price");
        if (!price.ok()) return price.status();
        member.price = *price;
      }
      member.spec.timeouts = *timeouts;
      if (auto s = ReadTimeouts(m["timeouts"], mw + ".timeouts", &member.spec.timeouts); !s.ok())
        return s;
      c->members.push_back(member);
    }
  }
  return Status::Ok();
}

// The call log is a record and a cache, not the reply: a reply it cannot keep is still used,
// and the failure is said where the user sees it (a run's next candidate write then fails too).
void WarnLog(const char* what, const Status& st) {
  std::fprintf(stderr, "kforge: %s: %s\n", what, st.message().c_str());
}

// The call's row in the log, or 0 (said on stderr) when it could not be written.
int64_t RecordCall(CallLog& log, const std::string& key, const ProviderSpec& spec,
                   const Request& request, const Completion& c) {
  auto id = log.Record(key, spec, request, c);
  if (id.ok()) return *id;
  WarnLog("the model call is not in the call log", id.status());
  return 0;
}

}  // namespace

Result<EnsembleConfig> LoadEnsembleConfig(const std::filesystem::path& config_file,
                                          const std::vector<std::string>& specs) {
  EnsembleConfig c;
  Timeouts timeouts;
  if (!config_file.empty()) {
    YAML::Node root;
    try {
      root = YAML::LoadFile(config_file.string());
    } catch (const YAML::Exception& e) {
      return Status::Error(config_file.string() + ": " + e.what());
    }
    if (root["llm"]) {
      try {
        if (auto s = ReadConfig(root["llm"], &c, &timeouts); !s.ok()) {
          return Status::Error(config_file.string() + ": " + s.message());
        }
      } catch (const YAML::Exception& e) {
        return Status::Error(config_file.string() + ": llm: " + e.what());
      }
    }
  }
  if (!specs.empty()) {
    c.members.clear();
    for (const auto& text : specs) {
      auto spec = ParseSpec(text);
      if (!spec.ok()) return spec.status();
      spec->timeouts = timeouts;
      c.members.push_back(Member{*spec, 1, 4, std::nullopt});
    }
  }
  return c;
}

Result<std::unique_ptr<Ensemble>> Ensemble::Create(EnsembleConfig config,
                                                   std::shared_ptr<CallLog> log, Factory factory) {
  if (config.members.empty()) {
    return Status::Error(
        "no model configured: pass --llm SPEC (openai:MODEL, anthropic:MODEL, "
        "openai-compatible:BASE_URL#MODEL, command:PROGRAM, exchange:DIR) or list llm.models in "
        "the config (docs/llm.md)");
  }
  double total_weight = 0;
  for (const auto& m : config.members) total_weight += m.weight;
  if (total_weight <= 0) return Status::Error("llm.models: the weights add up to 0");
  if (!factory) factory = MakeProvider;
  std::unique_ptr<Ensemble> e(new Ensemble(std::move(config), std::move(log)));
  for (const auto& m : e->config_.members) {
    auto p = factory(m.spec);
    if (!p) return Status::Error("cannot make a provider for '" + m.spec.text + "'");
    e->slots_.push_back(Slot{std::move(p), 0});
  }
  return e;
}

int Ensemble::Pick() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<double> weights;
  for (const auto& m : config_.members) weights.push_back(m.weight);
  std::discrete_distribution<int> pick(weights.begin(), weights.end());
  return pick(rng_);
}

Ensemble::Spend Ensemble::spent() const {
  std::lock_guard<std::mutex> lock(mu_);
  return spend_;
}

bool Ensemble::BudgetSpent() const {
  std::lock_guard<std::mutex> lock(mu_);
  return (config_.budget_usd > 0 && spend_.usd >= config_.budget_usd) ||
         (config_.budget_tokens > 0 && spend_.tokens >= config_.budget_tokens);
}

void Ensemble::Stop() {
  stop_ = true;
  slot_free_.notify_all();
}

Completion Ensemble::Complete(const Request& request, const TextSink& sink, int member) {
  if (member < 0) member = Pick();
  if (member >= static_cast<int>(slots_.size())) {
    return Completion::Fail(Error::Kind::kConfig, "no model number " + std::to_string(member));
  }
  const Member& m = config_.members[member];
  const std::string key = RequestKey(m.spec, request);
  if (config_.cache && log_) {
    auto hit = log_->Lookup(key);
    if (!hit.ok()) WarnLog("cannot read the call log, asking the model", hit.status());
    if (hit.ok() && *hit) {
      Completion c;
      c.reply = **hit;
      c.reply.provider = m.spec.Name();
      if (sink) sink(c.reply.text);
      c.reply.log_id = RecordCall(*log_, key, m.spec, request, c);
      std::lock_guard<std::mutex> lock(mu_);
      ++spend_.cached;
      return c;
    }
  }
  if (BudgetSpent()) {
    const Spend s = spent();
    return Completion::Fail(Error::Kind::kBudget, "the LLM budget is spent ($" +
                                                      std::to_string(s.usd).substr(0, 8) + ", " +
                                                      std::to_string(s.tokens) + " tokens)");
  }
  uint64_t retry_seed = 0;
  {
    std::unique_lock<std::mutex> lock(mu_);
    slot_free_.wait(lock, [&] { return stop_ || slots_[member].in_flight < m.max_concurrency; });
    if (stop_) return Completion::Fail(Error::Kind::kCancelled, "stopped");
    ++slots_[member].in_flight;
    retry_seed = rng_();
  }
  std::mt19937_64 jitter(retry_seed);
  Completion c = CompleteWithRetry(*slots_[member].provider, request, sink, config_.retry, jitter,
                                   RealSleeper(&stop_), [&](const Error& e, double pause) {
                                     if (on_retry_) on_retry_(m.spec.Name(), e, pause);
                                   });
  c.reply.provider = m.spec.Name();
  if (c.ok()) {
    if (m.price) {
      c.reply.cost_usd =
          (static_cast<double>(c.reply.usage.prompt_tokens) * m.price->input_per_mtok +
           static_cast<double>(c.reply.usage.completion_tokens) * m.price->output_per_mtok) /
          1e6;
    } else {
      const bool known = config_.prices.Find(m.spec.model).has_value();
      c.reply.cost_usd = config_.prices.Cost(known ? m.spec.model : c.reply.model, c.reply.usage);
    }
  }
  if (log_) c.reply.log_id = RecordCall(*log_, key, m.spec, request, c);
  {
    std::lock_guard<std::mutex> lock(mu_);
    --slots_[member].in_flight;
    if (c.ok()) {
      ++spend_.requests;
      spend_.usd += c.reply.cost_usd;
      spend_.tokens += c.reply.usage.total();
    } else {
      ++spend_.errors;
    }
  }
  slot_free_.notify_one();
  return c;
}

}  // namespace kf::llm
