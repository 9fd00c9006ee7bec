#include "page.h"

namespace pomona::serving {

const char* const kPageHtml = R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Which fruit is this?</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f6f7f2;color:#222}
main{max-width:34rem;margin:0 auto;padding:1rem}
h1{font-size:1.4rem;margin:.5rem 0 1rem}
label.pick{display:block;text-align:center;padding:1.1rem;border-radius:.8rem;background:#2e7d32;
 color:#fff;font-size:1.15rem;cursor:pointer}
input[type=file]{position:absolute;left:-9999px}
#photo{display:none;width:100%;max-height:45vh;object-fit:contain;margin:1rem 0;border-radius:.6rem}
#status{margin:.8rem 0;color:#555}
#label{font-size:1.6rem;font-weight:600;margin:.5rem 0}
ol{padding-left:1.2rem} li{margin:.4rem 0} .score{color:#666;font-size:.9rem}
.info{font-size:.9rem;color:#444} .unknown{color:#b26a00}
</style></head><body><main>
<h1>Which fruit is this?</h1>
<label class="pick" for="file">Take or choose a photo</label>
<input id="file" type="file" accept="image/*" capture="environment">
<img id="photo" alt="the photo">
<div id="status">No photo yet.</div>
<div id="label"></div>
<ol id="answers"></ol>
</main>
<script>
const $ = id => document.getElementById(id);
function infoText(info) {
  return Object.entries(info || {}).map(([k, v]) => k + ': ' + v).join(' · ');
}
$('file').addEventListener('change', async () => {
  const file = $('file').files[0];
  if (!file) return;
  $('photo').src = URL.createObjectURL(file);
  $('photo').style.display = 'block';
  $('status').textContent = 'Looking…';
  $('label').textContent = '';
  $('answers').replaceChildren();
  try {
    const response = await fetch('v1/classify', {method: 'POST', body: file,
                                  headers: {'Content-Type': file.type || 'application/octet-stream'}});
    const answer = await response.json();
    if (!response.ok) { $('status').textContent = 'Sorry: ' + answer.error; return; }
    const best = answer.predictions[0];
    $('label').textContent = answer.unknown ? 'Not sure (maybe ' + best.label + ')' : best.label;
    $('label').className = answer.unknown ? 'unknown' : '';
    for (const p of answer.predictions) {
      const li = document.createElement('li');
      li.innerHTML = '<b></b> <span class="score"></span><div class="info"></div>';
      li.querySelector('b').textContent = (p.info && p.info.display_name) || p.label;
      li.querySelector('.score').textContent = (100 * p.score).toFixed(1) + ' %';
      li.querySelector('.info').textContent = infoText(p.info);
      $('answers').appendChild(li);
    }
    const t = answer.timing_ms;
    $('status').textContent = 'Answered in ' + (t.decode + t.network + t.classify).toFixed(0) + ' ms.';
  } catch (e) {
    $('status').textContent = 'Sorry: ' + e;
  }
});
</script></body></html>
)html";

const char* const kOpenApiJson = R"json({
  "openapi": "3.0.3",
  "info": {"title": "Pomona classifier", "version": "1"},
  "paths": {
    "/v1/classify": {"post": {
      "summary": "Classify one image",
      "requestBody": {"required": true, "content": {
        "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
        "image/png": {"schema": {"type": "string", "format": "binary"}},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": {"schema": {"type": "object", "required": ["image"],
          "properties": {"image": {"type": "string", "format": "binary"}}}}}},
      "responses": {
        "200": {"description": "the answer", "content": {"application/json": {"schema": {
          "type": "object", "required": ["predictions", "unknown", "index_version", "timing_ms"],
          "properties": {
            "predictions": {"type": "array", "items": {"type": "object",
              "required": ["label", "score", "info"], "properties": {
                "label": {"type": "string"}, "score": {"type": "number"},
                "info": {"type": "object"}}}},
            "unknown": {"type": "boolean"},
            "index_version": {"type": "string"},
            "timing_ms": {"type": "object", "properties": {"decode": {"type": "number"},
              "network": {"type": "number"}, "classify": {"type": "number"}}}}}}}},
        "4XX": {"$ref": "#/components/responses/Error"},
        "503": {"$ref": "#/components/responses/Error"}}}},
    "/healthz": {"get": {"responses": {"200": {"description": "alive"},
                                       "4XX": {"$ref": "#/components/responses/Error"}}}},
    "/readyz": {"get": {"responses": {"200": {"description": "ready"},
                                      "4XX": {"$ref": "#/components/responses/Error"},
                                      "503": {"$ref": "#/components/responses/Error"}}}},
    "/metrics": {"get": {"responses": {"200": {"description": "Prometheus text",
                                               "content": {"text/plain": {"schema": {"type": "string"}}}},
                                       "4XX": {"$ref": "#/components/responses/Error"}}}}
  },
  "components": {"responses": {"Error": {"description": "what is wrong with the request",
    "content": {"application/json": {"schema": {"type": "object", "required": ["error"],
      "properties": {"error": {"type": "string"}}}}}}}}
}
)json";

}  // namespace pomona::serving
