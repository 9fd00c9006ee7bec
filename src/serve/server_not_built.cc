// serve() in a build without the HTTP server (POMONA_BUILD_HTTP_SERVER=OFF: the manylinux wheels,
// see CMakeLists.txt). Every other command of such a build is complete.
#include "pomona/error.h"
#include "pomona/serve.h"

namespace pomona {

void serve(const ServeOptions& options) {
  throw JobError(ExitCode::kConfiguration,
                 "this pomona was built without its HTTP server (the wheels leave it out: Debian "
                 "12's cpp-httplib needs a newer libstdc++ than manylinux_2_34 allows); build "
                 "pomona from source for `pomona serve` (README)");
}

}  // namespace pomona
