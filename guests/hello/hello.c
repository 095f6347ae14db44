/* Smoke guest for the 32-bit path: PVH entry, paging off, prints through 0xe9 and console_io. */
#include "guest/guest.h"

int guest_main(void)
{
    static const char e9[] = "hello: 32-bit PVH guest, paging off, via port 0xe9\n";
    console_write_e9(e9, sizeof(e9) - 1);

    if (!xen_hypercalls_ready()) {
        printf("hello: no Xen hypervisor found, cannot use console_io\n");
        printf("hello: done\n");
        return 0;
    }
    static const char xen[] = "hello: 32-bit PVH guest, via console_io\n";
    int rc = console_write_xen(xen, sizeof(xen) - 1);
    if (rc)
        printf("hello: console_io failed: %d (%s)\n", rc, xen_strerror(rc));
    printf("hello: done\n");
    return 0;
}
