# Run PROGRAM under MAPWATCH with --json OUTPUT. Fail if mapwatch fails; if the
# trace lacks the code memory's protection changes or their attribution to
# code memory (then it proves nothing); or if any event says "wx": true (a
# region writable and executable at once).
# Usage: cmake -DMAPWATCH=... -DPROGRAM=... -DOUTPUT=trace.jsonl -P check_no_wx.cmake
execute_process(COMMAND ${MAPWATCH} --json ${OUTPUT} --quiet --no-summary -- ${PROGRAM}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "mapwatch --json ${OUTPUT} -- ${PROGRAM} exited with ${rc}\n${out}\n${err}")
endif()
file(READ ${OUTPUT} trace)
set(ws "[ \t]*")
# Flip mode: mprotect to r-x. Dual mode: the memfd mapped r-x.
string(REGEX MATCH "\"syscall\"${ws}:${ws}\"mprotect\"[^\n]*\"prot\"${ws}:${ws}\"r-x\"" flip "${trace}")
string(REGEX MATCH "\"syscall\"${ws}:${ws}\"mmap\"[^\n]*\"prot\"${ws}:${ws}\"r-x\"[^\n]*memfd:mapalloc-code" dual "${trace}")
# The allocator's event channel names the calls made for code memory.
string(REGEX MATCH "\"allocator_reason\"${ws}:${ws}\"code\"" attributed "${trace}")
string(REGEX MATCHALL "\"wx\"${ws}:" wx_fields "${trace}")
list(LENGTH wx_fields n_wx)
if(NOT flip OR NOT dual OR NOT attributed OR n_wx EQUAL 0)
  message(FATAL_ERROR "the trace in ${OUTPUT} lacks the code memory's events or the wx field: it cannot be checked")
endif()
string(REGEX MATCH "[^\n]*\"wx\"${ws}:${ws}true[^\n]*" wx "${trace}")
if(wx)
  message(FATAL_ERROR "mapwatch saw a region writable and executable at once:\n${wx}")
endif()
message(STATUS "mapwatch: ${n_wx} events, none writable and executable, in ${PROGRAM}")
