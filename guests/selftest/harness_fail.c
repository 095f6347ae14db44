/* A guest whose second case fails: the host tests must see it fail (tests/conformance_test.cpp,
 * harness_selftest). */
#include "guest/guest.h"

TEST_CASE(passes) { CHECK_EQ(1 + 1, 2); }

TEST_CASE(fails_on_purpose) { CHECK_EQ(1 + 1, 3); }
