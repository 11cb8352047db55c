#include <curl/curl.h>

// curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call;
// these typed wrappers are what the Swift side uses.
typedef size_t (*longctx_curl_data_callback)(char *, size_t, size_t, void *);
typedef int (*longctx_curl_progress_callback)(void *, curl_off_t, curl_off_t, curl_off_t, curl_off_t);

static inline CURLcode longctx_curl_global_init(void) { return curl_global_init(CURL_GLOBAL_ALL); }
static inline CURLcode longctx_curl_set_long(CURL *handle, CURLoption option, long value) {
  return curl_easy_setopt(handle, option, value);
}
static inline CURLcode longctx_curl_set_offset(CURL *handle, CURLoption option, curl_off_t value) {
  return curl_easy_setopt(handle, option, value);
}
static inline CURLcode longctx_curl_set_pointer(CURL *handle, CURLoption option, const void *value) {
  return curl_easy_setopt(handle, option, value);
}
static inline CURLcode longctx_curl_set_data_callback(CURL *handle, CURLoption option, longctx_curl_data_callback fn) {
  return curl_easy_setopt(handle, option, fn);
}
static inline CURLcode longctx_curl_set_progress_callback(CURL *handle, longctx_curl_progress_callback fn) {
  return curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, fn);
}
static inline CURLcode longctx_curl_response_code(CURL *handle, long *code) {
  return curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, code);
}
