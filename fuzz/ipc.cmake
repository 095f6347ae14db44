# ipc: the frame decoder every daemon/VMM channel runs on untrusted bytes.
xkvm_fuzz_target(ipc_frame_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/ipc_frame_fuzz.cpp LIBS xkvm_ipc)
