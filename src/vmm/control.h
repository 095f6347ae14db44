// The VMM under xkvmd's control: `xkvm-vmm --control-fd N`. N is this process's end of a socketpair
// whose other end the daemon holds. Protocol (ipc/json_message.h conventions; the op names are
// ipc/ops.h's constants, dispatched from one table in control.cpp):
//
//   daemon -> VMM requests        reply fields
//     build {spec, rundir}          pid, vcpus: [{id, tid}]      (first message; failure = the error)
//     pause | unpause               -
//     status                        paused, shutdown, cpu_time_ns, vcpus: [{id, tid, cpu, time_ns,
//                                   online, running, blocked, paused, affinity: [cpu...]}]
//     set-affinity {vcpu, cpus}     -        (pins the vCPU thread)
//     set-max-memory {kib}          -        (xl mem-max: the reservation's maximum, at most the
//                                            maxmem the domain was built with)
//     console-input {data}          -
//     shutdown-request {reason}     -        (ends the domain now as if the guest shut down: -F)
//     end-console                   -        (the domain is preserved after shutdown: close consoles)
//     debug-virq                    -        (xl debug-keys q: VIRQ_DEBUG on every vCPU)
//     destroy                       -        (then the process exits)
//     adopt + [log pipe]            domid, pid, paused   (a restarted daemon on control.sock; our
//                                            stderr becomes the pipe; a shutdown it missed follows)
//     evtchn-connect | evtchn-peer-closed | evtchn-domain-gone   interdomain event channels
//                                            (evtchn_relay.h)
//   VMM -> daemon requests: evtchn-bind (evtchn_relay.h); the daemon's replies carry no "op".
//   VMM -> daemon events
//     {"event": "shutdown", "reason": SHUTDOWN_*, "detail": "..."}
//     {"event": "xs-reset"}          the guest reconnected its xenstore ring
//     {"event": "evtchn-closed", ...} our guest closed an interdomain channel
//   both ways: FrameKind::Xenstore frames, the guest's xenstore traffic (daemon_xenstore.h).
//
// The console is served at <rundir>/<domid>/console.sock: a client gets the history, then the live
// output; bytes it sends are typed into the guest. Connections close when the domain shuts down.
// If the control channel closes after the build (the daemon died), the domain runs on and waits
// for the next daemon at <rundir>/<domid>/control.sock (control_attach.cpp); before it, we exit.
#pragma once

namespace xkvm::vmm {

// Returns the process exit code.
int run_control_channel(int control_fd);

} // namespace xkvm::vmm
