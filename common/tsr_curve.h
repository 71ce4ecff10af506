/* tsr_curve: the bus's CURVE security (ZeroMQ's encryption and authentication, one key pair per
 * daemon). It is on when the configuration gives keys: then every connection between daemons is
 * encrypted, and a daemon's ROUTER and PUB let in only peers whose public key is one of the suite's
 * own, so that nothing else on the network can call a daemon in a worker's name or read its events.
 * It is off by default, for ipc:// endpoints on one machine (whose run directory only the suite's
 * user enters); every call here then does nothing.
 *
 * Keys: [<daemon>] curve_public_key (40 characters of Z85) for each daemon of the suite and for the
 * tessera tool ([tessera]), and in each process's own section curve_secret_key_file, a file only its
 * owner can read holding its secret key (`tessera curve keypair` makes a pair). */
#ifndef TSR_CURVE_H
#define TSR_CURVE_H

#include "tsr_config.h"
#include "tsr_error.h"

typedef struct tsr_curve tsr_curve_t;

/* The keys as the configuration gives them, for the process named self (a daemon, or "tessera" for
 * the tool). *out is NULL when no section has a key (CURVE off). When one does, every peer must: a
 * key missing or malformed, a secret key file missing, readable by others or not matching self's
 * public key is an error naming the setting at fault. */
int tsr_curve_load(const tsr_config_t *config, const char *self, tsr_curve_t **out, tsr_error_t *err);
/* Stops the authenticator (tsr_curve_authenticate) and frees; safe to call twice. */
void tsr_curve_destroy(tsr_curve_t **self_p);

/* The process's own keys, used by every socket the bus opens from then on (NULL: off). The caller
 * keeps ownership; tsr_curve_use(NULL) before destroying it. */
void tsr_curve_use(tsr_curve_t *curve);
tsr_curve_t *tsr_curve_current(void);

/* For a socket this process binds (a ROUTER or PUB): the server's side, with self's secret key. */
int tsr_curve_serve(void *socket, tsr_error_t *err);
/* For a socket that connects to daemon `server` ("records"): the client's side, with server's
 * public key. */
int tsr_curve_connect(void *socket, const char *server, tsr_error_t *err);
/* Starts ZeroMQ's authentication handler (ZAP) on zmq_ctx, on a thread of its own: a peer whose
 * public key is not one of the suite's is refused before any message of its is read. Call before
 * binding; stop it with tsr_curve_stop before zmq_ctx_term. */
int tsr_curve_authenticate(tsr_curve_t *self, void *zmq_ctx, tsr_error_t *err);
/* Ends the handler: shuts the context down (blocking calls on it return) and joins the thread. */
void tsr_curve_stop(tsr_curve_t *self, void *zmq_ctx);

/* A new key pair as Z85 text (40 characters and a NUL each). */
int tsr_curve_keypair(char public_key[41], char secret_key[41], tsr_error_t *err);

#endif
