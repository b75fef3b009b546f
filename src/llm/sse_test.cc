#include "llm/sse.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kf::llm {
namespace {

std::vector<SseEvent> ParseInPieces(const std::string& stream, size_t piece) {
  std::vector<SseEvent> events;
  SseParser p([&](const SseEvent& e) { events.push_back(e); });
  for (size_t i = 0; i < stream.size(); i += piece)
    p.Feed(std::string_view(stream).substr(i, piece));
  p.Finish();
  return events;
}

TEST(SseParserTest, EventsSurviveAnySplitOfTheBytes) {
  const std::string stream =
      "data: {\"a\":1}\n\n: keep-alive\n\nevent: message_stop\ndata: {\"b\":2}\r\n\r\ndata: "
      "[DONE]\n\n";
  for (size_t piece : {1, 2, 3, 7, 1000}) {
    auto events = ParseInPieces(stream, piece);
    ASSERT_EQ(events.size(), 3u) << "piece " << piece;
    EXPECT_EQ(events[0].data, "{\"a\":1}");
    EXPECT_EQ(events[0].event, "");
    EXPECT_EQ(events[1].event, "message_stop");
    EXPECT_EQ(events[1].data, "{\"b\":2}");
    EXPECT_EQ(events[2].data, "[DONE]");
  }
}

TEST(SseParserTest, MultiLineDataIsJoinedWithNewlines) {
  auto events = ParseInPieces("data: one\ndata:two\ndata:  three\n\n", 4);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "one\ntwo\n three");  // one space after the colon is removed
}

TEST(SseParserTest, CarriageReturnAloneEndsALine) {
  auto events = ParseInPieces("data: x\r\rdata: y\r\r", 1);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].data, "y");
}

TEST(SseParserTest, LastEventWithoutBlankLineIsDispatchedAtTheEnd) {
  auto events = ParseInPieces("data: a\n\ndata: b", 3);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].data, "b");
}

TEST(SseParserTest, CommentsAndUnknownFieldsMakeNoEvents) {
  EXPECT_TRUE(ParseInPieces(": ping\n\nid: 4\nretry: 100\n\n", 5).empty());
}

}  // namespace
}  // namespace kf::llm
