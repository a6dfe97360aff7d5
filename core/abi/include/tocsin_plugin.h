/*
 * tocsin_plugin.h - the tocsin plugin ABI, version 1.0, for C authors.
 *
 * This header mirrors core/abi/src/ffi.rs exactly; a test compiles a C
 * plugin against it and loads it into a real tocsind. The contract
 * (memory ownership, threading, versioning) is docs/plugin-abi.md.
 *
 * In short:
 *  - A plugin is a shared object exporting one symbol,
 *      const tocsin_plugin_descriptor *tocsin_plugin_entry(void);
 *    returning a pointer to static data.
 *  - Every struct that may grow starts with struct_size; set it to
 *    sizeof(the struct) when you fill one in, and read a field of a struct
 *    you received only if struct_size covers it.
 *  - Whoever allocates frees. Slices passed to you are borrowed for the
 *    duration of the call; copy what you keep. Data the host returns to you
 *    is copied into a tocsin_buf you allocated.
 *  - All calls happen on the daemon's event-loop thread. Never block.
 *    Call host functions only from inside a callback.
 *  - Text is UTF-8. Integers that carry enumerations are validated by
 *    the receiver.
 */
#ifndef TOCSIN_PLUGIN_H
#define TOCSIN_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TOCSIN_ABI_MAJOR 1
#define TOCSIN_ABI_MINOR 0

typedef int32_t tocsin_status;
#define TOCSIN_OK               0
#define TOCSIN_ERR_INVALID     -1
#define TOCSIN_ERR_NOT_FOUND   -2
#define TOCSIN_ERR_WOULD_BLOCK -3
#define TOCSIN_ERR_IO          -4
#define TOCSIN_ERR_UNSUPPORTED -5
#define TOCSIN_ERR_REJECTED    -6
#define TOCSIN_ERR_PANIC       -7  /* the plugin crashed in this call: host marks it failed */
#define TOCSIN_ERR_CLOSED      -8
#define TOCSIN_ERR_FAILED      -9
#define TOCSIN_ERR_CONFIG     -10
#define TOCSIN_ERR_TOO_SMALL  -11
#define TOCSIN_ERR_LIMIT      -12

#define TOCSIN_KIND_SOURCE   1u
#define TOCSIN_KIND_DELIVERY 2u

#define TOCSIN_SOCK_TCP         1u /* "ip:port" */
#define TOCSIN_SOCK_UNIX_STREAM 2u /* path */
#define TOCSIN_SOCK_UDP         3u /* "ip:port" */
#define TOCSIN_SOCK_UNIX_DGRAM  4u /* path */

#define TOCSIN_TLS_REQUIRE_CLIENT_CERT 1u

#define TOCSIN_LOG_ERROR 1u
#define TOCSIN_LOG_WARN  2u
#define TOCSIN_LOG_INFO  3u
#define TOCSIN_LOG_DEBUG 4u
#define TOCSIN_LOG_TRACE 5u

#define TOCSIN_OUTCOME_SENT      1u
#define TOCSIN_OUTCOME_DELIVERED 2u
#define TOCSIN_OUTCOME_RETRY     3u
#define TOCSIN_OUTCOME_PERMANENT 4u

#define TOCSIN_RECEIPT_DELIVERED 1u
#define TOCSIN_RECEIPT_DISPLAYED 2u
#define TOCSIN_RECEIPT_FAILED    3u

#define TOCSIN_WANT_DELIVERY_RECEIPT 1u
#define TOCSIN_WANT_DISPLAY_RECEIPT  2u

/* Borrowed bytes; ptr may be NULL when len is 0. */
typedef struct tocsin_slice {
    const uint8_t *ptr;
    size_t len;
} tocsin_slice;

/* A caller-allocated buffer the callee copies into. If cap is too small
 * the callee returns TOCSIN_ERR_TOO_SMALL and sets len to the size needed. */
typedef struct tocsin_buf {
    uint8_t *ptr;
    size_t cap;
    size_t len;
} tocsin_buf;

typedef struct tocsin_attr {
    tocsin_slice key;
    tocsin_slice value;
} tocsin_attr;

/* An event for ingest. The source name is the instance name. */
typedef struct tocsin_event {
    uint32_t struct_size;
    uint32_t priority;          /* 1..5 (min..urgent), 0 = normal */
    int64_t occurred_at_ms;     /* unix ms, 0 = now */
    tocsin_slice source_event_id;
    tocsin_slice kind;          /* namespaced, e.g. "mail.MessageNew" */
    tocsin_slice user;
    tocsin_slice origin_host;
    tocsin_slice summary;
    tocsin_slice body;
    const tocsin_attr *attributes;
    size_t attributes_len;
} tocsin_event;

typedef struct tocsin_commit_result {
    uint32_t struct_size;
    tocsin_status status;       /* OK, ERR_REJECTED (see code) or ERR_IO */
    int64_t event_id;
    uint32_t duplicate;
    tocsin_slice code;          /* "malformed", "too-large", ... */
    tocsin_slice message;
} tocsin_commit_result;

typedef struct tocsin_delivery {
    uint32_t struct_size;
    uint32_t priority;
    uint64_t delivery_id;
    int64_t event_id;
    int64_t occurred_at_ms;
    uint32_t attempt;
    uint32_t flags;             /* TOCSIN_WANT_*_RECEIPT */
    tocsin_slice target;
    tocsin_slice user;
    tocsin_slice kind;
    tocsin_slice source;
    tocsin_slice summary;
    tocsin_slice body;
    tocsin_slice message_id;
} tocsin_delivery;

typedef struct tocsin_delivery_result {
    uint32_t struct_size;
    uint32_t outcome;           /* TOCSIN_OUTCOME_* */
    uint64_t retry_after_ms;
    tocsin_slice reason;
} tocsin_delivery_result;

typedef struct tocsin_tls_options {
    uint32_t struct_size;
    uint32_t flags;
    tocsin_slice cert_file;
    tocsin_slice key_file;
    tocsin_slice ca_file;
    tocsin_slice server_name;
} tocsin_tls_options;

/* Host services. ctx is the value passed to create(). */
typedef struct tocsin_host {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    void (*log)(void *ctx, uint32_t level, tocsin_slice target, tocsin_slice msg);
    uint32_t (*max_log_level)(void *ctx);
    int64_t (*now_unix_ms)(void *ctx);
    uint64_t (*monotonic_ms)(void *ctx);
    tocsin_status (*listen)(void *ctx, uint32_t kind, tocsin_slice addr,
                            const tocsin_tls_options *tls, uint64_t *out_handle);
    tocsin_status (*bind_datagram)(void *ctx, uint32_t kind, tocsin_slice addr,
                                   uint64_t *out_handle);
    tocsin_status (*connect)(void *ctx, uint32_t kind, tocsin_slice addr,
                             const tocsin_tls_options *tls, uint64_t *out_handle);
    tocsin_status (*send)(void *ctx, uint64_t handle, tocsin_slice data);
    tocsin_status (*send_to)(void *ctx, uint64_t handle, tocsin_slice data, tocsin_slice peer);
    tocsin_status (*close)(void *ctx, uint64_t handle);
    tocsin_status (*set_read_paused)(void *ctx, uint64_t handle, uint32_t paused);
    tocsin_status (*local_addr)(void *ctx, uint64_t handle, tocsin_buf *out);
    tocsin_status (*peer_identity)(void *ctx, uint64_t handle, tocsin_buf *out);
    tocsin_status (*timer_set)(void *ctx, uint64_t delay_ms, uint64_t *out_timer);
    tocsin_status (*timer_cancel)(void *ctx, uint64_t timer);
    tocsin_status (*emit)(void *ctx, const tocsin_event *event, uint64_t token);
    tocsin_status (*delivery_result)(void *ctx, uint64_t delivery_id,
                                     const tocsin_delivery_result *result);
    tocsin_status (*receipt)(void *ctx, tocsin_slice message_id, uint32_t disposition,
                             tocsin_slice detail);
    tocsin_status (*kv_get)(void *ctx, tocsin_slice key, tocsin_buf *out);
    tocsin_status (*kv_put)(void *ctx, tocsin_slice key, tocsin_slice value);
    tocsin_status (*kv_delete)(void *ctx, tocsin_slice key);
    tocsin_status (*report_presence)(void *ctx, tocsin_slice address, uint32_t available);
} tocsin_host;

/* What the plugin implements. No entry may be NULL (the host refuses
 * such a plugin at load time); return TOCSIN_ERR_UNSUPPORTED instead. */
typedef struct tocsin_plugin_vtable {
    uint32_t struct_size;
    tocsin_status (*create)(const tocsin_host *host, void *host_ctx,
                            tocsin_slice instance_name, tocsin_slice config_toml,
                            void **out_instance, tocsin_buf *err);
    tocsin_status (*validate_config)(tocsin_slice config_toml, tocsin_buf *err);
    void (*destroy)(void *instance);
    tocsin_status (*on_accept)(void *instance, uint64_t listener, uint64_t conn,
                               tocsin_slice peer);
    tocsin_status (*on_data)(void *instance, uint64_t conn, tocsin_slice data);
    tocsin_status (*on_datagram)(void *instance, uint64_t sock, tocsin_slice data,
                                 tocsin_slice peer);
    tocsin_status (*on_writable)(void *instance, uint64_t conn);
    tocsin_status (*on_closed)(void *instance, uint64_t conn, tocsin_slice reason);
    tocsin_status (*on_connected)(void *instance, uint64_t conn, tocsin_status status,
                                  tocsin_slice detail);
    tocsin_status (*on_timer)(void *instance, uint64_t timer);
    tocsin_status (*on_committed)(void *instance, uint64_t token,
                                  const tocsin_commit_result *result);
    tocsin_status (*deliver)(void *instance, uint64_t delivery_id,
                             const tocsin_delivery *delivery);
} tocsin_plugin_vtable;

typedef struct tocsin_plugin_descriptor {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    uint32_t kind;              /* TOCSIN_KIND_* */
    tocsin_slice name;          /* static */
    tocsin_slice version;       /* static */
    const tocsin_plugin_vtable *vtable;
} tocsin_plugin_descriptor;

const tocsin_plugin_descriptor *tocsin_plugin_entry(void);

/* A slice of a string literal: _INIT in static initializers, _LIT in code. */
#define TOCSIN_SLICE_INIT(s) { (const uint8_t *)(s), sizeof(s) - 1 }
#define TOCSIN_SLICE_LIT(s) ((tocsin_slice)TOCSIN_SLICE_INIT(s))

#ifdef __cplusplus
}
#endif

/* Layout guards: these must match core/abi/src/ffi.rs on LP64. */
#if defined(__LP64__)
_Static_assert(sizeof(tocsin_slice) == 16, "tocsin_slice layout");
_Static_assert(sizeof(tocsin_event) == 128, "tocsin_event layout");
_Static_assert(sizeof(tocsin_commit_result) == 56, "tocsin_commit_result layout");
_Static_assert(sizeof(tocsin_delivery) == 152, "tocsin_delivery layout");
_Static_assert(sizeof(tocsin_delivery_result) == 32, "tocsin_delivery_result layout");
_Static_assert(sizeof(tocsin_tls_options) == 72, "tocsin_tls_options layout");
_Static_assert(sizeof(tocsin_host) == 8 + 22 * 8, "tocsin_host layout");
_Static_assert(sizeof(tocsin_plugin_vtable) == 8 + 12 * 8, "tocsin_plugin_vtable layout");
_Static_assert(sizeof(tocsin_plugin_descriptor) == 56, "tocsin_plugin_descriptor layout");
#endif

#endif /* TOCSIN_PLUGIN_H */
