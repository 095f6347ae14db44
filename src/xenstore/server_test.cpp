// Database requests and transactions through the protocol.
#include "xenstore/server.h"

#include <gtest/gtest.h>

#include "xenstore/server_test_util.h"

using namespace xkvm::xenstore;
using namespace xkvm::xenstore::testing;

namespace {

class ServerOps : public ::testing::Test {
protected:
    void SetUp() override
    {
        ASSERT_TRUE(h.server.open_connection(kDom0, 0).has_value());
        ASSERT_TRUE(h.server.open_connection(kGuest1, 1).has_value());
        ASSERT_TRUE(h.server.open_connection(kGuest2, 2).has_value());
        ASSERT_TRUE(h.server.create_domain_tree(1, "one").has_value());
        ASSERT_TRUE(h.server.create_domain_tree(2, "two").has_value());
    }
    Harness h;
};

// ctest names start with the subsystem, so `ctest -R xenstore` finds them.
using xenstore_server = ServerOps;

} // namespace

TEST_F(xenstore_server, WriteReadRoundTrip)
{
    EXPECT_EQ(h.write(kDom0, "/tool/x", "hello"), "OK");
    EXPECT_EQ(h.read(kDom0, "/tool/x"), "hello");
    EXPECT_EQ(h.write(kDom0, "/tool/x", std::string("a\0b", 3)), "OK");
    EXPECT_EQ(h.read(kDom0, "/tool/x"), std::string("a\0b", 3));
    EXPECT_EQ(h.read(kDom0, "/tool/missing"), "E:ENOENT");
}

TEST_F(xenstore_server, GuestRelativePaths)
{
    EXPECT_EQ(h.write(kGuest1, "data/key", "v"), "OK");
    EXPECT_EQ(h.read(kDom0, "/local/domain/1/data/key"), "v");
    EXPECT_EQ(h.read(kGuest1, "/local/domain/1/data/key"), "v");
    EXPECT_EQ(h.read(kGuest1, "name"), "one");
    EXPECT_EQ(h.read(kGuest1, "domid"), "1");
    // dom0's relative paths are under its own home.
    EXPECT_EQ(h.write(kDom0, "rel", "0"), "OK");
    EXPECT_EQ(h.read(kDom0, "/local/domain/0/rel"), "0");
}

TEST_F(xenstore_server, GuestsAreConfinedByPermissions)
{
    EXPECT_EQ(h.write(kGuest1, "data/mine", "1"), "OK");
    EXPECT_EQ(h.read(kGuest2, "/local/domain/1/data/mine"), "E:EACCES");
    EXPECT_EQ(h.write(kGuest2, "/local/domain/1/data/mine", "x"), "E:EACCES");
    EXPECT_EQ(h.read(kGuest2, "/local/domain/1/data/nothing"), "E:EACCES");
    EXPECT_EQ(h.write(kGuest1, "name", "renamed"), "E:EACCES");
    EXPECT_EQ(h.write(kGuest1, "newtop", "x"), "E:EACCES");
    EXPECT_EQ(h.rm(kGuest1, "/local/domain/1"), "E:EACCES");
    EXPECT_EQ(h.read(kGuest1, "/local/domain/2/name"), "E:EACCES");
    EXPECT_EQ(h.dir(kGuest1, "/local/domain"), "E:EACCES");
    EXPECT_EQ(h.write(kGuest1, "/tool/x", "1"), "E:EACCES");
}

TEST_F(xenstore_server, MkdirRmDirectory)
{
    EXPECT_EQ(h.mkdir(kDom0, "/d/a"), "OK");
    EXPECT_EQ(h.mkdir(kDom0, "/d/b"), "OK");
    EXPECT_EQ(h.mkdir(kDom0, "/d/a"), "OK");
    EXPECT_EQ(h.dir(kDom0, "/d"), args({ "a", "b" }));
    EXPECT_EQ(h.dir(kDom0, "/d/a"), "");
    EXPECT_EQ(h.rm(kDom0, "/d/a"), "OK");
    EXPECT_EQ(h.dir(kDom0, "/d"), args({ "b" }));
    EXPECT_EQ(h.rm(kDom0, "/d/a"), "OK");
    EXPECT_EQ(h.rm(kDom0, "/d/a/x"), "E:ENOENT");
    EXPECT_EQ(h.rm(kDom0, "/"), "E:EINVAL");
    EXPECT_EQ(h.dir(kDom0, "/nope"), "E:ENOENT");
}

TEST_F(xenstore_server, DirectoryTooLargeIsE2big)
{
    for (int i = 0; i < 100; i++)
        ASSERT_EQ(h.mkdir(kDom0, "/big/" + std::string(40, 'a') + std::to_string(i)), "OK");
    EXPECT_EQ(h.dir(kDom0, "/big"), "E:E2BIG");
}

TEST_F(xenstore_server, DirectoryPartWalksLongLists)
{
    std::string expected;
    for (int i = 0; i < 100; i++) {
        std::string name = std::string(40, 'a') + std::to_string(i);
        ASSERT_EQ(h.mkdir(kDom0, "/big/" + name), "OK");
        expected += name;
        expected.push_back('\0');
    }
    std::string all;
    std::string gen;
    for (int round = 0; round < 10; round++) {
        std::string r = h.call(kDom0, MsgType::DirectoryPart, args({ "/big", std::to_string(all.size()) }));
        ASSERT_FALSE(r.starts_with("E:")) << r;
        std::string this_gen(r.c_str());
        if (gen.empty())
            gen = this_gen;
        EXPECT_EQ(this_gen, gen);
        std::string chunk = r.substr(this_gen.size() + 1);
        bool done = chunk.size() >= 2 && chunk[chunk.size() - 2] == '\0';
        if (done || chunk == std::string("\0", 1))
            chunk.pop_back();
        all += chunk;
        if (done || chunk.empty())
            break;
    }
    EXPECT_EQ(all, expected);
    // Past the end: just the generation and the end marker.
    std::string tail = h.call(kDom0, MsgType::DirectoryPart, args({ "/big", "999999" }));
    EXPECT_EQ(tail, gen + std::string("\0\0", 2));
    // The generation moves when the list changes.
    ASSERT_EQ(h.mkdir(kDom0, "/big/more"), "OK");
    std::string again = h.call(kDom0, MsgType::DirectoryPart, args({ "/big", "0" }));
    EXPECT_NE(std::string(again.c_str()), gen);
}

TEST_F(xenstore_server, GetAndSetPerms)
{
    EXPECT_EQ(h.get_perms(kDom0, "/local/domain/1"), args({ "n0", "r1" }));
    EXPECT_EQ(h.get_perms(kGuest1, "data"), args({ "n1" }));
    EXPECT_EQ(h.write(kGuest1, "data/shared", "s"), "OK");
    EXPECT_EQ(h.set_perms(kGuest1, "data/shared", { "n1", "r2" }), "OK");
    EXPECT_EQ(h.get_perms(kGuest1, "data/shared"), args({ "n1", "r2" }));
    EXPECT_EQ(h.read(kGuest2, "/local/domain/1/data/shared"), "s");
    EXPECT_EQ(h.write(kGuest2, "/local/domain/1/data/shared", "x"), "E:EACCES");
    EXPECT_EQ(h.set_perms(kGuest2, "/local/domain/1/data/shared", { "b2" }), "E:EACCES");
    EXPECT_EQ(h.set_perms(kGuest1, "data/shared", { "b2" }), "E:EPERM");
    EXPECT_EQ(h.set_perms(kGuest1, "data/shared", { "q1" }), "E:EINVAL");
    EXPECT_EQ(h.set_perms(kDom0, "/local/domain/1/data/shared", { "b2" }), "OK");
    EXPECT_EQ(h.write(kGuest2, "/local/domain/1/data/shared", "x"), "OK");
}

TEST_F(xenstore_server, GetDomainPath)
{
    EXPECT_EQ(h.call(kGuest1, MsgType::GetDomainPath, args({ "7" })), args({ "/local/domain/7" }));
    EXPECT_EQ(h.call(kGuest1, MsgType::GetDomainPath, args({ "x" })), "E:EINVAL");
}

TEST_F(xenstore_server, TransactionCommitAndAbort)
{
    uint32_t tx = h.start(kGuest1);
    ASSERT_NE(tx, 0u);
    EXPECT_EQ(h.write(kGuest1, "data/t", "in-tx", tx), "OK");
    EXPECT_EQ(h.read(kGuest1, "data/t", tx), "in-tx");
    EXPECT_EQ(h.read(kGuest1, "data/t"), "E:ENOENT");
    EXPECT_EQ(h.end(kGuest1, tx, true), "OK");
    EXPECT_EQ(h.read(kGuest1, "data/t"), "in-tx");

    uint32_t tx2 = h.start(kGuest1);
    EXPECT_EQ(h.rm(kGuest1, "data/t", tx2), "OK");
    EXPECT_EQ(h.end(kGuest1, tx2, false), "OK");
    EXPECT_EQ(h.read(kGuest1, "data/t"), "in-tx");
    EXPECT_EQ(h.end(kGuest1, tx2, true), "E:ENOENT");
    EXPECT_EQ(h.read(kGuest1, "data/t", tx2), "E:ENOENT");
}

TEST_F(xenstore_server, TransactionConflictGivesEagain)
{
    EXPECT_EQ(h.write(kGuest1, "data/c", "0"), "OK");
    uint32_t tx = h.start(kGuest1);
    EXPECT_EQ(h.read(kGuest1, "data/c", tx), "0");
    EXPECT_EQ(h.write(kGuest1, "data/c", "1", tx), "OK");
    EXPECT_EQ(h.write(kDom0, "/local/domain/1/data/c", "outside"), "OK");
    EXPECT_EQ(h.end(kGuest1, tx, true), "E:EAGAIN");
    EXPECT_EQ(h.read(kGuest1, "data/c"), "outside");
    EXPECT_EQ(h.server.transaction_count(1), 0u);
}

TEST_F(xenstore_server, TransactionsArePerConnection)
{
    uint32_t tx = h.start(kGuest1);
    EXPECT_EQ(h.read(kGuest2, "/local/domain/2/name", tx), "E:ENOENT");
    EXPECT_EQ(h.call(kGuest1, MsgType::TransactionStart, std::string("\0", 1), tx), "E:EBUSY");
    EXPECT_EQ(h.end(kGuest1, 0, true), "E:ENOENT");
    EXPECT_EQ(h.call(kGuest1, MsgType::TransactionEnd, args({ "X" }), tx), "E:EINVAL");
    EXPECT_EQ(h.end(kGuest1, tx, true), "OK");
}

TEST_F(xenstore_server, TransactionQuota)
{
    Quota q;
    q.max_transactions_per_domain = 2;
    h.server.set_quota(q);
    uint32_t a = h.start(kGuest1);
    uint32_t b = h.start(kGuest1);
    EXPECT_NE(a, b);
    EXPECT_EQ(h.call(kGuest1, MsgType::TransactionStart, std::string("\0", 1)), "E:ENOSPC");
    EXPECT_EQ(h.end(kGuest1, a, false), "OK");
    EXPECT_NE(h.start(kGuest1), 0u);
    for (int i = 0; i < 5; i++)
        EXPECT_NE(h.start(kDom0), 0u); // dom0 is not limited
}

TEST_F(xenstore_server, EntryQuotaOverTheWire)
{
    Quota q;
    q.max_entries_per_domain = h.server.store().entries_owned(1) + 2;
    h.server.set_quota(q);
    EXPECT_EQ(h.write(kGuest1, "data/a", ""), "OK");
    EXPECT_EQ(h.write(kGuest1, "data/b", ""), "OK");
    EXPECT_EQ(h.write(kGuest1, "data/c", ""), "E:ENOSPC");
    EXPECT_EQ(h.write(kGuest1, "data/a", "overwrite is fine"), "OK");
}

TEST_F(xenstore_server, NodeSizeQuotaOverTheWire)
{
    EXPECT_EQ(h.write(kGuest1, "data/big", std::string(3000, 'x')), "E:ENOSPC");
    EXPECT_EQ(h.write(kGuest1, "data/ok", std::string(1000, 'x')), "OK");
}
