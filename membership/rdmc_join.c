/*
 * Joins (rdmc.h): RDMC_Comm_open, RDMC_Comm_admit, RDMC_Comm_join and
 * RDMC_Comm_close, over MPI's dynamic processes and a TCP handshake.
 *
 *  1. RDMC_Comm_open (the group, once).  Every member of the current view
 *     loads the secret; the leader (the view's lowest rank) opens a
 *     listening TCP socket and an MPI port, and publishes "host:tcp-port"
 *     under the group's name (MPI_Publish_name: ompi-server, or under Open
 *     MPI 5 a PRRTE DVM, shares it with other mpiruns).
 *  2. RDMC_Comm_join (the joiner).  It looks the name up, connects to the
 *     socket and waits there, bounded, until the group admits.
 *  3. RDMC_Comm_admit (the group, collective).  The members make a
 *     communicator of the view's members.  The leader takes connections
 *     one at a time until max_joiners are in or timeout_ms is over, and
 *     runs the handshake of join_wire.h with each: a joiner that fails it
 *     is told why and dropped, and the members never hear of it.  For an
 *     admitted joiner the leader tells every member "accept"; they call
 *     MPI_Comm_accept, the joiner MPI_Comm_connect, and both sides merge the
 *     intercommunicator, old members first.  A joiner then takes part in
 *     admitting the next one.  At the end the leader says "done" and
 *     everyone sets rdmc up on the final communicator, whose first view
 *     continues the group's view ids.  The opening moves to it.
 *
 * The MPI port goes only to joiners that proved they hold the secret, and
 * the members enter MPI_Comm_accept only once the admitted joiner said GO,
 * right before its MPI_Comm_connect: Open MPI's accept has no timeout.
 * Every other wait here is bounded.
 *
 * The control messages between members go point to point on communicators
 * without failed ranks, never through a collective of a communicator that
 * may still hold one.
 */
#include "coll/core/rdmc_clock.h"
#include "join_judge.h"
#include "join_socket.h"
#include "join_token.h"
#include "join_wire.h"
#include "rdmc_group.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RDMC_VISIBLE __attribute__((visibility("default")))

enum {
    HANDSHAKE_MS = 5000,          /* one joiner's handshake, at most */
    FOLLOW_SLACK_MS = 30000,      /* a member waits for the leader this much past
                                   * the admission's own time: accepts and merges */
    DEFAULT_JOIN_TIMEOUT_MS = 60000,
    STEP_TAG = 0x524a5354,        /* "RJST" */
    MEMBERS_TAG = 0x524a4d42,     /* "RJMB" */
};

/* How separately started mpiruns share published names: Open MPI 5 has
 * no ompi-server; jobs of one PRRTE DVM see each other's names. */
#if defined(OMPI_MAJOR_VERSION) && OMPI_MAJOR_VERSION >= 5
#define RENDEZVOUS_HINT "do both mpiruns run in one PRRTE DVM: prte --report-uri FILE, then " \
                        "mpirun --dvm file:FILE?"
#else
#define RENDEZVOUS_HINT "is ompi-server running, and given to both mpiruns with --ompi-server?"
#endif

/* What the leader tells the members, one step at a time. */
typedef enum { STEP_ACCEPT = 1, STEP_DONE = 2 } step_t;

/* An open group, on every member's communicator (moved to the one
 * RDMC_Comm_admit gives).  Only the leader holds a socket, a port and a
 * published name; when it fails, the next view's leader opens them. */
typedef struct opening {
    int refs;                          /* communicators holding it */
    char name[RDMC_JOIN_NAME_MAX];
    rdmc_token_t token;
    bool leader;
    char host[256];                    /* rdmc_host, "" for the host name */
    int listen_fd;                     /* leader: -1 once closed */
    char port[MPI_MAX_PORT_NAME];      /* leader: "" if none */
    char published[300];               /* leader: "host:port", "" if not published */
} opening_t;

static int opening_keyval = MPI_KEYVAL_INVALID;

/* The one line a refusal or a failure here gets, on stderr. */
__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "rdmc: %s\n", line);
}

static void opening_release(opening_t *o)
{
    if (--o->refs > 0) {
        return;
    }
    if (o->published[0] != '\0') {
        (void)PMPI_Unpublish_name(o->name, MPI_INFO_NULL, o->published);
    }
    if (o->port[0] != '\0') {
        (void)PMPI_Close_port(o->port);
    }
    if (o->listen_fd >= 0) {
        close(o->listen_fd);
    }
    rdmc_token_clear(&o->token);
    free(o);
}

static int on_comm_free(MPI_Comm comm, int keyval, void *value, void *extra)
{
    (void)comm;
    (void)keyval;
    (void)extra;
    opening_release(value);
    return MPI_SUCCESS;
}

static opening_t *opening_of(MPI_Comm comm)
{
    void *value = NULL;
    int found = 0;

    if (opening_keyval == MPI_KEYVAL_INVALID ||
        PMPI_Comm_get_attr(comm, opening_keyval, &value, &found) != MPI_SUCCESS || !found) {
        return NULL;
    }
    return value;
}

static int opening_attach(MPI_Comm comm, opening_t *o)
{
    int rc = MPI_SUCCESS;

    if (opening_keyval == MPI_KEYVAL_INVALID) {
        rc = PMPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, on_comm_free, &opening_keyval, NULL);
    }
    if (rc == MPI_SUCCESS) {
        rc = PMPI_Comm_set_attr(comm, opening_keyval, o);
    }
    if (rc == MPI_SUCCESS) {
        o->refs++;
    }
    return rc;
}

/* ---- small helpers ------------------------------------------------------ */

static bool info_get(MPI_Info info, const char *key, char *value, int len)
{
    int flag = 0;

    if (info == MPI_INFO_NULL) {
        return false;
    }
    return PMPI_Info_get(info, key, len - 1, value, &flag) == MPI_SUCCESS && flag;
}

static int load_token(MPI_Info info, rdmc_token_t *token)
{
    char path[4096] = "", why[512];

    if (!info_get(info, "rdmc_token_file", path, sizeof(path))) {
        say("no secret: set the info key rdmc_token_file to a file of mode 0600");
        return rdmc_error_code(RDMC_ACCESS);
    }
    if (rdmc_token_load(path, token, why, sizeof(why)) != 0) {
        say("%s", why);
        return rdmc_error_code(RDMC_ACCESS);
    }
    return MPI_SUCCESS;
}

static bool valid_name(const char *name)
{
    return name != NULL && name[0] != '\0' && strlen(name) < RDMC_JOIN_NAME_MAX;
}

/* The communicator of comm's current view (collective over its members),
 * kept away from rdmc until the join is done. */
static int view_members(MPI_Comm comm, MPI_Comm *members_p, uint64_t *view_id_p)
{
    MPI_Group members;
    int rc = RDMC_Comm_get_view(comm, view_id_p, &members);

    if (rc != MPI_SUCCESS) {
        return rc;
    }
    rc = PMPI_Comm_create_group(comm, members, MEMBERS_TAG, members_p);
    PMPI_Group_free(&members);
    if (rc == MPI_SUCCESS) {
        rc = rdmc_comm_set_exempt(*members_p, true);
    }
    return rc;
}

/* Every member's own result, agreed: MPI_SUCCESS everywhere, or an error
 * everywhere (its own where a member failed, failed_elsewhere where it
 * did not). */
static int agree(MPI_Comm members, int mine, int failed_elsewhere)
{
    int bad = mine != MPI_SUCCESS, any = 0;

    if (PMPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, members) != MPI_SUCCESS) {
        return MPI_ERR_OTHER;
    }
    return mine != MPI_SUCCESS ? mine : any ? failed_elsewhere : MPI_SUCCESS;
}

/* Wait for a request without spinning, until deadline_ms. */
static int wait_bounded(MPI_Request *req, double deadline_ms)
{
    const struct timespec nap = { 0, 1000000 };   /* 1 ms */
    int done = 0;

    for (;;) {
        int rc = PMPI_Test(req, &done, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS || done) {
            return rc;
        }
        if (rdmc_now_ms() > deadline_ms) {
            PMPI_Cancel(req);
            PMPI_Wait(req, MPI_STATUS_IGNORE);
            return MPI_ERR_PENDING;
        }
        nanosleep(&nap, NULL);
    }
}

/* ---- the handshake, on the leader's side -------------------------------- */

static int send_msg(int fd, const rdmc_join_msg_t *msg, double deadline_ms)
{
    uint8_t buf[RDMC_JOIN_MSG_MAX];
    size_t len = rdmc_join_encode(msg, buf, sizeof(buf));

    return len == 0 ? -EINVAL : rdmc_join_send_frame(fd, buf, len, deadline_ms);
}

static int recv_msg(int fd, rdmc_join_type_t type, rdmc_join_msg_t *msg, double deadline_ms)
{
    uint8_t buf[RDMC_JOIN_MSG_MAX];
    size_t len = 0;
    int rc = rdmc_join_recv_frame(fd, buf, sizeof(buf), &len, deadline_ms);

    return rc != 0 ? rc : rdmc_join_decode(buf, len, type, msg);
}

/* Challenge the joiner on fd and judge its answer (join_judge.c); true
 * once it said GO. */
static bool admit_one(const opening_t *o, int fd, uint64_t view_id, double admit_deadline_ms)
{
    double deadline = rdmc_now_ms() + HANDSHAKE_MS;
    rdmc_join_msg_t challenge = { .type = RDMC_JOIN_CHALLENGE };
    rdmc_join_msg_t verdict = { .type = RDMC_JOIN_VERDICT, .view_id = view_id };
    rdmc_join_msg_t answer, go;
    rdmc_join_code_t code;
    uint8_t frame[RDMC_JOIN_MSG_MAX];
    size_t len = 0;
    int rc;

    snprintf(challenge.group, sizeof(challenge.group), "%s", o->name);
    if (rdmc_token_nonce(challenge.nonce) != 0 || send_msg(fd, &challenge, deadline) != 0) {
        return false;   /* gone before it heard anything */
    }
    rc = rdmc_join_recv_frame(fd, frame, sizeof(frame), &len, deadline);
    if (rc == -ETIMEDOUT || rc == -ECONNRESET) {
        say("group %s: a joiner went away during the handshake", o->name);
        return false;
    }
    rdmc_settings(verdict.settings, sizeof(verdict.settings));
    /* A frame that did not come whole (too long) is no response either. */
    rdmc_join_case_t judged = { &o->token, o->name, challenge.nonce, verdict.settings };
    code = rdmc_join_judge(&judged, frame, rc == 0 ? len : 0, &answer);
    verdict.code = code;
    if (code == RDMC_JOIN_ADMITTED) {
        double left = admit_deadline_ms - rdmc_now_ms();
        verdict.wait_ms = (uint32_t)(left > 0 ? left : 0) + HANDSHAKE_MS;
        snprintf(verdict.port, sizeof(verdict.port), "%s", o->port);
        rdmc_token_proof(&o->token, RDMC_PROOF_GROUP, o->name, challenge.nonce, answer.nonce,
                         verdict.proof);
    }
    rc = send_msg(fd, &verdict, deadline);
    if (code != RDMC_JOIN_ADMITTED) {
        say("group %s: a joiner was refused: %s", o->name, rdmc_join_judge_why(code));
        return false;
    }
    /* GO: it is about to connect; without it nobody enters accept. */
    return rc == 0 && recv_msg(fd, RDMC_JOIN_GO, &go, deadline) == 0;
}

/* ---- admitting, step by step -------------------------------------------- */

/* Everyone in *comm_p accepts the connection the leader has admitted and
 * merges it: *comm_p becomes the larger communicator. */
static int accept_joiner(MPI_Comm *comm_p, const char *port, int high)
{
    MPI_Comm inter, merged;
    int rc = PMPI_Comm_accept(port, MPI_INFO_NULL, 0, *comm_p, &inter);

    if (rc != MPI_SUCCESS) {
        return rc;
    }
    rc = PMPI_Intercomm_merge(inter, high, &merged);
    PMPI_Comm_free(&inter);
    if (rc == MPI_SUCCESS) {
        rc = rdmc_comm_set_exempt(merged, true);
        PMPI_Comm_free(comm_p);
        *comm_p = merged;
    }
    return rc;
}

static int tell_members(MPI_Comm comm, step_t step)
{
    int size, rc = MPI_SUCCESS, msg = (int)step;

    PMPI_Comm_size(comm, &size);
    for (int r = 1; r < size && rc == MPI_SUCCESS; r++) {
        rc = PMPI_Send(&msg, 1, MPI_INT, r, STEP_TAG, comm);
    }
    return rc;
}

static int lead(opening_t *o, MPI_Comm *comm_p, int max_joiners, double deadline_ms,
                uint64_t view_id)
{
    int rc = MPI_SUCCESS, fd;

    for (int admitted = 0; admitted < max_joiners && rc == MPI_SUCCESS;) {
        if (rdmc_join_accept(o->listen_fd, deadline_ms, &fd) != 0) {
            break;   /* time is up (or the socket failed: nobody more comes) */
        }
        if (admit_one(o, fd, view_id, deadline_ms)) {
            rc = tell_members(*comm_p, STEP_ACCEPT);
            if (rc == MPI_SUCCESS) {
                rc = accept_joiner(comm_p, o->port, 0);
            }
            admitted++;
        }
        close(fd);
    }
    if (rc == MPI_SUCCESS) {
        rc = tell_members(*comm_p, STEP_DONE);
    }
    return rc;
}

/* A member other than the leader: accept whom the leader admits until it
 * says done.  wait_ms bounds each wait for the leader's next word. */
static int follow(MPI_Comm *comm_p, double wait_ms)
{
    for (;;) {
        MPI_Request req;
        int msg = 0, rc = PMPI_Irecv(&msg, 1, MPI_INT, 0, STEP_TAG, *comm_p, &req);

        if (rc == MPI_SUCCESS) {
            rc = wait_bounded(&req, rdmc_now_ms() + wait_ms);
        }
        if (rc == MPI_ERR_PENDING) {
            say("admitting: the group's leader did not answer within %.0f ms", wait_ms);
            return rdmc_error_code(RDMC_PROC_FAILED);
        }
        if (rc != MPI_SUCCESS || msg == STEP_DONE) {
            return rc;
        }
        if (msg != STEP_ACCEPT) {
            return MPI_ERR_INTERN;
        }
        rc = accept_joiner(comm_p, "", 0);
        if (rc != MPI_SUCCESS) {
            return rc;
        }
    }
}

/* rdmc on the communicator a join gave, its views continuing view_id, and
 * the opening on it. */
static int finish(MPI_Comm comm, uint64_t view_id, opening_t *o)
{
    rdmc_group_t *group;
    int flag = 0, rc = rdmc_comm_set_exempt(comm, false);

    if (rc == MPI_SUCCESS) {
        rc = RDMC_Comm_active(comm, &flag);
    }
    group = rdmc_group_of(comm);
    if (rc == MPI_SUCCESS && flag && group != NULL) {
        group->view_base = view_id;
    }
    if (rc == MPI_SUCCESS) {
        rc = opening_attach(comm, o);
    }
    return rc;
}

/* ---- the API ------------------------------------------------------------ */

/* The leader's part of opening: socket, port, published name (a name a
 * failed leader published is overwritten). */
static int open_doors(opening_t *o)
{
    char host[256] = "";
    int port, rc;

    rc = rdmc_join_listen(&o->listen_fd, &port);
    if (rc != 0) {
        say("cannot listen for joiners: %s", strerror(-rc));
        return MPI_ERR_OTHER;
    }
    if (o->host[0] != '\0') {
        snprintf(host, sizeof(host), "%s", o->host);
    } else if (gethostname(host, sizeof(host)) != 0) {
        snprintf(host, sizeof(host), "localhost");
    }
    snprintf(o->published, sizeof(o->published), "%s:%d", host, port);
    rc = PMPI_Open_port(MPI_INFO_NULL, o->port);
    if (rc == MPI_SUCCESS) {
        rc = PMPI_Publish_name(o->name, MPI_INFO_NULL, o->published);
    }
    if (rc != MPI_SUCCESS) {
        say("cannot publish group %s (" RENDEZVOUS_HINT ")", o->name);
        o->published[0] = '\0';
        if (o->port[0] != '\0') {
            (void)PMPI_Close_port(o->port);
            o->port[0] = '\0';
        }
        close(o->listen_fd);
        o->listen_fd = -1;
    }
    return rc;
}

RDMC_VISIBLE int RDMC_Comm_open(MPI_Comm comm, const char *group_name, MPI_Info info)
{
    MPI_Comm members;
    uint64_t view_id;
    opening_t *o;
    int rc, rank;

    if (!valid_name(group_name)) {
        return MPI_ERR_ARG;
    }
    if (rdmc_active_group(comm, &rc) == NULL) {
        return rc;
    }
    if (opening_of(comm) != NULL) {
        say("group %s: this communicator is open already", group_name);
        return MPI_ERR_ARG;
    }
    rc = view_members(comm, &members, &view_id);
    if (rc != MPI_SUCCESS) {
        return rc;
    }
    o = calloc(1, sizeof(*o));
    if (o == NULL) {
        return agree(members, MPI_ERR_NO_MEM, MPI_ERR_OTHER);
    }
    o->refs = 1;
    o->listen_fd = -1;
    snprintf(o->name, sizeof(o->name), "%s", group_name);
    PMPI_Comm_rank(members, &rank);
    o->leader = rank == 0;
    (void)info_get(info, "rdmc_host", o->host, sizeof(o->host));
    rc = load_token(info, &o->token);
    if (rc == MPI_SUCCESS && o->leader) {
        rc = open_doors(o);
    }
    rc = agree(members, rc, MPI_ERR_OTHER);
    if (rc == MPI_SUCCESS) {
        rc = opening_attach(comm, o);
    }
    opening_release(o);   /* the communicator holds it now, if anyone does */
    PMPI_Comm_free(&members);
    return rc;
}

/* The view callback of the old communicator moves to the new one and
 * hears of its first view: who joined (the ranks after the old members). */
static void report_joiners(MPI_Comm old, MPI_Comm fresh)
{
    rdmc_group_t *before = rdmc_group_of(old), *after = rdmc_group_of(fresh);
    MPI_Group all, joiners;
    int old_members, size;
    uint64_t view_id;

    if (before == NULL || after == NULL || before->view_fn == NULL) {
        return;
    }
    after->view_fn = before->view_fn;
    after->view_arg = before->view_arg;
    if (RDMC_Comm_get_view(old, &view_id, &all) != MPI_SUCCESS) {
        return;
    }
    PMPI_Group_size(all, &old_members);
    PMPI_Group_free(&all);
    PMPI_Comm_size(fresh, &size);
    PMPI_Comm_group(fresh, &all);
    int range[1][3] = { { old_members, size - 1, 1 } };
    if (size > old_members) {
        PMPI_Group_range_incl(all, 1, range, &joiners);
    } else {
        joiners = MPI_GROUP_EMPTY;
    }
    after->view_fn(fresh, after->view_base, joiners, MPI_GROUP_EMPTY, after->view_arg);
    if (joiners != MPI_GROUP_EMPTY) {
        PMPI_Group_free(&joiners);
    }
    PMPI_Group_free(&all);
}

RDMC_VISIBLE int RDMC_Comm_admit(MPI_Comm comm, int max_joiners, int timeout_ms,
                                 MPI_Comm *newcomm)
{
    opening_t *o;
    MPI_Comm joined;
    uint64_t view_id;
    int rc, rank;

    if (newcomm == NULL || max_joiners < 0 || timeout_ms < 0) {
        return MPI_ERR_ARG;
    }
    if (rdmc_active_group(comm, &rc) == NULL) {
        return rc;
    }
    o = opening_of(comm);
    if (o == NULL) {
        say("RDMC_Comm_admit: the group is not open (call RDMC_Comm_open first)");
        return MPI_ERR_ARG;
    }
    /* A barrier on comm (rdmc's, which waits out view changes) first: a
     * member that failed before the call is out of the view before the
     * members make their communicator, which Open MPI would wait on. */
    rc = PMPI_Barrier(comm);
    if (rc == MPI_SUCCESS) {
        rc = view_members(comm, &joined, &view_id);
    }
    if (rc != MPI_SUCCESS) {
        return rc;
    }
    /* The view's lowest rank leads: if the leader that opened the doors
     * has failed, it opens them again. */
    PMPI_Comm_rank(joined, &rank);
    bool takes_over = rank == 0 && !o->leader;
    rc = agree(joined, takes_over ? open_doors(o) : MPI_SUCCESS, MPI_ERR_OTHER);
    if (takes_over && rc == MPI_SUCCESS) {
        say("group %s: its leader has failed; this member leads it now", o->name);
        o->leader = true;
    }
    if (rc != MPI_SUCCESS) {
        say("group %s: cannot admit without a leader", o->name);
    } else if (o->leader) {
        rc = lead(o, &joined, max_joiners, rdmc_now_ms() + timeout_ms, view_id + 1);
    } else {
        rc = follow(&joined, (double)timeout_ms + HANDSHAKE_MS + FOLLOW_SLACK_MS);
    }
    if (rc == MPI_SUCCESS) {
        rc = finish(joined, view_id + 1, o);
    }
    if (rc != MPI_SUCCESS) {
        PMPI_Comm_free(&joined);
        return rc;
    }
    PMPI_Comm_delete_attr(comm, opening_keyval);   /* moved to the new communicator */
    report_joiners(comm, joined);
    *newcomm = joined;
    return MPI_SUCCESS;
}

/* Refusals the group sends back, as the joiner's error. */
static int refused(const char *name, const rdmc_join_msg_t *verdict, const char *mine)
{
    switch (verdict->code) {
    case RDMC_JOIN_BAD_PROOF:
        say("group %s refused to admit us: wrong secret", name);
        return rdmc_error_code(RDMC_ACCESS);
    case RDMC_JOIN_BAD_SETTINGS:
        say("group %s refused to admit us: coll/rdmc settings differ (ours, then the group's):",
            name);
        say("  %s", mine);
        say("  %s", verdict->settings);
        return MPI_ERR_OTHER;
    default:
        say("group %s refused to admit us: it could not read our answer", name);
        return MPI_ERR_OTHER;
    }
}

/* handshake(): the leader went away before its verdict; look again. */
enum { JOIN_RETRY = -1 };

/* The joiner's handshake on fd; on success *verdict_p says where to
 * connect. */
static int handshake(int fd, const char *name, const rdmc_token_t *token, double deadline_ms,
                     rdmc_join_msg_t *verdict_p)
{
    rdmc_join_msg_t challenge, answer = { .type = RDMC_JOIN_RESPONSE }, verdict;
    rdmc_join_msg_t go = { .type = RDMC_JOIN_GO };
    uint8_t expected[RDMC_MAC_BYTES];
    int rc = recv_msg(fd, RDMC_JOIN_CHALLENGE, &challenge, deadline_ms);

    if (rc == -ETIMEDOUT) {
        say("group %s did not admit us in time (info key rdmc_timeout_ms)", name);
        return MPI_ERR_OTHER;
    }
    if (rc == -ECONNRESET) {
        return JOIN_RETRY;
    }
    if (rc != 0 || strcmp(challenge.group, name) != 0) {
        say("group %s: the other side does not speak for it", name);
        return rdmc_error_code(RDMC_ACCESS);
    }
    rdmc_settings(answer.settings, sizeof(answer.settings));
    if (rdmc_token_nonce(answer.nonce) != 0) {
        return MPI_ERR_OTHER;
    }
    rdmc_token_proof(token, RDMC_PROOF_JOINER, name, challenge.nonce, answer.nonce,
                     answer.proof);
    rc = send_msg(fd, &answer, deadline_ms);
    if (rc == 0) {
        rc = recv_msg(fd, RDMC_JOIN_VERDICT, &verdict, deadline_ms);
    }
    if (rc == -ECONNRESET) {
        return JOIN_RETRY;
    }
    if (rc != 0) {
        say("group %s: the handshake broke off (%s)", name, strerror(-rc));
        return MPI_ERR_OTHER;
    }
    if (verdict.code != RDMC_JOIN_ADMITTED) {
        return refused(name, &verdict, answer.settings);
    }
    rdmc_token_proof(token, RDMC_PROOF_GROUP, name, challenge.nonce, answer.nonce, expected);
    if (!rdmc_token_proof_equal(expected, verdict.proof)) {
        say("group %s: the other side does not hold the group's secret", name);
        return rdmc_error_code(RDMC_ACCESS);
    }
    if (send_msg(fd, &go, deadline_ms) != 0) {
        return MPI_ERR_OTHER;
    }
    *verdict_p = verdict;
    return MPI_SUCCESS;
}

/* Where the group's leader listens, from the published "host:port". */
static int find_group(const char *name, char *host, size_t host_len, int *port_p)
{
    char value[MPI_MAX_PORT_NAME] = "";
    char *colon;

    if (PMPI_Lookup_name(name, MPI_INFO_NULL, value) != MPI_SUCCESS) {
        say("no group named %s is open (" RENDEZVOUS_HINT ")", name);
        return rdmc_error_code(RDMC_ACCESS);
    }
    colon = strrchr(value, ':');
    if (colon == NULL || colon == value || (size_t)(colon - value) >= host_len ||
        atoi(colon + 1) <= 0 || atoi(colon + 1) > 65535) {
        say("the name %s is published, but not by an rdmc group", name);
        return rdmc_error_code(RDMC_ACCESS);
    }
    memcpy(host, value, (size_t)(colon - value));
    host[colon - value] = '\0';
    *port_p = atoi(colon + 1);
    return MPI_SUCCESS;
}

/* Find the group's leader and pass its handshake before deadline_ms; on
 * success *fd_p is the connection.  While the leader cannot be reached or
 * hangs up before its verdict (it failed, and the next view's leader has
 * yet to open the doors again), look the name up again. */
static int reach_group(const char *name, const rdmc_token_t *token, double deadline_ms,
                       rdmc_join_msg_t *verdict_p, int *fd_p)
{
    const struct timespec nap = { 0, 100000000 };   /* 100 ms */

    for (;;) {
        char host[256];
        int port = 0, err = 0, rc = find_group(name, host, sizeof(host), &port);

        if (rc != MPI_SUCCESS) {
            return rc;
        }
        err = rdmc_join_connect(host, port, deadline_ms, fd_p);
        if (err == 0) {
            rc = handshake(*fd_p, name, token, deadline_ms, verdict_p);
            if (rc != JOIN_RETRY) {
                return rc;
            }
            close(*fd_p);
            *fd_p = -1;
        }
        if (rdmc_now_ms() + 100 > deadline_ms) {
            say("cannot reach group %s: %s", name,
                err != 0 ? strerror(-err) : "its leader hung up before admitting us");
            return MPI_ERR_PORT;
        }
        nanosleep(&nap, NULL);
    }
}

RDMC_VISIBLE int RDMC_Comm_join(const char *group_name, MPI_Info info, MPI_Comm *newcomm)
{
    char settings[RDMC_JOIN_SETTINGS_MAX], value[32];
    rdmc_join_msg_t verdict;
    MPI_Comm inter, joined;
    double timeout_ms = DEFAULT_JOIN_TIMEOUT_MS;
    opening_t *o;
    int rc, fd = -1;

    if (!valid_name(group_name) || newcomm == NULL) {
        return MPI_ERR_ARG;
    }
    (void)RDMC_Error_class(0);
    if (!rdmc_settings(settings, sizeof(settings))) {
        say("RDMC_Comm_join: coll/rdmc is not loaded in this process (or is switched off)");
        return rdmc_error_code(RDMC_NOT_ACTIVE);
    }
    if (info_get(info, "rdmc_timeout_ms", value, sizeof(value)) && atof(value) > 0) {
        timeout_ms = atof(value);
    }
    o = calloc(1, sizeof(*o));
    if (o == NULL) {
        return MPI_ERR_NO_MEM;
    }
    o->refs = 1;
    o->listen_fd = -1;
    snprintf(o->name, sizeof(o->name), "%s", group_name);
    rc = load_token(info, &o->token);
    if (rc == MPI_SUCCESS) {
        rc = reach_group(group_name, &o->token, rdmc_now_ms() + timeout_ms, &verdict, &fd);
    }
    if (rc == MPI_SUCCESS) {
        rc = PMPI_Comm_connect(verdict.port, MPI_INFO_NULL, 0, MPI_COMM_SELF, &inter);
    }
    if (fd >= 0) {
        close(fd);
    }
    if (rc == MPI_SUCCESS) {
        rc = PMPI_Intercomm_merge(inter, 1, &joined);
        PMPI_Comm_free(&inter);
    }
    if (rc == MPI_SUCCESS) {
        rc = rdmc_comm_set_exempt(joined, true);
        if (rc == MPI_SUCCESS) {
            rc = follow(&joined, (double)verdict.wait_ms + FOLLOW_SLACK_MS);
        }
        if (rc == MPI_SUCCESS) {
            rc = finish(joined, verdict.view_id, o);
        }
        if (rc != MPI_SUCCESS) {
            PMPI_Comm_free(&joined);
        }
    }
    opening_release(o);
    if (rc == MPI_SUCCESS) {
        *newcomm = joined;
    }
    return rc;
}

RDMC_VISIBLE int RDMC_Comm_close(MPI_Comm comm)
{
    int rc;

    if (rdmc_active_group(comm, &rc) == NULL) {
        return rc;
    }
    if (opening_of(comm) == NULL) {
        say("RDMC_Comm_close: the group is not open");
        return MPI_ERR_ARG;
    }
    return PMPI_Comm_delete_attr(comm, opening_keyval);
}
