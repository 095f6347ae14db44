#include "xenstore/transaction.h"

#include <cerrno>

#include <gtest/gtest.h>

#include "xenstore/caller_test_util.h"
#include "xenstore/node_ops.h"

using namespace xkvm;
using namespace xkvm::xenstore;
using namespace xkvm::xenstore::testing;

namespace {


class Transactions : public ::testing::Test {
protected:
    void SetUp() override
    {
        ASSERT_TRUE(op_write(main(kDom0Caller), "/a/b", "base").has_value());
        ASSERT_TRUE(op_mkdir(main(kDom0Caller), "/g").has_value());
        ASSERT_TRUE(op_set_perms(main(kDom0Caller), "/g", { { 1, kAccessNone } }).has_value());
    }
    OpContext main(const Caller& c) { return OpContext { store, c, quota }; }
    OpContext in(Transaction& tx, const Caller& c) { return OpContext { tx, c, quota }; }

    Store store;
    Quota quota;
};

// ctest names start with the subsystem, so `ctest -R xenstore` finds them.
using xenstore_transaction = Transactions;

} // namespace

TEST_F(xenstore_transaction, WritesStayPrivateUntilCommit)
{
    Transaction tx(store, 1, 0);
    auto changes = op_write(in(tx, kDom0Caller), "/a/b/c", "new");
    ASSERT_TRUE(changes.has_value());
    tx.record(std::move(changes.value()));
    EXPECT_EQ(store.find("/a/b/c"), nullptr);
    EXPECT_EQ(lookup(tx, kDom0Caller, "/a/b/c", kAccessRead).value()->value, "new");

    auto committed = tx.commit(kDom0Caller, quota);
    ASSERT_TRUE(committed.has_value());
    ASSERT_EQ(committed->size(), 1u);
    EXPECT_EQ((*committed)[0].path, "/a/b/c");
    ASSERT_NE(store.find("/a/b/c"), nullptr);
    EXPECT_EQ(store.find("/a/b/c")->value, "new");
    EXPECT_EQ(store.find("/a/b")->children, (std::vector<std::string> { "c" }));
}

TEST_F(xenstore_transaction, ReadThenOutsideWriteConflicts)
{
    Transaction tx(store, 1, 0);
    EXPECT_EQ(lookup(tx, kDom0Caller, "/a/b", kAccessRead).value()->value, "base");
    ASSERT_TRUE(op_write(main(kDom0Caller), "/a/b", "changed").has_value());
    EXPECT_EQ(tx.commit(kDom0Caller, quota).error().code, EAGAIN);
}

TEST_F(xenstore_transaction, UnrelatedOutsideWriteDoesNotConflict)
{
    Transaction tx(store, 1, 0);
    ASSERT_TRUE(op_write(in(tx, kDom0Caller), "/a/b", "mine").has_value());
    ASSERT_TRUE(op_write(main(kDom0Caller), "/elsewhere", "x").has_value());
    ASSERT_TRUE(tx.commit(kDom0Caller, quota).has_value());
    EXPECT_EQ(store.find("/a/b")->value, "mine");
    EXPECT_EQ(store.find("/elsewhere")->value, "x");
}

TEST_F(xenstore_transaction, CreatingUnderAParentOthersExtendConflicts)
{
    Transaction tx(store, 1, 0);
    ASSERT_TRUE(op_write(in(tx, kDom0Caller), "/a/b/new/deep", "1").has_value());
    // Someone else adds a sibling: /a/b's child list changed under the transaction.
    ASSERT_TRUE(op_write(main(kDom0Caller), "/a/b/sibling", "2").has_value());
    EXPECT_EQ(tx.commit(kDom0Caller, quota).error().code, EAGAIN);
    EXPECT_EQ(store.find("/a/b/new"), nullptr);
}

TEST_F(xenstore_transaction, BothCreatingTheSameMissingNodeConflicts)
{
    Transaction tx(store, 1, 0);
    ASSERT_TRUE(op_write(in(tx, kDom0Caller), "/x/y", "tx").has_value());
    ASSERT_TRUE(op_write(main(kDom0Caller), "/x/z", "outside").has_value());
    EXPECT_EQ(tx.commit(kDom0Caller, quota).error().code, EAGAIN);
    EXPECT_EQ(store.find("/x/y"), nullptr);
}

TEST_F(xenstore_transaction, RemovingASubtreeSomeoneChangedConflicts)
{
    ASSERT_TRUE(op_write(main(kDom0Caller), "/a/b/c/d", "1").has_value());
    Transaction tx(store, 1, 0);
    ASSERT_TRUE(op_rm(in(tx, kDom0Caller), "/a/b").has_value());
    EXPECT_EQ(lookup(tx, kDom0Caller, "/a/b/c", kAccessRead).error().code, ENOENT);
    EXPECT_NE(store.find("/a/b/c"), nullptr);
    ASSERT_TRUE(op_write(main(kDom0Caller), "/a/b/c/d", "2").has_value());
    EXPECT_EQ(tx.commit(kDom0Caller, quota).error().code, EAGAIN);
    EXPECT_NE(store.find("/a/b/c/d"), nullptr);
}

TEST_F(xenstore_transaction, RemoveCommitsAtomically)
{
    ASSERT_TRUE(op_write(main(kDom0Caller), "/a/b/c/d", "1").has_value());
    Transaction tx(store, 1, 0);
    ASSERT_TRUE(op_rm(in(tx, kDom0Caller), "/a/b").has_value());
    ASSERT_TRUE(tx.commit(kDom0Caller, quota).has_value());
    EXPECT_EQ(store.find("/a/b"), nullptr);
    EXPECT_EQ(store.find("/a/b/c/d"), nullptr);
    EXPECT_TRUE(store.find("/a")->children.empty());
}

TEST_F(xenstore_transaction, NodeLimit)
{
    Transaction tx(store, 1, 3);
    EXPECT_TRUE(tx.get("/a").has_value());
    EXPECT_TRUE(tx.get("/a/b").has_value());
    EXPECT_TRUE(tx.get("/g").has_value());
    EXPECT_TRUE(tx.get("/a").has_value()); // already touched
    EXPECT_EQ(tx.get("/other").error().code, ENOSPC);
    EXPECT_EQ(tx.touched(), 3u);
}

TEST_F(xenstore_transaction, EntryQuotaIsCheckedAgainAtCommit)
{
    quota.max_entries_per_domain = 3; // dom1 owns /g already
    Transaction t1(store, 1, 0);
    Transaction t2(store, 2, 0);
    ASSERT_TRUE(op_write(in(t1, kDom1Caller), "/g/one", "").has_value());
    EXPECT_EQ(t1.entries_owned(1), 2);
    ASSERT_TRUE(op_write(in(t2, kDom1Caller), "/g/two/three", "").has_value());
    EXPECT_EQ(t2.entries_owned(1), 3);
    EXPECT_EQ(store.entries_owned(1), 1);
    ASSERT_TRUE(t1.commit(kDom1Caller, quota).has_value());
    // t2 conflicts anyway (/g changed), but a fresh one shows the quota check.
    EXPECT_EQ(t2.commit(kDom1Caller, quota).error().code, EAGAIN);
    Transaction t3(store, 3, 0);
    ASSERT_TRUE(op_write(in(t3, kDom1Caller), "/g/x", "").has_value());
    EXPECT_EQ(op_write(in(t3, kDom1Caller), "/g/y", "").error().code, ENOSPC);
    ASSERT_TRUE(t3.commit(kDom1Caller, quota).has_value());
    EXPECT_EQ(store.entries_owned(1), 3);
}

TEST_F(xenstore_transaction, CommitQuotaRecheckCatchesOwnershipGainedMeanwhile)
{
    quota.max_entries_per_domain = 2;
    Transaction tx(store, 1, 0);
    ASSERT_TRUE(op_write(in(tx, kDom1Caller), "/g/mine", "").has_value()); // dom1: 2 of 2
    // dom0 gives dom1 another node elsewhere, not touching anything the transaction saw.
    ASSERT_TRUE(op_write(main(kDom0Caller), "/gift", "").has_value());
    ASSERT_TRUE(op_set_perms(main(kDom0Caller), "/gift", { { 1, kAccessNone } }).has_value());
    EXPECT_EQ(tx.commit(kDom1Caller, quota).error().code, ENOSPC);
    EXPECT_EQ(store.find("/g/mine"), nullptr);
}

TEST_F(xenstore_transaction, ChangesAreReturnedOnlyOnCommit)
{
    Transaction tx(store, 1, 0);
    tx.record({ Change { "/a/b", false, { { 0, kAccessNone } } } });
    tx.record({ Change { "/a", true, { { 0, kAccessNone } } } });
    auto changes = tx.commit(kDom0Caller, quota);
    ASSERT_TRUE(changes.has_value());
    ASSERT_EQ(changes->size(), 2u);
    EXPECT_TRUE((*changes)[1].removed);
}
