// Store and the tree operations (node_ops) run directly on the store.
#include "xenstore/node_ops.h"
#include "xenstore/store.h"

#include <cerrno>

#include <gtest/gtest.h>

#include "xenstore/caller_test_util.h"

using namespace xkvm;
using namespace xkvm::xenstore;
using namespace xkvm::xenstore::testing;

namespace {

const Caller kDom2 { 2, false, std::nullopt };

class StoreOps : public ::testing::Test {
protected:
    Result<std::vector<Change>> write(const Caller& c, const std::string& path, std::string_view v)
    {
        return op_write(OpContext { store, c, quota }, path, v);
    }
    Result<std::vector<Change>> mkdir(const Caller& c, const std::string& path)
    {
        return op_mkdir(OpContext { store, c, quota }, path);
    }
    Result<std::vector<Change>> rm(const Caller& c, const std::string& path)
    {
        return op_rm(OpContext { store, c, quota }, path);
    }
    Result<std::vector<Change>> set_perms(const Caller& c, const std::string& path, Perms p)
    {
        return op_set_perms(OpContext { store, c, quota }, path, std::move(p));
    }
    int error_of(const Result<std::vector<Change>>& r) { return r ? 0 : r.error().code; }

    // /guest owned by dom1, readable by nobody else.
    void make_guest_dir()
    {
        ASSERT_TRUE(mkdir(kDom0Caller, "/guest").has_value());
        ASSERT_TRUE(set_perms(kDom0Caller, "/guest", { { 1, kAccessNone } }).has_value());
    }

    Store store;
    Quota quota;
};

// ctest names start with the subsystem, so `ctest -R xenstore` finds them.
using xenstore_store = StoreOps;

} // namespace

TEST_F(xenstore_store, RootExistsOwnedByDom0)
{
    const Node* root = store.find("/");
    ASSERT_NE(root, nullptr);
    EXPECT_EQ(root->perms, (Perms { { 0, kAccessNone } }));
    EXPECT_EQ(store.node_count(), 1u);
}

TEST_F(xenstore_store, WriteCreatesParentsWithInheritedPermissions)
{
    ASSERT_TRUE(mkdir(kDom0Caller, "/a").has_value());
    ASSERT_TRUE(set_perms(kDom0Caller, "/a", { { 0, kAccessRead }, { 3, kAccessBoth } }).has_value());
    auto changes = write(kDom0Caller, "/a/b/c", "v");
    ASSERT_TRUE(changes.has_value());
    ASSERT_EQ(changes->size(), 1u);
    EXPECT_EQ((*changes)[0].path, "/a/b/c");
    EXPECT_FALSE((*changes)[0].removed);

    const Node* b = store.find("/a/b");
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->value, "");
    EXPECT_EQ(b->children, (std::vector<std::string> { "c" }));
    EXPECT_EQ(b->perms, (Perms { { 0, kAccessRead }, { 3, kAccessBoth } }));
    EXPECT_EQ(store.find("/a/b/c")->value, "v");
    EXPECT_EQ(store.find("/a")->children, (std::vector<std::string> { "b" }));
}

TEST_F(xenstore_store, UnprivilegedCreatorOwnsNewNodes)
{
    make_guest_dir();
    ASSERT_TRUE(write(kDom1Caller, "/guest/x/y", "1").has_value());
    EXPECT_EQ(store.find("/guest/x")->perms[0].domid, 1);
    EXPECT_EQ(store.find("/guest/x/y")->perms[0].domid, 1);

    ASSERT_TRUE(mkdir(kDom0Caller, "/shared").has_value());
    ASSERT_TRUE(set_perms(kDom0Caller, "/shared", { { 0, kAccessNone }, { 2, kAccessBoth } }).has_value());
    ASSERT_TRUE(write(kDom2, "/shared/mine", "z").has_value());
    EXPECT_EQ(store.find("/shared/mine")->perms, (Perms { { 2, kAccessNone }, { 2, kAccessBoth } }));
    // dom0 keeps the inherited owner.
    ASSERT_TRUE(write(kDom0Caller, "/guest/by-dom0", "").has_value());
    EXPECT_EQ(store.find("/guest/by-dom0")->perms[0].domid, 1);
}

TEST_F(xenstore_store, LookupHidesExistenceBehindUnreadableParents)
{
    make_guest_dir();
    ASSERT_TRUE(write(kDom1Caller, "/guest/secret", "s").has_value());
    EXPECT_EQ(lookup(store, kDom2, "/guest/secret", kAccessRead).error().code, EACCES);
    EXPECT_EQ(lookup(store, kDom2, "/guest/missing", kAccessRead).error().code, EACCES);
    EXPECT_EQ(lookup(store, kDom1Caller, "/guest/missing", kAccessRead).error().code, ENOENT);
    EXPECT_EQ(lookup(store, kDom1Caller, "/guest/secret", kAccessRead).value()->value, "s");
    EXPECT_EQ(lookup(store, kDom0Caller, "/nothing/here", kAccessRead).error().code, ENOENT);
}

TEST_F(xenstore_store, WritePermissionsAreEnforced)
{
    make_guest_dir();
    EXPECT_EQ(error_of(write(kDom2, "/guest/x", "1")), EACCES);
    EXPECT_EQ(error_of(write(kDom1Caller, "/elsewhere", "1")), EACCES);
    ASSERT_TRUE(write(kDom1Caller, "/guest/x", "1").has_value());
    EXPECT_EQ(error_of(write(kDom2, "/guest/x", "2")), EACCES);
    EXPECT_EQ(error_of(mkdir(kDom2, "/guest/x")), EACCES);
    EXPECT_EQ(error_of(rm(kDom2, "/guest/x")), EACCES);
    EXPECT_EQ(store.find("/guest/x")->value, "1");
}

TEST_F(xenstore_store, WriteValueMayHoldAnyBytes)
{
    std::string binary("\0\x01\xff\n", 4);
    ASSERT_TRUE(write(kDom0Caller, "/bin", binary).has_value());
    EXPECT_EQ(store.find("/bin")->value, binary);
    uint64_t gen = store.find("/bin")->generation;
    ASSERT_TRUE(write(kDom0Caller, "/bin", "").has_value());
    EXPECT_EQ(store.find("/bin")->value, "");
    EXPECT_GT(store.find("/bin")->generation, gen);
}

TEST_F(xenstore_store, MkdirLeavesExistingNodesAlone)
{
    ASSERT_TRUE(write(kDom0Caller, "/m", "keep").has_value());
    auto changes = mkdir(kDom0Caller, "/m");
    ASSERT_TRUE(changes.has_value());
    EXPECT_TRUE(changes->empty());
    EXPECT_EQ(store.find("/m")->value, "keep");
}

TEST_F(xenstore_store, RmRemovesSubtree)
{
    ASSERT_TRUE(write(kDom0Caller, "/r/a/b", "1").has_value());
    ASSERT_TRUE(write(kDom0Caller, "/r/a/c", "2").has_value());
    ASSERT_TRUE(write(kDom0Caller, "/r/keep", "3").has_value());
    auto changes = rm(kDom0Caller, "/r/a");
    ASSERT_TRUE(changes.has_value());
    ASSERT_EQ(changes->size(), 1u);
    EXPECT_TRUE((*changes)[0].removed);
    EXPECT_EQ(store.find("/r/a"), nullptr);
    EXPECT_EQ(store.find("/r/a/b"), nullptr);
    EXPECT_EQ(store.find("/r/a/c"), nullptr);
    EXPECT_EQ(store.find("/r")->children, (std::vector<std::string> { "keep" }));
}

TEST_F(xenstore_store, RmMissingNodeNeedsItsParent)
{
    ASSERT_TRUE(mkdir(kDom0Caller, "/p").has_value());
    auto ok = rm(kDom0Caller, "/p/missing");
    ASSERT_TRUE(ok.has_value());
    EXPECT_TRUE(ok->empty());
    EXPECT_EQ(error_of(rm(kDom0Caller, "/p/missing/deeper")), ENOENT);
    EXPECT_EQ(error_of(rm(kDom0Caller, "/")), EINVAL);
}

TEST_F(xenstore_store, SetPermsOwnerRules)
{
    make_guest_dir();
    ASSERT_TRUE(write(kDom1Caller, "/guest/n", "").has_value());
    ASSERT_TRUE(set_perms(kDom1Caller, "/guest/n", { { 1, kAccessNone }, { 2, kAccessRead } }).has_value());
    // Only the node's own permissions count once it exists.
    EXPECT_TRUE(lookup(store, kDom2, "/guest/n", kAccessRead).has_value());
    EXPECT_EQ(lookup(store, kDom2, "/guest/n", kAccessWrite).error().code, EACCES);
    EXPECT_EQ(error_of(set_perms(kDom2, "/guest/n", { { 2, kAccessNone } })), EACCES);
    EXPECT_EQ(error_of(set_perms(kDom1Caller, "/guest/n", { { 2, kAccessNone } })), EPERM);
    EXPECT_EQ(error_of(set_perms(kDom1Caller, "/guest/none", { { 1, kAccessNone } })), ENOENT);
    EXPECT_EQ(error_of(set_perms(kDom1Caller, "/guest/n", {})), EINVAL);
    ASSERT_TRUE(set_perms(kDom0Caller, "/guest/n", { { 2, kAccessNone } }).has_value());
    EXPECT_EQ(store.find("/guest/n")->perms[0].domid, 2);
}

TEST_F(xenstore_store, EntryQuotaCountsOwnedNodes)
{
    quota.max_entries_per_domain = 3;
    make_guest_dir(); // /guest owned by dom1: 1 entry
    EXPECT_EQ(store.entries_owned(1), 1);
    ASSERT_TRUE(write(kDom1Caller, "/guest/a", "").has_value());
    EXPECT_EQ(error_of(write(kDom1Caller, "/guest/b/c", "")), ENOSPC); // two more would be 4
    EXPECT_EQ(store.find("/guest/b"), nullptr); // nothing half-created
    ASSERT_TRUE(write(kDom1Caller, "/guest/b", "").has_value());
    EXPECT_EQ(store.entries_owned(1), 3);
    EXPECT_EQ(error_of(mkdir(kDom1Caller, "/guest/c")), ENOSPC);
    ASSERT_TRUE(rm(kDom1Caller, "/guest/a").has_value());
    EXPECT_EQ(store.entries_owned(1), 2);
    EXPECT_TRUE(write(kDom1Caller, "/guest/c", "").has_value());
    // Privileged callers are not limited.
    EXPECT_TRUE(write(kDom0Caller, "/guest/d", "").has_value());
    EXPECT_EQ(store.entries_owned(1), 4);
}

TEST_F(xenstore_store, NodeSizeAndPermCountQuotas)
{
    make_guest_dir();
    std::string big(quota.max_node_size, 'x');
    EXPECT_EQ(error_of(write(kDom1Caller, "/guest/big", big)), ENOSPC);
    EXPECT_EQ(store.find("/guest/big"), nullptr);
    EXPECT_TRUE(write(kDom1Caller, "/guest/ok", std::string(quota.max_node_size - 8, 'x')).has_value());
    // A byte over the limit.
    EXPECT_EQ(error_of(write(kDom1Caller, "/guest/over", std::string(quota.max_node_size - 7, 'x'))), ENOSPC);
    EXPECT_TRUE(write(kDom0Caller, "/guest/dom0big", big).has_value());

    Perms six(6, Perm { 1, kAccessNone });
    EXPECT_EQ(error_of(set_perms(kDom1Caller, "/guest/ok", six)), ENOSPC);
    Perms five(5, Perm { 1, kAccessNone });
    EXPECT_EQ(error_of(set_perms(kDom1Caller, "/guest/ok", five)), ENOSPC); // 5 perms push it over the size
    EXPECT_TRUE(set_perms(kDom1Caller, "/guest", five).has_value());
    EXPECT_EQ(error_of(set_perms(kDom1Caller, "/guest", six)), ENOSPC); // small, but one permission too many
}

TEST_F(xenstore_store, PathQuota)
{
    quota.max_path_length = 10;
    EXPECT_TRUE(check_path_quota(kDom1Caller, quota, "/local/domain/1/0123456789").has_value());
    EXPECT_EQ(check_path_quota(kDom1Caller, quota, "/local/domain/1/0123456789a").error().code, EINVAL);
    EXPECT_EQ(check_path_quota(kDom1Caller, quota, "/elsewhere/x").error().code, EINVAL);
    EXPECT_TRUE(check_path_quota(kDom0Caller, quota, "/elsewhere/x").has_value());
}

TEST_F(xenstore_store, RecordSizeCountsValueChildrenAndPerms)
{
    Node n;
    n.value = "abc";
    n.children = { "x", "yz" };
    n.perms = { { 0, kAccessNone }, { 1, kAccessRead } };
    EXPECT_EQ(node_record_size(n), 3u + 2u + 3u + 16u);
}
