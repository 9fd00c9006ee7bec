// libcurl through dlopen: its header gives the types and constants, a table of function
// pointers typed from its declarations gives the calls, and nothing links the library.
#include "http_download.h"

#include <curl/curl.h>
#include <dlfcn.h>

#include <cstdio>
#include <memory>

namespace pomona {

struct CurlApi {
  decltype(&curl_global_init) global_init;
  decltype(&curl_easy_init) easy_init;
  decltype(&curl_easy_setopt) easy_setopt;
  decltype(&curl_easy_perform) easy_perform;
  decltype(&curl_easy_cleanup) easy_cleanup;
  decltype(&curl_easy_strerror) easy_strerror;
};

namespace {

template <typename Function>
bool resolve(void* library, const char* name, Function* function) {
  *function = reinterpret_cast<Function>(dlsym(library, name));
  return *function != nullptr;
}

size_t write_to_file(char* data, size_t size, size_t count, void* file) {
  return std::fwrite(data, size, count, static_cast<std::FILE*>(file));
}

// load_curl(kLibcurlNames) once a process, with libcurl's global initialisation.
const Result<const CurlApi*>& system_curl() {
  static const Result<const CurlApi*> api = []() -> Result<const CurlApi*> {
    Result<const CurlApi*> loaded = load_curl(kLibcurlNames);
    if (loaded.ok() && loaded.value()->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      return Result<const CurlApi*>::failure("libcurl failed to start");
    }
    return loaded;
  }();
  return api;
}

}  // namespace

Result<const CurlApi*> load_curl(std::initializer_list<const char*> names) {
  for (const char* name : names) {
    // RTLD_DEEPBIND: libcurl and the libraries it brings (libssl, libcrypto) bind to each other
    // first. Without it, their calls into OpenSSL could bind to an OpenSSL loaded before them
    // (the wheel's own libcrypto, renamed by auditwheel, or the static one whose symbols the
    // pyarrow wheel's libparquet exports) and mix two OpenSSLs' internal state.
    void* library = dlopen(name, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (!library) continue;
    auto api = std::make_unique<CurlApi>();
    const char* missing = nullptr;
    const auto need = [&](const char* symbol, auto* function) {
      if (!resolve(library, symbol, function) && !missing) missing = symbol;
    };
    need("curl_global_init", &api->global_init);
    need("curl_easy_init", &api->easy_init);
    need("curl_easy_setopt", &api->easy_setopt);
    need("curl_easy_perform", &api->easy_perform);
    need("curl_easy_cleanup", &api->easy_cleanup);
    need("curl_easy_strerror", &api->easy_strerror);
    if (!missing) return static_cast<const CurlApi*>(api.release());
    dlclose(library);
    return Result<const CurlApi*>::failure(std::string(name) + " lacks " + missing +
                                           ": it is not libcurl");
  }
  return Result<const CurlApi*>::failure(
      std::string(*names.begin()) + " is not installed (install libcurl, e.g. Debian's libcurl4)");
}

Status download_file(const std::string& url, const std::string& path) {
  const Result<const CurlApi*>& loaded = system_curl();
  if (!loaded.ok()) return Status::failure(loaded.error());
  const CurlApi* curl_api = loaded.value();
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "wb"), std::fclose);
  if (!file) return Status::failure("cannot write " + path);
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_api->easy_init(), curl_api->easy_cleanup);
  if (!curl) return Status::failure("libcurl failed to start");
  const auto set = [&](CURLoption option, auto value) {
    curl_api->easy_setopt(curl.get(), option, value);
  };
  char curl_error[CURL_ERROR_SIZE] = "";
  set(CURLOPT_URL, url.c_str());
  set(CURLOPT_FOLLOWLOCATION, 1L);
  set(CURLOPT_FAILONERROR, 1L);  // HTTP 4xx/5xx are failures
  set(CURLOPT_CONNECTTIMEOUT, 30L);
  // A stalled transfer (under 1 KB/s for a minute) fails instead of hanging the job.
  set(CURLOPT_LOW_SPEED_LIMIT, 1024L);
  set(CURLOPT_LOW_SPEED_TIME, 60L);
  set(CURLOPT_ERRORBUFFER, static_cast<char*>(curl_error));
  set(CURLOPT_WRITEFUNCTION, &write_to_file);
  set(CURLOPT_WRITEDATA, static_cast<void*>(file.get()));
  const CURLcode code = curl_api->easy_perform(curl.get());
  if (code != CURLE_OK) {
    return Status::failure(*curl_error ? curl_error : curl_api->easy_strerror(code));
  }
  if (std::fclose(file.release()) != 0) return Status::failure("cannot write " + path);
  return Status();
}

}  // namespace pomona
