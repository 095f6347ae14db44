# vmevent: what a monitor leaves in the ring and slots, as the VMM reads it.
xkvm_fuzz_target(vmevent_response_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/vmevent_response_fuzz.cpp LIBS xkvm_vmevent)
