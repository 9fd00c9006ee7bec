"""The peer of `pomona serve` in bench/serve_bench.py: what a team would otherwise deploy, FastAPI
on uvicorn with ONNX Runtime, serving the same network (the ONNX of bench/same_network.py) and
the same index (its centre and class means, read from the index file), same JSON answer.

    SERVE_PEER_ONNX=net.onnx SERVE_PEER_INDEX=fruits.index.parquet \\
      .venv-bench/bin/python -m uvicorn serve_peer:app --app-dir bench --workers 2 --port 8081

Per request: Pillow decode, convert('RGB'), resize((224, 224)) and x / 127.5 - 1 (the notebook's
preprocessing, which Pomona reproduces), ONNX Runtime on one intra-op thread per call, then nearest
class mean in numpy; the work runs in Starlette's thread pool (ORT and Pillow release the GIL), so
each worker process uses both cores even when the kernel hands it every connection.
"""
import io
import os
import time

import numpy as np
import onnxruntime as ort
import pyarrow.compute as pc
import pyarrow.parquet as pq
from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from PIL import Image

options = ort.SessionOptions()
options.intra_op_num_threads = 1
options.inter_op_num_threads = 1
options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
session = ort.InferenceSession(os.environ["SERVE_PEER_ONNX"], options,
                               providers=["CPUExecutionProvider"])

index = pq.read_table(os.environ["SERVE_PEER_INDEX"])
if index.filter(pc.equal(index["kind"], "pca_axis")).num_rows:
    raise SystemExit("serve_peer: indexes with a PCA space are not supported")
centre = np.array(index.filter(pc.equal(index["kind"], "centre"))["vector"][0].as_py(), np.float32)
classes = index.filter(pc.equal(index["kind"], "class"))
labels = classes["label"].to_pylist()
means = np.array(classes["vector"].to_pylist(), np.float32)
means /= np.linalg.norm(means, axis=1, keepdims=True)
threshold = float(index.schema.metadata[b"pomona.threshold.ncm"])

app = FastAPI()


@app.post("/v1/classify")
async def classify(request: Request):
    return await run_in_threadpool(answer, await request.body())


def answer(body):
    start = time.perf_counter()
    try:
        image = Image.open(io.BytesIO(body)).convert("RGB").resize((224, 224))
    except Exception as error:  # noqa: BLE001  (any decode failure is the client's)
        return JSONResponse({"error": f"not a usable image: {error}"}, status_code=422)
    x = (np.asarray(image, np.float32) / np.float32(127.5) - np.float32(1)).transpose(2, 0, 1)[None]
    decoded = time.perf_counter()
    features = session.run(None, {"images": np.ascontiguousarray(x)})[0][0]
    inferred = time.perf_counter()
    z = features - centre
    z /= max(float(np.linalg.norm(z)), 1e-30)
    scores = means @ z
    top = np.argsort(-scores)[:3]
    done = time.perf_counter()
    return {"predictions": [{"label": labels[i], "score": float(scores[i]), "info": {}} for i in top],
            "unknown": bool(scores[top[0]] < threshold), "index_version": "peer",
            "timing_ms": {"decode": 1000 * (decoded - start), "network": 1000 * (inferred - decoded),
                          "classify": 1000 * (done - inferred)}}
