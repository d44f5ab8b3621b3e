// glibc's malloc_trim(0) for the gateway (common/malloc-trim.ts): gives the free pages in the
// middle of every malloc arena back to the kernel, which glibc alone does only for the top of the
// heap. Node has no call for it, so this Node-API module makes one: trim() runs malloc_trim(0) on
// a thread of libuv's pool (a request's malloc on the event loop only waits for the lock of the
// arena being trimmed, never for the whole call) and resolves to the bytes of resident memory the
// process had less after it than before (0 when it had more: other threads allocated meanwhile).
// Built by scripts/image/compile.ts with the machine's C compiler against Node's own headers;
// glibc only (musl has no malloc_trim).
#include <malloc.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/** The process's resident memory in bytes (/proc/self/statm), or -1. */
static long long Resident(void) {
  FILE *statm = fopen("/proc/self/statm", "r");
  if (statm == NULL) return -1;
  long long size, resident;
  int read = fscanf(statm, "%lld %lld", &size, &resident);
  fclose(statm);
  return read == 2 ? resident * sysconf(_SC_PAGESIZE) : -1;
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  double released;
} Job;

static void Execute(napi_env env, void *data) {
  (void)env;
  Job *job = data;
  long long before = Resident();
  malloc_trim(0);
  long long after = Resident();
  job->released = before >= 0 && after >= 0 && before > after ? (double)(before - after) : 0;
}

static void Complete(napi_env env, napi_status status, void *data) {
  (void)status;
  Job *job = data;
  napi_value released;
  napi_create_double(env, job->released, &released);
  napi_resolve_deferred(env, job->deferred, released);
  napi_delete_async_work(env, job->work);
  free(job);
}

static napi_value Trim(napi_env env, napi_callback_info info) {
  (void)info;
  Job *job = calloc(1, sizeof(Job));
  if (job == NULL) {
    napi_throw_error(env, NULL, "malloc-trim: out of memory");
    return NULL;
  }
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "malloc_trim", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, Execute, Complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

NAPI_MODULE_INIT() {
  napi_value trim;
  napi_create_function(env, "trim", NAPI_AUTO_LENGTH, Trim, NULL, &trim);
  napi_set_named_property(env, exports, "trim", trim);
  return exports;
}
