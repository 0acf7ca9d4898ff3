// abi_check.cpp - locks the layout of the ABI header shared with the BPF
// side: a change here without a matching change there fails the build.
#include <cstddef>

#include "capscope.h"

static_assert(CS_ABI_VERSION == 4, "update the layout checks below");
static_assert(sizeof(cs_key) == 16);
static_assert(offsetof(cs_key, syscall) == 8);
static_assert(offsetof(cs_key, cap) == 12);
static_assert(offsetof(cs_key, cls) == 14);
static_assert(sizeof(cs_count) == 24);
static_assert(sizeof(cs_task) == 16);
static_assert(sizeof(cs_task_slot) == 64);
static_assert(offsetof(cs_task_slot, hot_key) == 16);
static_assert(offsetof(cs_task_slot, hot) == 32);
static_assert(offsetof(cs_task_slot, tag) == 8);
// BPF reads a task slot as a cs_task (task_find in capscope.bpf.c).
static_assert(offsetof(cs_task_slot, scope) == offsetof(cs_task, scope));
static_assert(offsetof(cs_task_slot, phase) == offsetof(cs_task, phase));
static_assert(offsetof(cs_task_slot, kind) == offsetof(cs_task, kind));
// BPF builds a key's second word in a register (key_word1).
static_assert(offsetof(cs_key, denied) == 13 && offsetof(cs_key, kind) == 15);
static_assert(sizeof(cs_count_slot) == 40);
static_assert(sizeof(cs_calib) == 32);
static_assert((CS_TASK_SLOTS & (CS_TASK_SLOTS - 1)) == 0);
static_assert((CS_COUNT_SLOTS & (CS_COUNT_SLOTS - 1)) == 0);
static_assert(sizeof(cs_range) == 24);
static_assert(offsetof(cs_event, key) == 8);
static_assert(offsetof(cs_event, ts_ns) == 24);
static_assert(offsetof(cs_event, comm) == 72);
static_assert(offsetof(cs_event, stack) == 96);
static_assert(sizeof(cs_event) == 96 + 8 * CS_STACK_DEPTH + 128 + 2 * 96 + 16);
static_assert(sizeof(cs_inflight) == 24);
