// docs/xen-differences.md and the DIFF markers in the conformance guests and unit tests name the
// same differences: a case that expects xkvm's behaviour is never presented as Xen's, and the
// document lists nothing that no case checks.
// XKVM-OWN: the differences document, the README's list and the markers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "xen_differences.h"

using namespace xkvm::test;
namespace fs = std::filesystem;

TEST(xen_differences, EveryMarkerIsDocumentedAndEveryEntryIsMarked)
{
    const fs::path root(XKVM_SOURCE_DIR);
    const auto documented = documented_differences(root / "docs" / "xen-differences.md");
    const auto marked = marked_differences(root);
    ASSERT_FALSE(documented.empty()) << "no ### headings in docs/xen-differences.md";
    ASSERT_FALSE(marked.empty()) << "no TEST_DIFF/DIFF markers found under " << root;
    EXPECT_EQ(marked, documented);
}

TEST(xen_differences, TheReadmeListsExactlyTheDocumentedDifferences)
{
    const fs::path root(XKVM_SOURCE_DIR);
    const auto listed = readme_differences(root / "README.md");
    ASSERT_FALSE(listed.empty()) << "README.md has no \"The list today:\" of differences";
    EXPECT_EQ(listed, documented_differences(root / "docs" / "xen-differences.md"));
}

TEST(xen_differences, ReadsTheIdOfAGuestsDiffLine)
{
    EXPECT_EQ(diff_line_id("unknown_ops_are_enosys: no_fifo_abi: EVTCHNOP_init_control is -ENOSYS"), "no_fifo_abi");
    EXPECT_EQ(diff_line_id("case_without_id"), "");
    EXPECT_EQ(diff_line_id("case: id-without-text"), "");
}

TEST(xen_differences, AnUndocumentedDiffLineIsReported)
{
    const std::vector<std::string> lines { "c: no_fifo_abi: fine", "c: made_up_difference: not in the doc" };
    EXPECT_THAT(undocumented_diffs(lines), ::testing::ElementsAre("c: made_up_difference: not in the doc"));
}
