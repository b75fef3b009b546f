// Spec strings, the config's llm: section, the price table and the backoff schedule.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "llm/cost.h"
#include "llm/ensemble.h"
#include "llm/provider.h"
#include "llm/retry.h"

namespace kf::llm {
namespace {

TEST(SpecTest, EveryKindParses) {
  unsetenv("OPENAI_BASE_URL");
  auto s = ParseSpec("openai:gpt-4.1");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->model, "gpt-4.1");
  EXPECT_EQ(s->base_url, "https://api.openai.com/v1");
  EXPECT_EQ(s->api_key_env, "OPENAI_API_KEY");

  s = ParseSpec("openai-compatible:https://openrouter.ai/api/v1/#deepseek/deepseek-r1");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->base_url, "https://openrouter.ai/api/v1");
  EXPECT_EQ(s->model, "deepseek/deepseek-r1");
  EXPECT_EQ(s->api_key_env, "OPENROUTER_API_KEY");
  EXPECT_EQ(ParseSpec("openai-compatible:http://127.0.0.1:8080/v1#m")->api_key_env,
            "KFORGE_LLM_API_KEY");

  s = ParseSpec("command:llm -m gpt-4o-mini");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->command, "llm -m gpt-4o-mini");
  EXPECT_EQ(ParseSpec("exchange:/tmp/x")->dir, "/tmp/x");
  EXPECT_EQ(ParseSpec("anthropic:claude-sonnet-4-5")->api_key_env, "ANTHROPIC_API_KEY");
}

TEST(SpecTest, TyposGetMessagesThatSayWhatIsExpected) {
  for (const char* bad : {"gpt-4o", "opnai:gpt-4o", "openai:", "openai-compatible:http://x/v1",
                          "openai-compatible:localhost:8080#m", "command:  ", "exchange:"}) {
    auto s = ParseSpec(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.status().message().find(bad), std::string::npos) << s.status().message();
  }
}

TEST(PriceTest, LongestPrefixOfTheModelNameWins) {
  PriceTable t = PriceTable::Defaults();
  Usage u{1000000, 1000000, false};
  EXPECT_DOUBLE_EQ(t.Cost("gpt-4o-mini-2024-07-18", u), 0.15 + 0.60);
  EXPECT_DOUBLE_EQ(t.Cost("gpt-4o-2024-08-06", u), 2.50 + 10.00);
  EXPECT_DOUBLE_EQ(t.Cost("openai/gpt-4o", u), 2.50 + 10.00);
  EXPECT_DOUBLE_EQ(t.Cost("smollm2", u), 0);
  EXPECT_FALSE(t.Find("smollm2").has_value());
  t.Set("smollm2", {0.01, 0.02});
  EXPECT_NEAR(t.Cost("smollm2", Usage{500000, 250000, false}), 0.005 + 0.005, 1e-12);
}

TEST(BackoffTest, GrowsExponentiallyWithJitterCapsAndHonoursRetryAfter) {
  RetryPolicy p;
  p.base_s = 1;
  p.max_s = 8;
  std::mt19937_64 rng(42);
  for (int attempt = 1; attempt <= 6; ++attempt) {
    const double d = std::min(8.0, std::pow(2.0, attempt - 1));
    double lo = 1e9, hi = 0;
    for (int i = 0; i < 200; ++i) {
      const double x = BackoffDelay(attempt, p, -1, rng);
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
    EXPECT_GE(lo, d / 2) << attempt;
    EXPECT_LE(hi, d) << attempt;
    EXPECT_GT(hi - lo, d / 10) << "jitter at attempt " << attempt;
  }
  EXPECT_DOUBLE_EQ(BackoffDelay(1, p, 5.0, rng), 5.0);  // the server asked for longer
}

TEST(ConfigTest, TheLlmSectionIsReadAndCheckedKeyByKey) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("kforge-llm-config-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / "kforge.yaml";
  std::ofstream(file) << R"(
llm:
  models:
    - {spec: "openai:gpt-4.1", weight: 3, max_concurrency: 2}
    - spec: "openai-compatible:http://127.0.0.1:8080/v1#local"
      api_key_env: MY_KEY
      price: {input: 0.5, output: 1}
      timeouts: {first_byte_s: 5}
    - "command:cat"
  budget: {usd: 2.5, tokens: 100000}
  cache: false
  retries: {max_attempts: 3, base_s: 0.5, max_s: 10}
  timeouts: {connect_s: 3, total_s: 60}
  prices: {my-model: {input: 1, output: 2}}
  max_tokens: 1000
  reasoning_effort: low
)";
  auto c = LoadEnsembleConfig(file, {});
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->members.size(), 3u);
  EXPECT_DOUBLE_EQ(c->members[0].weight, 3);
  EXPECT_EQ(c->members[0].max_concurrency, 2);
  EXPECT_DOUBLE_EQ(c->members[0].spec.timeouts.connect_s, 3);
  EXPECT_EQ(c->members[1].spec.api_key_env, "MY_KEY");
  EXPECT_DOUBLE_EQ(c->members[1].price->output_per_mtok, 1);
  EXPECT_DOUBLE_EQ(c->members[1].spec.timeouts.first_byte_s, 5);
  EXPECT_DOUBLE_EQ(c->members[1].spec.timeouts.total_s, 60);
  EXPECT_DOUBLE_EQ(c->budget_usd, 2.5);
  EXPECT_EQ(c->budget_tokens, 100000);
  EXPECT_FALSE(c->cache);
  EXPECT_EQ(c->retry.max_attempts, 3);
  EXPECT_TRUE(c->prices.Find("my-model").has_value());
  EXPECT_EQ(c->max_tokens, 1000);
  EXPECT_EQ(c->reasoning_effort, "low");

  // Specs from the command line replace the file's models.
  c = LoadEnsembleConfig(file, {"anthropic:claude-x"});
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->members.size(), 1u);
  EXPECT_EQ(c->members[0].spec.kind, "anthropic");

  std::ofstream(file) << "llm:\n  budget: {dollars: 3}\n";
  c = LoadEnsembleConfig(file, {});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("llm.budget.dollars: unknown key"), std::string::npos)
      << c.status().message();
  std::ofstream(file) << "llm:\n  models: [{spec: 'openai:x', weight: heavy}]\n";
  c = LoadEnsembleConfig(file, {});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("weight: expected a number"), std::string::npos)
      << c.status().message();
  std::filesystem::remove_all(dir);
}

TEST(ConfigTest, NoModelTellsTheUserHowToConfigureOne) {
  auto e = Ensemble::Create(EnsembleConfig{}, nullptr);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("--llm SPEC"), std::string::npos);
  EXPECT_NE(e.status().message().find("docs/llm.md"), std::string::npos);
}

}  // namespace
}  // namespace kf::llm
