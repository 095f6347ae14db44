/* Used when a guest defines no guest_main of its own: run every TEST_CASE and report. */
#include "guest/guest.h"

__attribute__((weak)) int guest_main(void)
{
    test_run_all();
    test_finish();
}
