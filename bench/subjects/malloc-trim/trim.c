// A Node-API module for bench/malloc-trim.ts: glibc's malloc_trim(0), which gives every malloc
// arena's free pages back to the kernel (Node has no call for it), on the calling thread (trim())
// or on a thread of libuv's pool (trimOffLoop(), a promise), where a request's malloc can only wait
// on the lock of the arena being trimmed.
#include <malloc.h>
#include <node_api.h>
#include <stdlib.h>

static napi_value Trim(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value released;
  napi_get_boolean(env, malloc_trim(0) != 0, &released);
  return released;
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int released;
} Job;

static void Execute(napi_env env, void *data) {
  (void)env;
  Job *job = data;
  job->released = malloc_trim(0);
}

static void Complete(napi_env env, napi_status status, void *data) {
  (void)status;
  Job *job = data;
  napi_value released;
  napi_get_boolean(env, job->released != 0, &released);
  napi_resolve_deferred(env, job->deferred, released);
  napi_delete_async_work(env, job->work);
  free(job);
}

static napi_value TrimOffLoop(napi_env env, napi_callback_info info) {
  (void)info;
  Job *job = calloc(1, sizeof(Job));
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "malloc_trim", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, Execute, Complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

NAPI_MODULE_INIT() {
  napi_value trim, offLoop;
  napi_create_function(env, "trim", NAPI_AUTO_LENGTH, Trim, NULL, &trim);
  napi_set_named_property(env, exports, "trim", trim);
  napi_create_function(env, "trimOffLoop", NAPI_AUTO_LENGTH, TrimOffLoop, NULL, &offLoop);
  napi_set_named_property(env, exports, "trimOffLoop", offLoop);
  return exports;
}
