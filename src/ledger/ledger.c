#include "ledger.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "util/dl.h"
#include "util/fs.h"
#include "util/util.h"

/* libsqlite3 is loaded (dlopen) when a ledger is first opened, not linked:
 * a command that never reads the ledger does not pay for its load, which
 * binds about 1500 of the library's symbols to itself at once (it is
 * built with BIND_NOW), half a millisecond on a fast host, more than
 * everything else the command does on a slow one. */
DL_SYM_DECLARE(sqlite3_bind_int);
DL_SYM_DECLARE(sqlite3_bind_int64);
DL_SYM_DECLARE(sqlite3_bind_null);
DL_SYM_DECLARE(sqlite3_bind_text);
DL_SYM_DECLARE(sqlite3_busy_timeout);
DL_SYM_DECLARE(sqlite3_changes);
DL_SYM_DECLARE(sqlite3_clear_bindings);
DL_SYM_DECLARE(sqlite3_close_v2);
DL_SYM_DECLARE(sqlite3_column_int);
DL_SYM_DECLARE(sqlite3_column_int64);
DL_SYM_DECLARE(sqlite3_column_text);
DL_SYM_DECLARE(sqlite3_column_type);
DL_SYM_DECLARE(sqlite3_errmsg);
DL_SYM_DECLARE(sqlite3_exec);
DL_SYM_DECLARE(sqlite3_extended_result_codes);
DL_SYM_DECLARE(sqlite3_finalize);
DL_SYM_DECLARE(sqlite3_get_autocommit);
DL_SYM_DECLARE(sqlite3_last_insert_rowid);
DL_SYM_DECLARE(sqlite3_open_v2);
DL_SYM_DECLARE(sqlite3_prepare_v2);
DL_SYM_DECLARE(sqlite3_prepare_v3);
DL_SYM_DECLARE(sqlite3_reset);
DL_SYM_DECLARE(sqlite3_step);

static const struct dl_sym sqlite_syms[] = {
	DL_SYM(sqlite3_bind_int),
	DL_SYM(sqlite3_bind_int64),
	DL_SYM(sqlite3_bind_null),
	DL_SYM(sqlite3_bind_text),
	DL_SYM(sqlite3_busy_timeout),
	DL_SYM(sqlite3_changes),
	DL_SYM(sqlite3_clear_bindings),
	DL_SYM(sqlite3_close_v2),
	DL_SYM(sqlite3_column_int),
	DL_SYM(sqlite3_column_int64),
	DL_SYM(sqlite3_column_text),
	DL_SYM(sqlite3_column_type),
	DL_SYM(sqlite3_errmsg),
	DL_SYM(sqlite3_exec),
	DL_SYM(sqlite3_extended_result_codes),
	DL_SYM(sqlite3_finalize),
	DL_SYM(sqlite3_get_autocommit),
	DL_SYM(sqlite3_last_insert_rowid),
	DL_SYM(sqlite3_open_v2),
	DL_SYM(sqlite3_prepare_v2),
	DL_SYM(sqlite3_prepare_v3),
	DL_SYM(sqlite3_reset),
	DL_SYM(sqlite3_step),
};

static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;
static int sqlite_loaded = -ELIBACC;
static char *sqlite_error; /* why it did not load; kept for the process */

static void sqlite_load(void)
{
	void *h;
	sqlite_loaded = dl_open_syms("libsqlite3.so.0", sqlite_syms, ARRAY_SIZE(sqlite_syms), &h, &sqlite_error);
}

/* The statements every claim and release runs, prepared once per handle
 * (on first use) and finalized at close; the claims listing has one per
 * state filter (a LEDGER_STATE_BIT() mask). */
enum stmt_id {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_DEVICE_ADD,
	STMT_CLAIM_ADD,
	STMT_SET_STATE,
	STMT_DELETE_DEVICES,
	STMT_DELETE_CLAIM,
	STMT_DEVICE_UPDATE,
	STMT_LOAD_DEVICES,
	STMT_CONSUMER_KNOWN,
	STMT_HOLDS,
	STMT_AUDIT,
	STMT_EVENTS,
	STMT_DATA_VERSION,
	STMT_CLAIMS_LIST, /* + the state mask */
	_STMT_MAX = STMT_CLAIMS_LIST + (1 << _LEDGER_STATE_MAX),
};

struct ledger {
	sqlite3 *db;
	char *path;
	char *error;
	int found_version;
	sqlite3_stmt *stmts[_STMT_MAX];
};

/* --- names ------------------------------------------------------------------ */

static const char *const kind_names[] = {"alias", "network", "device"};
static const char *const state_names[] = {"pending", "active", "lost", "unclean", "released"};
static const char *const role_names[] = {"vf", "pf", "pci"};

static int name_lookup(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -EINVAL;
}

const char *ledger_kind_to_string(enum ledger_kind k)
{
	return (unsigned)k < ARRAY_SIZE(kind_names) ? kind_names[k] : NULL;
}
enum ledger_kind ledger_kind_from_string(const char *s)
{
	return (enum ledger_kind)name_lookup(kind_names, ARRAY_SIZE(kind_names), s);
}
const char *ledger_state_to_string(enum ledger_state s)
{
	return (unsigned)s < ARRAY_SIZE(state_names) ? state_names[s] : NULL;
}
enum ledger_state ledger_state_from_string(const char *s)
{
	return (enum ledger_state)name_lookup(state_names, ARRAY_SIZE(state_names), s);
}
const char *ledger_role_to_string(enum ledger_role r)
{
	return (unsigned)r < ARRAY_SIZE(role_names) ? role_names[r] : NULL;
}
enum ledger_role ledger_role_from_string(const char *s)
{
	return (enum ledger_role)name_lookup(role_names, ARRAY_SIZE(role_names), s);
}

/* --- errors ------------------------------------------------------------------ */

static int sqlite_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
		return -EINVAL;
	case SQLITE_TOOBIG:
		return -E2BIG;
	default:
		return -EIO;
	}
}

static int fail(struct ledger *l, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct ledger *l, int r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *what = NULL;
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	va_end(ap);
	free(l->error);
	if (asprintf(&l->error, "ledger %s: %s", l->path ? l->path : "", what ? what : strerror(-r)) < 0)
		l->error = NULL;
	free(what);
	return r;
}

/* The last SQLite error on the connection, as a sentence. */
static int fail_db(struct ledger *l, int rc, const char *doing)
{
	int r = sqlite_errno(rc);
	if (r == 0)
		r = -EIO;
	return fail(l, r, "%s: %s", doing, sym_sqlite3_errmsg(l->db));
}

const char *ledger_error(const struct ledger *l)
{
	return l && l->error ? l->error : "ledger: out of memory";
}

const char *ledger_file(const struct ledger *l)
{
	return l->path;
}

int ledger_found_version(const struct ledger *l)
{
	return l->found_version;
}

/* --- statements -------------------------------------------------------------- */

static int exec(struct ledger *l, const char *sql, const char *doing)
{
	int rc = sym_sqlite3_exec(l->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : fail_db(l, rc, doing);
}

static int prepare(struct ledger *l, const char *sql, sqlite3_stmt **ret)
{
	int rc = sym_sqlite3_prepare_v2(l->db, sql, -1, ret, NULL);
	return rc == SQLITE_OK ? 0 : fail_db(l, rc, "prepare");
}

static void finalizep(sqlite3_stmt **s)
{
	sym_sqlite3_finalize(*s);
}
#define _cleanup_stmt_ _cleanup_(finalizep)

/* The cached statement id, ready to bind (prepared from sql on first
 * use); reset it after use with _cleanup_reset_, so that no read stays
 * open between calls. */
static int cached(struct ledger *l, enum stmt_id id, const char *sql, sqlite3_stmt **ret)
{
	if (!l->stmts[id]) {
		int rc = sym_sqlite3_prepare_v3(l->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &l->stmts[id], NULL);
		if (rc != SQLITE_OK) {
			l->stmts[id] = NULL;
			return fail_db(l, rc, "prepare");
		}
	}
	*ret = l->stmts[id];
	return 0;
}

static void resetp(sqlite3_stmt **s)
{
	if (*s) {
		sym_sqlite3_reset(*s);
		sym_sqlite3_clear_bindings(*s);
	}
}
#define _cleanup_reset_ _cleanup_(resetp)

/* Runs a cached statement that returns no rows. */
static int exec_cached(struct ledger *l, enum stmt_id id, const char *sql, const char *doing)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	int r = cached(l, id, sql, &s);
	if (r < 0)
		return r;
	int rc = sym_sqlite3_step(s);
	return rc == SQLITE_DONE ? 0 : fail_db(l, rc, doing);
}

static void bind_text_or_null(sqlite3_stmt *s, int i, const char *v)
{
	if (v && *v)
		sym_sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
	else
		sym_sqlite3_bind_null(s, i);
}

static void bind_int_or_null(sqlite3_stmt *s, int i, int64_t v, bool null)
{
	if (null)
		sym_sqlite3_bind_null(s, i);
	else
		sym_sqlite3_bind_int64(s, i, v);
}

/* Runs a statement that returns no rows. */
static int step_done(struct ledger *l, sqlite3_stmt *s, const char *doing)
{
	int rc = sym_sqlite3_step(s);
	return rc == SQLITE_DONE ? 0 : fail_db(l, rc, doing);
}

static void col_copy(sqlite3_stmt *s, int i, char *buf, size_t len)
{
	const unsigned char *t = sym_sqlite3_column_text(s, i);
	snprintf(buf, len, "%s", t ? (const char *)t : "");
}

static int col_dup(sqlite3_stmt *s, int i, char **ret)
{
	const unsigned char *t = sym_sqlite3_column_text(s, i);
	*ret = NULL;
	if (!t)
		return 0;
	*ret = strdup((const char *)t);
	return *ret ? 0 : -ENOMEM;
}

/* --- schema ------------------------------------------------------------------ */

/* Version 1. Each later version adds one entry to migrations[]: the SQL
 * that takes a database of the version before to it. */
static const char schema_v1[] =
	"CREATE TABLE claims ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" consumer TEXT NOT NULL,"
	" kind TEXT NOT NULL CHECK (kind IN ('alias', 'network', 'device')),"
	" request TEXT NOT NULL,"
	" count INTEGER NOT NULL CHECK (count >= 1),"
	" mac TEXT,"
	" vlan INTEGER,"
	" vfio INTEGER NOT NULL DEFAULT 0,"
	" numa_nodes TEXT,"
	" state TEXT NOT NULL CHECK (state IN ('pending', 'active', 'lost', 'unclean', 'released')),"
	" reason TEXT,"
	" uid INTEGER NOT NULL,"
	" pid INTEGER NOT NULL,"
	" created INTEGER NOT NULL,"
	" updated INTEGER NOT NULL);"
	"CREATE INDEX claims_consumer ON claims (consumer, state);"
	"CREATE INDEX claims_state ON claims (state);"
	"CREATE TABLE claim_devices ("
	" claim INTEGER NOT NULL REFERENCES claims (id),"
	" address TEXT NOT NULL,"
	" role TEXT NOT NULL CHECK (role IN ('vf', 'pf', 'pci')),"
	" pf TEXT,"
	" vf_index INTEGER,"
	" mac TEXT,"
	" vlan INTEGER,"
	" vfio INTEGER NOT NULL DEFAULT 0,"
	" vfio_node TEXT,"
	" driver_before TEXT,"
	" PRIMARY KEY (claim, address));"
	"CREATE INDEX claim_devices_address ON claim_devices (address);"
	"CREATE INDEX claim_devices_pf ON claim_devices (pf);"
	"CREATE TABLE audit ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" time INTEGER NOT NULL,"
	" event TEXT NOT NULL,"
	" consumer TEXT,"
	" claim INTEGER,"
	" device TEXT,"
	" detail TEXT);"
	"CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit"
	" BEGIN SELECT RAISE(ABORT, 'the audit history is append-only'); END;"
	"CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit"
	" BEGIN SELECT RAISE(ABORT, 'the audit history is append-only'); END;";

static const char *const migrations[LEDGER_SCHEMA_VERSION] = {
	schema_v1, /* 0 (a new file) -> 1 */
};

static int user_version(struct ledger *l, int *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = prepare(l, "PRAGMA user_version", &s);
	if (r < 0)
		return r;
	int rc = sym_sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return fail_db(l, rc, "reading the schema version");
	*ret = sym_sqlite3_column_int(s, 0);
	return 0;
}

/* Brings the schema to LEDGER_SCHEMA_VERSION in one transaction, so that a
 * migration cut short leaves the version it started from. */
static int migrate(struct ledger *l)
{
	int r = exec(l, "BEGIN IMMEDIATE", "starting the schema check");
	if (r < 0)
		return r;
	int v = 0;
	if ((r = user_version(l, &v)) < 0)
		goto fail;
	l->found_version = v;
	if (v > LEDGER_SCHEMA_VERSION) {
		r = fail(l, -EPROTO,
			 "schema version %d is newer than this sriovd knows (%d); use the sriovd that wrote it, "
			 "or a newer one",
			 v, LEDGER_SCHEMA_VERSION);
		goto fail;
	}
	if (v < 0) {
		r = fail(l, -EBADMSG, "schema version %d is not a version", v);
		goto fail;
	}
	for (; v < LEDGER_SCHEMA_VERSION; v++) {
		char doing[64];
		snprintf(doing, sizeof(doing), "migrating the schema from version %d to %d", v, v + 1);
		if ((r = exec(l, migrations[v], doing)) < 0)
			goto fail;
		char sql[64];
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if ((r = exec(l, sql, doing)) < 0)
			goto fail;
	}
	return exec(l, "COMMIT", "committing the schema");
fail:
	sym_sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

/* --- opening ----------------------------------------------------------------- */

int ledger_path(const char *sysfs_root, const char *state_dir, char **ret)
{
	char *dir;
	if (!str_empty(state_dir))
		dir = strdup(state_dir);
	else if (sysfs_root_is_live(sysfs_root))
		dir = strdup(LEDGER_STATE_DIR);
	else
		dir = path_join(sysfs_root, LEDGER_TREE_STATE);
	if (!dir)
		return -ENOMEM;
	char *p = path_join(dir, LEDGER_FILE);
	free(dir);
	if (!p)
		return -ENOMEM;
	*ret = p;
	return 0;
}

int ledger_exists(const char *sysfs_root, const char *state_dir, char **ret_path)
{
	*ret_path = NULL;
	int r = ledger_path(sysfs_root, state_dir, ret_path);
	if (r < 0)
		return r;
	struct stat st;
	if (stat(*ret_path, &st) == 0)
		return 1;
	return errno == ENOENT ? 0 : -errno;
}

/* Creates the file (0600) in the folder dirfd, refusing a link in its place. */
/* An existing file is only looked at, never opened: close() of any fd
 * of the database drops every POSIX lock this process holds on it, SQLite's
 * too, and another process would then take itself for the last connection
 * and delete the write-ahead log a connection of this process still uses
 * (sriovd keeps one open while its API and its hooks open more). */
static int create_file_at(int dirfd)
{
	struct stat st;
	if (fstatat(dirfd, LEDGER_FILE, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(st.st_mode))
			return -EXDEV;
		return S_ISREG(st.st_mode) ? 0 : -EBADFD;
	}
	if (errno != ENOENT)
		return -errno;
	_cleanup_close_ int fd =
		openat(dirfd, LEDGER_FILE, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
	if (fd < 0 && errno == EEXIST)
		return create_file_at(dirfd); /* made meanwhile: looked at again */
	if (fd < 0)
		return errno == ELOOP ? -EXDEV : -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EBADFD;
	return 0;
}

/* The connection (SQLITE_OPEN_READWRITE or _READONLY), the final
 * component never a link, extended codes, the busy timeout. */
static int open_conn(struct ledger *l, int flags)
{
	pthread_once(&sqlite_once, sqlite_load);
	if (sqlite_loaded < 0)
		return fail(l, sqlite_loaded, "%s", sqlite_error ? sqlite_error : "cannot load libsqlite3.so.0");
	int rc = sym_sqlite3_open_v2(l->path, &l->db, flags | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK)
		return l->db ? fail_db(l, rc, "opening") : fail(l, -ENOMEM, "opening");
	sym_sqlite3_extended_result_codes(l->db, 1);
	sym_sqlite3_busy_timeout(l->db, LEDGER_BUSY_TIMEOUT_MS);
	return 0;
}

static int open_db(struct ledger *l)
{
	int r = open_conn(l, SQLITE_OPEN_READWRITE);
	if (r < 0)
		return r;
	/* journal_mode answers with the mode in effect: it must be wal. */
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	if ((r = prepare(l, "PRAGMA journal_mode = WAL", &s)) < 0)
		return r;
	int rc = sym_sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return fail_db(l, rc, "turning on write-ahead logging");
	const unsigned char *mode = sym_sqlite3_column_text(s, 0);
	if (!mode || strcmp((const char *)mode, "wal") != 0)
		return fail(l, -EIO, "SQLite kept journal mode '%s' instead of wal", mode ? (const char *)mode : "");
	sym_sqlite3_finalize(s);
	s = NULL;
	if ((r = exec(l, "PRAGMA synchronous = FULL", "setting synchronous=FULL")) < 0 ||
	    (r = exec(l, "PRAGMA foreign_keys = ON", "turning on foreign keys")) < 0)
		return r;
	return migrate(l);
}

static int ledger_new(const char *path, struct ledger **ret)
{
	struct ledger *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	if (!(l->path = strdup(path))) {
		free(l);
		return -ENOMEM;
	}
	*ret = l;
	return 0;
}

static int finish_open(struct ledger *l, int r, struct ledger **ret, char **ret_error)
{
	if (r == 0)
		r = open_db(l);
	if (r < 0) {
		if (ret_error)
			*ret_error = l->error ? TAKE_PTR(l->error) : NULL;
		ledger_close(l);
		return r;
	}
	*ret = l;
	return 0;
}

int ledger_open(const char *sysfs_root, const char *state_dir, struct ledger **ret, char **ret_error)
{
	_cleanup_free_ char *path = NULL;
	int r = ledger_path(sysfs_root, state_dir, &path);
	if (r < 0)
		return r;
	struct ledger *l;
	if ((r = ledger_new(path, &l)) < 0)
		return r;
	_cleanup_close_ int dirfd = -1;
	if (!str_empty(state_dir) || sysfs_root_is_live(sysfs_root)) {
		/* The administrator's folder (or /var/lib/sriovd): links and all. */
		const char *dir = !str_empty(state_dir) ? state_dir : LEDGER_STATE_DIR;
		if ((r = mkdir_p(dir, 0755)) < 0) {
			r = fail(l, r, "cannot create the folder %s: %s", dir, fs_strerror(r));
		} else if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			r = -errno;
			r = fail(l, r, "cannot open the folder %s: %s", dir, fs_strerror(r));
		}
	} else {
		/* A tree's own: beneath the tree, no link on the way. */
		_cleanup_close_ int rootfd = fs_open_root(sysfs_root);
		if (rootfd < 0)
			r = fail(l, rootfd, "cannot open the tree %s: %s", sysfs_root, fs_strerror(rootfd));
		else if ((dirfd = fs_mkdir_beneath(rootfd, LEDGER_TREE_STATE, 0755)) < 0)
			r = fail(l, dirfd, "cannot create the folder %s/%s: %s", sysfs_root, LEDGER_TREE_STATE,
				 fs_strerror(dirfd));
	}
	if (r == 0 && (r = create_file_at(dirfd)) < 0)
		r = fail(l, r, "cannot create it: %s", fs_strerror(r));
	return finish_open(l, r, ret, ret_error);
}

static int open_db_readonly(struct ledger *l)
{
	int r = open_conn(l, SQLITE_OPEN_READONLY);
	if (r < 0)
		return r;
	int v = 0;
	if ((r = user_version(l, &v)) < 0)
		return r;
	l->found_version = v;
	if (v != LEDGER_SCHEMA_VERSION)
		return fail(l, -EPROTO, "schema version %d, not %d", v, LEDGER_SCHEMA_VERSION);
	return 0;
}

int ledger_open_readonly(const char *state_dir, struct ledger **ret, char **ret_error)
{
	_cleanup_free_ char *path = NULL;
	int r = ledger_exists(NULL, state_dir, &path);
	if (r <= 0)
		return r < 0 ? r : -ENOENT;
	struct ledger *l;
	if ((r = ledger_new(path, &l)) < 0)
		return r;
	if ((r = open_db_readonly(l)) < 0) {
		if (ret_error)
			*ret_error = l->error ? TAKE_PTR(l->error) : NULL;
		ledger_close(l);
		return r;
	}
	*ret = l;
	return 0;
}

int ledger_open_file(const char *path, struct ledger **ret, char **ret_error)
{
	struct ledger *l;
	int r = ledger_new(path, &l);
	if (r < 0)
		return r;
	_cleanup_free_ char *dir = strdup(path);
	if (!dir)
		r = -ENOMEM;
	char *slash = dir ? strrchr(dir, '/') : NULL;
	_cleanup_close_ int dirfd = -1;
	if (r == 0) {
		if (slash)
			*slash = 0;
		dirfd = open(slash ? (*dir ? dir : "/") : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dirfd < 0)
			r = fail(l, -errno, "cannot open its folder: %s", strerror(errno));
	}
	if (r == 0) {
		const char *name = slash ? slash + 1 : dir;
		_cleanup_close_ int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
		struct stat st;
		if (fd < 0)
			r = fail(l, -errno, "cannot create it: %s", strerror(errno));
		else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
			r = fail(l, -EBADFD, "not a regular file");
	}
	return finish_open(l, r, ret, ret_error);
}

void ledger_close(struct ledger *l)
{
	if (!l)
		return;
	if (l->db) { /* none when the library did not load */
		for (size_t i = 0; i < ARRAY_SIZE(l->stmts); i++)
			sym_sqlite3_finalize(l->stmts[i]);
		sym_sqlite3_close_v2(l->db);
	}
	free(l->path);
	free(l->error);
	free(l);
}

/* --- transactions ------------------------------------------------------------ */

int ledger_begin(struct ledger *l)
{
	return exec_cached(l, STMT_BEGIN, "BEGIN IMMEDIATE", "starting a transaction");
}

int ledger_commit(struct ledger *l)
{
	return exec_cached(l, STMT_COMMIT, "COMMIT", "committing");
}

void ledger_rollback(struct ledger *l)
{
	if (!sym_sqlite3_get_autocommit(l->db))
		sym_sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
}

/* --- claims ------------------------------------------------------------------ */

void ledger_claim_done(struct ledger_claim *c)
{
	if (!c)
		return;
	free(c->request);
	free(c->numa_nodes);
	free(c->reason);
	free(c->devs);
	*c = (struct ledger_claim){0};
}

void ledger_claims_done(struct ledger_claims *c)
{
	for (size_t i = 0; i < c->n; i++)
		ledger_claim_done(&c->v[i]);
	free(c->v);
	*c = (struct ledger_claims){0};
}

static int device_add(struct ledger *l, int64_t id, const struct ledger_device *d)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	int r = cached(l, STMT_DEVICE_ADD,
			"INSERT INTO claim_devices (claim, address, role, pf, vf_index, mac, vlan, vfio, vfio_node,"
			" driver_before) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			&s);
	if (r < 0)
		return r;
	sym_sqlite3_bind_int64(s, 1, id);
	sym_sqlite3_bind_text(s, 2, d->address, -1, SQLITE_TRANSIENT);
	sym_sqlite3_bind_text(s, 3, ledger_role_to_string(d->role), -1, SQLITE_STATIC);
	bind_text_or_null(s, 4, d->pf);
	bind_int_or_null(s, 5, d->vf_index, d->vf_index < 0);
	bind_text_or_null(s, 6, d->mac);
	bind_int_or_null(s, 7, d->vlan, d->vlan < 0);
	sym_sqlite3_bind_int(s, 8, d->vfio);
	bind_text_or_null(s, 9, d->vfio_node);
	bind_text_or_null(s, 10, d->driver_before);
	return step_done(l, s, "recording a device of a claim");
}

int ledger_claim_add(struct ledger *l, struct ledger_claim *c)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	int r = cached(l, STMT_CLAIM_ADD,
			"INSERT INTO claims (consumer, kind, request, count, mac, vlan, vfio, numa_nodes, state, reason,"
			" uid, pid, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			&s);
	if (r < 0)
		return r;
	sym_sqlite3_bind_text(s, 1, c->consumer, -1, SQLITE_TRANSIENT);
	sym_sqlite3_bind_text(s, 2, ledger_kind_to_string(c->kind), -1, SQLITE_STATIC);
	sym_sqlite3_bind_text(s, 3, c->request ? c->request : "", -1, SQLITE_TRANSIENT);
	sym_sqlite3_bind_int64(s, 4, c->count);
	bind_text_or_null(s, 5, c->mac);
	bind_int_or_null(s, 6, c->vlan, c->vlan < 0);
	sym_sqlite3_bind_int(s, 7, c->vfio);
	bind_text_or_null(s, 8, c->numa_nodes);
	sym_sqlite3_bind_text(s, 9, ledger_state_to_string(c->state), -1, SQLITE_STATIC);
	bind_text_or_null(s, 10, c->reason);
	sym_sqlite3_bind_int64(s, 11, c->uid);
	sym_sqlite3_bind_int64(s, 12, c->pid);
	sym_sqlite3_bind_int64(s, 13, c->created);
	sym_sqlite3_bind_int64(s, 14, c->updated ? c->updated : c->created);
	if ((r = step_done(l, s, "recording a claim")) < 0)
		return r;
	c->id = sym_sqlite3_last_insert_rowid(l->db);
	for (size_t i = 0; i < c->n_devs; i++)
		if ((r = device_add(l, c->id, &c->devs[i])) < 0)
			return r;
	return 0;
}

int ledger_claim_set_state(struct ledger *l, int64_t id, enum ledger_state state, const char *reason, int64_t now)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	int r = cached(l, STMT_SET_STATE, "UPDATE claims SET state = ?, reason = ?, updated = ? WHERE id = ?", &s);
	if (r < 0)
		return r;
	sym_sqlite3_bind_text(s, 1, ledger_state_to_string(state), -1, SQLITE_STATIC);
	bind_text_or_null(s, 2, reason);
	sym_sqlite3_bind_int64(s, 3, now);
	sym_sqlite3_bind_int64(s, 4, id);
	if ((r = step_done(l, s, "changing a claim's state")) < 0)
		return r;
	return sym_sqlite3_changes(l->db) == 1 ? 0 : fail(l, -ENOENT, "claim %lld is not recorded", (long long)id);
}

int ledger_claim_delete(struct ledger *l, int64_t id)
{
	_cleanup_reset_ sqlite3_stmt *d = NULL, *c = NULL;
	int r = cached(l, STMT_DELETE_DEVICES, "DELETE FROM claim_devices WHERE claim = ?", &d);
	if (r < 0 || (r = cached(l, STMT_DELETE_CLAIM, "DELETE FROM claims WHERE id = ?", &c)) < 0)
		return r;
	sym_sqlite3_bind_int64(d, 1, id);
	sym_sqlite3_bind_int64(c, 1, id);
	if ((r = step_done(l, d, "deleting a claim's devices")) < 0)
		return r;
	return step_done(l, c, "deleting a claim");
}

int ledger_device_update(struct ledger *l, int64_t id, const struct ledger_device *d)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	int r = cached(l, STMT_DEVICE_UPDATE,
			"UPDATE claim_devices SET mac = ?, vlan = ?, vfio = ?, vfio_node = ?, driver_before = ?"
			" WHERE claim = ? AND address = ?",
			&s);
	if (r < 0)
		return r;
	bind_text_or_null(s, 1, d->mac);
	bind_int_or_null(s, 2, d->vlan, d->vlan < 0);
	sym_sqlite3_bind_int(s, 3, d->vfio);
	bind_text_or_null(s, 4, d->vfio_node);
	bind_text_or_null(s, 5, d->driver_before);
	sym_sqlite3_bind_int64(s, 6, id);
	sym_sqlite3_bind_text(s, 7, d->address, -1, SQLITE_TRANSIENT);
	if ((r = step_done(l, s, "updating a device of a claim")) < 0)
		return r;
	return sym_sqlite3_changes(l->db) == 1 ? 0
					   : fail(l, -ENOENT, "claim %lld holds no %s", (long long)id, d->address);
}

static int load_devices(struct ledger *l, struct ledger_claim *c)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	int r = cached(l, STMT_LOAD_DEVICES,
			"SELECT address, role, pf, vf_index, mac, vlan, vfio, vfio_node, driver_before FROM claim_devices"
			" WHERE claim = ? ORDER BY address",
			&s);
	if (r < 0)
		return r;
	sym_sqlite3_bind_int64(s, 1, c->id);
	int rc;
	while ((rc = sym_sqlite3_step(s)) == SQLITE_ROW) {
		struct ledger_device *v = realloc(c->devs, (c->n_devs + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->devs = v;
		struct ledger_device *d = &v[c->n_devs++];
		*d = (struct ledger_device){0};
		col_copy(s, 0, d->address, sizeof(d->address));
		d->role = ledger_role_from_string((const char *)sym_sqlite3_column_text(s, 1));
		col_copy(s, 2, d->pf, sizeof(d->pf));
		d->vf_index = sym_sqlite3_column_type(s, 3) == SQLITE_NULL ? -1 : sym_sqlite3_column_int(s, 3);
		col_copy(s, 4, d->mac, sizeof(d->mac));
		d->vlan = sym_sqlite3_column_type(s, 5) == SQLITE_NULL ? -1 : sym_sqlite3_column_int(s, 5);
		d->vfio = sym_sqlite3_column_int(s, 6) != 0;
		col_copy(s, 7, d->vfio_node, sizeof(d->vfio_node));
		col_copy(s, 8, d->driver_before, sizeof(d->driver_before));
	}
	return rc == SQLITE_DONE ? 0 : fail_db(l, rc, "reading the devices of a claim");
}

#define CLAIM_COLUMNS                                                                                            \
	"SELECT id, consumer, kind, request, count, mac, vlan, vfio, numa_nodes, state, reason, uid, pid, created," \
	" updated FROM claims"

static int claim_from_row(sqlite3_stmt *s, struct ledger_claim *c)
{
	*c = (struct ledger_claim){0};
	c->id = sym_sqlite3_column_int64(s, 0);
	col_copy(s, 1, c->consumer, sizeof(c->consumer));
	c->kind = ledger_kind_from_string((const char *)sym_sqlite3_column_text(s, 2));
	c->count = (uint32_t)sym_sqlite3_column_int64(s, 4);
	col_copy(s, 5, c->mac, sizeof(c->mac));
	c->vlan = sym_sqlite3_column_type(s, 6) == SQLITE_NULL ? -1 : sym_sqlite3_column_int(s, 6);
	c->vfio = sym_sqlite3_column_int(s, 7) != 0;
	c->state = ledger_state_from_string((const char *)sym_sqlite3_column_text(s, 9));
	c->uid = (uint32_t)sym_sqlite3_column_int64(s, 11);
	c->pid = (int32_t)sym_sqlite3_column_int64(s, 12);
	c->created = sym_sqlite3_column_int64(s, 13);
	c->updated = sym_sqlite3_column_int64(s, 14);
	if (col_dup(s, 3, &c->request) < 0 || col_dup(s, 8, &c->numa_nodes) < 0 || col_dup(s, 10, &c->reason) < 0)
		return -ENOMEM;
	if (!c->request && !(c->request = strdup("")))
		return -ENOMEM;
	return 0;
}

int ledger_claims_list(struct ledger *l, const struct ledger_filter *f, struct ledger_claims *ret)
{
	struct ledger_filter none = {0};
	if (!f)
		f = &none;
	/* The states as an IN list of the fixed names, so that the indexes
	 * serve it (the released claims of the history are never read). */
	char states[128] = "";
	size_t off = 0;
	for (int st = 0; f->states && st < _LEDGER_STATE_MAX; st++)
		if (f->states & LEDGER_STATE_BIT(st))
			off += (size_t)snprintf(states + off, sizeof(states) - off, "%s'%s'", off ? ", " : "",
						state_names[st]);
	char sql[1024];
	snprintf(sql, sizeof(sql),
		 CLAIM_COLUMNS " WHERE %s%s%s (?1 IS NULL OR consumer = ?1) AND (?2 = 0 OR id = ?2)"
			       " AND (?3 IS NULL OR id IN (SELECT claim FROM claim_devices WHERE address = ?3 OR pf = ?3))"
			       " ORDER BY id",
		 off ? "state IN (" : "", states, off ? ") AND" : "");
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	int r = cached(l, STMT_CLAIMS_LIST + (f->states & ((1u << _LEDGER_STATE_MAX) - 1)), sql, &s);
	if (r < 0)
		return r;
	bind_text_or_null(s, 1, f->consumer);
	sym_sqlite3_bind_int64(s, 2, f->id);
	bind_text_or_null(s, 3, f->pf);
	struct ledger_claims out = {0};
	int rc;
	while ((rc = sym_sqlite3_step(s)) == SQLITE_ROW) {
		struct ledger_claim c;
		r = claim_from_row(s, &c);
		struct ledger_claim *v = r == 0 ? realloc(out.v, (out.n + 1) * sizeof(*v)) : NULL;
		if (!v) {
			ledger_claim_done(&c);
			ledger_claims_done(&out);
			return -ENOMEM;
		}
		out.v = v;
		out.v[out.n++] = c;
	}
	if (rc != SQLITE_DONE) {
		ledger_claims_done(&out);
		return fail_db(l, rc, "reading the claims");
	}
	for (size_t i = 0; i < out.n; i++)
		if ((r = load_devices(l, &out.v[i])) < 0) {
			ledger_claims_done(&out);
			return r;
		}
	*ret = out;
	return 0;
}

int ledger_claim_get(struct ledger *l, int64_t id, struct ledger_claim *ret)
{
	if (id <= 0)
		return 0;
	struct ledger_claims c;
	int r = ledger_claims_list(l, &(struct ledger_filter){.id = id}, &c);
	if (r < 0)
		return r;
	if (c.n == 0) {
		ledger_claims_done(&c);
		return 0;
	}
	*ret = c.v[0];
	c.v[0] = (struct ledger_claim){0};
	ledger_claims_done(&c);
	return 1;
}

int ledger_consumer_known(struct ledger *l, const char *consumer)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	int r = cached(l, STMT_CONSUMER_KNOWN, "SELECT 1 FROM claims WHERE consumer = ? LIMIT 1", &s);
	if (r < 0)
		return r;
	sym_sqlite3_bind_text(s, 1, consumer, -1, SQLITE_TRANSIENT);
	int rc = sym_sqlite3_step(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : fail_db(l, rc, "looking up a consumer");
}

int ledger_claims_of_pf(struct ledger *l, const char *pf_addr, struct ledger_claims *ret)
{
	return ledger_claims_list(l, &(struct ledger_filter){.pf = pf_addr, .states = LEDGER_HOLDING}, ret);
}

int ledger_claim_mark_lost(struct ledger *l, int64_t id, const char *reason, int64_t now)
{
	struct ledger_claim c;
	int r = ledger_claim_get(l, id, &c);
	if (r < 0)
		return r;
	if (r == 0)
		return fail(l, -ENOENT, "claim %lld is not recorded", (long long)id);
	r = ledger_claim_set_state(l, id, LEDGER_LOST, reason, now);
	if (r == 0)
		r = ledger_audit(l, now, "lost", c.consumer, id, NULL, reason);
	ledger_claim_done(&c);
	return r;
}

/* --- holds ------------------------------------------------------------------- */

int ledger_data_version(struct ledger *l, int64_t *ret)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	int r = cached(l, STMT_DATA_VERSION, "PRAGMA data_version", &s);
	if (r < 0)
		return r;
	int rc = sym_sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return fail_db(l, rc, "PRAGMA data_version");
	*ret = sym_sqlite3_column_int64(s, 0);
	return 0;
}


void ledger_holds_done(struct ledger_holds *h)
{
	free(h->v);
	*h = (struct ledger_holds){0};
}

int ledger_holds(struct ledger *l, struct ledger_holds *ret)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	int r = cached(l, STMT_HOLDS,
			"SELECT d.address, d.pf, d.role, c.consumer, c.id, c.state FROM claim_devices d"
			" JOIN claims c ON c.id = d.claim WHERE c.state IN ('pending', 'active', 'lost', 'unclean')"
			" ORDER BY d.address, c.id",
			&s);
	if (r < 0)
		return r;
	struct ledger_holds out = {0};
	size_t cap = 0;
	int rc;
	while ((rc = sym_sqlite3_step(s)) == SQLITE_ROW) {
		if (out.n == cap) {
			cap = cap ? 2 * cap : 64;
			struct ledger_hold *v = realloc(out.v, cap * sizeof(*v));
			if (!v) {
				ledger_holds_done(&out);
				return -ENOMEM;
			}
			out.v = v;
		}
		struct ledger_hold *h = &out.v[out.n];
		*h = (struct ledger_hold){0};
		col_copy(s, 0, h->address, sizeof(h->address));
		/* One hold per address: the first (oldest) claim. */
		if (out.n && strcmp(out.v[out.n - 1].address, h->address) == 0)
			continue;
		col_copy(s, 1, h->pf, sizeof(h->pf));
		h->role = ledger_role_from_string((const char *)sym_sqlite3_column_text(s, 2));
		col_copy(s, 3, h->consumer, sizeof(h->consumer));
		h->claim = sym_sqlite3_column_int64(s, 4);
		h->state = ledger_state_from_string((const char *)sym_sqlite3_column_text(s, 5));
		out.n++;
	}
	if (rc != SQLITE_DONE) {
		ledger_holds_done(&out);
		return fail_db(l, rc, "reading the claimed devices");
	}
	*ret = out;
	return 0;
}

static int hold_cmp(const void *key, const void *elem)
{
	const struct ledger_hold *h = elem;
	return strcmp(key, h->address);
}

const struct ledger_hold *ledger_holds_find(const struct ledger_holds *h, const char *addr)
{
	if (!h || !h->n)
		return NULL;
	return bsearch(addr, h->v, h->n, sizeof(*h->v), hold_cmp);
}

/* --- audit ------------------------------------------------------------------- */

int ledger_audit(struct ledger *l, int64_t now, const char *event, const char *consumer, int64_t claim,
		 const char *device, const char *detail)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	int r = cached(l, STMT_AUDIT, "INSERT INTO audit (time, event, consumer, claim, device, detail) VALUES (?, ?, ?, ?, ?, ?)",
			&s);
	if (r < 0)
		return r;
	sym_sqlite3_bind_int64(s, 1, now);
	sym_sqlite3_bind_text(s, 2, event, -1, SQLITE_TRANSIENT);
	bind_text_or_null(s, 3, consumer);
	bind_int_or_null(s, 4, claim, claim <= 0);
	bind_text_or_null(s, 5, device);
	bind_text_or_null(s, 6, detail);
	return step_done(l, s, "appending to the audit history");
}

void ledger_events_done(struct ledger_events *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->v[i].event);
		free(e->v[i].consumer);
		free(e->v[i].device);
		free(e->v[i].detail);
	}
	free(e->v);
	*e = (struct ledger_events){0};
}

int ledger_events_since(struct ledger *l, int64_t since, size_t limit, struct ledger_events *ret)
{
	_cleanup_reset_ sqlite3_stmt *s = NULL;
	int r = cached(l, STMT_EVENTS,
			"SELECT seq, time, event, consumer, claim, device, detail FROM audit WHERE seq > ? ORDER BY seq"
			" LIMIT ?",
			&s);
	if (r < 0)
		return r;
	sym_sqlite3_bind_int64(s, 1, since);
	sym_sqlite3_bind_int64(s, 2, limit ? (int64_t)limit : -1);
	struct ledger_events out = {0};
	int rc;
	while ((rc = sym_sqlite3_step(s)) == SQLITE_ROW) {
		struct ledger_event *v = realloc(out.v, (out.n + 1) * sizeof(*v));
		if (!v) {
			ledger_events_done(&out);
			return -ENOMEM;
		}
		out.v = v;
		struct ledger_event *e = &v[out.n++];
		*e = (struct ledger_event){.seq = sym_sqlite3_column_int64(s, 0), .time = sym_sqlite3_column_int64(s, 1),
					   .claim = sym_sqlite3_column_int64(s, 4)};
		if (col_dup(s, 2, &e->event) < 0 || col_dup(s, 3, &e->consumer) < 0 || col_dup(s, 5, &e->device) < 0 ||
		    col_dup(s, 6, &e->detail) < 0) {
			ledger_events_done(&out);
			return -ENOMEM;
		}
	}
	if (rc != SQLITE_DONE) {
		ledger_events_done(&out);
		return fail_db(l, rc, "reading the audit history");
	}
	*ret = out;
	return 0;
}

/* --- benchmark ----------------------------------------------------------------- */

int ledger_bench_single_rows(struct ledger *l, unsigned n)
{
	int r = exec(l, "CREATE TABLE IF NOT EXISTS bench_rows (id INTEGER PRIMARY KEY, v TEXT)", "bench table");
	if (r < 0)
		return r;
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	if ((r = prepare(l, "INSERT INTO bench_rows (v) VALUES (?)", &s)) < 0)
		return r;
	for (unsigned i = 0; i < n && r == 0; i++) {
		if ((r = ledger_begin(l)) < 0)
			break;
		sym_sqlite3_reset(s);
		sym_sqlite3_bind_text(s, 1, "0000:01:10.0", -1, SQLITE_STATIC);
		if ((r = step_done(l, s, "bench insert")) < 0 || (r = ledger_commit(l)) < 0)
			ledger_rollback(l);
	}
	sym_sqlite3_finalize(s);
	s = NULL;
	int r2 = exec(l, "DROP TABLE bench_rows", "bench table");
	return r < 0 ? r : r2;
}
