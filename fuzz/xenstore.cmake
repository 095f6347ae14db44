# xenstore: the guest-facing ring framing and the protocol engine.
xkvm_fuzz_target(xenstore_ring_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/xenstore_ring_fuzz.cpp LIBS xkvm_xenstore)
xkvm_fuzz_target(xenstore_msg_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/xenstore_msg_fuzz.cpp LIBS xkvm_xenstore)
