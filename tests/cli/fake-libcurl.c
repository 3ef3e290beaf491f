/* A libcurl.so.4 without libcurl's symbols (tests/cli/test-cli-lazy-libs.sh):
 * what sriovctl finds on a host whose libcurl is missing or broken. */
int fake_libcurl_marker(void);
int fake_libcurl_marker(void)
{
	return 0;
}
