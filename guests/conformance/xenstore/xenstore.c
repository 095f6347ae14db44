/* Conformance: xenstore as a guest sees it over its ring. The domain's own nodes (domid, name, home
 * path), writing under data/, permissions (EACCES on dom0-owned nodes and other domains' trees,
 * ENOENT on missing nodes), a watch and its events, transactions (commit, abort, conflict -> EAGAIN),
 * and malformed requests. Command line: name=<the domain's name>. 64-bit (the ring has one layout). */
#include "conformance.h"

static char home[64];
static char buf[256];

/* Xen 4.19: docs/misc/xenstore-paths.pandoc (~/domid). */
TEST_CASE(domid_matches_cpuid)
{
    REQUIRE(xs_read("domid", buf, sizeof(buf)) > 0);
    CHECK_EQ(strtoul(buf, NULL, 10), xen_info.domid);
    snprintf(home, sizeof(home), "/local/domain/%u", xen_info.domid);
    char abs[96];
    snprintf(abs, sizeof(abs), "%s/domid", home);
    char again[16];
    REQUIRE(xs_read(abs, again, sizeof(again)) > 0); /* absolute and relative paths agree */
    CHECK_STREQ(again, buf);
}

/* Xen 4.19: docs/misc/xenstore-paths.pandoc (~/name). */
TEST_CASE(name_matches_toolstack)
{
    const char* want = conf_arg("name");
    REQUIRE(*want);
    REQUIRE(xs_read("name", buf, sizeof(buf)) > 0);
    CHECK_STREQ(buf, want);
}

/* Xen 4.19: docs/misc/xenstore.txt (GET_DOMAIN_PATH: /local/domain/<domid>). */
TEST_CASE(get_domain_path)
{
    char id[16];
    snprintf(id, sizeof(id), "%u", xen_info.domid);
    uint32_t type = 0;
    REQUIRE(xs_request(XS_GET_DOMAIN_PATH, 0, id, (uint32_t)strlen(id) + 1, &type, buf, sizeof(buf)) > 0);
    CHECK_EQ(type, XS_GET_DOMAIN_PATH);
    CHECK_STREQ(buf, home);
}

/* Xen 4.19: docs/misc/xenstore.txt (WRITE, READ, DIRECTORY, RM); docs/misc/xenstore-paths.pandoc
 * (~/data is guest-writable). */
TEST_CASE(write_read_rm_under_data)
{
    CHECK_EQ(xs_write("data/conformance", "hello xenstore"), 0);
    REQUIRE_EQ(xs_read("data/conformance", buf, sizeof(buf)), 14);
    CHECK_STREQ(buf, "hello xenstore");
    CHECK_EQ(xs_write("data/conformance", ""), 0); /* empty value */
    CHECK_EQ(xs_read("data/conformance", buf, sizeof(buf)), 0);
    CHECK_EQ(xs_mkdir("data/dir"), 0);
    CHECK_EQ(xs_write("data/dir/leaf", "1"), 0);
    int n = xs_directory("data/dir", buf, sizeof(buf));
    CHECK_EQ(n, 1);
    CHECK_STREQ(buf, "leaf");
    CHECK_EQ(xs_rm("data/dir"), 0);
    CHECK_EQ(xs_read("data/dir/leaf", buf, sizeof(buf)), -XEN_ENOENT);
}

/* Xen 4.19: docs/misc/xenstore.txt (ENOENT); tools/xenstored/core.c. */
TEST_CASE(missing_node_is_enoent)
{
    CHECK_EQ(xs_read("data/does-not-exist", buf, sizeof(buf)), -XEN_ENOENT);
    /* As in xenstored: removing a missing node is fine while its parent exists. */
    CHECK_EQ(xs_rm("data/does-not-exist"), 0);
    CHECK_EQ(xs_rm("data/no-parent/child"), -XEN_ENOENT);
}

/* Xen 4.19: docs/misc/xenstore.txt (permissions: EACCES); tools/xenstored/core.c. */
TEST_CASE(dom0_owned_nodes_are_eacces)
{
    CHECK_EQ(xs_write("domid", "0"), -XEN_EACCES);
    CHECK_EQ(xs_write("name", "evil"), -XEN_EACCES);
    CHECK_EQ(xs_write("new-node-in-home", "x"), -XEN_EACCES);
    CHECK_EQ(xs_rm("name"), -XEN_EACCES);
    REQUIRE(xs_read("domid", buf, sizeof(buf)) > 0);
    CHECK_EQ(strtoul(buf, NULL, 10), xen_info.domid); /* unchanged */
}

/* Xen 4.19: docs/misc/xenstore.txt (permissions: EACCES); tools/xenstored/core.c. */
TEST_CASE(other_domains_are_eacces)
{
    CHECK_EQ(xs_read("/local/domain/0/name", buf, sizeof(buf)), -XEN_EACCES);
    CHECK_EQ(xs_write("/local/domain/0/data/x", "1"), -XEN_EACCES);
    char other[64];
    snprintf(other, sizeof(other), "/local/domain/%u/data/x", xen_info.domid + 1);
    CHECK_EQ(xs_write(other, "1"), -XEN_EACCES);
    CHECK_EQ(xs_write("/tool/x", "1"), -XEN_EACCES);
}

/* Xen 4.19: docs/misc/xenstore.txt (EINVAL); tools/xenstored/core.c. */
TEST_CASE(malformed_requests_are_einval)
{
    CHECK_EQ(xs_write("data/has space", "1"), -XEN_EINVAL);
    CHECK_EQ(xs_write("data//double", "1"), -XEN_EINVAL);
    /* Toolstack-only message: a guest may not introduce domains. */
    CHECK_EQ(xs_request(XS_INTRODUCE, 0, "5\0" "1\0" "1", 6, NULL, buf, sizeof(buf)), -XEN_EACCES);
}

/* Xen 4.19: tools/xenstored/core.c, process_message (unknown type: ENOSYS). */
TEST_CASE(unknown_message_type_is_enosys)
{
    /* xenstored answers message types it does not know, and ones only it sends, with ENOSYS. */
    CHECK_EQ(xs_request(99, 0, "x", 2, NULL, buf, sizeof(buf)), -XEN_ENOSYS);
    CHECK_EQ(xs_request(XS_WATCH_EVENT, 0, "x", 2, NULL, buf, sizeof(buf)), -XEN_ENOSYS);
    CHECK_EQ(xs_read("domid", buf, sizeof(buf)) > 0, 1); /* the connection still works */
}

/* Xen 4.19: docs/misc/xenstore.txt (WATCH: an event at once, then on changes; duplicate: EEXIST). */
TEST_CASE(watch_fires_on_registration_and_change)
{
    char path[64], token[16];
    REQUIRE_EQ(xs_watch("data/w", "tok1"), 0);
    REQUIRE_EQ(xs_read_watch(path, sizeof(path), token, sizeof(token)), 0); /* the initial event */
    CHECK_STREQ(path, "data/w");
    CHECK_STREQ(token, "tok1");
    CHECK_EQ(xs_write("data/w/child", "v"), 0);
    REQUIRE_EQ(xs_read_watch(path, sizeof(path), token, sizeof(token)), 0);
    CHECK_STREQ(path, "data/w/child");
    CHECK_STREQ(token, "tok1");
    CHECK_EQ(xs_watch("data/w", "tok1"), -XEN_EEXIST);
    CHECK_EQ(xs_unwatch("data/w", "tok1"), 0);
    CHECK_EQ(xs_unwatch("data/w", "tok1"), -XEN_ENOENT);
}

/* Xen 4.19: docs/misc/xenstore.txt (TRANSACTION_START / TRANSACTION_END). */
TEST_CASE(transaction_commit)
{
    uint32_t tx = 0;
    REQUIRE_EQ(xs_transaction_start(&tx), 0);
    CHECK_NE(tx, 0);
    CHECK_EQ(xs_write_tx(tx, "data/tx-commit", "in-tx"), 0);
    CHECK_EQ(xs_read("data/tx-commit", buf, sizeof(buf)), -XEN_ENOENT); /* not visible outside yet */
    CHECK_EQ(xs_read_tx(tx, "data/tx-commit", buf, sizeof(buf)), 5);
    CHECK_EQ(xs_transaction_end(tx, true), 0);
    CHECK_EQ(xs_read("data/tx-commit", buf, sizeof(buf)), 5);
    CHECK_STREQ(buf, "in-tx");
}

/* Xen 4.19: docs/misc/xenstore.txt (TRANSACTION_END F). */
TEST_CASE(transaction_abort)
{
    uint32_t tx = 0;
    REQUIRE_EQ(xs_transaction_start(&tx), 0);
    CHECK_EQ(xs_write_tx(tx, "data/tx-abort", "gone"), 0);
    CHECK_EQ(xs_transaction_end(tx, false), 0);
    CHECK_EQ(xs_read("data/tx-abort", buf, sizeof(buf)), -XEN_ENOENT);
    CHECK_EQ(xs_transaction_end(tx, true), -XEN_ENOENT); /* ended: the id is gone */
}

/* Xen 4.19: docs/misc/xenstore.txt (TRANSACTION_END: EAGAIN on a conflict);
 * tools/xenstored/transaction.c. */
TEST_CASE(transaction_conflict_is_eagain)
{
    CHECK_EQ(xs_write("data/tx-conflict", "0"), 0);
    uint32_t tx = 0;
    REQUIRE_EQ(xs_transaction_start(&tx), 0);
    CHECK_EQ(xs_read_tx(tx, "data/tx-conflict", buf, sizeof(buf)), 1);
    CHECK_EQ(xs_write("data/tx-conflict", "outside"), 0); /* changes what the transaction read */
    CHECK_EQ(xs_write_tx(tx, "data/tx-conflict", "inside"), 0);
    CHECK_EQ(xs_transaction_end(tx, true), -XEN_EAGAIN);
    CHECK_EQ(xs_read("data/tx-conflict", buf, sizeof(buf)), 7);
    CHECK_STREQ(buf, "outside");
}
