#include "text/label_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace modelmux {
namespace {

using ::testing::HasSubstr;

TEST(LabelTableTest, OneLabelPerLine) {
  auto table = LabelTable::FromText("refund_duplicate_charge\ncancel_trip\nlost_item\n", "labels.txt");
  ASSERT_TRUE(table.ok()) << table.status();
  ASSERT_EQ(table->size(), 3);
  EXPECT_EQ(table->label(0), "refund_duplicate_charge");
  EXPECT_EQ(table->label(2), "lost_item");
}

TEST(LabelTableTest, FinalNewlineOptionalAndCrLfAccepted) {
  auto table = LabelTable::FromText("a\r\nb", "labels.txt");
  ASSERT_TRUE(table.ok()) << table.status();
  ASSERT_EQ(table->size(), 2);
  EXPECT_EQ(table->label(0), "a");
  EXPECT_EQ(table->label(1), "b");
}

TEST(LabelTableTest, ViewsSurviveMove) {
  auto table = LabelTable::FromText("x\ny\n", "labels.txt");
  ASSERT_TRUE(table.ok());
  std::string_view first = table->label(0);
  LabelTable moved = std::move(table).value();
  EXPECT_EQ(first.data(), moved.label(0).data());
  EXPECT_EQ(first, "x");
}

TEST(LabelTableTest, RejectsEmptyFile) {
  for (std::string_view text : {"", "\n"}) {
    auto table = LabelTable::FromText(text, "labels.txt");
    EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(table.status().message(), HasSubstr("labels.txt holds no label"));
  }
}

TEST(LabelTableTest, RejectsEmptyLabel) {
  auto table = LabelTable::FromText("a\n\nb\n", "labels.txt");
  EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(table.status().message(), HasSubstr("line 2"));
}

TEST(LabelTableTest, RejectsRepeatedLabel) {
  auto table = LabelTable::FromText("a\nb\na\n", "labels.txt");
  EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(table.status().message(), HasSubstr("line 3 repeats the label 'a'"));
}

TEST(LabelTableTest, CreateReadsAFile) {
  const auto path = std::filesystem::path(testing::TempDir()) / "label_table_test_labels.txt";
  std::ofstream(path) << "one\ntwo\n";
  auto table = LabelTable::Create(path);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->size(), 2);
  EXPECT_GT(table->MemoryBytes(), 0);
  std::filesystem::remove(path);
  EXPECT_EQ(LabelTable::Create(path).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace modelmux
