/* util: small helpers every other module leans on.
 *
 * Owns: cleanup attributes, reading and parsing the one-value text files that
 * sysfs and procfs expose, a growable pointer array, string helpers.
 * Everything returns 0 or a negative errno and never prints or exits: the
 * caller (CLI dispatcher, daemon) turns errors into messages in one place. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Cleanup on scope exit, so that early returns cannot leak. */
static inline void freep(void *p) { free(*(void **)p); }
static inline void fclosep(FILE **f) { if (*f) fclose(*f); }
static inline void closep(int *fd) { if (*fd >= 0) close(*fd); }
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_close_ _cleanup_(closep)

/* Hand ownership out of a _cleanup_ variable. */
#define TAKE_PTR(p) ({ __typeof__(p) _tp = (p); (p) = NULL; _tp; })
#define TAKE_FD(fd) ({ int _tf = (fd); (fd) = -1; _tf; })

/* Reads a whole small regular file (at most max bytes), strips trailing
 * whitespace. -ENOENT when absent, -EFBIG when larger than max, -EBADFD
 * when not a regular file (a FIFO, a device, a folder: never blocks, it is
 * opened O_NONBLOCK). */
int read_text_file(const char *path, size_t max, char **ret);
/* Same, relative to dirfd, and the last component never a link (attribute
 * files are not). */
int read_text_at(int dirfd, const char *relpath, size_t max, char **ret);
/* Same, from an open fd. */
int read_text_fd(int fd, size_t max, char **ret);

/* Parsers for sysfs-style values. Leading/trailing whitespace is tolerated,
 * anything else after the number is -EINVAL. */
int parse_u32(const char *s, int base, uint32_t *ret);
int parse_i32(const char *s, int base, int32_t *ret);
/* The whole unsigned 64-bit range (kernel counters); a '-' is -ERANGE. */
int parse_u64(const char *s, int base, uint64_t *ret);

/* Reads one number from a file relative to dirfd. */
int read_u32_at(int dirfd, const char *relpath, int base, uint32_t *ret);
int read_i32_at(int dirfd, const char *relpath, int base, int32_t *ret);
int read_u64_at(int dirfd, const char *relpath, int base, uint64_t *ret);

/* Target of a symlink relative to dirfd, and just its last component
 * (".../drivers/igb" -> "igb"), which is all sysfs links carry for us.
 * A link text longer than PATH_MAX is -ENAMETOOLONG, never cut. */
int read_link_at(int dirfd, const char *relpath, char **ret);
int read_link_basename_at(int dirfd, const char *relpath, char **ret);

/* Writes to attribute files go through write_text_beneath() (util/fs.h),
 * which never leaves the tree's root. */

/* CLOCK_MONOTONIC now: the clock every wait, deadline and rate in the
 * project reads (a module that is tested with a clock of its own takes it
 * through its hooks, and this one when none is given). */
uint64_t mono_now_ns(void);
uint64_t mono_now_ms(void);
/* mono_now_ns() in the shape of a module's clock hook (its data unused). */
uint64_t mono_now_ns_hook(void *unused);

char *path_join(const char *a, const char *b); /* NULL on ENOMEM */
/* mkdir -p: creates path and its missing parents with mode. */
int mkdir_p(const char *path, mode_t mode);

/* The one way modules hand back a reason: formats it into *ret_error
 * (replacing what was there; NULL on ENOMEM) and returns r, so that
 * `return error_set(ret_error, -EINVAL, "...", ...)` reads as one step. */
int error_set(char **ret_error, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool str_empty(const char *s);
bool streq_ptr(const char *a, const char *b); /* NULL-safe */

/* A growable array of owned pointers. */
struct ptr_array {
	void **items;
	size_t len, cap;
};
int ptr_array_push(struct ptr_array *a, void *item);
void ptr_array_free(struct ptr_array *a, void (*free_item)(void *));

/* Array of owned strings terminated by NULL, for lists such as netdev names. */
void strv_free(char **v);
static inline void strv_freep(char ***v)
{
	strv_free(*v);
}
size_t strv_length(char *const *v);
int strv_push(char ***v, char *s); /* takes s; frees it on failure */
int strv_pushf(char ***v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool strv_contains(char *const *v, const char *s);
void strv_sort(char **v);
/* "a; b; c": the strings joined by sep (a fresh string, NULL on ENOMEM). */
char *strv_join(char *const *v, const char *sep);

/* What a command frees just before it exits is left to the kernel, which
 * takes the whole address space back at once: FREE_AT_EXIT is 0. Builds
 * with AddressSanitizer free it, so that their leak check reports real
 * leaks only. */
#if defined(__SANITIZE_ADDRESS__)
#define FREE_AT_EXIT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FREE_AT_EXIT 1
#endif
#endif
#ifndef FREE_AT_EXIT
#define FREE_AT_EXIT 0
#endif
