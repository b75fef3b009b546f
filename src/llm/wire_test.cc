#include "llm/wire.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "llm/http.h"

namespace kf::llm {
namespace {

Request Ask(std::optional<double> temperature = std::nullopt, std::string effort = "") {
  Request r;
  r.messages = {{"system", "Be brief."}, {"user", "Hi"}};
  r.max_tokens = 300;
  r.temperature = temperature;
  r.reasoning_effort = std::move(effort);
  return r;
}

ProviderSpec Spec(const std::string& text) {
  auto s = ParseSpec(text);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return *s;
}

TEST(OpenAiBodyTest, CompatibleServersGetMaxTokensAndTemperature) {
  auto body = OpenAiBody(Spec("openai-compatible:http://127.0.0.1:8080/v1#qwen"), Ask(0.2));
  EXPECT_EQ(body["model"], "qwen");
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["stream_options"]["include_usage"], true);
  EXPECT_EQ(body["max_tokens"], 300);
  EXPECT_FALSE(body.contains("max_completion_tokens"));
  EXPECT_DOUBLE_EQ(body["temperature"].get<double>(), 0.2);
  ASSERT_EQ(body["messages"].size(), 2u);
  EXPECT_EQ(body["messages"][0]["role"], "system");
}

TEST(OpenAiBodyTest, ReasoningModelsGetMaxCompletionTokensEffortAndNoTemperature) {
  for (const char* spec : {"openai:o3-mini", "openai:gpt-5",
                           "openai-compatible:https://openrouter.ai/api/v1#openai/o4-mini"}) {
    auto body = OpenAiBody(Spec(spec), Ask(0.7, "high"));
    EXPECT_EQ(body["max_completion_tokens"], 300) << spec;
    EXPECT_FALSE(body.contains("max_tokens")) << spec;
    EXPECT_FALSE(body.contains("temperature")) << spec;
    EXPECT_EQ(body["reasoning_effort"], "high") << spec;
  }
  // OpenAI itself takes max_completion_tokens for every model; others keep their temperature.
  auto body = OpenAiBody(Spec("openai:gpt-4.1"), Ask(0.5));
  EXPECT_EQ(body["max_completion_tokens"], 300);
  EXPECT_DOUBLE_EQ(body["temperature"].get<double>(), 0.5);
}

TEST(AnthropicBodyTest, SystemIsLiftedAndThinkingReplacesTemperature) {
  auto body = AnthropicBody(Spec("anthropic:claude-sonnet-4-5"), Ask(0.3));
  EXPECT_EQ(body["system"], "Be brief.");
  ASSERT_EQ(body["messages"].size(), 1u);
  EXPECT_EQ(body["messages"][0]["role"], "user");
  EXPECT_EQ(body["max_tokens"], 300);
  EXPECT_DOUBLE_EQ(body["temperature"].get<double>(), 0.3);
  EXPECT_FALSE(body.contains("thinking"));

  Request big = Ask(0.3, "medium");
  big.max_tokens = 16000;
  body = AnthropicBody(Spec("anthropic:claude-sonnet-4-5"), big);
  EXPECT_EQ(body["thinking"]["type"], "enabled");
  EXPECT_EQ(body["thinking"]["budget_tokens"], 4096);
  EXPECT_FALSE(body.contains("temperature"));
}

TEST(OpenAiStreamTest, TextUsageAndFinishReasonAreAssembled) {
  StreamState s;
  std::string streamed;
  TextSink sink = [&](std::string_view t) { streamed += t; };
  for (const char* data :
       {R"({"model":"m1","choices":[{"delta":{"role":"assistant","content":""}}]})",
        R"({"choices":[{"delta":{"content":"Hel"}}]})",
        R"({"choices":[{"delta":{"reasoning_content":"thinking..."}}]})",
        R"({"choices":[{"delta":{"content":"lo"},"finish_reason":"stop"}]})",
        R"({"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2}})", "[DONE]"}) {
    OpenAiEvent(SseEvent{"", data}, s, sink);
  }
  Completion c = FinishStream(s, "host");
  ASSERT_TRUE(c.ok()) << c.error->message;
  EXPECT_EQ(c.reply.text, "Hello");
  EXPECT_EQ(streamed, "Hello");
  EXPECT_EQ(c.reply.model, "m1");
  EXPECT_EQ(c.reply.finish_reason, "stop");
  EXPECT_EQ(c.reply.usage.prompt_tokens, 9);
  EXPECT_EQ(c.reply.usage.completion_tokens, 2);
}

TEST(OpenAiStreamTest, AWholeJsonReplyIsAcceptedToo) {
  StreamState s;
  OpenAiWholeBody(
      R"({"model":"m","choices":[{"message":{"content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}})",
      s, {});
  Completion c = FinishStream(s, "host");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c.reply.text, "ok");
  EXPECT_EQ(c.reply.usage.total(), 4);
}

TEST(AnthropicStreamTest, UsageComesFromStartAndDelta) {
  StreamState s;
  for (
      const char* data :
      {R"({"type":"message_start","message":{"model":"claude-x","usage":{"input_tokens":12,"output_tokens":1}}})",
       R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})",
       R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}})",
       R"({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}})",
       R"({"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":5}})",
       R"({"type":"message_stop"})"}) {
    AnthropicEvent(SseEvent{"", data}, s, {});
  }
  Completion c = FinishStream(s, "host");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c.reply.text, "Hi");
  EXPECT_EQ(c.reply.model, "claude-x");
  EXPECT_EQ(c.reply.finish_reason, "end_turn");
  EXPECT_EQ(c.reply.usage.prompt_tokens, 12);
  EXPECT_EQ(c.reply.usage.completion_tokens, 5);
}

TEST(HttpErrorTest, StatusCodesBecomeTypedErrors) {
  HttpResponse r;
  r.status = 429;
  r.headers["retry-after"] = "7";
  Error e = ErrorFromStatus(r, "https://api.example.com/v1/x", "K");
  EXPECT_EQ(e.kind, Error::Kind::kRateLimited);
  EXPECT_DOUBLE_EQ(e.retry_after_s, 7);
  EXPECT_TRUE(e.retryable());

  r = HttpResponse{};
  r.status = 400;
  r.body =
      R"({"error":{"message":"This model's maximum context length is 8192 tokens.","code":"context_length_exceeded"}})";
  e = ErrorFromStatus(r, "https://api.example.com/v1/x", "K");
  EXPECT_EQ(e.kind, Error::Kind::kContextLength);
  EXPECT_FALSE(e.retryable());

  r.body =
      R"({"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 250000 tokens > 200000 maximum"}})";
  EXPECT_EQ(ErrorFromStatus(r, "u", "K").kind, Error::Kind::kContextLength);

  r.body = R"({"error":{"message":"Unknown parameter: foo"}})";
  e = ErrorFromStatus(r, "u", "K");
  EXPECT_EQ(e.kind, Error::Kind::kBadRequest);
  EXPECT_NE(e.message.find("Unknown parameter: foo"), std::string::npos);

  unsetenv("KFORGE_TEST_UNSET_KEY");
  r = HttpResponse{};
  r.status = 401;
  e = ErrorFromStatus(r, "u", "KFORGE_TEST_UNSET_KEY");
  EXPECT_EQ(e.kind, Error::Kind::kAuth);
  EXPECT_NE(e.message.find("KFORGE_TEST_UNSET_KEY is not set"), std::string::npos);
  EXPECT_FALSE(e.retryable());

  for (int status : {500, 502, 503, 529}) {
    r.status = status;
    EXPECT_EQ(ErrorFromStatus(r, "u", "K").kind, Error::Kind::kServer) << status;
  }
}

TEST(HttpErrorTest, RetryAfterReadsSecondsMillisecondsAndDates) {
  EXPECT_DOUBLE_EQ(ParseRetryAfter({{"retry-after", "3"}}), 3);
  EXPECT_DOUBLE_EQ(ParseRetryAfter({{"retry-after-ms", "250"}, {"retry-after", "3"}}), 0.25);
  EXPECT_DOUBLE_EQ(ParseRetryAfter({}), -1);
  EXPECT_DOUBLE_EQ(ParseRetryAfter({{"retry-after", "soon"}}), -1);
  EXPECT_DOUBLE_EQ(ParseRetryAfter({{"retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"}}), 0);
}

}  // namespace
}  // namespace kf::llm
