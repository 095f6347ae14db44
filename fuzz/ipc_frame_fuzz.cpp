// Feeds arbitrary bytes to the IPC frame decoder in arbitrary pieces, with descriptors "arriving"
// between pieces, then checks the decoder's invariants and the JSON reader on what comes out.
#include <cstddef>
#include <cstdint>
#include <fcntl.h>
#include <unistd.h>

#include "ipc/frame.h"
#include "ipc/json_message.h"

using namespace xkvm;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < 2)
        return 0;
    ipc::Limits limits;
    limits.max_payload = 1 + data[0] * 64u; // small limits reach the size checks quickly
    ipc::FrameDecoder decoder(limits);
    size_t pos = 1;
    std::vector<ipc::Frame> frames;
    while (pos < size) {
        // Control byte: low 6 bits = piece length, top 2 bits = descriptors arriving first.
        uint8_t ctl = data[pos++];
        size_t fds = ctl >> 6;
        if (fds) {
            std::vector<UniqueFd> v;
            for (size_t i = 0; i < fds; ++i)
                v.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
            if (!decoder.add_fds(std::move(v)))
                break;
        }
        size_t len = std::min<size_t>(ctl & 0x3f, size - pos);
        if (!decoder.feed(std::span(data + pos, len), frames))
            break;
        pos += len;
        if (decoder.pending_fds() > limits.max_pending_fds)
            __builtin_trap();
    }
    for (const auto& f : frames) {
        if (f.payload.size() > limits.max_payload || f.fds.size() > limits.max_fds)
            __builtin_trap();
        if (f.kind == ipc::FrameKind::Json) {
            if (auto j = ipc::parse_json(f)) {
                (void)ipc::get_string(*j, "op");
                (void)ipc::get_uint(*j, "id");
                (void)ipc::get_uint_list(*j, "cpus", 4095, 64);
            }
        }
    }
    return 0;
}
