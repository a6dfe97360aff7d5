/* A source plugin in plain C, built by the end-to-end tests against
 * core/abi/include/tocsin_plugin.h: on start it arms a timer; when the
 * timer fires it emits one event; on commit it logs the stored id. */
#include <stdlib.h>
#include <string.h>
#include "tocsin_plugin.h"

struct hello {
    const tocsin_host *host;
    void *ctx;
    uint64_t timer;
};

static tocsin_status create(const tocsin_host *host, void *ctx, tocsin_slice name,
                            tocsin_slice config, void **out, tocsin_buf *err) {
    (void)name; (void)config; (void)err;
    if (host->abi_major != TOCSIN_ABI_MAJOR) return TOCSIN_ERR_UNSUPPORTED;
    struct hello *h = calloc(1, sizeof *h);
    if (!h) return TOCSIN_ERR_FAILED;
    h->host = host;
    h->ctx = ctx;
    if (host->timer_set(ctx, 10, &h->timer) != TOCSIN_OK) { free(h); return TOCSIN_ERR_FAILED; }
    *out = h;
    return TOCSIN_OK;
}

static tocsin_status validate(tocsin_slice config, tocsin_buf *err) {
    (void)config; (void)err;
    return TOCSIN_OK;
}

static void destroy(void *inst) { free(inst); }

static tocsin_status on_accept(void *i, uint64_t l, uint64_t c, tocsin_slice p) {
    (void)i; (void)l; (void)c; (void)p; return TOCSIN_OK;
}
static tocsin_status on_data(void *i, uint64_t c, tocsin_slice d) {
    (void)i; (void)c; (void)d; return TOCSIN_OK;
}
static tocsin_status on_datagram(void *i, uint64_t s, tocsin_slice d, tocsin_slice p) {
    (void)i; (void)s; (void)d; (void)p; return TOCSIN_OK;
}
static tocsin_status on_writable(void *i, uint64_t c) { (void)i; (void)c; return TOCSIN_OK; }
static tocsin_status on_closed(void *i, uint64_t c, tocsin_slice r) {
    (void)i; (void)c; (void)r; return TOCSIN_OK;
}
static tocsin_status on_connected(void *i, uint64_t c, tocsin_status s, tocsin_slice d) {
    (void)i; (void)c; (void)s; (void)d; return TOCSIN_OK;
}

static tocsin_status on_timer(void *inst, uint64_t timer) {
    struct hello *h = inst;
    if (timer != h->timer) return TOCSIN_ERR_NOT_FOUND;
    tocsin_attr attrs[1] = { { TOCSIN_SLICE_LIT("lang"), TOCSIN_SLICE_LIT("c") } };
    tocsin_event ev;
    memset(&ev, 0, sizeof ev);
    ev.struct_size = sizeof ev;
    ev.priority = 4;
    ev.source_event_id = TOCSIN_SLICE_LIT("hello-from-c-1");
    ev.kind = TOCSIN_SLICE_LIT("test.HelloFromC");
    ev.user = TOCSIN_SLICE_LIT("c-user@example.org");
    ev.summary = TOCSIN_SLICE_LIT("Hello from a C plugin");
    ev.attributes = attrs;
    ev.attributes_len = 1;
    return h->host->emit(h->ctx, &ev, 7);
}

static tocsin_status on_committed(void *inst, uint64_t token, const tocsin_commit_result *r) {
    struct hello *h = inst;
    if (token == 7 && r->status == TOCSIN_OK) {
        h->host->log(h->ctx, TOCSIN_LOG_INFO, TOCSIN_SLICE_LIT("hello.c"),
                     TOCSIN_SLICE_LIT("C plugin event committed"));
    }
    return TOCSIN_OK;
}

static tocsin_status deliver(void *i, uint64_t id, const tocsin_delivery *d) {
    (void)i; (void)id; (void)d; return TOCSIN_ERR_UNSUPPORTED;
}

static const tocsin_plugin_vtable VTABLE = {
    sizeof(tocsin_plugin_vtable), create, validate, destroy, on_accept, on_data,
    on_datagram, on_writable, on_closed, on_connected, on_timer, on_committed, deliver,
};

static const tocsin_plugin_descriptor DESCRIPTOR = {
    sizeof(tocsin_plugin_descriptor), TOCSIN_ABI_MAJOR, TOCSIN_ABI_MINOR,
    TOCSIN_KIND_SOURCE, TOCSIN_SLICE_INIT("hello-c"), TOCSIN_SLICE_INIT("1.0.0"), &VTABLE,
};

const tocsin_plugin_descriptor *tocsin_plugin_entry(void) { return &DESCRIPTOR; }
