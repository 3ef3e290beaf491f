/* util/dl: optional shared libraries loaded at run time (dlopen), as
 * systemd loads its optional dependencies: the program does not link the
 * library, so a run that never needs it never maps it (nor the dozens of
 * libraries it pulls in), and a host without it fails only where it is
 * needed, with one sentence naming the library.
 *
 * Owns: opening a library by its soname and resolving a table of symbols
 * into function pointers, all of them or none. */
#pragma once

#include <stddef.h>

struct dl_sym {
	const char *name;
	void **fn; /* set to the symbol's address */
};

/* sym_F: a pointer of F's own type (its header is included for the
 * prototype, the library is not linked); DL_SYM(F) its table row. */
#define DL_SYM_DECLARE(f) static __typeof__(f) *sym_##f
#define DL_SYM(f) {#f, (void **)&sym_##f}

/* Sets every *syms[i].fn and *ret_handle (never closed: the library stays
 * for the life of the process). On failure nothing is set, the library is
 * closed again and *ret_error says which library or symbol is missing and
 * why (-ELIBACC). */
int dl_open_syms(const char *soname, const struct dl_sym *syms, size_t n, void **ret_handle, char **ret_error);
