// The static documents of the server: the phone page (GET /) and the OpenAPI description.
#pragma once

namespace pomona::serving {

// A self-contained HTML page (inline CSS and JS, no external assets): take or choose a photo,
// POST it to /v1/classify, show the answers and their information.
extern const char* const kPageHtml;
// OpenAPI 3.0 description of the routes, as JSON.
extern const char* const kOpenApiJson;

}  // namespace pomona::serving
