// The daemon seen from a raw client: a VMM that fails to build leaves nothing, and malformed
// requests get errors without taking the daemon down.
// XKVM-OWN: the daemon and its protocol are xkvm's own; the xenstore cases cite Xen where they are.
#include <sys/socket.h>

#include <nlohmann/json.hpp>

#include "cli_harness.h"
#include "ipc/channel.h"
#include "ipc/json_message.h"
#include "ipc/socket.h"
#include "xkvm/guest_paths.h"

namespace xkvm::testing {
namespace {

class CliDaemon : public CliTest {
protected:
    std::unique_ptr<ipc::Channel> connect()
    {
        // Any command starts the daemon.
        EXPECT_EQ(run({ "list" }).rc, 0);
        auto fd = ipc::connect_unix(m_rundir + "/xkvmd.sock");
        EXPECT_TRUE(fd);
        auto chan = ipc::Channel::create(fd.release_value());
        return chan.release_value();
    }
};

TEST_F(CliDaemon, AVmmThatCannotBuildLeavesNothingBehind)
{
    // A config and spec as the CLI would send them, except that the kernel vanished after planning:
    // the VMM itself fails to build.
    std::string cfg = guest_config("broken", XKVM_GUEST_ELF("hello"));
    auto config = nlohmann::json::parse(run({ "create", "-n", cfg }).out);
    ipc::Json vm_spec = { { "domid", 1 }, { "name", "broken" }, { "uuid", std::array<uint8_t, 16> {} },
                          { "type", "pvh" }, { "kernel", "/nonexistent" }, { "memory_mib", 32 }, { "vcpus", 1 },
                          { "memory_map", ipc::Json::array({ { { "base", 0 }, { "size", 1 << 20 }, { "type", "ram" } } }) } };
    auto chan = connect();
    auto reply = chan->call(ipc::json_frame({ { "op", "create" }, { "id", 1 }, { "config", config }, { "spec", vm_spec } }),
                            30s);
    ASSERT_TRUE(reply) << reply.error().message;
    auto r = ipc::reply_result(*ipc::parse_json(*reply));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("/nonexistent"), std::string::npos) << r.error().message;
    // When the error arrives, the VMM has exited and everything is gone.
    EXPECT_EQ(processes("xkvm-vmm"), std::vector<pid_t> {});
    EXPECT_EQ(domain_dirs(), std::vector<std::string> {});
    EXPECT_EQ(run({ "xenstore-ls", "/local/domain/1" }).rc, 1);
    EXPECT_FALSE(run({ "list" }).out.find("broken") != std::string::npos);
}

TEST_F(CliDaemon, MalformedRequestsGetErrorsAndTheDaemonSurvives)
{
    auto chan = connect();
    for (const char* bad : { R"({"op":"create","id":1})", R"({"op":"list","id":"x"})", R"({"op":"nonsense","id":2})",
                             R"({"op":"create","id":3,"config":{},"spec":{"domid":1}})",
                             R"({"op":"vcpu-pin","id":4,"dom":"x","vcpus":7})" }) {
        auto reply = chan->call(ipc::Frame::make(ipc::FrameKind::Json, bad), 10s);
        ASSERT_TRUE(reply) << bad;
        auto j = ipc::parse_json(*reply);
        ASSERT_TRUE(j);
        EXPECT_EQ((*j)["ok"], false) << bad;
    }
    // Garbage that is not even a frame: that client is dropped, nobody else notices.
    auto fd = ipc::connect_unix(m_rundir + "/xkvmd.sock");
    ASSERT_TRUE(fd);
    const char junk[] = "\xff\xff\xff\xff\x09\x00\x00\x00garbage";
    ASSERT_GT(::send(fd->get(), junk, sizeof(junk), MSG_NOSIGNAL), 0);
    EXPECT_EQ(run({ "list" }).rc, 0);
    EXPECT_TRUE(daemon_pid());
}

// xenstore-ls prints `name = "value"` as Xen's does (tools/xs-clients/xenstore_client.c); the
// error text of a failed read is xkvm's.
TEST_F(CliDaemon, XenstoreDebugCommands)
{
    ASSERT_EQ(run({ "xenstore-write", "/tool/test", "hello" }).rc, 0);
    EXPECT_EQ(run({ "xenstore-read", "/tool/test" }).out, "hello\n");
    EXPECT_NE(run({ "xenstore-ls", "/tool" }).out.find("test = \"hello\""), std::string::npos);
    ASSERT_EQ(run({ "xenstore-rm", "/tool/test" }).rc, 0);
    auto gone = run({ "xenstore-read", "/tool/test" });
    EXPECT_NE(gone.rc, 0);
    EXPECT_NE(gone.err.find("ENOENT"), std::string::npos) << gone.err;
}

// docs/misc/xenstore-paths.pandoc: ~/name and ~/domid under /local/domain/$DOMID, gone with the
// domain.
TEST_F(CliDaemon, DomainTreeExistsWhileTheDomainRuns)
{
    std::string cfg = guest_config("g", XKVM_GUEST_ELF("tsguest"), "cmdline = \"ticker\"\n");
    ASSERT_EQ(run({ "create", "-p", cfg }).rc, 0);
    EXPECT_EQ(run({ "xenstore-read", "/local/domain/1/name" }).out, "g\n");
    EXPECT_EQ(run({ "xenstore-read", "/local/domain/1/domid" }).out, "1\n");
    ASSERT_EQ(run({ "destroy", "g" }).rc, 0);
    EXPECT_NE(run({ "xenstore-read", "/local/domain/1/name" }).rc, 0);
}

} // namespace
} // namespace xkvm::testing
