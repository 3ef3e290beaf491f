/* Optional shared libraries loaded at run time (dl.h). */
#include "dl.h"

#include <dlfcn.h>

#include "util.h"

int dl_open_syms(const char *soname, const struct dl_sym *syms, size_t n, void **ret_handle, char **ret_error)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		return error_set(ret_error, -ELIBACC, "cannot load %s: %s", soname, e ? e : "not found");
	}
	/* all of them or none: resolved first, set after */
	for (size_t i = 0; i < n; i++) {
		if (!dlsym(h, syms[i].name)) {
			int r = error_set(ret_error, -ELIBACC, "cannot load %s: it has no symbol %s", soname,
					  syms[i].name);
			dlclose(h);
			return r;
		}
	}
	for (size_t i = 0; i < n; i++)
		*syms[i].fn = dlsym(h, syms[i].name);
	*ret_handle = h;
	return 0;
}
