// Downloading a file over HTTP(S) with the machine's libcurl, loaded only when a download starts
// (dlopen), so that neither the library nor the command links libcurl: the wheels would otherwise
// bundle it and the 27 libraries it needs (OpenSSL, GnuTLS, Kerberos, LDAP, ssh2, ...) for the one
// command that downloads, `pomona weights fetch`. keras_cache.cc downloads the Keras weights
// through here.
#pragma once

#include <initializer_list>
#include <string>

#include "pomona/error.h"

namespace pomona {

// The sonames tried, in order: libcurl of OpenSSL (Debian's libcurl4, RHEL's and Amazon Linux's
// libcurl), then of GnuTLS (Debian's libcurl3-gnutls, which git needs, so often present).
inline constexpr std::initializer_list<const char*> kLibcurlNames = {"libcurl.so.4",
                                                                     "libcurl-gnutls.so.4"};

// The functions of libcurl that download_file calls.
struct CurlApi;

// Loads the first of names that dlopen finds and resolves every function of CurlApi in it.
// Fails with one phrase saying what is missing and what to do ("libcurl.so.4 is not installed
// (install libcurl, e.g. Debian's libcurl4)", or "libz.so.1 lacks curl_global_init: it is not
// libcurl"). Never unloads a library it returned.
Result<const CurlApi*> load_curl(std::initializer_list<const char*> names);

// Downloads url to path (created or truncated), following redirects. An HTTP status of 400 or
// more, no connection within 30 s, or a transfer under 1 KB/s for a minute is a failure.
// Fails with one phrase describing the failure: libcurl's ("The requested URL returned error:
// 404", "Failed to connect to ..."), "cannot write PATH", or load_curl's error when no libcurl of
// kLibcurlNames is on the machine.
Status download_file(const std::string& url, const std::string& path);

}  // namespace pomona
