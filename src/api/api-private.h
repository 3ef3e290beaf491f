/* api internals shared by its files: the server's state. */
#pragma once

#include "api.h"

struct MHD_Daemon;

/* One client connection (libmicrohttpd's socket context). */
struct api_conn {
	struct api_conn *next, *prev;
	int fd;
	struct api_peer peer;
	struct api_bucket bucket;
	uint64_t deadline_ms; /* the request now arriving must be whole by then; 0: none (a response streams) */
};

/* A GET /v1/events response: the lines not yet sent. */
struct api_stream {
	struct api_stream *next, *prev;
	struct api *api;
	struct MHD_Connection *c;
	int64_t seq;          /* the last event sent */
	char *buf;
	size_t len, off;
	bool suspended;       /* nothing to send: libmicrohttpd does not poll it */
	bool ended;           /* sriovd stops: end the stream */
	uint64_t last_ms;     /* when something was last queued (a keep-alive line after API_KEEPALIVE_MS) */
};
#define API_KEEPALIVE_MS 15000u
#define API_EVENTS_POLL_MS 500u

struct api {
	struct api_opts o;
	struct api_source src;
	gid_t gid;           /* the --group's; (gid_t)-1: none, root only */
	char *socket_path;
	bool bound_here;     /* we made the socket file: removed at the end */
	bool activated;      /* systemd's socket (LISTEN_FDS) */
	int listen_fd;
	int ep_fd, timer_fd; /* what api_fd() gives: MHD's epoll fd and our deadlines */
	struct MHD_Daemon *mhd;
	struct api_conn *conns;
	unsigned n_conns;
	struct api_stream *streams;
	int64_t event_seq;   /* the newest audit line seen; -1: not looked yet */
	/* The daemon's model of the host, read once and kept until
	 * api_model_changed(): the tree claims match on, and the
	 * GET /v1/inventory document made from it. */
	struct pci_tree *model;
	char *inventory_doc; /* NULL: not made yet */
	size_t inventory_len;
	char *inventory_text; /* ?format=text; NULL: not made yet */
	size_t inventory_text_len;
	/* Who holds what in the model (claimed_by) is read again from the
	 * ledger after a claim or release of ours (holds_stale), and when
	 * another process wrote the ledger (its data version moved). */
	bool holds_stale;
	int64_t ledger_version; /* when claimed_by was read; -1: unknown */
};
/* Forgets the model (api_model_changed() without the NULL check). */
void api_model_drop(struct api *a);
/* Forgets the documents made from the model (the claims changed). */
void api_model_docs_drop(struct api *a);

/* Appends to s the events after s->seq (and advances it); -errno. */
int api_stream_fill(struct api *a, struct api_stream *s);
/* The newest event's seq (a->event_seq, looked up once). */
int64_t api_event_seq(struct api *a);

uint64_t api_now_ms(const struct api *a);

/* /v1/relays...: the request passed on to sriov-relay's control socket
 * and its answer back as it is; 502 when the relay does not answer
 * (api-relay.c). */
int api_relay_forward(struct api *a, const struct api_request *rq, const char *param, struct api_response *rs);
