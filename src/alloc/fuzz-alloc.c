/* libFuzzer target for the allocation grammars: the input, cut at NUL
 * bytes, is a device spec (JSON), an alias (JSON) and a request
 * ("alias:count, ..."). Whatever parses is matched against the testbed's
 * fake tree: the result has one row per function of the tree, a row that
 * counts has the spec that took it and one that does not has a reason, and
 * narrowing by the alias only ever removes devices. Whatever is refused comes
 * with a reason. Run by tests/fuzz (meson -Dfuzz=true). */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/alloc.h"
#include "fakesysfs.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[] = "/tmp/sriovd-fuzz-alloc-XXXXXX";
static struct pci_tree *tree;

static void cleanup(void)
{
	pci_tree_free(tree);
	fakesysfs_rmtree(root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	if (!mkdtemp(root) || fakesysfs_build_testbed(root, true) < 0 || pci_tree_scan(root, &tree) < 0)
		abort();
	atexit(cleanup);
	return 0;
}

static size_t count_ok(const struct alloc_result *r)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (r->rows[i].ok)
			n++;
		else
			assert(r->rows[i].reason);
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	const char *piece[3] = {"", "", ""};
	size_t len[3] = {0, 0, 0};
	for (int i = 0; i < 3 && p < end; i++) {
		piece[i] = p;
		len[i] = strnlen(p, (size_t)(end - p));
		p += len[i] + 1;
	}

	json_error_t jerr;
	json_t *js = json_loadb(piece[0], len[0], JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	struct alloc_spec *spec = NULL;
	char *err = NULL;
	if (js) {
		int r = alloc_spec_parse(js, &spec, &err);
		assert(r == 0 ? spec && !err : (r == -ENOMEM || err));
		free(err);
		err = NULL;
		json_decref(js);
	}

	struct alloc_result res = {0};
	if (spec) {
		struct alloc_spec *const specs[] = {spec};
		if (alloc_match_specs(tree, specs, 1, &res) == 0) {
			assert(res.n == tree->n_devs);
			for (size_t i = 0; i < res.n; i++)
				assert(!res.rows[i].ok || res.rows[i].spec == spec);
		}
	}

	struct alloc_aliases aliases = {0};
	json_t *ja = json_loadb(piece[1], len[1], JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (ja) {
		if (alloc_aliases_add(&aliases, ja, &err) < 0)
			assert(err);
		free(err);
		err = NULL;
		json_decref(ja);
	}
	char *req_text = strndup(piece[2], len[2]);
	if (req_text) {
		struct alloc_request req = {0};
		int r = alloc_request_parse(req_text, &aliases, &req, &err);
		if (r == 0) {
			assert(!err);
			alloc_request_done(&req);
		} else {
			assert(r == -ENOMEM || err);
		}
		free(err);
		err = NULL;
		free(req_text);
	}
	if (res.rows && aliases.n > 0) {
		size_t before = count_ok(&res);
		alloc_result_filter_alias(&res, &aliases.v[0]);
		assert(count_ok(&res) <= before);
	}

	alloc_result_done(&res);
	alloc_aliases_done(&aliases);
	alloc_spec_free(spec);
	return 0;
}
