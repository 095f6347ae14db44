// The CLI's connection to xkvmd, starting the daemon on demand: when nothing listens on
// <rundir>/xkvmd.sock, `xkvmd --rundir R --ready-fd N` is spawned (detached, its output in
// <rundir>/xkvmd.log) and the CLI waits for its ready byte, with a deadline.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "base/result.h"
#include "ipc/channel.h"
#include "ipc/json_message.h"

namespace xkvm::cli {

class DaemonClient {
public:
    // start: spawn the daemon if none runs (commands that only read, like `list`, pass true as xl
    // always has its daemons; `false` makes "not running" an error).
    static Result<std::unique_ptr<DaemonClient>> connect(const std::string& rundir, bool start = true);

    // One request, one reply: the reply's fields, or its error. A connection closed before the
    // reply (the daemon was just exiting for idleness) is retried once on a fresh daemon.
    Result<ipc::Json> call(std::string_view op, ipc::Json args = ipc::Json::object(),
                           std::chrono::milliseconds timeout = std::chrono::seconds(30));

    const std::string& rundir() const { return m_rundir; }

private:
    DaemonClient(std::string rundir, std::unique_ptr<ipc::Channel> chan)
        : m_rundir(std::move(rundir)), m_chan(std::move(chan)) { }

    std::string m_rundir;
    std::unique_ptr<ipc::Channel> m_chan;
    uint64_t m_next_id = 1;
};

// Where xkvmd is: $XKVM_DAEMON, else next to this executable, else the build tree.
std::string find_daemon_binary();

} // namespace xkvm::cli
